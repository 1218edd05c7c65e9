"""Retries over a real socket: 5xx, Retry-After, dropped connections, refused connections,
timeouts; what each write policy of the route table does with them."""

from __future__ import annotations

import logging
import socket

import pytest
from client_helpers import make_client

from ghl_async import Client, StaticToken
from ghl_async.errors import (
    AmbiguousWriteError,
    NotFoundError,
    RequestTimeout,
    ServerError,
    TransportError,
)
from ghl_async.ratelimit import RateLimit
from ghl_async.testing import FakeHighLevel


async def test_5xx_are_retried(fake: FakeHighLevel, ghl: Client) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    fake.fail("contacts.get", 503, times=2)
    assert (await ghl.contacts.get(cid)).id == cid
    assert fake.count(operation="contacts.get") == 3
    fake.fail("contacts.get", 500)  # HighLevel's "Internal server error" is transient too
    assert (await ghl.contacts.get(cid)).id == cid
    fake.fail("contacts.tasks.update", 504)
    fake.fail("contacts.delete", 502, html=True)
    fake.fail("contacts.search", 500)  # a POST, but a read
    task = fake.tasks_of(cid)[0]
    assert (await ghl.contacts.tasks.update(cid, task.id, title="t")).title == "t"  # PUT
    assert (await ghl.contacts.search(page_limit=10)).total_count == 1
    assert (await ghl.contacts.delete(cid)).ok  # DELETE
    assert fake.count(operation="contacts.delete") == 2


async def test_a_delete_applied_by_an_attempt_that_failed_is_done(
    fake: FakeHighLevel, ghl: Client
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=1, notes=1)
    task, note = fake.tasks_of(cid)[0], fake.notes_of(cid)[0]
    fake.fail("contacts.tasks.delete", 502, html=True, when="after")  # deleted, answer lost
    fake.truncate("contacts.notes.delete")  # deleted, answer cut short
    fake.fail("contacts.delete", 500, when="after")
    assert (await ghl.contacts.tasks.delete(cid, task.id)).ok
    assert (await ghl.contacts.notes.delete(cid, note.id)).ok
    assert (await ghl.contacts.delete(cid)).ok
    assert [r.status for r in fake.requests if r.operation.endswith("delete")] == [
        502, 400, 200, 400, 500, 400,  # the retry's "not found" (HighLevel: a 400) means done
    ]  # fmt: skip
    # Nothing ambiguous came first: "not found" is the answer, and it is raised. (No bucket:
    # the fake's 429 also says the 10 s window is spent, which a bucket would wait out.)
    fake.fail("contacts.delete", 429, retry_after=0.01)
    async with make_client(fake, rate_limit=RateLimit.unlimited()) as unpaced:
        with pytest.raises(NotFoundError):
            await unpaced.contacts.delete(cid)


async def test_5xx_until_the_budget_is_spent(fake: FakeHighLevel) -> None:
    async with make_client(fake, max_retries=2) as ghl:
        fake.fail("contacts.get", 503, times=None)
        with pytest.raises(ServerError) as caught:
            await ghl.contacts.get("anyContactId00000001")
        assert caught.value.status == 503
        assert fake.count(operation="contacts.get") == 3


async def test_a_503_retry_after_is_honoured(fake: FakeHighLevel, ghl: Client) -> None:
    # The client's own backoff is ~1 ms here: only the header can explain a longer pause.
    (cid,) = fake.seed_contacts(1, business_id=None)
    fake.fail("contacts.get", 503, retry_after=0.3)
    assert (await ghl.contacts.get(cid)).id == cid
    first, second = (r.timestamp for r in fake.requests if r.operation == "contacts.get")
    assert second - first >= 0.3  # never sooner than the server asked


async def test_a_503_asking_for_too_long_is_raised_at_once(fake: FakeHighLevel) -> None:
    async with make_client(fake) as ghl:
        fake.fail("contacts.get", 503, retry_after=3600)
        with pytest.raises(ServerError) as caught:
            await ghl.contacts.get("anyContactId00000001")
    assert caught.value.status == 503
    assert fake.count(operation="contacts.get") == 1


async def test_a_create_refused_with_a_5xx_is_looked_up_then_resent(
    fake: FakeHighLevel, ghl: Client
) -> None:
    # The fake's `fail` answers before the handler: nothing was created, the lookup says so.
    fake.fail("contacts.create", 503)
    created = await ghl.contacts.create(email="once@example.com")
    assert fake.count(operation="contacts.create") == 2
    assert fake.count(operation="contacts.find_duplicate") == 1
    assert [c.id for c in fake.find_contacts(email="once@example.com")] == [created.id]


async def test_upsert_without_duplicates_is_simply_resent(fake: FakeHighLevel, ghl: Client) -> None:
    fake.fail("contacts.upsert", 503)
    assert (await ghl.contacts.upsert(email="up@example.com")).new is True
    assert fake.count(operation="contacts.upsert") == 2
    assert fake.count(operation="contacts.find_duplicate") == 0  # idempotent: no lookup
    fake.drop("contacts.upsert", when="after")
    result = await ghl.contacts.upsert(email="retry@example.com")
    assert result.new is False  # the first attempt created it; the retry matched it
    assert len(fake.find_contacts(email="retry@example.com")) == 1


async def test_idempotent_writes_survive_a_dropped_connection(
    fake: FakeHighLevel, ghl: Client
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    fake.drop("contacts.update", when="before", times=2)
    assert (await ghl.contacts.update(cid, city="Oslo")).city == "Oslo"
    fake.drop("contacts.add_tags", when="after")
    assert "vip" in await ghl.contacts.add_tags(cid, tags=["vip"])
    fake.drop("contacts.search", when="before")
    assert (await ghl.contacts.search(page_limit=10)).total_count == 1


async def test_enrolments_are_never_resent(fake: FakeHighLevel, ghl: Client) -> None:
    # Nothing can be looked up to tell whether the contact was enrolled.
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=0)
    for operation, call in (
        ("contacts.add_to_workflow", lambda: ghl.contacts.add_to_workflow(cid, "wf_1")),
        ("contacts.add_to_campaign", lambda: ghl.contacts.add_to_campaign(cid, "c_1")),
    ):  # fmt: skip
        fake.drop(operation, when="after")
        with pytest.raises(AmbiguousWriteError) as caught:
            await call()
        err = caught.value
        assert (err.sent, err.checked, err.status, err.operation) == (True, (), None, operation)
        assert "may have been applied" in str(err)
        assert "nothing can be looked up" in str(err)
        assert isinstance(err, TransportError)
        assert fake.count(operation=operation) == 1
        fake.fail(operation, 502)
        with pytest.raises(AmbiguousWriteError) as caught:
            await call()
        assert caught.value.status == 502
        assert fake.count(operation=operation) == 2
    assert fake.workflows_of(cid) == ["wf_1"]
    assert fake.campaigns_of(cid) == ["c_1"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_refused_connection_is_retried_even_for_a_create() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    async with Client(
        auth=StaticToken("tok"), location_id="loc", base_url=url, max_retries=2,
        backoff_base=0.001, backoff_max=0.002,
    ) as ghl:  # fmt: skip
        with pytest.raises(TransportError) as caught:
            await ghl.contacts.create(email="never@example.com")
    err = caught.value
    assert not isinstance(err, AmbiguousWriteError)  # it never left: safe to try again
    assert err.sent is False
    assert "ClientConnectorError" in str(err)


async def test_timeouts(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    async with make_client(fake, timeout=0.2, max_retries=1) as ghl:
        fake.delay("contacts.get", 0.5)
        assert (await ghl.contacts.get(cid)).id == cid  # timed out once, then answered
        fake.delay("contacts.get", 0.5, times=2)
        with pytest.raises(RequestTimeout) as caught:
            await ghl.contacts.get(cid)
        assert isinstance(caught.value, TimeoutError)
        quick = ghl.with_options(timeout=2.0)
        fake.delay("contacts.get", 0.3)
        assert (await quick.contacts.get(cid)).id == cid


async def test_retries_are_logged_at_info_without_query_strings(
    fake: FakeHighLevel, ghl: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ghl_async")
    fake.fail("contacts.find_duplicate", 503)
    await ghl.contacts.find_duplicate(email="secret.person@example.com")
    (record,) = [r for r in caplog.records if r.name == "ghl_async"]
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("contacts.find_duplicate: HTTP 503; retry 1 of 3 in ")
    assert "secret" not in caplog.text
    assert "example.com" not in caplog.text

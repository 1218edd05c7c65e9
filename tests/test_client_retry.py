"""Retries over a real socket: 5xx, dropped connections, refused connections, timeouts."""

from __future__ import annotations

import socket

import pytest
from client_helpers import make_client

from ghl_async import Client, StaticToken
from ghl_async.errors import (
    AmbiguousWriteError,
    RequestTimeout,
    ServerError,
    TransportError,
)
from ghl_async.testing import FakeHighLevel


async def test_503s_are_retried(fake: FakeHighLevel, ghl: Client) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    fake.fail("contacts.get", 503, times=2)
    assert (await ghl.contacts.get(cid)).id == cid
    assert fake.count(operation="contacts.get") == 3
    fake.fail("contacts.tasks.update", 504)
    fake.fail("contacts.delete", 502)
    task = fake.tasks_of(cid)[0]
    assert (await ghl.contacts.tasks.update(cid, task.id, title="t")).title == "t"  # PUT
    assert (await ghl.contacts.delete(cid)).ok  # DELETE


async def test_503s_until_the_budget_is_spent(fake: FakeHighLevel) -> None:
    async with make_client(fake, max_retries=2) as ghl:
        fake.fail("contacts.get", 503, times=None)
        with pytest.raises(ServerError) as caught:
            await ghl.contacts.get("anyContactId00000001")
        assert caught.value.status == 503
        assert fake.count(operation="contacts.get") == 3


async def test_a_create_is_not_retried_after_a_5xx(fake: FakeHighLevel, ghl: Client) -> None:
    fake.fail("contacts.create", 503)
    with pytest.raises(ServerError):
        await ghl.contacts.create(email="once@example.com")
    assert fake.count(operation="contacts.create") == 1
    # An upsert is safe to resend: it matches what a first attempt may have created.
    fake.fail("contacts.upsert", 503)
    assert (await ghl.contacts.upsert(email="once@example.com")).new is True
    assert fake.count(operation="contacts.upsert") == 2


async def test_create_dropped_after_it_was_applied_is_never_duplicated(
    fake: FakeHighLevel, ghl: Client
) -> None:
    fake.drop("contacts.create", when="after")
    with pytest.raises(AmbiguousWriteError) as caught:
        await ghl.contacts.create(email="applied@example.com", first_name="Once")
    err = caught.value
    assert err.sent is True
    assert err.operation == "contacts.create"
    assert "may have been applied" in str(err)
    assert isinstance(err, TransportError)
    assert fake.count(operation="contacts.create") == 1
    assert len(fake.find_contacts(email="applied@example.com")) == 1
    # The way out the error suggests: look it up (or upsert), never create again.
    found = await ghl.contacts.find_duplicate(email="applied@example.com")
    assert found is not None
    assert found.first_name == "Once"


async def test_other_creates_are_just_as_careful(fake: FakeHighLevel, ghl: Client) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=0)
    for operation, call in (
        ("contacts.tasks.create",
         lambda: ghl.contacts.tasks.create(cid, title="t", due_date="2026-01-01T00:00:00Z")),
        ("contacts.notes.create", lambda: ghl.contacts.notes.create(cid, body="n")),
        ("contacts.add_to_workflow", lambda: ghl.contacts.add_to_workflow(cid, "wf_1")),
        ("contacts.add_to_campaign", lambda: ghl.contacts.add_to_campaign(cid, "c_1")),
    ):  # fmt: skip
        fake.drop(operation, when="after")
        with pytest.raises(AmbiguousWriteError):
            await call()
        assert fake.count(operation=operation) == 1
    assert len(fake.tasks_of(cid)) == 1
    assert len(fake.notes_of(cid)) == 1


async def test_idempotent_writes_survive_a_dropped_connection(
    fake: FakeHighLevel, ghl: Client
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    fake.drop("contacts.upsert", when="after")
    result = await ghl.contacts.upsert(email="retry@example.com")
    assert result.new is False  # the first attempt created it; the retry matched it
    assert len(fake.find_contacts(email="retry@example.com")) == 1
    fake.drop("contacts.update", when="before", times=2)
    assert (await ghl.contacts.update(cid, city="Oslo")).city == "Oslo"
    fake.drop("contacts.search", when="before")
    assert (await ghl.contacts.search(page_limit=10)).total_count == 2


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
        fake.delay("contacts.create", 0.5)
        with pytest.raises(AmbiguousWriteError):
            await ghl.contacts.create(email="slow@example.com")
        quick = ghl.with_options(timeout=2.0)
        fake.delay("contacts.get", 0.3)
        assert (await quick.contacts.get(cid)).id == cid
    assert fake.count(operation="contacts.create") == 1

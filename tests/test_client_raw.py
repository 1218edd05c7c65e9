"""Raw responses: ``with_raw_response`` on every namespace returns the HTTP answer (status,
headers, rate-limit headers, trace id, timing, attempts, bytes) around the parsed result, for v2
and v3 routes, after retries, and after a reconciled create."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
from aiohttp import web

import ghl_async
from ghl_async import Client, Contact, DecodeError, NotFoundError, RateLimitInfo, routes
from ghl_async.testing import FakeHighLevel


@pytest.fixture
async def ghl(fake: FakeHighLevel) -> AsyncIterator[Client]:
    async with fake.client(backoff_base=0.001, backoff_max=0.005) as client:
        yield client


async def test_raw_get_v2(fake: FakeHighLevel, ghl: Client) -> None:
    contact_id = fake.seed_contacts(1)[0]
    raw = await ghl.contacts.with_raw_response.get(contact_id)
    assert raw.status == 200
    assert (raw.operation, raw.method) == ("contacts.get", "GET")
    assert raw.url.endswith(f"/contacts/{contact_id}")
    assert raw.attempts == 1
    assert not raw.reconciled
    assert 0 < raw.elapsed < 30
    record = fake.requests[-1]
    assert raw.trace_id == record.trace_id != ""
    assert raw.headers["content-type"].startswith("application/json")  # case-insensitive
    with pytest.raises(TypeError):
        raw.headers["X-Mine"] = "1"  # type: ignore[index]  # read-only on purpose
    info = raw.rate_limit
    assert isinstance(info, RateLimitInfo)
    assert (info.max, info.interval_ms) == (100, 10_000)
    assert msgspec.json.decode(raw.content)["contact"]["id"] == contact_id
    contact = raw.parse()
    assert isinstance(contact, Contact)
    assert contact == await ghl.contacts.get(contact_id)
    assert raw.data is raw.parse()  # decoded once
    assert contact_id not in repr(raw)  # no URL in the repr (queries can hold e-mails)


async def test_raw_v3_and_the_root(fake: FakeHighLevel, ghl: Client) -> None:
    contact_id = fake.seed_contacts(1)[0]
    raw = await ghl.v3.contacts.with_raw_response.get(contact_id)
    assert raw.status == 200
    assert fake.requests[-1].version == "v3"
    assert raw.data.id == contact_id
    created = await ghl.with_raw_response.v3.contacts.create(email="v3@example.com")
    assert created.status == 201
    assert created.data.email == "v3@example.com"
    notes = await ghl.contacts.with_raw_response.notes.list(contact_id)
    assert notes.status == 200
    assert isinstance(notes.data, list)


async def test_attempts_count_the_retries(fake: FakeHighLevel, ghl: Client) -> None:
    contact_id = fake.seed_contacts(1)[0]
    fake.fail("contacts.get", status=503, times=2)
    raw = await ghl.contacts.with_raw_response.get(contact_id)
    assert (raw.status, raw.attempts) == (200, 3)
    assert fake.count("GET", f"/contacts/{contact_id}") == 3
    # v3 too, with a 429 and its Retry-After in between. (No client bucket: the 429 says the
    # window is spent, which a bucket would rightly wait out for 10 s.)
    fake.fail("v3.contacts.get", status=429, retry_after=0.01)
    async with fake.client(rate_limit=None) as unbounded:
        raw = await unbounded.v3.contacts.with_raw_response.get(contact_id)
    assert (raw.status, raw.attempts) == (200, 2)


async def test_errors_still_raise(fake: FakeHighLevel, ghl: Client) -> None:
    with pytest.raises(NotFoundError) as caught:
        await ghl.contacts.with_raw_response.get("nope")
    assert caught.value.trace_id == fake.requests[-1].trace_id


async def test_unwrapped_and_paged_results(fake: FakeHighLevel, ghl: Client) -> None:
    fake.seed_contacts(3)
    contact = await ghl.contacts.create(email="dup@example.com")
    found = await ghl.contacts.with_raw_response.find_duplicate(email="dup@example.com")
    assert found.status == 200
    assert found.data is not None
    assert found.data.id == contact.id  # unwrapped as the plain method does
    assert b'"contact"' in found.content
    page = await ghl.contacts.with_raw_response.list_by_business("biz_1", limit=2, skip=1)
    assert page.status == 200
    assert len(page.data.contacts) == 2
    assert page.data.total_count == 3
    raw = await ghl.call_raw(routes.GET_CONTACT, path={"contact_id": contact.id})
    assert raw.data.id == contact.id


async def test_a_reconciled_create_says_so(fake: FakeHighLevel, ghl: Client) -> None:
    fake.drop("contacts.create", when="after")  # applied, then the answer is lost
    raw = await ghl.contacts.with_raw_response.create(email="lost@example.com")
    assert raw.reconciled
    assert raw.attempts == 1  # found by the lookup, not resent
    assert raw.data.email == "lost@example.com"
    # Status, headers and bytes are the lookup's that found it.
    assert raw.status == 200
    assert b"lost@example.com" in raw.content
    assert raw.trace_id == fake.requests[-1].trace_id
    assert len(fake.find_contacts(email="lost@example.com")) == 1


@pytest.fixture
async def drifting() -> AsyncIterator[str]:
    """A server whose contact does not match the model (an id that is a number)."""

    async def get(request: web.Request) -> web.Response:
        return web.json_response(
            {"contact": {"id": 5, "firstName": "Ada"}}, headers={"traceId": "t-drift"}
        )

    app = web.Application()
    app.router.add_get("/contacts/{id}", get)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def test_schema_drift_raises_at_parse_not_at_the_call(drifting: str) -> None:
    async with ghl_async.Client(
        auth=ghl_async.StaticToken("pit-x", location_id="loc"), location_id="loc",
        base_url=drifting, rate_limit=None,
    ) as ghl:  # fmt: skip
        with pytest.raises(DecodeError):
            await ghl.contacts.get("c1")
        raw = await ghl.contacts.with_raw_response.get("c1")
        assert raw.status == 200
        assert raw.trace_id == "t-drift"
        assert msgspec.json.decode(raw.content)["contact"]["id"] == 5  # the bytes are yours
        with pytest.raises(DecodeError, match="did not match Contact"):
            raw.parse()
        with pytest.raises(DecodeError):
            _ = raw.data  # raised again, not decoded again into something else
        mapped = raw.map(lambda contact: contact.id)
        with pytest.raises(DecodeError):
            mapped.parse()


def test_trace_id_falls_back_to_the_body() -> None:
    raw = ghl_async.RawResponse(
        operation="contacts.upsert", method="POST", url="http://x/contacts/upsert", status=200,
        headers={}, content=b'{"new":true,"traceId":"body-trace"}', elapsed=0.1, attempts=1,
        parse=lambda: None,
    )  # fmt: skip
    assert raw.trace_id == "body-trace"
    assert raw.rate_limit is None
    garbage = ghl_async.RawResponse(
        operation="x", method="GET", url="u", status=200, headers={}, content=b"<html>",
        elapsed=0.0, attempts=1, parse=lambda: 1,
    )  # fmt: skip
    assert garbage.trace_id is None
    assert garbage.map(lambda n: n + 1).data == 2

"""FakeHighLevel's fault knobs (fail, drop, delay) and its request log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from fake_helpers import Api, form, running

from ghl_async.errors import ConfigError


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with running() as api:
        yield api


async def test_fail_answers_json_then_recovers(api: Api) -> None:
    fake = api.fake
    contact_id = fake.seed_contacts(1)[0]
    fault = fake.fail("contacts.get", status=503, times=2)
    statuses = [(await api.get(f"/contacts/{contact_id}")).status for _ in range(3)]
    assert statuses == [503, 503, 200]
    failed = api.answers[0]
    assert failed.json == {
        "statusCode": 503,
        "message": "Service Unavailable",
        "error": "Service Unavailable",
    }
    assert failed.headers["Content-Type"].startswith("application/json")
    assert "traceId" in failed.headers
    assert "X-RateLimit-Max" not in failed.headers  # a proxy answered, not the API
    assert fault.hits == 2
    assert fake.faults.armed() == []
    assert [r.status for r in fake.requests] == [503, 503, 200]


async def test_fail_variants(api: Api) -> None:
    fake = api.fake
    contact_id = fake.seed_contacts(1)[0]
    fake.fail("get-contact", status=502, html=True)
    html = await api.get(f"/contacts/{contact_id}")
    assert html.status == 502
    assert html.headers["Content-Type"].startswith("text/html")
    assert b"<title>502 Bad Gateway</title>" in html.body

    fake.fail("contacts.get", status=429, retry_after=2)
    limited = await api.get(f"/contacts/{contact_id}")
    assert (limited.status, limited.headers["Retry-After"]) == (429, "2")
    fake.fail("contacts.get", status=503, retry_after=0.5)
    assert (await api.get(f"/contacts/{contact_id}")).headers["Retry-After"] == "0.5"

    fake.fail("contacts.get", status=422)
    assert (await api.get(f"/contacts/{contact_id}")).message == ["Unprocessable Entity"]

    fake.fail("*", status=500, times=None)
    assert (await api.get(f"/contacts/{contact_id}")).status == 500
    assert (await api.get("/contacts/", params={"locationId": fake.location_id})).status == 500
    fake.clear_faults()
    assert (await api.get(f"/contacts/{contact_id}")).status == 200

    fake.fail("oauth.token", status=503)
    token = await api.token_form(form(fake, grant_type="authorization_code", code="x"))
    assert token.status == 503


def test_knob_arguments_are_checked() -> None:
    from ghl_async.testing import FakeHighLevel

    fake = FakeHighLevel()
    with pytest.raises(ConfigError, match="unknown operation"):
        fake.fail("contacts.fetch")
    with pytest.raises(ConfigError):
        fake.fail("contacts.get", status=200)
    with pytest.raises(ConfigError):
        fake.fail("contacts.get", times=0)
    with pytest.raises(ConfigError):
        fake.drop("contacts.get", when="during")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        fake.delay("contacts.get", -1)
    with pytest.raises(ConfigError):
        fake.seed_contacts(-1)
    with pytest.raises(ConfigError):
        FakeHighLevel(token_lifetime=0)
    with pytest.raises(ConfigError):
        FakeHighLevel(daily_limit=0)
    with pytest.raises(ConfigError):
        fake.set_allow_duplicates(True, location_id="nowhere")


async def test_drop_before_leaves_state_alone(api: Api) -> None:
    fake = api.fake
    fake.drop("contacts.create", when="before")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.create(email="lost@example.com")
    assert fake.find_contacts(email="lost@example.com") == []
    record = fake.requests[-1]
    assert (record.operation, record.status, record.applied) == ("contacts.create", None, False)
    # The next attempt goes through.
    assert (await api.create(email="lost@example.com"))["email"] == "lost@example.com"


async def test_drop_after_applies_the_write(api: Api) -> None:
    fake = api.fake
    fake.drop("create-contact", when="after", times=1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.create(email="ghost@example.com")
    assert len(fake.find_contacts(email="ghost@example.com")) == 1
    record = fake.requests[-1]
    assert (record.status, record.applied, record.location_id) == (None, True, fake.location_id)
    retry = await api.post(
        "/contacts/", json={"locationId": fake.location_id, "email": "ghost@example.com"}
    )
    assert retry.status == 400  # the retry is a duplicate: the first attempt did happen
    assert [r.status for r in fake.requests] == [None, 400]


async def test_delay(api: Api) -> None:
    fake = api.fake
    contact_id = fake.seed_contacts(1)[0]
    fake.delay("contacts.get", 0.5)
    timeout = aiohttp.ClientTimeout(total=0.1)
    async with aiohttp.ClientSession(timeout=timeout) as impatient:
        with pytest.raises(asyncio.TimeoutError):
            await impatient.get(fake.url(f"/contacts/{contact_id}"), headers=fake.headers())
    fake.delay("contacts.get", 0.2, times=1)
    started = time.perf_counter()
    answer = await api.get(f"/contacts/{contact_id}")
    assert answer.status == 200
    assert time.perf_counter() - started >= 0.2
    started = time.perf_counter()
    await api.get(f"/contacts/{contact_id}")
    assert time.perf_counter() - started < 0.2


async def test_request_log(api: Api) -> None:
    fake = api.fake
    contact_id = fake.seed_contacts(1)[0]
    before = time.time()
    await api.get(f"/contacts/{contact_id}")
    await api.put(f"/contacts/{contact_id}", json={"firstName": "Changed"})
    await api.get("/contacts/", params={"locationId": fake.location_id, "limit": "5"})
    await api.get("/nowhere")
    log = fake.requests
    assert [(r.method, r.operation, r.status) for r in log] == [
        ("GET", "contacts.get", 200),
        ("PUT", "contacts.update", 200),
        ("GET", "contacts.list", 200),
        ("GET", "unknown", 404),
    ]
    assert log[0].path == f"/contacts/{contact_id}"
    assert log[1].applied is True
    assert log[2].query == f"locationId={fake.location_id}&limit=5"
    assert log[0].timestamp >= before
    assert log[0].trace_id == api.answers[0].headers["traceId"]
    assert log[3].location_id is None
    assert fake.count() == 4
    assert fake.count("get") == 3
    assert fake.count("GET", f"/contacts/{contact_id}") == 1
    assert fake.count(operation="update-contact") == 1
    assert fake.count(status=404) == 1
    fake.reset_log()
    assert fake.requests == []

"""FakeHighLevel's edge faults, as a plain aiohttp client sees them over a real socket.

Each test arms one knob and pins what a raw ``aiohttp.ClientSession`` observes (status, body,
headers, or the exception) and what happened to the fake's state. aiohttp resends an idempotent
request once by itself when the connection drops, so dropped-connection tests use POST.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from fake_helpers import Api, form, running

from ghl_async.errors import ConfigError
from ghl_async.testing import FakeHighLevel


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with running() as api:
        yield api


def _create(api: Api, **fields: Any) -> dict[str, Any]:
    return {"locationId": api.fake.location_id, **fields}


async def _post_raw(
    fake: FakeHighLevel, path: str, body: dict[str, Any], *, timeout: float | None = None
) -> aiohttp.ClientResponse:
    # A fresh session per call, so no pooled connection hides a fault.
    session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout) if timeout else aiohttp.ClientTimeout()
    )
    try:
        response = await session.post(fake.url(path), json=body, headers=fake.headers())
        await response.read()
        return response
    finally:
        await session.close()


async def _settled(fake: FakeHighLevel, count: int) -> None:
    """Wait until the fake logged ``count`` requests (a request is logged when it is done)."""
    for _ in range(1000):
        if len(fake.requests) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the fake logged {len(fake.requests)} of {count} requests")


# --- error statuses ---------------------------------------------------------------------------


async def test_500_is_highlevels_own_body(api: Api) -> None:
    contact_id = api.fake.seed_contacts(1)[0]
    api.fake.fail("contacts.get", 500)
    answer = await api.get(f"/contacts/{contact_id}")
    assert answer.status == 500
    assert answer.body == b'{"statusCode":500,"message":"Internal server error"}'
    assert answer.headers["Content-Type"].startswith("application/json")
    assert "traceId" in answer.headers
    assert api.fake.requests[-1].fault == "fail"


@pytest.mark.parametrize(
    ("page", "content_type", "marker", "server"),
    [
        (True, "text/html", b"<center>nginx</center>", "nginx"),
        ("nginx", "text/html", b"<title>{status} ", "nginx"),
        ("google", "text/html; charset=UTF-8", b"<b>{status}.</b>", "GFE/2.0"),
        ("cloudflare", "text/plain; charset=UTF-8", b"error code: {status}", "cloudflare"),
    ],
)
@pytest.mark.parametrize("status", [502, 503])
async def test_proxy_pages(
    api: Api, page: Any, content_type: str, marker: bytes, server: str, status: int
) -> None:
    contact_id = api.fake.seed_contacts(1)[0]
    api.fake.fail("contacts.get", status, html=page)
    answer = await api.get(f"/contacts/{contact_id}")
    assert answer.status == status
    assert answer.headers["Content-Type"] == content_type
    assert answer.headers["Server"] == server
    assert marker.replace(b"{status}", str(status).encode()) in answer.body
    # A proxy answered: none of the API's headers, and no Retry-After unless asked for.
    for header in ("traceId", "X-RateLimit-Max", "Retry-After"):
        assert header not in answer.headers
    assert not answer.body.lstrip().startswith(b"{")  # a page, not JSON


async def test_retry_after_forms(api: Api) -> None:
    fake = api.fake
    contact_id = fake.seed_contacts(1)[0]
    path = f"/contacts/{contact_id}"
    fake.fail("contacts.get", 503, html=True, retry_after=30)
    assert (await api.get(path)).headers["Retry-After"] == "30"
    fake.fail("contacts.get", 503, html=True, retry_after=120, retry_after_form="http-date")
    before = time.time()
    dated = (await api.get(path)).headers["Retry-After"]
    when = email.utils.parsedate_to_datetime(dated).timestamp()
    assert dated.endswith(" GMT")
    assert before + 110 < when < time.time() + 130  # loose: an HTTP-date has whole seconds
    fake.fail("contacts.get", 503, retry_after="Wed, 21 Oct 2099 07:28:00 GMT")
    assert (await api.get(path)).headers["Retry-After"] == "Wed, 21 Oct 2099 07:28:00 GMT"
    fake.fail("contacts.get", 502, html="google")
    assert "Retry-After" not in (await api.get(path)).headers


async def test_429_carries_retry_after_and_rate_limit_headers(api: Api) -> None:
    fake = api.fake
    contact_id = fake.seed_contacts(1)[0]
    fake.fail(
        "contacts.get",
        429,
        retry_after=3600,
        headers={"X-RateLimit-Interval-Milliseconds": "86400000000"},
    )
    answer = await api.get(f"/contacts/{contact_id}")
    assert answer.status == 429
    assert answer.json == {
        "statusCode": 429,
        "message": "Too Many Requests",
        "error": "Too Many Requests",
    }
    assert answer.headers["Retry-After"] == "3600"
    assert answer.headers["X-RateLimit-Remaining"] == "0"
    assert answer.headers["X-RateLimit-Max"] == "100"
    assert answer.headers["X-RateLimit-Interval-Milliseconds"] == "86400000000"  # added last
    assert "X-RateLimit-Limit-Daily" in answer.headers


async def test_applied_then_502(api: Api) -> None:
    fake = api.fake
    fake.fail("contacts.create", 502, html=True, when="after")
    answer = await api.post("/contacts/", json=_create(api, email="ghost@example.com"))
    assert answer.status == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    # The write happened although the caller saw a gateway error.
    assert len(fake.find_contacts(email="ghost@example.com")) == 1
    record = fake.requests[-1]
    assert (record.status, record.applied, record.fault) == (502, True, "fail")
    again = await api.post("/contacts/", json=_create(api, email="ghost@example.com"))
    assert (again.status, again.json["meta"]["matchingField"]) == (400, "email")


# --- broken connections -----------------------------------------------------------------------


async def test_truncated_body_declares_the_full_length(api: Api) -> None:
    fake = api.fake
    fake.truncate("contacts.create", keep=0.5)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            fake.url("/contacts/"),
            json=_create(api, email="cut@example.com"),
            headers=fake.headers(),
        ) as response,
    ):
        assert response.status == 201
        declared = int(response.headers["Content-Length"])
        with pytest.raises(aiohttp.ClientPayloadError, match="Not enough data"):
            await response.read()
    # Half the body arrived; the write was applied.
    assert declared > 100
    assert len(fake.find_contacts(email="cut@example.com")) == 1
    record = fake.requests[-1]
    assert (record.status, record.applied, record.fault) == (201, True, "truncate")


async def test_truncated_chunked_body_lacks_its_last_chunk(api: Api) -> None:
    fake = api.fake
    contact_id = fake.seed_contacts(1)[0]
    fake.truncate("contacts.get", chunked=True, keep=0.3)
    async with (
        aiohttp.ClientSession() as session,
        session.get(fake.url(f"/contacts/{contact_id}"), headers=fake.headers()) as response,
    ):
        assert response.status == 200
        assert response.headers["Transfer-Encoding"] == "chunked"
        assert "Content-Length" not in response.headers
        with pytest.raises(aiohttp.ClientPayloadError):
            await response.read()
    # Error answers are never truncated (and do not spend the fault); the next 2xx is.
    fault = fake.truncate("contacts.get")
    missing = await api.get("/contacts/nobody")
    assert (missing.status, fault.hits) == (400, 0)
    with pytest.raises(aiohttp.ClientPayloadError):
        await api.get(f"/contacts/{contact_id}")
    assert fault.hits == 1
    assert (await api.get(f"/contacts/{contact_id}")).status == 200
    assert [r.fault for r in fake.requests] == ["truncate", None, "truncate", None]


async def test_reset_after_the_headers(api: Api) -> None:
    fake = api.fake
    fake.reset("contacts.create", keep=0.25)
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            fake.url("/contacts/"),
            json=_create(api, email="rst@example.com"),
            headers=fake.headers(),
        ) as response,
    ):
        assert response.status == 201
        assert "traceId" in response.headers
        with pytest.raises((aiohttp.ClientPayloadError, aiohttp.ClientOSError)) as caught:
            await response.read()
    text = f"{caught.value} {caught.value.__cause__}"
    assert "reset" in text.lower()
    assert len(fake.find_contacts(email="rst@example.com")) == 1
    assert fake.requests[-1].fault == "reset"


async def test_drop_with_reset_is_an_rst_before_any_answer(api: Api) -> None:
    fake = api.fake
    fake.drop("contacts.create", reset=True)
    with pytest.raises(aiohttp.ClientOSError, match="reset"):
        await _post_raw(fake, "/contacts/", _create(api, email="gone@example.com"))
    assert fake.find_contacts(email="gone@example.com") == []
    fake.drop("contacts.create")
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await _post_raw(fake, "/contacts/", _create(api, email="gone@example.com"))
    assert [(r.status, r.fault) for r in fake.requests] == [(None, "drop"), (None, "drop")]


async def test_aiohttp_resends_a_dropped_get_once_by_itself(api: Api) -> None:
    fake = api.fake
    contact_id = fake.seed_contacts(1)[0]
    fake.drop("contacts.get")
    assert (await api.get(f"/contacts/{contact_id}")).status == 200
    assert [r.status for r in fake.requests] == [None, 200]
    fake.drop("contacts.get", times=2)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await api.get(f"/contacts/{contact_id}")


# --- slow answers -----------------------------------------------------------------------------


async def test_slow_after_applies_the_write_before_the_wait(api: Api) -> None:
    fake = api.fake
    fake.slow("contacts.create", 1.0)  # when="after" is the default
    with pytest.raises(asyncio.TimeoutError):
        await _post_raw(fake, "/contacts/", _create(api, email="late@example.com"), timeout=0.3)
    # The client gave up, yet the contact is already there.
    assert len(fake.find_contacts(email="late@example.com")) == 1
    await _settled(fake, 1)
    assert fake.requests[0].applied is True
    assert fake.requests[0].fault == "slow"


async def test_slow_before_applies_the_write_after_the_wait(api: Api) -> None:
    fake = api.fake
    fake.slow("contacts.create", 1.0, when="before")
    with pytest.raises(asyncio.TimeoutError):
        await _post_raw(fake, "/contacts/", _create(api, email="later@example.com"), timeout=0.3)
    assert fake.find_contacts(email="later@example.com") == []  # not yet
    await _settled(fake, 1)  # the fake finishes the request although the client left
    assert len(fake.find_contacts(email="later@example.com")) == 1
    assert fake.requests[0].applied is True


async def test_patient_clients_get_the_slow_answer(api: Api) -> None:
    fake = api.fake
    contact_id = fake.seed_contacts(1)[0]
    fault = fake.slow("contacts.get", 0.05, times=2)
    assert (await api.get(f"/contacts/{contact_id}")).status == 200
    assert (await api.get(f"/contacts/{contact_id}")).status == 200
    assert fault.hits == 2
    assert [r.fault for r in fake.requests] == ["slow", "slow"]


# --- tokens -----------------------------------------------------------------------------------


async def test_revoke_early_kills_one_access_token_mid_run(api: Api) -> None:
    fake = api.fake
    issued = fake.issue_token()
    params = {"locationId": fake.location_id}
    fault = fake.revoke_early("contacts.list", skip=2)
    statuses = [
        (await api.get("/contacts/", params=params, token=issued.access_token)).status
        for _ in range(4)
    ]
    assert statuses == [200, 200, 401, 401]  # dead from the third request on
    assert api.answers[2].message == "Invalid JWT"
    assert fault.hits == 1
    # Long before its expiry; the refresh token still works, and so does the private token.
    assert issued.expires_in > 80_000
    refreshed = await api.token_form(
        form(fake, grant_type="refresh_token", refresh_token=issued.refresh_token)
    )
    assert refreshed.status == 200
    fresh = refreshed.json["access_token"]
    assert (await api.get("/contacts/", params=params, token=fresh)).status == 200
    assert (await api.get("/contacts/", params=params)).status == 200


async def test_revoke_early_waits_for_an_oauth_token(api: Api) -> None:
    fake = api.fake
    params = {"locationId": fake.location_id}
    fault = fake.revoke_early()
    # Private-integration tokens cannot be renewed: they are spared unless asked for.
    assert (await api.get("/contacts/", params=params)).status == 200
    assert fault.hits == 0
    token = fake.issue_token().access_token
    assert (await api.get("/contacts/", params=params, token=token)).status == 401
    assert fault.hits == 1
    fake.revoke_early(private=True)
    assert (await api.get("/contacts/", params=params)).status == 401
    assert fake.requests[-1].fault == "revoke"


# --- mutations --------------------------------------------------------------------------------


async def _mutated_get(seed: int, **knob: Any) -> tuple[dict[str, Any], dict[str, Any], Any]:
    async with running(seed=seed) as api:
        contact_id = api.fake.seed_contacts(1, tags=["a", "b", "c"])[0]
        plain = (await api.get(f"/contacts/{contact_id}")).json
        api.fake.mutate("contacts.get", **knob)
        answer = await api.get(f"/contacts/{contact_id}")
        return plain, answer.json, answer.headers


def _only_additions(plain: Any, mutated: Any) -> bool:
    """``mutated`` is ``plain`` plus object keys, nothing removed or changed."""
    if isinstance(plain, dict):
        return isinstance(mutated, dict) and all(
            key in mutated and _only_additions(value, mutated[key]) for key, value in plain.items()
        )
    if isinstance(plain, list):
        return (
            isinstance(mutated, list)
            and len(plain) == len(mutated)
            and all(_only_additions(a, b) for a, b in zip(plain, mutated, strict=True))
        )
    return bool(plain == mutated)


def _nulls(node: Any) -> int:
    if isinstance(node, dict):
        return sum(_nulls(value) for value in node.values())
    if isinstance(node, list):
        return sum(_nulls(value) for value in node)
    return 1 if node is None else 0


async def test_mutate_removes_nulls_and_adds_fields_deterministically() -> None:
    plain, mutated, _ = await _mutated_get(3, missing=2, extra=2, nulls=2)
    assert set(plain) <= set(mutated)  # the envelope stays (extras may join it)
    assert mutated["contact"]["id"] == plain["contact"]["id"]  # protected
    assert _nulls(mutated) >= 1 + _nulls(plain)
    assert not _only_additions(plain, mutated)  # something went or turned null
    # Same seed, same request order: the same mutation. Other seeds: others.
    _, again, _ = await _mutated_get(3, missing=2, extra=2, nulls=2)
    assert again == mutated
    others = [(await _mutated_get(seed, missing=2, extra=2, nulls=2))[1] for seed in (4, 5, 6)]
    assert any(other != mutated for other in others)


async def test_mutate_nulls_inside_lists(api: Api) -> None:
    fake = api.fake
    created = await api.create(email="list@example.com", tags=["a", "b", "c"])
    plain = (await api.get(f"/contacts/{created['id']}")).json
    # Every key protected: only list items are left to turn null.
    fake.mutate("contacts.get", missing=0, extra=0, nulls=1, protect=set(plain["contact"]))
    mutated = (await api.get(f"/contacts/{created['id']}")).json
    tags = mutated["contact"]["tags"]
    assert len(tags) == 3
    assert tags.count(None) == 1
    assert [tag for tag in tags if tag is not None] == [t for t in ["a", "b", "c"] if t in tags]


async def test_mutate_extra_fields_only() -> None:
    plain, mutated, _ = await _mutated_get(1, missing=0, nulls=0, extra=3)
    assert mutated != plain
    assert _only_additions(plain, mutated)


async def test_odd_rate_limit_headers_are_opt_in() -> None:
    _, _, headers = await _mutated_get(0, missing=0, extra=0, nulls=0)
    assert headers["X-RateLimit-Max"] == "100"
    _, body, odd = await _mutated_get(0, missing=0, extra=0, nulls=0, odd_headers=True)
    values = {odd[name] for name in odd if name.lower().startswith("x-ratelimit-")}
    assert len(values & {"100", "99", "10000", "200000", "199999", "199998"}) == 0
    assert body["contact"]["id"]
    # What clients trip on: int(float(v)) and friends raise on some of them.
    from ghl_async.testing.mutations import ODD_RATE_LIMIT_VALUES

    failures = 0
    for value in ODD_RATE_LIMIT_VALUES:
        try:
            int(float(value))
        except (ValueError, OverflowError):
            failures += 1
    assert failures >= 4


async def test_error_answers_are_not_mutated(api: Api) -> None:
    fake = api.fake
    fault = fake.mutate("contacts.get")
    assert (await api.get("/contacts/nobody")).json == {
        "statusCode": 400,
        "message": "Contact with id nobody not found",
        "error": "Bad Request",
    }
    assert fault.hits == 0


# --- arguments --------------------------------------------------------------------------------


def test_new_knob_arguments_are_checked() -> None:
    fake = FakeHighLevel()
    with pytest.raises(ConfigError, match="html"):
        fake.fail("contacts.get", 502, html="apache")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="retry_after_form"):
        fake.fail("contacts.get", retry_after=1, retry_after_form="minutes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="when"):
        fake.fail("contacts.get", when="during")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="keep"):
        fake.truncate("contacts.get", keep=1.5)
    with pytest.raises(ConfigError, match="keep"):
        fake.reset("contacts.get", keep=-0.1)
    with pytest.raises(ConfigError):
        fake.slow("contacts.get", -1)
    with pytest.raises(ConfigError, match="skip"):
        fake.slow("contacts.get", 1, skip=-1)
    with pytest.raises(ConfigError):
        fake.mutate(missing=-1)
    with pytest.raises(ConfigError, match="unknown operation"):
        fake.revoke_early("contacts.fetch")
    assert fake.faults.armed() == []

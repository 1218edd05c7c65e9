"""Event hooks: they fire in the documented order on success, retry, 429, rate-limit waits,
reconciliation and failure; they never see a token; a raising hook never breaks the call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest

from ghl_async import (
    Client,
    ConfigError,
    Hooks,
    NotFoundError,
    RateLimit,
    TransportError,
)
from ghl_async.hooks import (
    ReconcileEvent,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    WaitEvent,
)
from ghl_async.testing import FakeHighLevel

Event = RequestEvent | ResponseEvent | RetryEvent | WaitEvent | ReconcileEvent


class Recorder:
    """Every event, in order; ``on_request`` is async, the others plain functions."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def hooks(self) -> Hooks:
        async def on_request(event: RequestEvent) -> None:
            await asyncio.sleep(0)  # a coroutine hook is awaited inline
            self.events.append(event)

        return Hooks(
            on_request=on_request,
            on_response=self.events.append,
            on_retry=self.events.append,
            on_wait=self.events.append,
            on_reconcile=self.events.append,
        )

    def kinds(self) -> list[str]:
        names = {
            RequestEvent: "request", ResponseEvent: "response", RetryEvent: "retry",
            WaitEvent: "wait", ReconcileEvent: "reconcile",
        }  # fmt: skip
        return [names[type(event)] for event in self.events]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def ghl(fake: FakeHighLevel, recorder: Recorder) -> AsyncIterator[Client]:
    async with fake.client(
        hooks=recorder.hooks(), backoff_base=0.001, backoff_max=0.005
    ) as client:
        yield client


def no_token_in(events: list[Event], token: str) -> None:
    for event in events:
        assert token not in repr(event)
        if isinstance(event, RequestEvent):
            assert all(token not in value for value in event.headers.values())


async def test_success_is_request_then_response(
    fake: FakeHighLevel, ghl: Client, recorder: Recorder
) -> None:
    contact_id = fake.seed_contacts(1)[0]
    await ghl.contacts.get(contact_id, extra_headers={"X-Mine": "1"})
    assert recorder.kinds() == ["request", "response"]
    request, response = recorder.events
    assert isinstance(request, RequestEvent)
    assert isinstance(response, ResponseEvent)
    assert (request.operation, request.method, request.attempt) == ("contacts.get", "GET", 1)
    assert request.url == f"{fake.base_url}/contacts/{contact_id}"
    assert request.key == fake.location_id
    assert request.body is None
    assert request.headers["Authorization"] == "<redacted>"
    assert request.headers["Version"] == "2021-07-28"
    assert request.headers["X-Mine"] == "1"
    assert request.headers["User-Agent"].startswith("ghl-async/")
    assert (response.status, response.attempt, response.error) == (200, 1, None)
    assert response.headers["traceId"] == fake.requests[-1].trace_id
    assert response.elapsed >= 0
    no_token_in(recorder.events, fake.private_token)
    recorder.events.clear()
    await ghl.contacts.create(email="ada@example.com")
    request = recorder.events[0]
    assert isinstance(request, RequestEvent)
    assert request.body is not None
    assert b'"email":"ada@example.com"' in request.body
    assert request.headers["Content-Type"] == "application/json"


async def test_a_retry_is_announced_between_attempts(
    fake: FakeHighLevel, ghl: Client, recorder: Recorder
) -> None:
    contact_id = fake.seed_contacts(1)[0]
    fake.fail("contacts.get", status=503)
    await ghl.contacts.get(contact_id)
    assert recorder.kinds() == ["request", "response", "retry", "request", "response"]
    _, failed, retry, again, done = recorder.events
    assert isinstance(failed, ResponseEvent)
    assert failed.status == 503
    assert isinstance(retry, RetryEvent)
    assert (retry.operation, retry.attempt, retry.status, retry.cause) == (
        "contacts.get", 1, 503, "HTTP 503",
    )  # fmt: skip
    assert retry.max_retries == ghl.max_retries
    assert 0 <= retry.delay <= 0.005
    assert isinstance(again, RequestEvent)
    assert again.attempt == 2
    assert isinstance(done, ResponseEvent)
    assert (done.status, done.attempt) == (200, 2)


async def test_a_429_retry_carries_its_retry_after(
    fake: FakeHighLevel, recorder: Recorder
) -> None:
    contact_id = fake.seed_contacts(1)[0]
    fake.fail("contacts.get", status=429, retry_after=0.05)
    async with fake.client(hooks=recorder.hooks(), rate_limit=None) as ghl:
        await ghl.contacts.get(contact_id)
    assert recorder.kinds() == ["request", "response", "retry", "request", "response"]
    retry = recorder.events[2]
    assert isinstance(retry, RetryEvent)
    assert (retry.status, retry.retry_after) == (429, 0.05)
    assert retry.cause == "HTTP 429 (Retry-After 0.05 s)"
    assert retry.delay >= 0.05  # never shorter than the server asked


async def test_rate_limit_waits_are_reported(fake: FakeHighLevel, recorder: Recorder) -> None:
    contact_id = fake.seed_contacts(1)[0]
    async with fake.client(hooks=recorder.hooks(), rate_limit=RateLimit(2, 0.3)) as ghl:
        for _ in range(3):
            await ghl.contacts.get(contact_id)
    waits = [e for e in recorder.events if isinstance(e, WaitEvent)]
    assert len(waits) == 1  # the third call waited for the window
    assert waits[0].key == fake.location_id
    assert waits[0].operation == "contacts.get"
    assert 0.05 < waits[0].seconds < 5  # loose: about 0.3 s on an idle machine
    # The wait comes before the request it held back.
    assert recorder.kinds()[-3:] == ["wait", "request", "response"]


async def test_a_failure_ends_with_its_last_response(
    fake: FakeHighLevel, ghl: Client, recorder: Recorder
) -> None:
    with pytest.raises(NotFoundError):
        await ghl.contacts.get("missing")
    assert recorder.kinds() == ["request", "response"]
    response = recorder.events[-1]
    assert isinstance(response, ResponseEvent)
    assert response.status in (400, 404)
    recorder.events.clear()
    fake.drop("contacts.delete", times=None)
    with pytest.raises(TransportError):
        await ghl.with_options(max_retries=1).contacts.delete(fake.seed_contacts(1)[0])
    assert recorder.kinds() == ["request", "response", "retry", "request", "response"]
    for event in (recorder.events[1], recorder.events[4]):
        assert isinstance(event, ResponseEvent)
        assert event.status is None
        assert event.error in ("ServerDisconnectedError", "ClientOSError")
        assert dict(event.headers) == {}
    fake.clear_faults()


async def test_a_reconciliation_is_reported_with_its_lookups(
    fake: FakeHighLevel, ghl: Client, recorder: Recorder
) -> None:
    fake.drop("contacts.create", when="after")
    contact = await ghl.contacts.create(email="lost@example.com")
    kinds = recorder.kinds()
    assert kinds[:2] == ["request", "response"]
    assert kinds[-1] == "reconcile"
    settled = recorder.events[-1]
    assert isinstance(settled, ReconcileEvent)
    assert (settled.operation, settled.outcome) == ("contacts.create", "found")
    assert settled.checked
    assert "ServerDisconnectedError" in settled.cause
    # The lookups are requests of their own, with their own operation names.
    lookups = [e.operation for e in recorder.events[2:-1] if isinstance(e, RequestEvent)]
    assert lookups
    assert "contacts.create" not in lookups
    assert contact.email == "lost@example.com"


async def test_an_absent_create_is_resent_after_its_reconcile_event(
    fake: FakeHighLevel, ghl: Client, recorder: Recorder
) -> None:
    fake.drop("contacts.create", when="before")  # sent, never applied, no answer
    contact = await ghl.contacts.create(email="again@example.com")
    kinds = recorder.kinds()
    settled = next(e for e in recorder.events if isinstance(e, ReconcileEvent))
    assert settled.outcome == "absent"
    at = recorder.events.index(settled)
    # After the verdict: the retry, then the create's second attempt.
    assert kinds[at:] == ["reconcile", "retry", "request", "response"]
    resend = recorder.events[at + 2]
    assert isinstance(resend, RequestEvent)
    assert (resend.operation, resend.attempt) == ("contacts.create", 2)
    assert len(fake.find_contacts(email="again@example.com")) == 1
    assert contact.email == "again@example.com"


async def test_a_raising_hook_never_breaks_the_call(
    fake: FakeHighLevel, caplog: pytest.LogCaptureFixture
) -> None:
    contact_id = fake.seed_contacts(1)[0]

    def broken(event: object) -> None:
        raise RuntimeError("hook bug")

    async def broken_async(event: object) -> None:
        raise ValueError("async hook bug")

    def returns_junk(event: object) -> None:
        return 42  # type: ignore[return-value]  # a sloppy hook: ignored, not awaited

    hooks = Hooks(on_request=broken, on_response=broken_async, on_retry=returns_junk)
    fake.fail("contacts.get", status=502)
    with caplog.at_level(logging.WARNING, logger="ghl_async"):
        async with fake.client(hooks=hooks, backoff_base=0.001, backoff_max=0.005) as ghl:
            contact = await ghl.contacts.get(contact_id)
    assert contact.id == contact_id
    raised = [r for r in caplog.records if "hook raised" in r.getMessage()]
    assert {r.getMessage() for r in raised} == {
        "the on_request hook raised; the call goes on",
        "the on_response hook raised; the call goes on",
    }
    assert len(raised) == 4  # two attempts, two broken hooks each
    assert all(r.exc_info is not None for r in raised)


async def test_a_cancelled_hook_cancels_the_call_and_frees_its_slot(fake: FakeHighLevel) -> None:
    contact_id = fake.seed_contacts(1)[0]
    stall = asyncio.Event()

    async def slow(event: RequestEvent) -> None:
        await stall.wait()

    # One request per 0.2 s: a slot that was never given back would block the next call for good.
    async with fake.client(hooks=Hooks(on_request=slow), rate_limit=RateLimit(1, 0.2)) as ghl:
        call = asyncio.ensure_future(ghl.contacts.get(contact_id))
        await asyncio.sleep(0.05)
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert fake.requests == []  # never sent
        # The slot was given back: a call without hooks goes out once the window allows.
        plain = ghl.with_options(hooks=None)
        assert plain.hooks is None
        done = await asyncio.wait_for(plain.contacts.get(contact_id), 20)
        assert done.id == contact_id


def test_hooks_are_checked() -> None:
    with pytest.raises(ConfigError, match=r"Hooks\.on_request must be callable"):
        Hooks(on_request=5)  # type: ignore[arg-type]  # deliberately wrong
    with pytest.raises(ConfigError, match=r"hooks must be a ghl_async\.Hooks"):
        Client(auth=_auth(), hooks=print)  # type: ignore[arg-type]  # deliberately wrong
    assert Hooks().empty
    assert not Hooks(on_wait=print).empty
    assert Client(auth=_auth(), hooks=Hooks()).hooks is None  # nothing set: nothing to call


def _auth() -> object:
    from ghl_async import StaticToken

    return StaticToken("pit-x", location_id="loc")

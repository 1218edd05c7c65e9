"""Verified events the receiver must not lose: its own 429s redelivered past the timestamp window,
and bodies above aiohttp's 1 MiB default. Over a real socket on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator

import aiohttp
import msgspec
import pytest
from aiohttp import web
from webhook_helpers import ed25519_headers, event_body, make_verifier, now_iso, post, serve

from ghl_async.errors import ConfigError
from ghl_async.webhooks import (
    RECEIVER_KEY,
    Dispatcher,
    MemorySeenStore,
    WebhookReceiver,
    create_app,
)

TOLERANCE = 300.0


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Clock:
    """The verifier's clock: real time plus what the test skips forward."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return time.time() + self.skipped


def ident(body: bytes) -> str:
    return str(msgspec.json.decode(body)["webhookId"])


class Gate:
    """A receiver of one worker and one queue slot whose handler waits for ``open()``."""

    def __init__(self, clock: Clock, store: MemorySeenStore | None = None, **options: object):
        self.released = asyncio.Event()
        self.handled: list[str] = []
        dispatcher = Dispatcher()

        @dispatcher.on_any
        async def handler(event: object) -> None:
            await self.released.wait()
            self.handled.append(getattr(event, "webhook_id", "") or "")

        verifier = make_verifier(
            clock=clock, seen_store=store if store is not None else MemorySeenStore()
        )
        self.receiver = WebhookReceiver(
            dispatcher, verifier=verifier, max_concurrency=1, max_pending=1,
            **options,  # type: ignore[arg-type]  # WebhookReceiver's keywords
        )  # fmt: skip

    async def fill(self, http: aiohttp.ClientSession, url: str) -> None:
        """Make the receiver busy: one event running, one waiting."""
        assert (await post(http, url, event_body()))[0] == 200
        await asyncio.sleep(0.05)
        assert (await post(http, url, event_body()))[0] == 200


@contextlib.asynccontextmanager
async def _serve(receiver: WebhookReceiver) -> AsyncIterator[str]:
    app = web.Application()  # aiohttp's defaults, client_max_size of 1 MiB included
    receiver.attach(app, "/hooks")
    async with serve(app) as server:
        yield str(server.make_url("/hooks"))


async def test_the_redelivery_of_an_event_answered_429_is_accepted_past_the_window(
    http: aiohttp.ClientSession,
) -> None:
    clock = Clock()
    gate = Gate(clock)
    async with _serve(gate.receiver) as url:
        await gate.fill(http, url)
        refused = event_body()
        assert (await post(http, url, refused))[0] == 429
        gate.released.set()
        await gate.receiver.join()
        # Ten minutes later HighLevel sends it again, with its original timestamp.
        clock.skipped = 600
        status, answer = await post(http, url, refused)
        assert (status, answer["status"]) == (200, "accepted")
        await gate.receiver.join()
        assert ident(refused) in gate.handled
        # The note was spent: a replay of it past the window is refused like any stale event,
        # and within the window (as if the clock were back) it is a duplicate.
        assert (await post(http, url, refused))[0] == 400
        clock.skipped = 0
        assert (await post(http, url, refused))[1]["status"] == "duplicate"
        # An event never answered 429 gets no such favour: stale is stale.
        stale = event_body(timestamp=now_iso(-600))
        assert (await post(http, url, stale))[0] == 400
    stats = gate.receiver.stats
    assert (stats.redelivered, stats.duplicates, stats.overloaded) == (1, 1, 1)
    assert gate.handled.count(ident(refused)) == 1


async def test_a_late_redelivery_is_bounded_by_the_window(http: aiohttp.ClientSession) -> None:
    clock = Clock()
    gate = Gate(clock, redelivery_window=900)
    async with _serve(gate.receiver) as url:
        await gate.fill(http, url)
        first, second = event_body(), event_body()
        assert (await post(http, url, first))[0] == 429
        assert (await post(http, url, second))[0] == 429
        gate.released.set()
        await gate.receiver.join()
        clock.skipped = TOLERANCE + 900 + 60  # older than the window plus redelivery_window
        assert (await post(http, url, first))[0] == 400
        clock.skipped = -2 * TOLERANCE  # from the future: never a redelivery
        assert (await post(http, url, second))[0] == 400
        clock.skipped = 600
        assert (await post(http, url, second))[0] == 200  # within both: still accepted


async def test_receivers_sharing_a_store_accept_each_others_redeliveries(
    http: aiohttp.ClientSession,
) -> None:
    clock = Clock()
    store = MemorySeenStore()
    busy, other = Gate(clock, store), Gate(clock, store)
    other.released.set()
    async with _serve(busy.receiver) as busy_url, _serve(other.receiver) as other_url:
        await busy.fill(http, busy_url)
        refused = event_body()
        assert (await post(http, busy_url, refused))[0] == 429
        clock.skipped = 900
        # The load balancer sends the redelivery to another process.
        assert (await post(http, other_url, refused))[0] == 200
        await other.receiver.join()
        busy.released.set()
    assert other.handled == [ident(refused)]


async def test_a_429_for_a_failing_store_is_remembered_in_memory(
    http: aiohttp.ClientSession,
) -> None:
    class Flaky(MemorySeenStore):
        broken = True

        async def add(self, webhook_id: str, ttl: float) -> bool:
            if self.broken:
                raise ConnectionError("store down")
            return await super().add(webhook_id, ttl)

    clock = Clock()
    store = Flaky()
    gate = Gate(clock, store)
    gate.released.set()
    async with _serve(gate.receiver) as url:
        body = event_body()
        status, answer = await post(http, url, body)
        assert (status, answer["message"]) == (429, "seen-store unavailable")
        store.broken = False
        clock.skipped = 600
        assert (await post(http, url, body))[0] == 200
        await gate.receiver.join()
    assert gate.handled == [ident(body)]


async def test_the_favour_can_be_turned_off(http: aiohttp.ClientSession) -> None:
    clock = Clock()
    gate = Gate(clock, redelivery_window=0)
    async with _serve(gate.receiver) as url:
        await gate.fill(http, url)
        refused = event_body()
        assert (await post(http, url, refused))[0] == 429
        gate.released.set()
        clock.skipped = 600
        assert (await post(http, url, refused))[0] == 400
    with pytest.raises(ConfigError):
        WebhookReceiver(Dispatcher(), verifier=make_verifier(), redelivery_window=-1)
    with pytest.raises(ConfigError):
        WebhookReceiver(Dispatcher(), verifier=make_verifier(), max_body_size=10)


async def test_a_verified_body_above_one_mib_is_accepted(http: aiohttp.ClientSession) -> None:
    bodies = [event_body(customData="x" * (2 * 1024 * 1024)) for _ in range(2)]
    dispatcher = Dispatcher()
    handled: list[str] = []
    dispatcher.on_any(lambda e: handled.append(e.webhook_id or ""))
    # Attached to an app of aiohttp's defaults, and as the app create_app builds.
    async def deliver(url: str, body: bytes) -> int:
        # A file-like body: aiohttp warns about (and tests refuse) megabytes of raw bytes.
        async with http.post(url, data=io.BytesIO(body), headers=ed25519_headers(body)) as reply:
            return reply.status

    attached = WebhookReceiver(dispatcher, verifier=make_verifier())
    async with _serve(attached) as url:
        assert await deliver(url, bodies[0]) == 200
        await attached.join()
    app = create_app(dispatcher, verifier=make_verifier())
    async with serve(app) as server:
        assert await deliver(str(server.make_url("/webhooks")), bodies[1]) == 200
        await app[RECEIVER_KEY].join()
    assert handled == [ident(body) for body in bodies]


async def test_a_body_above_max_body_size_is_refused_unread(http: aiohttp.ClientSession) -> None:
    receiver = WebhookReceiver(Dispatcher(), verifier=make_verifier(), max_body_size=4096)
    big = event_body(customData="x" * 5000)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]

    async with _serve(receiver) as url:
        async with http.post(url, data=big, headers=ed25519_headers(big)) as declared:
            assert declared.status == 413  # Content-Length says so: nothing is read
        async with http.post(url, data=chunks(), headers=ed25519_headers(big)) as streamed:
            assert streamed.status == 413  # chunked: reading stops at the limit
        assert (await post(http, url, event_body()))[0] == 200
    assert receiver.stats.rejected == 2

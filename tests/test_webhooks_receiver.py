"""The aiohttp receiver over a real socket on 127.0.0.1: statuses, dedupe, overload, shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import msgspec
import pytest
from aiohttp import web
from webhook_helpers import ed25519_headers, event_body, make_verifier, now_iso, post, serve

from ghl_async.errors import ConfigError
from ghl_async.webhooks import (
    RECEIVER_KEY,
    ContactCreate,
    Dispatcher,
    DispatchResult,
    MemorySeenStore,
    WebhookReceiver,
    WebhookVerifier,
    create_app,
)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    # No connection cap: the overload test opens a thousand requests at once.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        yield session


def webhook_id(body: bytes) -> str:
    return str(msgspec.json.decode(body)["webhookId"])


def recording_dispatcher() -> tuple[Dispatcher, list[str]]:
    dispatcher = Dispatcher()
    handled: list[str] = []
    dispatcher.on_any(lambda e: handled.append(e.webhook_id or ""))
    return dispatcher, handled


async def test_a_valid_delivery_is_acknowledged_and_handled(http: aiohttp.ClientSession) -> None:
    dispatcher = Dispatcher()
    got: list[ContactCreate] = []

    @dispatcher.on(ContactCreate)
    async def handler(event: ContactCreate) -> None:
        got.append(event)

    app = create_app(dispatcher, verifier=make_verifier())
    receiver = app[RECEIVER_KEY]
    async with serve(app) as server:
        body = event_body(email="new@example.com")
        status, answer = await post(http, str(server.make_url("/webhooks")), body)
        await receiver.join()
    assert status == 200
    assert answer["status"] == "accepted"
    assert [e.email for e in got] == ["new@example.com"]
    assert answer["webhookId"] == got[0].webhook_id
    assert (receiver.stats.accepted, receiver.stats.handled) == (1, 1)
    assert receiver.closed  # the app's cleanup closed it


async def test_bad_signatures_get_401_and_are_not_handled(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher, handled = recording_dispatcher()
    app = create_app(dispatcher, verifier=make_verifier(app_id="app-1"))
    async with serve(app) as server:
        url = str(server.make_url("/webhooks"))
        body = event_body()
        flipped = body.replace(b"contact-1", b"contact-2")
        assert (await post(http, url, flipped, ed25519_headers(body)))[0] == 401
        status, answer = await post(http, url, body, {})
        assert status == 401
        assert answer["error"] == "SignatureError"
        other_app = event_body(appId="someone-else")
        assert (await post(http, url, other_app))[0] == 401
        await app[RECEIVER_KEY].join()
    assert handled == []
    assert app[RECEIVER_KEY].stats.rejected == 3
    assert "webhook rejected (401)" in caplog.text
    # Nothing from the body or the signature leaks into the log.
    assert "contact-1" not in caplog.text
    assert ed25519_headers(body)["x-ghl-signature"] not in caplog.text


async def test_malformed_or_stale_deliveries_get_400(http: aiohttp.ClientSession) -> None:
    # Only what can never become acceptable; odd values in a JSON object are not among them
    # (test_webhooks_lenient.py).
    dispatcher, handled = recording_dispatcher()
    app = create_app(dispatcher, verifier=make_verifier())
    async with serve(app) as server:
        url = str(server.make_url("/webhooks"))
        for body in (
            b"{not json",
            b"[]",
            event_body(timestamp=now_iso(-3600)),
            event_body(webhookId=None),
        ):
            status, answer = await post(http, url, body)
            assert status == 400, answer
    assert handled == []


async def test_a_duplicate_is_acknowledged_but_handled_once(http: aiohttp.ClientSession) -> None:
    dispatcher, handled = recording_dispatcher()
    app = create_app(dispatcher, verifier=make_verifier())
    async with serve(app) as server:
        url = str(server.make_url("/webhooks"))
        body = event_body()
        first = await post(http, url, body)
        second = await post(http, url, body)
        await app[RECEIVER_KEY].join()
    assert first[0] == second[0] == 200
    assert (first[1]["status"], second[1]["status"]) == ("accepted", "duplicate")
    assert len(handled) == 1
    assert app[RECEIVER_KEY].stats.duplicates == 1


async def test_overload_answers_429_without_marking_the_event_seen(
    http: aiohttp.ClientSession,
) -> None:
    release = asyncio.Event()
    dispatcher = Dispatcher()
    handled: list[str] = []

    @dispatcher.on_any
    async def slow(event: ContactCreate) -> None:
        await release.wait()
        handled.append(event.webhook_id or "")

    receiver = WebhookReceiver(
        dispatcher, verifier=make_verifier(), max_concurrency=1, max_pending=1, retry_after=7
    )
    app = web.Application()
    receiver.attach(app, "/hooks")
    async with serve(app) as server:
        url = str(server.make_url("/hooks"))
        bodies = [event_body() for _ in range(3)]
        assert (await post(http, url, bodies[0]))[0] == 200  # running
        await asyncio.sleep(0.05)
        assert (await post(http, url, bodies[1]))[0] == 200  # waiting in the queue
        async with http.post(url, data=bodies[2], headers=ed25519_headers(bodies[2])) as resp:
            assert resp.status == 429
            assert resp.headers["Retry-After"] == "7"
        release.set()
        await receiver.join()
        # HighLevel's redelivery of the refused event is accepted: it was never marked seen.
        status, answer = await post(http, url, bodies[2])
        assert (status, answer["status"]) == (200, "accepted")
        await receiver.join()
    assert sorted(handled) == sorted(webhook_id(b) for b in bodies)
    assert receiver.stats.overloaded == 1


async def test_thousand_concurrent_deliveries_lose_nothing(http: aiohttp.ClientSession) -> None:
    dispatcher = Dispatcher()
    handled: list[str] = []

    @dispatcher.on_any
    async def slow(event: ContactCreate) -> None:
        await asyncio.sleep(0.005)
        handled.append(event.webhook_id or "")

    app = create_app(
        dispatcher, verifier=make_verifier(), max_concurrency=16, max_pending=200
    )
    receiver = app[RECEIVER_KEY]
    bodies = {f"w-{i}": event_body(webhookId=f"w-{i}") for i in range(1000)}
    async with serve(app) as server:
        url = str(server.make_url("/webhooks"))

        async def deliver(webhook_id: str) -> tuple[str, int]:
            return webhook_id, (await post(http, url, bodies[webhook_id]))[0]

        answers = dict(await asyncio.gather(*(deliver(w) for w in bodies)))
        await receiver.join()
        accepted = {w for w, status in answers.items() if status == 200}
        refused = {w for w, status in answers.items() if status == 429}
        # Every delivery was either handled exactly once or refused with 429 (to be redelivered).
        assert set(answers.values()) <= {200, 429}
        assert accepted | refused == set(bodies)
        assert sorted(handled) == sorted(accepted)
        assert refused, "the queue never filled: the test did not exercise overload"
        # Redeliver the refused ones, as HighLevel would: all are accepted and handled.
        while refused:
            retry = dict(await asyncio.gather(*(deliver(w) for w in refused)))
            await receiver.join()
            refused = {w for w, status in retry.items() if status == 429}
    assert sorted(handled) == sorted(bodies)
    assert receiver.stats.handled == 1000
    assert receiver.stats.accepted == 1000


async def test_aclose_drains_running_and_queued_handlers(http: aiohttp.ClientSession) -> None:
    dispatcher = Dispatcher()
    finished: list[str] = []

    @dispatcher.on_any
    async def slow(event: ContactCreate) -> None:
        await asyncio.sleep(0.1)
        finished.append(event.webhook_id or "")

    receiver = WebhookReceiver(dispatcher, verifier=make_verifier(), max_concurrency=2)
    app = web.Application()
    receiver.attach(app)
    async with serve(app) as server:
        url = str(server.make_url("/webhooks"))
        for _ in range(5):
            assert (await post(http, url, event_body()))[0] == 200
        await receiver.aclose()
        assert len(finished) == 5
        # Closed: HighLevel is asked to come back later rather than being told "done".
        assert (await post(http, url, event_body()))[0] == 429
    await receiver.aclose()  # idempotent
    assert receiver.stats.dropped == 0


async def test_aclose_gives_up_after_the_shutdown_timeout(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = Dispatcher()
    dispatcher.on_any(lambda e: asyncio.sleep(10))
    receiver = WebhookReceiver(
        dispatcher, verifier=make_verifier(), max_concurrency=1, shutdown_timeout=0.1
    )
    app = web.Application()
    receiver.attach(app)
    async with serve(app) as server:
        url = str(server.make_url("/webhooks"))
        for _ in range(3):
            assert (await post(http, url, event_body()))[0] == 200
        await receiver.aclose()
    assert receiver.stats.dropped == 3
    assert "3 accepted events unfinished" in caplog.text


async def test_receiver_closed_before_any_event() -> None:
    receiver = WebhookReceiver(Dispatcher(), verifier=make_verifier())
    await receiver.aclose()
    assert receiver.closed


async def test_a_failing_seen_store_asks_for_redelivery(http: aiohttp.ClientSession) -> None:
    class BrokenStore:
        async def add(self, webhook_id: str, ttl: float) -> bool:
            raise ConnectionError("store down")

        async def discard(self, webhook_id: str) -> None:
            raise AssertionError("nothing to discard")

    dispatcher, handled = recording_dispatcher()
    app = create_app(dispatcher, verifier=make_verifier(seen_store=BrokenStore()))
    async with serve(app) as server:
        status, answer = await post(http, str(server.make_url("/webhooks")), event_body())
    assert (status, answer["message"]) == (429, "seen-store unavailable")
    assert handled == []


async def test_queue_filling_while_dedupe_is_awaited_undoes_the_mark(
    http: aiohttp.ClientSession,
) -> None:
    store = MemorySeenStore()

    class SlowStore:
        async def add(self, webhook_id: str, ttl: float) -> bool:
            await asyncio.sleep(0.05)
            return await store.add(webhook_id, ttl)

        async def discard(self, webhook_id: str) -> None:
            await store.discard(webhook_id)

    release = asyncio.Event()
    dispatcher = Dispatcher()
    dispatcher.on_any(lambda e: release.wait())
    receiver = WebhookReceiver(
        dispatcher,
        verifier=make_verifier(seen_store=SlowStore()),
        max_concurrency=1,
        max_pending=1,
    )
    app = web.Application()
    receiver.attach(app)
    async with serve(app) as server:
        url = str(server.make_url("/webhooks"))
        assert (await post(http, url, event_body()))[0] == 200
        await asyncio.sleep(0.02)  # the worker has taken it; the queue is empty again
        bodies = [event_body(webhookId=f"race-{i}") for i in range(2)]
        statuses = sorted(s for s, _ in await asyncio.gather(*(post(http, url, b) for b in bodies)))
        assert statuses == [200, 429]
        release.set()
        await receiver.join()
    refused = [f"race-{i}" for i in range(2) if f"race-{i}" not in store]
    assert len(refused) == 1  # the 429'd id was forgotten, so its redelivery will be accepted


async def test_mounted_as_a_sub_app_with_result_callbacks(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    results: list[DispatchResult] = []

    async def on_result(result: DispatchResult) -> None:
        results.append(result)
        if len(results) == 2:
            raise RuntimeError("observer broke")

    dispatcher = Dispatcher()
    dispatcher.on(ContactCreate)(lambda e: None)
    dispatcher.on("NoteCreate")(lambda e: 1 / 0)
    child = create_app(dispatcher, path="/hook", verifier=make_verifier(), on_result=on_result)
    parent = web.Application()
    parent.add_subapp("/ghl", child)
    async with serve(parent) as server:
        url = str(server.make_url("/ghl/hook"))
        assert (await post(http, url, event_body()))[0] == 200
        assert (await post(http, url, event_body("NoteCreate")))[0] == 200
        await child[RECEIVER_KEY].join()
    assert [r.ok for r in results] == [True, False]
    stats = child[RECEIVER_KEY].stats
    assert (stats.handled, stats.failed) == (1, 1)
    assert "on_result callback failed" in caplog.text
    assert child[RECEIVER_KEY].closed  # sub-app cleanup ran


async def test_sync_result_callback_and_default_verifier(http: aiohttp.ClientSession) -> None:
    seen: list[bool] = []
    receiver = WebhookReceiver(Dispatcher(), on_result=lambda r: seen.append(r.handled))
    assert isinstance(receiver.verifier, WebhookVerifier)  # HighLevel's keys by default
    receiver.verifier = make_verifier()
    app = web.Application()
    receiver.attach(app, "/x")
    async with serve(app) as server:
        assert (await post(http, str(server.make_url("/x")), event_body()))[0] == 200
        await receiver.join()
    assert seen == [False]


def test_bad_limits_are_refused() -> None:
    with pytest.raises(ConfigError):
        WebhookReceiver(Dispatcher(), verifier=make_verifier(), max_concurrency=0)
    with pytest.raises(ConfigError):
        WebhookReceiver(Dispatcher(), verifier=make_verifier(), max_pending=0)
    with pytest.raises(ConfigError, match="shutdown_timeout"):
        WebhookReceiver(Dispatcher(), verifier=make_verifier(), shutdown_timeout=-1)


async def test_other_methods_are_not_routed(http: aiohttp.ClientSession) -> None:
    app = create_app(Dispatcher(), verifier=make_verifier())
    async with serve(app) as server, http.get(server.make_url("/webhooks")) as response:
        assert response.status == 405


"""Receiver workers never die or stall on what a handler, a callback or a dispatcher does.

HighLevel redelivers only after a 429, so an event answered 200 and then not handled is lost.
Every test here sends signed deliveries over a real socket and checks that each accepted event
ends in exactly one of handled / failed / dropped, and that later deliveries are still served.
The ``wait_for`` bounds only stop a broken receiver from hanging the suite; they assert nothing
about speed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest
from webhook_helpers import event_body, make_verifier, post, receiving

from ghl_async.webhooks import (
    ContactCreate,
    Dispatcher,
    DispatchResult,
    MemorySeenStore,
    ReceiverStats,
    WebhookEvent,
    WebhookReceiver,
)

HANG_GUARD = 10.0  # seconds; only there so a regression fails instead of hanging the run


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def deliver(http: aiohttp.ClientSession, url: str, body: bytes) -> int:
    return (await post(http, url, body))[0]


def settled(stats: ReceiverStats) -> int:
    return stats.handled + stats.failed + stats.dropped


class Poison(BaseException):
    """A BaseException that is neither KeyboardInterrupt nor SystemExit."""


async def raise_cancelled() -> None:
    raise asyncio.CancelledError


async def await_a_cancelled_future() -> None:
    # What a handler sees when a resource it waits on (a connection, a lock) is cancelled
    # by someone else, e.g. a client session closed under it.
    future = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(future.cancel)
    await future


async def cancel_own_task() -> None:
    task = asyncio.current_task()
    assert task is not None
    task.cancel()
    await asyncio.sleep(0)


async def raise_poison() -> None:
    raise Poison("not an Exception")


def sync_cancelled() -> None:
    raise asyncio.CancelledError


@pytest.mark.parametrize(
    "escape",
    [raise_cancelled, await_a_cancelled_future, cancel_own_task, raise_poison, sync_cancelled],
)
async def test_a_handler_cancellation_is_a_failure_and_the_workers_live_on(
    http: aiohttp.ClientSession, escape: object, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = Dispatcher()
    after: list[str] = []

    @dispatcher.on(ContactCreate)
    async def poisoned(event: ContactCreate) -> None:
        outcome = escape()  # type: ignore[operator]  # one of the callables above
        if asyncio.iscoroutine(outcome):
            await outcome

    @dispatcher.on(ContactCreate)
    def runs_after(event: ContactCreate) -> None:
        after.append(event.webhook_id or "")

    results: list[DispatchResult] = []
    receiver = WebhookReceiver(
        dispatcher,
        verifier=make_verifier(),
        max_concurrency=2,
        shutdown_timeout=1,
        on_result=results.append,
    )
    async with receiving(receiver) as url:
        # Three times as many poisoned events as workers, then ordinary ones: with dead
        # workers the later ones would be answered 200 and never handled.
        poisoned_ids = [f"poison-{i}" for i in range(6)]
        for webhook_id in poisoned_ids:
            assert await deliver(http, url, event_body(webhookId=webhook_id)) == 200
        await asyncio.wait_for(receiver.join(), HANG_GUARD)
        healthy_ids = [f"note-{i}" for i in range(4)]
        for webhook_id in healthy_ids:
            assert await deliver(http, url, event_body("NoteCreate", webhookId=webhook_id)) == 200
        await asyncio.wait_for(receiver.join(), HANG_GUARD)
    stats = receiver.stats
    assert (stats.accepted, stats.failed, stats.handled, stats.dropped) == (10, 6, 4, 0)
    assert sorted(r.event.webhook_id or "" for r in results) == sorted(poisoned_ids + healthy_ids)
    failures = [f for r in results for f in r.failures]
    assert len(failures) == 6
    expected = Poison if escape is raise_poison else asyncio.CancelledError
    assert all(isinstance(f.error, expected) for f in failures)
    assert all(f.handler_name.endswith("poisoned") for f in failures)
    # The other handler of each poisoned event still ran.
    assert sorted(after) == sorted(poisoned_ids)
    assert caplog.text.count("poisoned failed on ContactCreate") == 6


async def run_receiver(
    http: aiohttp.ClientSession,
    receiver: WebhookReceiver,
    bodies: list[bytes],
) -> list[int]:
    async with receiving(receiver) as url:
        statuses = [await deliver(http, url, body) for body in bodies]
        await asyncio.wait_for(receiver.join(), HANG_GUARD)
    return statuses


class Stop(BaseException):
    pass


@pytest.mark.parametrize("trouble", ["raise", "cancelled", "base-exception", "sync-raise"])
async def test_a_failing_result_callback_never_stops_the_workers(
    http: aiohttp.ClientSession, trouble: str, caplog: pytest.LogCaptureFixture
) -> None:
    reported: list[str] = []

    async def on_result(result: DispatchResult) -> None:
        reported.append(result.event.webhook_id or "")
        if trouble == "raise":
            raise RuntimeError("observer broke")
        if trouble == "cancelled":
            await await_a_cancelled_future()
        if trouble == "base-exception":
            raise Stop

    def sync_on_result(result: DispatchResult) -> None:
        reported.append(result.event.webhook_id or "")
        raise ValueError("sync observer broke")

    dispatcher = Dispatcher()
    dispatcher.on_any(lambda event: None)
    receiver = WebhookReceiver(
        dispatcher,
        verifier=make_verifier(),
        max_concurrency=1,
        on_result=sync_on_result if trouble == "sync-raise" else on_result,
    )
    bodies = [event_body(webhookId=f"r-{i}") for i in range(5)]
    assert await run_receiver(http, receiver, bodies) == [200] * 5
    assert sorted(reported) == [f"r-{i}" for i in range(5)]
    assert (receiver.stats.handled, receiver.stats.failed) == (5, 0)
    assert receiver.stats.worker_restarts == 0
    assert caplog.text.count("on_result callback failed") == 5


class BrokenDispatcher(Dispatcher):
    """A dispatcher subclass with a bug for some events, as users' subclasses may have."""

    async def dispatch(self, event: WebhookEvent) -> DispatchResult:
        if event.webhook_id == "raise":
            raise RuntimeError("dispatcher bug")
        if event.webhook_id == "cancel":
            raise asyncio.CancelledError
        if event.webhook_id == "garbage":
            return "not a result"  # type: ignore[return-value]  # the bug under test
        return await super().dispatch(event)


async def test_a_dispatcher_error_is_a_failure_reported_like_a_handlers(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = BrokenDispatcher()
    handled: list[str] = []
    dispatcher.on_any(lambda event: handled.append(event.webhook_id))
    results: list[DispatchResult] = []
    receiver = WebhookReceiver(
        dispatcher, verifier=make_verifier(), max_concurrency=1, on_result=results.append
    )
    ids = ["raise", "cancel", "garbage", "fine"]
    statuses = await run_receiver(http, receiver, [event_body(webhookId=i) for i in ids])
    assert statuses == [200] * 4
    assert handled == ["fine"]
    assert [r.event.webhook_id for r in results] == ids
    errors = [type(r.failures[0].error) if r.failures else None for r in results]
    assert errors == [RuntimeError, asyncio.CancelledError, TypeError, None]
    assert (receiver.stats.failed, receiver.stats.handled) == (3, 1)
    assert caplog.text.count("webhook dispatcher failed") == 3


async def test_aclose_cancels_running_handlers_promptly_and_counts_them_dropped(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    started = asyncio.Event()
    unwound: list[str] = []
    dispatcher = Dispatcher()

    @dispatcher.on_any
    async def endless(event: WebhookEvent) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            unwound.append(event.webhook_id or "")

    results: list[DispatchResult] = []
    receiver = WebhookReceiver(
        dispatcher,
        verifier=make_verifier(),
        max_concurrency=1,
        shutdown_timeout=0.5,  # also the unwind grace: ample for the handler's finally
        on_result=results.append,
    )
    async with receiving(receiver) as url:
        for i in range(3):
            assert await deliver(http, url, event_body(webhookId=f"e-{i}")) == 200
        await started.wait()
        await asyncio.wait_for(receiver.aclose(), HANG_GUARD)
    # The running handler was cancelled and unwound before aclose returned; the receiver's own
    # cancellation was not mistaken for a handler failure.
    assert unwound == ["e-0"]
    assert results == []
    stats = receiver.stats
    assert (stats.accepted, stats.handled, stats.failed, stats.dropped) == (3, 0, 0, 3)
    assert "3 accepted events unfinished" in caplog.text


async def test_aclose_does_not_hang_on_a_handler_that_ignores_cancellation(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    started = asyncio.Event()
    gate = asyncio.Event()
    finished = asyncio.Event()
    dispatcher = Dispatcher()

    @dispatcher.on_any
    async def stubborn(event: WebhookEvent) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await gate.wait()  # ignores the cancellation, and fails much later
            finished.set()
            raise ValueError("late failure") from None

    receiver = WebhookReceiver(
        dispatcher, verifier=make_verifier(), max_concurrency=1, shutdown_timeout=0.05
    )
    async with receiving(receiver) as url:
        assert await deliver(http, url, event_body()) == 200
        await started.wait()
        await asyncio.wait_for(receiver.aclose(), HANG_GUARD)
        assert receiver.stats.dropped == 1
        assert "1 webhook handler(s) ignored cancellation" in caplog.text
        gate.set()
        await finished.wait()
        for _ in range(5):  # let the abandoned handler's task finish and its callback run
            await asyncio.sleep(0)
    # Its late error is still logged, not left as "Task exception was never retrieved".
    assert "webhook call ended with an error after it was cancelled" in caplog.text
    assert "late failure" in caplog.text


async def test_a_delivery_racing_aclose_is_refused_and_not_marked_seen(
    http: aiohttp.ClientSession,
) -> None:
    store = MemorySeenStore()
    entered = asyncio.Event()
    release = asyncio.Event()

    class SlowStore:
        async def add(self, webhook_id: str, ttl: float) -> bool:
            entered.set()
            await release.wait()
            return await store.add(webhook_id, ttl)

        async def discard(self, webhook_id: str) -> None:
            await store.discard(webhook_id)

    dispatcher = Dispatcher()
    handled: list[WebhookEvent] = []
    dispatcher.on_any(handled.append)
    receiver = WebhookReceiver(dispatcher, verifier=make_verifier(seen_store=SlowStore()))
    async with receiving(receiver) as url:
        late = asyncio.create_task(deliver(http, url, event_body(webhookId="late")))
        await entered.wait()
        await receiver.aclose()  # nothing queued yet: returns at once
        release.set()
        # Queued now, nothing would ever handle it: it must be a 429, and forgotten.
        assert await late == 429
    assert "late" not in store
    assert handled == []
    assert (receiver.stats.accepted, receiver.stats.overloaded) == (0, 1)


class RaiseOn(logging.Filter):
    """A user's logging filter with a bug: it raises on one message (and only once)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.raised = False

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.raised and self.text in record.getMessage():
            self.raised = True
            raise RuntimeError("logging filter bug")
        return True


async def test_a_worker_that_dies_anyway_is_replaced(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    # The only code a worker runs unguarded is its own bookkeeping and logging; a raising
    # logging filter is a user bug that reaches it. The worker dies, and is replaced.
    dispatcher = Dispatcher()
    handled: list[str] = []

    @dispatcher.on_any
    def handler(event: WebhookEvent) -> None:
        handled.append(event.webhook_id or "")
        if event.webhook_id == "d-0":
            raise ValueError("handler failed")

    def on_result(result: DispatchResult) -> None:
        if not result.ok:
            raise RuntimeError("observer broke")

    webhook_logger = logging.getLogger("ghl_async.webhooks")
    bug = RaiseOn("on_result callback failed")
    webhook_logger.addFilter(bug)
    try:
        receiver = WebhookReceiver(
            dispatcher, verifier=make_verifier(), max_concurrency=1, on_result=on_result
        )
        bodies = [event_body(webhookId=f"d-{i}") for i in range(4)]
        assert await run_receiver(http, receiver, bodies) == [200] * 4
    finally:
        webhook_logger.removeFilter(bug)
    assert bug.raised
    assert handled == [f"d-{i}" for i in range(4)]
    stats = receiver.stats
    assert (stats.accepted, stats.failed, stats.handled, stats.worker_restarts) == (4, 1, 3, 1)
    assert "webhook worker died; starting a new one" in caplog.text


async def test_workers_cancelled_by_someone_else_are_started_again(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    # Some frameworks cancel every task they did not start; the events must still be handled.
    dispatcher = Dispatcher()
    handled: list[str] = []
    gate = asyncio.Event()

    @dispatcher.on_any
    async def handler(event: WebhookEvent) -> None:
        await gate.wait()
        handled.append(event.webhook_id or "")

    receiver = WebhookReceiver(dispatcher, verifier=make_verifier(), max_concurrency=2)
    async with receiving(receiver) as url:
        for i in range(4):
            assert await deliver(http, url, event_body(webhookId=f"x-{i}")) == 200
        workers = [t for t in asyncio.all_tasks() if t.get_name() == "ghl-webhook-worker"]
        assert len(workers) == 2
        for worker in workers:
            worker.cancel()
        await asyncio.wait(workers)
        gate.set()
        await asyncio.wait_for(receiver.join(), HANG_GUARD)  # restarts the pool
        assert await deliver(http, url, event_body(webhookId="x-4")) == 200
        await asyncio.wait_for(receiver.join(), HANG_GUARD)
    # The two that were running when their workers were cancelled were interrupted (dropped);
    # the queued ones and the later delivery were handled.
    assert sorted(handled) == ["x-2", "x-3", "x-4"]
    stats = receiver.stats
    assert (stats.accepted, stats.handled, stats.dropped) == (5, 3, 2)
    assert settled(stats) == stats.accepted
    assert caplog.text.count("cancelled from outside the receiver") == 2


async def test_a_worker_dying_before_its_event_settles_counts_it_failed(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = BrokenDispatcher()
    handled: list[str] = []
    dispatcher.on_any(lambda event: handled.append(event.webhook_id))
    webhook_logger = logging.getLogger("ghl_async.webhooks")
    bug = RaiseOn("webhook dispatcher failed")
    webhook_logger.addFilter(bug)
    try:
        receiver = WebhookReceiver(dispatcher, verifier=make_verifier(), max_concurrency=1)
        bodies = [event_body(webhookId=i) for i in ("raise", "after-1", "after-2")]
        assert await run_receiver(http, receiver, bodies) == [200] * 3
    finally:
        webhook_logger.removeFilter(bug)
    assert handled == ["after-1", "after-2"]
    stats = receiver.stats
    assert (stats.failed, stats.handled, stats.worker_restarts) == (1, 2, 1)
    assert settled(stats) == stats.accepted


async def test_a_seen_store_that_cannot_forget_still_gets_a_429(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    entered = asyncio.Event()
    release = asyncio.Event()

    class ForgetfulStore:
        async def add(self, webhook_id: str, ttl: float) -> bool:
            entered.set()
            await release.wait()
            return True

        async def discard(self, webhook_id: str) -> None:
            raise ConnectionError("store down")

    receiver = WebhookReceiver(Dispatcher(), verifier=make_verifier(seen_store=ForgetfulStore()))
    async with receiving(receiver) as url:
        late = asyncio.create_task(deliver(http, url, event_body(webhookId="stuck")))
        await entered.wait()
        await receiver.aclose()
        release.set()
        assert await late == 429  # not a 500, which HighLevel would take as final
    assert "failed to forget stuck" in caplog.text


async def test_keyboard_interrupt_and_system_exit_are_never_swallowed() -> None:
    dispatcher = Dispatcher()

    @dispatcher.on_any
    def stop(event: WebhookEvent) -> None:
        raise SystemExit(3)

    with pytest.raises(SystemExit):
        await dispatcher.dispatch(ContactCreate(webhook_id="w"))

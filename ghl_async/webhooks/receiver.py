"""The aiohttp endpoint: verify, dedupe, answer at once, run handlers in the background.

HighLevel redelivers only when the answer is 429 (up to six times, minutes apart) and treats
every other status as final. So the receiver answers 200 as soon as an event is verified and
queued, answers 429 when its queue is full or it is shutting down (and then does *not* mark the
``webhookId`` seen, so the redelivery is accepted), and answers 401/400 for deliveries that will
never become acceptable. After a 200 nothing may lose the event: handlers' exceptions (including
``CancelledError`` and other ``BaseException``\\ s), a failing result callback or dispatcher, and
a dead worker are all contained, counted and logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from ghl_async.errors import ConfigError
from ghl_async.webhooks.dispatcher import Dispatcher, DispatchResult, HandlerFailure
from ghl_async.webhooks.errors import (
    AppMismatchError,
    DuplicateEventError,
    PayloadError,
    SignatureError,
    StaleEventError,
    WebhookError,
)
from ghl_async.webhooks.events import Event, MalformedEvent, WebhookEvent
from ghl_async.webhooks.isolation import FATAL, call_isolated
from ghl_async.webhooks.verifier import WebhookVerifier

__all__ = ["RECEIVER_KEY", "ReceiverStats", "WebhookReceiver", "create_app"]

logger = logging.getLogger("ghl_async.webhooks")

ResultCallback = Callable[[DispatchResult], "Awaitable[None] | None"]

_STATUS: Final[dict[type[WebhookError], int]] = {
    SignatureError: 401,
    AppMismatchError: 401,
    PayloadError: 400,
    StaleEventError: 400,
}

_UNWIND_GRACE: Final = 1.0
"""At most this many seconds (and no more than ``shutdown_timeout``) are given to handlers to
unwind once :meth:`WebhookReceiver.aclose` has cancelled them."""


@dataclass
class ReceiverStats:
    """Counters since the receiver was made.

    Every delivery lands in exactly one answer bucket (``accepted``, ``duplicates``,
    ``rejected``, ``overloaded``), and every accepted event ends in exactly one outcome:
    ``accepted == handled + failed + dropped`` once the receiver is idle (:meth:`~WebhookReceiver.
    join`) or closed.
    """

    accepted: int = 0
    """Answered 200 and queued."""
    duplicates: int = 0
    """Answered 200 without queueing: the ``webhookId`` was already accepted."""
    rejected: int = 0
    """Answered 400 or 401."""
    overloaded: int = 0
    """Answered 429: queue full, seen-store failing, or shutting down."""
    handled: int = 0
    """Accepted events whose handlers all finished without raising."""
    failed: int = 0
    """Accepted events for which a handler (or the dispatcher) raised, or was cancelled."""
    dropped: int = 0
    """Accepted events abandoned because shutdown outlasted ``shutdown_timeout``."""
    lenient: int = 0
    """Accepted events that needed the lenient decoder (``event.repaired`` or a
    :class:`MalformedEvent`); also counted in ``accepted``."""
    worker_restarts: int = 0
    """Workers that died of an unexpected error and were replaced."""


class WebhookReceiver:
    """Receive HighLevel webhooks on an aiohttp route and dispatch them in the background.

    At most ``max_concurrency`` events are handled at once and at most ``max_pending`` wait;
    beyond that deliveries are answered 429. Use it three ways::

        web.run_app(create_app(dispatcher))                    # standalone
        parent.add_subapp("/ghl", create_app(dispatcher))      # sub-app: POST /ghl/webhooks
        WebhookReceiver(dispatcher).attach(app, "/hooks/ghl")  # a route in your app

    The receiver belongs to the event loop that first delivers to it. Close it with
    :meth:`aclose` (``attach`` and ``create_app`` do so on the app's cleanup), which stops
    accepting and lets queued and running handlers finish, for up to ``shutdown_timeout`` seconds;
    then it cancels the handlers still running and counts what was left as ``dropped``.

    A handler that raises, lets ``asyncio.CancelledError`` escape, or raises another
    ``BaseException`` (but ``KeyboardInterrupt``/``SystemExit``) counts as ``failed`` and is
    reported to ``on_result``; its worker goes on with the queue. So does a dispatcher that
    raises and an ``on_result`` that raises or is cancelled. A worker that dies anyway is
    replaced.

    Args:
        dispatcher: routes each event to its handlers.
        verifier: checks signature, timestamp and ``webhookId``; by default HighLevel's keys, a
            5-minute window and an in-memory seen-store.
        max_concurrency: handlers running at once.
        max_pending: accepted events waiting for a free slot.
        shutdown_timeout: seconds :meth:`aclose` waits for queued and running handlers.
        retry_after: seconds suggested in the ``Retry-After`` header of 429 answers.
        on_result: called with each event's :class:`DispatchResult` once its handlers ran.

    Raises:
        CryptographyMissingError: no verifier was given and ``cryptography`` is not installed.
    """

    def __init__(
        self,
        dispatcher: Dispatcher,
        *,
        verifier: WebhookVerifier | None = None,
        max_concurrency: int = 8,
        max_pending: int = 1000,
        shutdown_timeout: float = 30.0,
        retry_after: int = 60,
        on_result: ResultCallback | None = None,
    ) -> None:
        if max_concurrency < 1 or max_pending < 1:
            raise ConfigError("max_concurrency and max_pending must be at least 1")
        if shutdown_timeout < 0:
            raise ConfigError("shutdown_timeout must not be negative")
        self.dispatcher = dispatcher
        self.verifier = verifier if verifier is not None else WebhookVerifier()
        self.max_concurrency = max_concurrency
        self.shutdown_timeout = shutdown_timeout
        self.retry_after = retry_after
        self.on_result = on_result
        self.stats = ReceiverStats()
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=max_pending)
        self._workers: set[asyncio.Task[None]] = set()
        self._running = 0
        self._closing = False
        self._stopping = False  # aclose is cancelling the workers: they must not be replaced

    @property
    def closed(self) -> bool:
        """True once :meth:`aclose` has begun; deliveries are then answered 429."""
        return self._closing

    async def handle(self, request: web.Request) -> web.Response:
        """The aiohttp handler: ``app.router.add_post(path, receiver.handle)``."""
        if self._closing:
            return self._busy("shutting down")
        body = await request.read()
        try:
            event = self.verifier.authenticate(body, request.headers)
        except WebhookError as err:
            return self._reject(err)
        if self._queue.full():
            return self._busy("queue full")
        try:
            await self.verifier.remember(event)
        except DuplicateEventError:
            self.stats.duplicates += 1
            logger.info("webhook %s %s already accepted; ignored", event.type, event.webhook_id)
            return web.json_response({"status": "duplicate", "webhookId": event.webhook_id})
        except Exception:
            # A failing shared store (e.g. Redis down) must not lose the event: 429 makes
            # HighLevel deliver it again later.
            logger.exception("webhook seen-store failed")
            return self._busy("seen-store unavailable")
        # The seen-store was awaited: the queue may have filled, or aclose may have begun
        # (and finished draining). Either way, undo the mark so the redelivery is accepted.
        if self.closed or self._queue.full():
            await self._forget(event)
            return self._busy("shutting down" if self.closed else "queue full")
        self._queue.put_nowait(event)
        self._ensure_workers()
        self.stats.accepted += 1
        if event.repaired or isinstance(event, MalformedEvent):
            self.stats.lenient += 1
        return web.json_response({"status": "accepted", "webhookId": event.webhook_id})

    def _reject(self, err: WebhookError) -> web.Response:
        status = next((s for cls, s in _STATUS.items() if isinstance(err, cls)), 400)
        self.stats.rejected += 1
        if isinstance(err, PayloadError):
            # Signed by HighLevel, so a real event is being refused for good (a 400 is final):
            # someone should look. The body is not logged: it carries personal data.
            logger.error(
                "verified webhook %s %s rejected (%d): %s",
                err.event_type or "(type unknown)",
                err.webhook_id or "(webhookId unknown)",
                status,
                err,
            )
        else:
            logger.warning("webhook rejected (%d): %s", status, err)
        return web.json_response({"error": type(err).__name__, "message": str(err)}, status=status)

    async def _forget(self, event: WebhookEvent) -> None:
        try:
            await self.verifier.forget(event)
        except Exception:
            logger.exception(
                "webhook seen-store failed to forget %s; its redelivery will look like a duplicate",
                event.webhook_id,
            )

    def _busy(self, reason: str) -> web.Response:
        self.stats.overloaded += 1
        logger.warning("webhook answered 429: %s", reason)
        return web.json_response(
            {"error": "Overloaded", "message": reason},
            status=429,
            headers={"Retry-After": str(self.retry_after)},
        )

    # --- workers ------------------------------------------------------------------------------

    def _ensure_workers(self) -> None:
        """Top the pool up to ``max_concurrency`` live workers (the first call starts them)."""
        if self._stopping:
            return
        loop = asyncio.get_running_loop()
        while len(self._workers) < self.max_concurrency:
            worker = loop.create_task(self._work(), name="ghl-webhook-worker")
            self._workers.add(worker)
            worker.add_done_callback(self._worker_done)

    def _worker_done(self, worker: asyncio.Task[None]) -> None:
        self._workers.discard(worker)
        if worker.cancelled():
            # By aclose, or by whoever shuts the loop down: not replaced here (a new task would
            # outlive the loop), but the next delivery or join() tops the pool up.
            return
        error = worker.exception()  # retrieved here, so asyncio does not report it again
        if error is None or isinstance(error, FATAL):
            return
        if self._stopping:
            logger.error("webhook worker died while stopping", exc_info=error)
            return
        self.stats.worker_restarts += 1
        logger.error("webhook worker died; starting a new one", exc_info=error)
        self._ensure_workers()

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            self._running += 1
            settled = False
            try:
                result = await self._dispatch(event)
                settled = True
                if result.ok:
                    self.stats.handled += 1
                else:
                    self.stats.failed += 1
                await self._report(result)
            except BaseException as err:
                if not settled:
                    self._abandon(event, err)
                raise
            finally:
                self._running -= 1
                self._queue.task_done()

    def _abandon(self, event: Event, err: BaseException) -> None:
        """Count an event whose worker stopped before its handlers finished."""
        if not isinstance(err, asyncio.CancelledError):
            self.stats.failed += 1  # our own bug; the worker is replaced and logs it
            return
        self.stats.dropped += 1
        if not self._stopping:  # aclose reports its own total
            logger.error(
                "webhook worker cancelled from outside the receiver while handling %s %s; "
                "the event is dropped",
                event.type,
                event.webhook_id,
            )

    async def _dispatch(self, event: Event) -> DispatchResult:
        """The dispatcher's result; a dispatcher that raises or returns garbage is a failure."""
        dispatch = self.dispatcher.dispatch
        value, error = await call_isolated(dispatch, event)
        if isinstance(value, DispatchResult):
            return value
        if error is None:
            error = TypeError(f"dispatch returned {type(value).__name__}, not a DispatchResult")
        logger.error(
            "webhook dispatcher failed on %s %s", event.type, event.webhook_id, exc_info=error
        )
        return DispatchResult(event, failures=[HandlerFailure(event, dispatch, error)])

    async def _report(self, result: DispatchResult) -> None:
        if self.on_result is None:
            return
        _, error = await call_isolated(self.on_result, result)
        if error is not None:
            logger.error("webhook on_result callback failed", exc_info=error)

    async def join(self) -> None:
        """Wait until every event accepted so far has been handled (or failed, or dropped)."""
        if not self._queue.empty():
            self._ensure_workers()  # in case the loop's owner cancelled them
        await self._queue.join()

    async def aclose(self) -> None:
        """Stop accepting (429 from now on), let queued and running handlers finish, stop.

        After ``shutdown_timeout`` seconds the handlers still running are cancelled (and given
        up to a second to unwind), and what did not finish is counted as ``dropped``.
        """
        if self._closing:
            return
        self._closing = True
        if not self._queue.empty():
            self._ensure_workers()  # in case whoever owns the loop cancelled them
        if not self._workers:
            return  # never started: nothing accepted, nothing to stop
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._queue.join(), self.shutdown_timeout)
        before = self.stats.dropped
        await self._stop_workers()
        while not self._queue.empty():  # never started: counted, so no event goes unnoticed
            self._queue.get_nowait()
            self._queue.task_done()
            self.stats.dropped += 1
        dropped = self.stats.dropped - before
        if dropped:
            logger.error(
                "webhook receiver shut down with %d accepted events unfinished after %.1fs",
                dropped,
                self.shutdown_timeout,
            )

    async def _stop_workers(self) -> None:
        self._stopping = True
        workers = set(self._workers)  # may be empty: cancelled by others while draining
        for worker in workers:
            worker.cancel()
        if not workers:
            return
        _, stuck = await asyncio.wait(workers, timeout=min(_UNWIND_GRACE, self.shutdown_timeout))
        if stuck:
            logger.error("%d webhook handler(s) ignored cancellation; abandoned", len(stuck))
            for worker in stuck:
                worker.cancel()  # a second cancel stops waiting for the handler to unwind
            await asyncio.wait(stuck)

    async def _on_cleanup(self, app: web.Application) -> None:
        await self.aclose()

    def attach(self, app: web.Application, path: str = "/webhooks") -> None:
        """Add ``POST path`` to ``app`` and close this receiver on the app's cleanup."""
        app.router.add_post(path, self.handle)
        app.on_cleanup.append(self._on_cleanup)
        if RECEIVER_KEY not in app:
            app[RECEIVER_KEY] = self


RECEIVER_KEY: Final = web.AppKey("ghl_async.webhooks.receiver", WebhookReceiver)
"""Where :func:`create_app` and :meth:`WebhookReceiver.attach` leave the receiver."""


def create_app(
    dispatcher: Dispatcher,
    *,
    path: str = "/webhooks",
    verifier: WebhookVerifier | None = None,
    max_concurrency: int = 8,
    max_pending: int = 1000,
    shutdown_timeout: float = 30.0,
    retry_after: int = 60,
    on_result: ResultCallback | None = None,
) -> web.Application:
    """Build an aiohttp app serving ``POST path``; its receiver is ``app[RECEIVER_KEY]``.

    Run it with ``web.run_app`` or mount it with ``parent.add_subapp(prefix, app)``. The
    arguments are :class:`WebhookReceiver`'s.
    """
    receiver = WebhookReceiver(
        dispatcher,
        verifier=verifier,
        max_concurrency=max_concurrency,
        max_pending=max_pending,
        shutdown_timeout=shutdown_timeout,
        retry_after=retry_after,
        on_result=on_result,
    )
    app = web.Application()
    receiver.attach(app, path)
    return app

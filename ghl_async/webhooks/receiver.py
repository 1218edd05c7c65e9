"""The aiohttp endpoint: verify, dedupe, answer at once, run handlers in the background.

HighLevel redelivers only when the answer is 429 (up to six times, ~10 minutes apart) and
treats every other status as final. So the receiver answers 200 as soon as an event is verified
and queued, answers 429 when its queue is full or it is shutting down (and then does *not* mark
the ``webhookId`` seen, so the redelivery is accepted), and answers 401/400 for deliveries that
will never become acceptable. After a 200 nothing may lose the event: handlers' exceptions
(including ``CancelledError`` and other ``BaseException``\\ s), a failing result callback or
dispatcher, and a dead worker are all contained, counted and logged.

Two ways a verified event could still be lost are closed here:

* **Its own redeliveries are not stale.** HighLevel keeps the original ``timestamp`` when it
  redelivers, ~10 minutes (up to about an hour) after the 429, past the verifier's 5-minute
  window, and a 400 for a stale event is final. So every ``webhookId`` answered 429 is written
  down (in the verifier's seen-store under ``"429:" + webhookId`` for ``redelivery_window``
  seconds, so receivers sharing a store share it; in memory when the store fails). A delivery
  that is stale but otherwise verified (signature, app id) is accepted when its id is written
  down there and its age is within the window plus ``redelivery_window``; the note is spent
  as it is accepted, and the id is then remembered as seen like any other. Replay protection
  keeps its meaning: only a body HighLevel signed, whose id this receiver asked to have
  redelivered, is accepted late, and only once.
* **A large body is not refused.** The receiver reads the body itself, up to ``max_body_size``
  (16 MiB by default), instead of through aiohttp's ``client_max_size``, whose 1 MiB default
  answers 413, final for HighLevel, in whatever app the receiver is attached to. HighLevel's
  bodies are a few KiB; the limit only bounds what an unsigned sender can make us buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
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
from ghl_async.webhooks.events import Event, MalformedEvent, WebhookEvent, parse
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

DEFAULT_MAX_BODY_SIZE: Final = 16 * 1024 * 1024
"""Bytes of a delivery read at most (aiohttp's own default of 1 MiB would answer 413)."""
DEFAULT_REDELIVERY_WINDOW: Final = 7200.0
"""Seconds a ``webhookId`` answered 429 stays acceptable past the timestamp window: HighLevel's
six redeliveries, ~10 minutes apart with jitter, end about an hour after the first 429."""
_DEFERRED: Final = "429:"  # the seen-store key prefix of ids answered 429
_LOCAL_DEFERRALS: Final = 10_000  # ids kept in memory when the seen-store fails
_CHUNK: Final = 64 * 1024

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
    redelivered: int = 0
    """Accepted past the timestamp window: HighLevel's redelivery of an event answered 429
    (also counted in ``accepted``)."""
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
        max_body_size: bytes of a delivery read at most; a larger one is answered 413.
        redelivery_window: seconds a ``webhookId`` answered 429 stays acceptable past the
            verifier's timestamp window (HighLevel redelivers it with its original
            ``timestamp``); 0 turns that off.

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
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        redelivery_window: float = DEFAULT_REDELIVERY_WINDOW,
    ) -> None:
        if max_concurrency < 1 or max_pending < 1:
            raise ConfigError("max_concurrency and max_pending must be at least 1")
        if shutdown_timeout < 0:
            raise ConfigError("shutdown_timeout must not be negative")
        if max_body_size < 1024:
            raise ConfigError("max_body_size must be at least 1024 bytes")
        if redelivery_window < 0:
            raise ConfigError("redelivery_window must not be negative")
        self.max_body_size = max_body_size
        self.redelivery_window = redelivery_window
        # Ids answered 429 while the seen-store failed: id -> monotonic expiry.
        self._deferred: OrderedDict[str, float] = OrderedDict()
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
        body = await self._read(request)
        if body is None:
            return self._too_large(request)
        late = False
        try:
            event = self.verifier.authenticate(body, request.headers)
        except StaleEventError as err:
            # Verified but for its age: it may be HighLevel's redelivery of an event we
            # answered 429, which keeps its original timestamp.
            redelivery = await self._redelivery(body, err)
            if redelivery is None:
                return self._reject(err)
            event, late = redelivery, True
        except WebhookError as err:
            return self._reject(err)
        if self._closing:
            return await self._busy("shutting down", event)
        if self._queue.full():
            return await self._busy("queue full", event)
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
            return await self._busy("seen-store unavailable", event)
        # The seen-store was awaited: the queue may have filled, or aclose may have begun
        # (and finished draining). Either way, undo the mark so the redelivery is accepted.
        if self.closed or self._queue.full():
            await self._forget(event)
            return await self._busy("shutting down" if self.closed else "queue full", event)
        self._queue.put_nowait(event)
        self._ensure_workers()
        self.stats.accepted += 1
        if late:
            self.stats.redelivered += 1
            logger.info(
                "webhook %s %s accepted past the timestamp window: our 429 asked for it",
                event.type,
                event.webhook_id,
            )
        if event.repaired or isinstance(event, MalformedEvent):
            self.stats.lenient += 1
        return web.json_response({"status": "accepted", "webhookId": event.webhook_id})

    async def _read(self, request: web.Request) -> bytes | None:
        """The body, read up to ``max_body_size`` whatever the app's ``client_max_size``;
        ``None`` when it is larger."""
        limit = self.max_body_size
        declared = request.content_length
        if declared is not None and declared > limit:
            return None
        parts: list[bytes] = []
        size = 0
        async for chunk in request.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > limit:
                return None
            parts.append(chunk)
        return b"".join(parts)

    def _too_large(self, request: web.Request) -> web.Response:
        self.stats.rejected += 1
        # Unread, so unverified: it may not even come from HighLevel. Loud all the same.
        logger.error(
            "webhook body larger than max_body_size (%d bytes; Content-Length %s) answered 413",
            self.max_body_size,
            request.content_length,
        )
        return web.json_response(
            {"error": "PayloadTooLarge", "message": f"body above {self.max_body_size} bytes"},
            status=413,
        )

    async def _redelivery(self, body: bytes, err: StaleEventError) -> Event | None:
        """The event of a stale delivery we asked to have redelivered (answered 429), else
        ``None``. The signature and app id were verified before the age was checked."""
        tolerance = self.verifier.tolerance
        if self.redelivery_window <= 0 or tolerance is None:
            return None
        if not 0 < err.age <= tolerance + self.redelivery_window:
            return None  # from the future, or older than any redelivery
        try:
            event = parse(body)
        except WebhookError:
            return None
        webhook_id = event.webhook_id
        if not webhook_id or not await self._was_deferred(webhook_id):
            return None
        return event

    async def _defer(self, event: WebhookEvent) -> None:
        """Write down that ``event`` was answered 429, so its late redelivery is accepted."""
        webhook_id = event.webhook_id
        if not webhook_id or self.redelivery_window <= 0:
            return
        try:
            await self.verifier.seen_store.add(_DEFERRED + webhook_id, self.redelivery_window)
            return
        except Exception:
            logger.warning("webhook seen-store failed; %s is remembered in memory", webhook_id)
        now = time.monotonic()
        self._deferred[webhook_id] = now + self.redelivery_window
        self._deferred.move_to_end(webhook_id)
        while len(self._deferred) > _LOCAL_DEFERRALS:
            self._deferred.popitem(last=False)

    async def _was_deferred(self, webhook_id: str) -> bool:
        """Whether ``webhook_id`` was answered 429 lately; the note is spent by asking."""
        expires = self._deferred.pop(webhook_id, None)
        if expires is not None and expires > time.monotonic():
            return True
        key = _DEFERRED + webhook_id
        try:
            # The store's two atomic operations: an add that finds the key says it is there.
            if await self.verifier.seen_store.add(key, 1.0):
                await self.verifier.seen_store.discard(key)  # it was not: undo the probe
                return False
            await self.verifier.seen_store.discard(key)  # spent: accepted once
            return True
        except Exception:
            logger.warning("webhook seen-store failed while checking %s", webhook_id)
            return False

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

    async def _busy(self, reason: str, event: WebhookEvent) -> web.Response:
        self.stats.overloaded += 1
        logger.warning("webhook answered 429: %s", reason)
        await self._defer(event)
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
    max_body_size: int = DEFAULT_MAX_BODY_SIZE,
    redelivery_window: float = DEFAULT_REDELIVERY_WINDOW,
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
        max_body_size=max_body_size,
        redelivery_window=redelivery_window,
    )
    # The receiver reads bodies itself, within max_body_size; the app's own cap must not be
    # the smaller one for requests reaching other routes of a mounted app either.
    app = web.Application(client_max_size=max_body_size)
    receiver.attach(app, path)
    return app

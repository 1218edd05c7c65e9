"""The aiohttp endpoint: verify, dedupe, answer at once, run handlers in the background.

HighLevel redelivers only when the answer is 429 (up to six times, minutes apart) and treats
every other status as final. So the receiver answers 200 as soon as an event is verified and
queued, answers 429 when its queue is full or it is shutting down (and then does *not* mark the
``webhookId`` seen, so the redelivery is accepted), and answers 401/400 for deliveries that will
never become acceptable.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web

from ghl_async.errors import ConfigError
from ghl_async.webhooks.dispatcher import Dispatcher, DispatchResult
from ghl_async.webhooks.errors import (
    AppMismatchError,
    DuplicateEventError,
    PayloadError,
    SignatureError,
    StaleEventError,
    WebhookError,
)
from ghl_async.webhooks.events import Event
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


@dataclass
class ReceiverStats:
    """Counters since the receiver was made; every delivery lands in exactly one answer bucket."""

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
    """Accepted events for which at least one handler raised."""
    dropped: int = 0
    """Accepted events abandoned because shutdown outlasted ``shutdown_timeout``."""


class WebhookReceiver:
    """Receive HighLevel webhooks on an aiohttp route and dispatch them in the background.

    At most ``max_concurrency`` events are handled at once and at most ``max_pending`` wait;
    beyond that deliveries are answered 429. Use it three ways::

        web.run_app(create_app(dispatcher))                    # standalone
        parent.add_subapp("/ghl", create_app(dispatcher))      # sub-app: POST /ghl/webhooks
        WebhookReceiver(dispatcher).attach(app, "/hooks/ghl")  # a route in your app

    The receiver belongs to the event loop that first delivers to it. Close it with
    :meth:`aclose` (``attach`` and ``create_app`` do so on the app's cleanup), which stops
    accepting and lets queued and running handlers finish, for up to ``shutdown_timeout`` seconds.

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
        self.dispatcher = dispatcher
        self.verifier = verifier if verifier is not None else WebhookVerifier()
        self.max_concurrency = max_concurrency
        self.shutdown_timeout = shutdown_timeout
        self.retry_after = retry_after
        self.on_result = on_result
        self.stats = ReceiverStats()
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=max_pending)
        self._workers: list[asyncio.Task[None]] = []
        self._running = 0
        self._closing = False

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
            status = next((s for cls, s in _STATUS.items() if isinstance(err, cls)), 400)
            self.stats.rejected += 1
            logger.warning("webhook rejected (%d): %s", status, err)
            return web.json_response(
                {"error": type(err).__name__, "message": str(err)}, status=status
            )
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
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            # Filled up while the seen-store was awaited: undo, so the redelivery is accepted.
            await self.verifier.forget(event)
            return self._busy("queue full")
        self._start_workers()
        self.stats.accepted += 1
        return web.json_response({"status": "accepted", "webhookId": event.webhook_id})

    def _busy(self, reason: str) -> web.Response:
        self.stats.overloaded += 1
        logger.warning("webhook answered 429: %s", reason)
        return web.json_response(
            {"error": "Overloaded", "message": reason},
            status=429,
            headers={"Retry-After": str(self.retry_after)},
        )

    def _start_workers(self) -> None:
        if self._workers:
            return
        loop = asyncio.get_running_loop()
        self._workers = [
            loop.create_task(self._work(), name=f"ghl-webhook-worker-{i}")
            for i in range(self.max_concurrency)
        ]

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            self._running += 1
            try:
                result = await self.dispatcher.dispatch(event)
                if result.ok:
                    self.stats.handled += 1
                else:
                    self.stats.failed += 1
                if self.on_result is not None:
                    outcome = self.on_result(result)
                    if inspect.isawaitable(outcome):
                        await outcome
            except Exception:
                logger.exception("webhook on_result callback failed")
            finally:
                self._running -= 1
                self._queue.task_done()

    async def join(self) -> None:
        """Wait until every event accepted so far has been handled."""
        await self._queue.join()

    async def aclose(self) -> None:
        """Stop accepting (429 from now on), let queued and running handlers finish, stop."""
        if self._closing:
            return
        self._closing = True
        if not self._workers:
            return
        try:
            await asyncio.wait_for(self._queue.join(), self.shutdown_timeout)
        except asyncio.TimeoutError:
            dropped = self._queue.qsize() + self._running
            self.stats.dropped += dropped
            logger.error(
                "webhook receiver shut down with %d accepted events unfinished after %.1fs",
                dropped,
                self.shutdown_timeout,
            )
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)

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

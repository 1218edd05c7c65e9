"""Routing events to the handlers registered for them; a failing handler never stops the rest."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar, overload

from ghl_async.errors import ConfigError
from ghl_async.webhooks.events import EVENT_TYPES, MalformedEvent, WebhookEvent
from ghl_async.webhooks.isolation import call_isolated

__all__ = ["DispatchResult", "Dispatcher", "Handler", "HandlerFailure"]

logger = logging.getLogger("ghl_async.webhooks")

E = TypeVar("E", bound=WebhookEvent)
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., object])

Handler = Callable[[E], object]
"""A sync or async callable taking the event; what it returns is ignored."""


@dataclass(frozen=True)
class HandlerFailure:
    """One handler raised while handling one event.

    ``error`` is what it raised: an ``Exception``, or a ``BaseException`` such as
    ``asyncio.CancelledError`` that the handler let escape (only ``KeyboardInterrupt`` and
    ``SystemExit`` are not caught).
    """

    event: WebhookEvent
    handler: Callable[..., object]
    error: BaseException

    @property
    def handler_name(self) -> str:
        """The handler's qualified name, for logs."""
        return getattr(self.handler, "__qualname__", repr(self.handler))


@dataclass
class DispatchResult:
    """What happened to one event: how many handlers ran cleanly, and which raised."""

    event: WebhookEvent
    succeeded: int = 0
    failures: list[HandlerFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no handler raised (also when none matched)."""
        return not self.failures

    @property
    def handled(self) -> bool:
        """True when at least one handler matched the event."""
        return self.succeeded + len(self.failures) > 0


ErrorCallback = Callable[[HandlerFailure], "Awaitable[None] | None"]


@dataclass(frozen=True)
class _Registration:
    match: type[WebhookEvent] | str | None
    handler: Callable[..., object]

    def matches(self, event: WebhookEvent) -> bool:
        if self.match is None:
            return True
        if isinstance(self.match, str):
            # A MalformedEvent carries a modelled type's name but not its fields: a handler
            # registered by that name expects the class, so it is not handed the raw body.
            return event.type == self.match and not isinstance(event, MalformedEvent)
        return isinstance(event, self.match)


def _is_event_class(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, WebhookEvent)


class Dispatcher:
    """Run the handlers registered for each event, in registration order.

    A handler is registered for an event class (subclasses match too, so ``ContactEvent`` catches
    all five contact events), for a wire ``type`` string (which also works for types this version
    does not model and delivers them as :class:`UnknownEvent`), or for every event. Handlers may be
    plain functions or coroutine functions; plain ones run on the event loop, so they should be
    quick (hand blocking work to ``asyncio.to_thread``).

    A handler's exception is logged on the ``ghl_async.webhooks`` logger, passed to ``on_error``
    and recorded in the :class:`DispatchResult`; the other handlers still run. That includes an
    ``asyncio.CancelledError`` the handler lets escape (say, a call it awaited was cancelled) and
    any other ``BaseException`` but ``KeyboardInterrupt``/``SystemExit``: each async handler runs
    in a task of its own, so its cancellation is told apart from the cancellation of
    :meth:`dispatch` itself, which still propagates (after cancelling the running handler).

    An event the lenient decoder had to repair (``event.repaired``) is delivered like any other,
    with a warning naming the repaired paths; a :class:`MalformedEvent` reaches only catch-all
    handlers and handlers registered for its class.

    ::

        dispatcher = Dispatcher()

        @dispatcher.on(ContactCreate)
        async def welcome(event: ContactCreate) -> None: ...
    """

    def __init__(self, *, on_error: ErrorCallback | None = None) -> None:
        self._registrations: list[_Registration] = []
        self.on_error = on_error

    @overload
    def on(self, event_type: type[E]) -> Callable[[Callable[[E], R]], Callable[[E], R]]: ...

    @overload
    def on(self, event_type: str) -> Callable[[F], F]: ...

    def on(self, event_type: type[WebhookEvent] | str) -> Callable[[F], F]:
        """Register the decorated function for ``event_type`` (a class or a wire ``type``)."""

        def decorator(handler: F) -> F:
            self.add_handler(event_type, handler)
            return handler

        return decorator

    def on_any(self, handler: F) -> F:
        """Register the decorated function for every event."""
        self.add_handler(None, handler)
        return handler

    @overload
    def add_handler(self, event_type: type[E], handler: Callable[[E], object]) -> None: ...

    @overload
    def add_handler(self, event_type: str | None, handler: Callable[..., object]) -> None: ...

    def add_handler(
        self, event_type: type[WebhookEvent] | str | None, handler: Callable[..., object]
    ) -> None:
        """Register ``handler`` for ``event_type``; ``None`` means every event."""
        if isinstance(event_type, str):
            if not event_type:
                raise ConfigError("event type must not be empty")
            if event_type not in EVENT_TYPES:
                logger.debug("handler registered for unmodelled event type %r", event_type)
        elif event_type is not None and not _is_event_class(event_type):
            raise TypeError(f"expected an event class or a type string, got {event_type!r}")
        if not callable(handler):
            raise TypeError(f"handler {handler!r} is not callable")
        self._registrations.append(_Registration(event_type, handler))

    def handlers_for(self, event: WebhookEvent) -> list[Callable[..., object]]:
        """The handlers that :meth:`dispatch` would run for ``event``, in order."""
        return [r.handler for r in self._registrations if r.matches(event)]

    async def dispatch(self, event: WebhookEvent) -> DispatchResult:
        """Run every matching handler one after another; never raises for a handler's error.

        Raises:
            asyncio.CancelledError: only when the task running ``dispatch`` is cancelled.
        """
        _log_decoding(event)
        result = DispatchResult(event)
        for handler in self.handlers_for(event):
            _, error = await call_isolated(handler, event)
            if error is None:
                result.succeeded += 1
                continue
            failure = HandlerFailure(event, handler, error)
            result.failures.append(failure)
            logger.error(
                "webhook handler %s failed on %s %s",
                failure.handler_name,
                event.type,
                event.webhook_id,
                exc_info=error,
            )
            await self._report(failure)
        if not result.handled:
            logger.debug("no handler for %s %s", event.type, event.webhook_id)
        return result

    async def _report(self, failure: HandlerFailure) -> None:
        if self.on_error is None:
            return
        _, error = await call_isolated(self.on_error, failure)
        if error is not None:
            logger.error("webhook on_error callback failed", exc_info=error)


_REPAIRS_LOGGED = 5


def _log_decoding(event: WebhookEvent) -> None:
    if isinstance(event, MalformedEvent):
        logger.error(
            "webhook %s %s could not be decoded even leniently (%s); delivered as MalformedEvent",
            event.type,
            event.webhook_id,
            event.error,
        )
    elif event.repairs:
        shown = "; ".join(str(repair) for repair in event.repairs[:_REPAIRS_LOGGED])
        more = len(event.repairs) - _REPAIRS_LOGGED
        logger.warning(
            "webhook %s %s decoded leniently: %s%s",
            event.type,
            event.webhook_id,
            shown,
            f" (and {more} more)" if more > 0 else "",
        )

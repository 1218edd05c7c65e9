"""Event hooks: watch what the request pipeline does, call by call.

``Client(hooks=Hooks(on_request=..., on_response=..., on_retry=..., on_wait=...,
on_reconcile=...))`` (or ``client.with_options(hooks=...)`` for a sibling). Each hook is a plain
function or a coroutine function taking one event; the pipeline calls it inline (and awaits it,
if it returns an awaitable), so keep hooks quick: hand slow work to a task or a queue.

Order within one call, per attempt::

    on_wait?      the rate budget made this attempt wait (at least WAIT_EVENT_MIN seconds)
    on_request    the request is about to be sent
    on_response   its answer arrived (or no answer: status None, error = the exception's name)
    on_retry?     the attempt failed and another follows after `delay` seconds
    on_reconcile? a create ended ambiguously and was looked up (found, absent, undecidable)

A call that succeeds ends with ``on_response``; a call that fails ends with its last
``on_response`` (or ``on_reconcile``), then raises as usual. Lookups made while reconciling are
requests of their own and fire ``on_request``/``on_response`` with their own operation.

Rules:

* A hook that raises is logged (WARNING, logger ``"ghl_async"``, with the traceback) and the call
  goes on as if the hook had returned. Cancellation is not swallowed.
* Hooks never see a token: the ``Authorization`` header in :class:`RequestEvent` reads
  ``"<redacted>"``. URLs and bodies are the caller's own data and are passed as sent.
* Without hooks nothing is built or called: the pipeline checks one attribute per step.

The pipeline's INFO logs (retries, long rate-limit waits, reconciliations; logger
``"ghl_async"``) come from the same points, so hooks and logs tell the same story.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, fields
from typing import Final, Literal, TypeVar

from ghl_async.errors import ConfigError

__all__ = [
    "REDACTED",
    "WAIT_EVENT_MIN",
    "Hooks",
    "ReconcileEvent",
    "RequestEvent",
    "ResponseEvent",
    "RetryEvent",
    "WaitEvent",
    "emit",
]

log = logging.getLogger("ghl_async")

E = TypeVar("E")

REDACTED: Final = "<redacted>"
# A rate-budget acquire shorter than this is not a wait worth an event (the in-memory fast
# path takes microseconds; a shared budget's round trip a millisecond or so).
WAIT_EVENT_MIN: Final = 0.01


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestEvent:
    """A request about to be sent.

    Attributes:
        operation: the route name (``"contacts.get"``).
        method: the HTTP method.
        url: the full URL, query string included.
        headers: the request's headers (``Authorization`` redacted).
        body: the JSON body, or ``None``.
        attempt: 1 for the first attempt, 2 for the first retry, ...
        key: the rate key of the call: its location (or, for agency routes, company) id.
    """

    operation: str
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    attempt: int
    key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ResponseEvent:
    """The end of one attempt: an answer, or none.

    Attributes:
        operation: the route name.
        method: the HTTP method.
        url: the full URL.
        attempt: as in :class:`RequestEvent`.
        status: the HTTP status; ``None`` when no answer arrived.
        headers: the answer's headers (empty when none arrived).
        elapsed: seconds from sending to the end of the answer (or the failure).
        error: the exception's class name when no (complete) answer arrived, else ``None``.
    """

    operation: str
    method: str
    url: str
    attempt: int
    status: int | None
    headers: Mapping[str, str]
    elapsed: float
    error: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RetryEvent:
    """An attempt failed and the call will try again after ``delay`` seconds.

    Attributes:
        operation: the route name.
        attempt: the attempt that failed (1 = the first).
        max_retries: the retries this call may make in all.
        cause: what went wrong, in words (``"HTTP 503"``, ``"HTTP 429 (Retry-After 2 s)"``,
            ``"ServerDisconnectedError"``), as in the INFO log.
        status: the HTTP status of the failure; ``None`` when no answer arrived.
        retry_after: seconds the server asked to wait, if it said.
        delay: seconds the call sleeps before the next attempt.
    """

    operation: str
    attempt: int
    max_retries: int
    cause: str
    status: int | None
    retry_after: float | None
    delay: float


@dataclass(frozen=True, slots=True, kw_only=True)
class WaitEvent:
    """The rate budget held an attempt back.

    Attributes:
        operation: the route name.
        key: the rate key waited on: a location (or company) id.
        seconds: how long the attempt waited.
    """

    operation: str
    key: str
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconcileEvent:
    """A create ended ambiguously and the client looked up what it may have made.

    Attributes:
        operation: the create's route name.
        cause: what made it ambiguous (as in :class:`RetryEvent`).
        outcome: ``"found"`` (returned as the result), ``"absent"`` (resent if a retry is
            left), or ``"undecidable"`` (``AmbiguousWriteError``).
        checked: what was looked up and what it showed, in words.
    """

    operation: str
    cause: str
    outcome: Literal["found", "absent", "undecidable"]
    checked: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Hooks:
    """Callables the pipeline calls at each step (see the module docstring for the order).

    Each takes its event and returns ``None`` or an awaitable (a coroutine function works).

    Raises:
        ConfigError: a hook is neither ``None`` nor callable.
    """

    on_request: Callable[[RequestEvent], Awaitable[None] | None] | None = None
    on_response: Callable[[ResponseEvent], Awaitable[None] | None] | None = None
    on_retry: Callable[[RetryEvent], Awaitable[None] | None] | None = None
    on_wait: Callable[[WaitEvent], Awaitable[None] | None] | None = None
    on_reconcile: Callable[[ReconcileEvent], Awaitable[None] | None] | None = None

    def __post_init__(self) -> None:
        for item in fields(self):
            value: object = getattr(self, item.name)
            if value is not None and not callable(value):
                raise ConfigError(f"Hooks.{item.name} must be callable or None, not {value!r}")

    @property
    def empty(self) -> bool:
        """Whether no hook is set."""
        return all(getattr(self, item.name) is None for item in fields(self))


async def emit(hook: Callable[[E], Awaitable[None] | None], event: E, name: str) -> None:
    """Call ``hook(event)`` (awaiting what it returns); log, never raise, what it raises."""
    try:
        result = hook(event)
        if inspect.isawaitable(result):
            await result
    except Exception:
        log.warning("the %s hook raised; the call goes on", name, exc_info=True)

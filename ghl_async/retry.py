"""Retry policy: which failures earn another attempt, and how long to wait before it.

Everything here is a pure function of the failure, the attempt number, the route's write
policy (``ghl_async.routes``: ``idempotent``, ``reconcile`` or ``never_resend``) and the retry
settings, so the whole decision table is tested without a server (``tests/test_retry.py``).
The waits come from the ``backoff`` library: its ``expo`` generator and its ``full_jitter``.

The rules, in order:

* **Refused, so never applied**: a 429 and a connection that was never made (refused, DNS,
  TLS handshake, connect timeout) are retried for every route. A 429 whose
  ``X-RateLimit-Daily-Remaining`` is 0 is final: the day's quota is spent, waiting seconds
  will not help (``DailyQuotaExceeded``).
* **Ambiguous, so maybe applied**: 500/502/503/504, a reset or timeout after sending, a 2xx
  body that does not decode (cut short, garbage) and HighLevel's transient 401
  ``"Command timed out"`` (one retry only). Idempotent routes retry; ``reconcile`` routes look
  the object up first (:mod:`ghl_async.reconcile`) and resend only when it is certainly
  absent; ``never_resend`` routes raise ``AmbiguousWriteError``. A 2xx that decodes as JSON
  but does not match the model is *not* here: that is schema drift, and asking again gets the
  same answer (``DecodeError`` at once).
* **Everything else** (400, 401, 403, 404, 409, 422, other 4xx) is final.

Waits: ``Retry-After`` (seconds or an HTTP date) is honoured on every status that carries it,
plus up to ``retry_after_jitter`` of it, never less than the server asked; a wait longer than
``retry_after_cap`` is not slept on (the error is raised at once). Without ``Retry-After``,
exponential backoff with full jitter; a 429 without it waits HighLevel's
``X-RateLimit-Interval-Milliseconds`` (one window).
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Literal

import aiohttp
import backoff

from ghl_async import defaults
from ghl_async.routes import WritePolicy

__all__ = [
    "RETRY_STATUSES",
    "Action",
    "Decision",
    "Outcome",
    "RetryPolicy",
    "decide",
    "outcome_of",
    "parse_retry_after",
]

RETRY_STATUSES = frozenset({500, 502, 503, 504})

# A plain non-negative decimal: what RFC 9110 allows in Retry-After (we accept a fraction too).
# ASCII only: float() would also read "١٠" (Arabic-Indic digits), "1e400", "inf" and "nan".
_SECONDS = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")

# aiohttp >= 3.10 tells a connect timeout (never sent) from a read timeout (maybe applied).
_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    t for t in (getattr(aiohttp, "ConnectionTimeoutError", None),) if isinstance(t, type)
)

Action = Literal["retry", "reconcile", "ambiguous", "raise"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times and how patiently to retry. ``jitter`` is replaceable for tests."""

    max_retries: int = defaults.MAX_RETRIES
    backoff_base: float = defaults.BACKOFF_BASE
    backoff_max: float = defaults.BACKOFF_MAX
    retry_after_cap: float = defaults.RETRY_AFTER_CAP
    # A server-given wait is stretched by up to this fraction, so callers told the same
    # Retry-After do not all come back in the same instant.
    retry_after_jitter: float = 0.1
    jitter: Callable[[float], float] = field(default=backoff.full_jitter)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One failed attempt, as the policy sees it."""

    status: int | None = None  # HTTP status; None when no response arrived
    sent: bool = True  # False only when the request certainly never reached the server
    timeout: bool = False
    retry_after: float | None = None  # seconds the server asked to wait (any status)
    undecodable: bool = False  # a 2xx whose body is not JSON (cut short, garbage)
    daily_quota: bool = False  # a 429 saying X-RateLimit-Daily-Remaining: 0
    command_timeout: bool = False  # HighLevel's transient 401 "Command timed out"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do after a failed attempt.

    ``retry``: send again after ``delay`` seconds. ``reconcile``: look the object up first;
    ``delay`` is the wait before a resend if it is certainly absent, ``None`` when no resend is
    allowed (retries spent, or the server asked for longer than ``retry_after_cap``).
    ``ambiguous``: raise ``AmbiguousWriteError``. ``raise``: raise the error of the outcome.
    """

    action: Action
    delay: float | None = None


_RAISE = Decision("raise")
_AMBIGUOUS = Decision("ambiguous")


def _expo(attempt: int, policy: RetryPolicy) -> float:
    waits = backoff.expo(base=2, factor=policy.backoff_base, max_value=policy.backoff_max)
    # The generator's first item is a placeholder for backoff's own initial send(None).
    value: float = next(itertools.islice(waits, attempt + 1, None))
    return value


def _delay(outcome: Outcome, attempt: int, policy: RetryPolicy) -> float | None:
    """The wait before the next attempt, or None when there is none to make."""
    if attempt >= policy.max_retries:
        return None
    wait = outcome.retry_after
    if wait is None:
        return policy.jitter(_expo(attempt, policy))
    if wait > policy.retry_after_cap:
        return None
    # Never shorter than the server asked; the jitter only ever adds.
    return wait + policy.jitter(wait * policy.retry_after_jitter)


def decide(outcome: Outcome, attempt: int, write: WritePolicy, policy: RetryPolicy) -> Decision:
    """What to do after a failed attempt (see the module docstring for the rules).

    ``attempt`` counts from 0 (the first attempt failed: ``attempt=0``); ``write`` is the
    route's write policy for this call (``Route.write_policy(body)``).
    """
    status = outcome.status
    if status == 429 or not outcome.sent:
        if outcome.daily_quota:
            return _RAISE
        delay = _delay(outcome, attempt, policy)
        return _RAISE if delay is None else Decision("retry", delay)
    if status is None or status in RETRY_STATUSES or outcome.undecodable:
        delay = _delay(outcome, attempt, policy)
    elif status == 401 and outcome.command_timeout:
        delay = _delay(outcome, attempt, policy) if attempt == 0 else None
    else:
        return _RAISE
    if write == "idempotent":
        return _RAISE if delay is None else Decision("retry", delay)
    if write == "reconcile":
        return Decision("reconcile", delay)
    # never_resend: a 2xx was applied for sure, its body is what failed.
    return _RAISE if outcome.undecodable else _AMBIGUOUS


def outcome_of(exc: BaseException) -> Outcome:
    """Classify an exception raised while sending a request or reading its response."""
    if _CONNECT_TIMEOUT and isinstance(exc, _CONNECT_TIMEOUT):
        return Outcome(sent=False, timeout=True)
    if isinstance(exc, aiohttp.ClientConnectorError):
        # Refused, DNS, proxy, TLS handshake: no byte of the request was written.
        return Outcome(sent=False)
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return Outcome(timeout=True)
    # Reset, server disconnected, truncated payload: the server may have applied it.
    return Outcome()


def parse_retry_after(
    value: str | None, interval_ms: int | None = None, *, now: datetime | None = None
) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP date).

    Malformed values (negative, non-ASCII digits, ``1e400``, ``inf``, ``nan``, a date that
    does not parse) are ignored, never raised; an HTTP date in the past means 0. Without a
    usable header, falls back to HighLevel's ``X-RateLimit-Interval-Milliseconds`` (one full
    window) when given.
    """
    if value is not None:
        text = value.strip()
        if _SECONDS.fullmatch(text):
            return float(text)
        if text and not text.startswith("-") and text.isascii():
            when = _http_date(text)
            if when is not None:
                current = now if now is not None else datetime.now(timezone.utc)
                return max((when - current).total_seconds(), 0.0)
    if interval_ms is not None and interval_ms > 0:
        return interval_ms / 1000
    return None


def _http_date(text: str) -> datetime | None:
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)

"""Retry policy: which failures earn another attempt, and how long to wait before it.

Everything here is a pure function of the failure, the attempt number and the policy, so the
whole decision table is tested without a server (``tests/test_retry.py``). The waits come from
the ``backoff`` library: its ``expo`` generator and its ``full_jitter``.

The rules:

* 429: wait what the server asked (``Retry-After``, else its rate-limit interval) plus a little
  jitter, for every operation; the request was refused, not applied. A wait longer than
  ``retry_after_cap`` is not slept on: the error is raised.
* 502/503/504, connection errors, timeouts: exponential backoff with full jitter, but only for
  idempotent operations. A create may have been applied before the failure; resending it could
  create a duplicate contact. The one exception is a request that certainly never left
  (connection refused, DNS, TLS handshake, connect timeout): that is always safe to resend.
"""

from __future__ import annotations

import asyncio
import email.utils
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import aiohttp
import backoff

from ghl_async import defaults

__all__ = ["RETRY_STATUSES", "Outcome", "RetryPolicy", "outcome_of", "parse_retry_after",
           "retry_delay"]  # fmt: skip

RETRY_STATUSES = frozenset({502, 503, 504})

# aiohttp >= 3.10 tells a connect timeout (never sent) from a read timeout (maybe applied).
_CONNECT_TIMEOUT: tuple[type[BaseException], ...] = tuple(
    t for t in (getattr(aiohttp, "ConnectionTimeoutError", None),) if isinstance(t, type)
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How many times and how patiently to retry. ``jitter`` is replaceable for tests."""

    max_retries: int = defaults.MAX_RETRIES
    backoff_base: float = defaults.BACKOFF_BASE
    backoff_max: float = defaults.BACKOFF_MAX
    retry_after_cap: float = defaults.RETRY_AFTER_CAP
    # A 429's wait is stretched by up to this fraction, so callers told the same
    # Retry-After do not all come back in the same instant.
    retry_after_jitter: float = 0.1
    jitter: Callable[[float], float] = field(default=backoff.full_jitter)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One failed attempt, as the policy sees it."""

    status: int | None = None  # HTTP status; None when no response arrived
    sent: bool = True  # False only when the request certainly never reached the server
    timeout: bool = False
    retry_after: float | None = None  # seconds the server asked to wait (429)


def _expo(attempt: int, policy: RetryPolicy) -> float:
    waits = backoff.expo(base=2, factor=policy.backoff_base, max_value=policy.backoff_max)
    # The generator's first item is a placeholder for backoff's own initial send(None).
    value: float = next(itertools.islice(waits, attempt + 1, None))
    return value


def retry_delay(
    outcome: Outcome, attempt: int, idempotent: bool, policy: RetryPolicy
) -> float | None:
    """Seconds to wait before the next attempt, or ``None`` to give up and raise.

    ``attempt`` counts from 0 (the first attempt failed: ``attempt=0``).
    """
    if attempt >= policy.max_retries:
        return None
    if outcome.status == 429:
        wait = outcome.retry_after
        if wait is None:
            return policy.jitter(_expo(attempt, policy))
        if wait > policy.retry_after_cap:
            return None
        return wait + policy.jitter(wait * policy.retry_after_jitter)
    if outcome.status is None:
        if idempotent or not outcome.sent:
            return policy.jitter(_expo(attempt, policy))
        return None
    if outcome.status in RETRY_STATUSES and idempotent:
        return policy.jitter(_expo(attempt, policy))
    return None


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

    Falls back to HighLevel's ``X-RateLimit-Interval-Milliseconds`` (one full window).
    """
    if value is not None:
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(text)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=timezone.utc)
                current = now if now is not None else datetime.now(timezone.utc)
                return max((when - current).total_seconds(), 0.0)
        else:
            if math.isfinite(seconds):
                return max(seconds, 0.0)
    if interval_ms is not None and interval_ms > 0:
        return interval_ms / 1000
    return None

"""What bulk work does with a failed request: try again, record it against the records, or stop.

One record's failure never ends a run, whatever its type: it is retried when asking again may
help, else reported with its reason. Only two things stop a run early, because every later
request would fail the same way and spend requests doing it:

* **the grant** (``"auth"``): the token was refused and cannot be renewed
  (:class:`~ghl_async.errors.ReauthorizationRequired`; a 401 that is still there when the
  record's retries are spent, each retry having renewed the token), or it lacks the
  permission (403). A single 401 is not enough: an OAuth token revoked early is renewed by the
  next attempt, and one such revocation must not end an import;
* **the daily quota** (``"quota"``): :class:`~ghl_async.errors.DailyQuotaExceeded`.

:func:`disposition` is a pure function of the error (tested by table).
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Literal

from ghl_async.errors import (
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    DailyQuotaExceeded,
    DecodeError,
    GHLError,
    PermissionDeniedError,
    RateLimitError,
    ReauthorizationRequired,
    ServerError,
    TokenRefreshError,
    TransportError,
)

__all__ = [
    "Disposition",
    "Reason",
    "disposition",
    "next_step",
    "reason_of",
    "refused",
    "retry_pause",
]

Disposition = Literal["retry", "fail", "auth", "quota"]
"""``retry``: ask again (after ``Retry-After`` if given); ``fail``: report the records as failed
and go on; ``auth``/``quota``: report them and stop the run."""


def disposition(err: BaseException, retry_after_cap: float) -> Disposition:
    """What bulk work does after ``err`` (the client has already made its own retries)."""
    if isinstance(err, DailyQuotaExceeded):
        return "quota"
    if isinstance(err, ReauthorizationRequired):
        return "auth"
    if isinstance(err, TokenRefreshError):
        return "retry"  # the token endpoint failed; the grant itself is not known to be dead
    if isinstance(err, AuthenticationError):
        # The client renewed the token once already; the next try renews it again. Still
        # refused once the retries are spent: the grant is dead (next_step).
        return "retry"
    if isinstance(err, PermissionDeniedError):
        return "auth"
    if isinstance(err, RateLimitError):
        # A wait the client refused (above its retry_after_cap) is refused here too.
        wait = err.retry_after
        return "fail" if wait is not None and wait > retry_after_cap else "retry"
    if isinstance(err, AmbiguousWriteError):
        return "fail"  # a create that may have been applied: resending could duplicate it
    if isinstance(err, (ServerError, TransportError, DecodeError)):
        return "retry"
    return "fail"


def retry_pause(err: BaseException, attempt: int, delay: float) -> float:
    """Seconds before try ``attempt + 1``: ``delay`` doubling, jittered, and never sooner than
    the ``Retry-After`` the answer asked for."""
    pause: float = delay * 2**attempt * (0.5 + random.random())
    wait = getattr(err, "retry_after", None)
    if isinstance(wait, (int, float)) and not isinstance(wait, bool):
        pause = max(pause, float(wait))
    return pause


async def next_step(
    err: BaseException,
    attempt: int,
    *,
    retries: int,
    delay: float,
    retry_after_cap: float,
    stopping: bool = False,
) -> Disposition:
    """:func:`disposition`, with the retries counted: ``retry`` (the pause taken) only while
    ``attempt < retries`` and the run is not ``stopping``; else ``fail``, ``auth`` or
    ``quota``."""
    verdict = disposition(err, retry_after_cap)
    if verdict != "retry":
        return verdict
    if attempt >= retries or stopping:
        return "auth" if refused(err) else "fail"
    await asyncio.sleep(retry_pause(err, attempt, delay))
    return "retry"


def refused(err: BaseException) -> bool:
    """Whether ``err`` is a 401 for the token itself (not HighLevel's transient ``"Command timed
    out"``, nor a failing token endpoint)."""
    return (
        isinstance(err, AuthenticationError)
        and not isinstance(err, TokenRefreshError)
        and "Command timed out" not in err.message
    )


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a request failed, in the words a report shows."""

    reason: str
    message: str | None = None
    status: int | None = None


def reason_of(err: BaseException) -> Reason:
    """The report's reason for ``err``: the status and operation, or the error's own text."""
    if isinstance(err, APIError):
        return Reason(f"HTTP {err.status} from {err.operation}", err.message or None, err.status)
    if isinstance(err, AmbiguousWriteError):
        return Reason(f"ambiguous: {err}")
    if isinstance(err, TransportError):
        return Reason(f"no response: {err}")
    if isinstance(err, GHLError):
        return Reason(f"{type(err).__name__}: {err}")
    return Reason(f"unexpected {type(err).__name__}: {err}")

"""Rate limits: HighLevel's ``X-RateLimit-*`` headers, and one token bucket per location.

HighLevel allows 100 requests per 10 s per app per resource (location or company) and counts
them in a window: at most ``requests`` inside any ``period``. aiolimiter's leaky bucket
(``AsyncLimiter(100, 10)``) does not keep that promise by itself: a full bucket admits a burst
of 100, then refills at 10/s, so the first 10 s can see 200 requests and a 429. Each
:class:`Bucket` therefore has two stages:

1. an :class:`aiolimiter.AsyncLimiter` that shapes the traffic: by default it allows the whole
   burst HighLevel allows; ``RateLimit(burst=1)`` turns it into a smooth pacer;
2. a window of slots, exactly HighLevel's rule: a request holds a slot from the moment it is
   admitted until ``period`` (plus a tiny ``margin``) after its response arrived. The server
   saw the request at some moment between the two, so measuring from the response is the
   latest it can have counted it: no latency pattern (a slow TLS handshake on the first
   burst, a stalled connection) can squeeze ``requests + 1`` into one server window. A long
   run goes at ``requests / (period + margin + round trip)``.

The server's own counters feed back in: ``X-RateLimit-Remaining`` lower than the bucket
expects (another process uses the same app and location) fills slots, and a 429 pauses the
bucket for its ``Retry-After``. The daily quota is reported (:class:`RateLimitInfo`), not
enforced.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeGuard

from aiolimiter import AsyncLimiter

from ghl_async import defaults
from ghl_async.errors import ConfigError

__all__ = ["Bucket", "RateLimit", "RateLimitInfo", "RateLimiter", "padding", "window_wait"]


# asyncio's own clock (BaseEventLoop.time) without looking the loop up on every request.
_now = time.monotonic


def _int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """What the last response said about the burst and daily limits."""

    max: int | None = None  # burst requests allowed per interval
    remaining: int | None = None  # burst requests left in this interval
    interval_ms: int | None = None
    daily_limit: int | None = None
    daily_remaining: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo | None:
        """Parse the five headers; ``None`` when the response carried none of them."""
        info = cls(
            max=_int(headers, "X-RateLimit-Max"),
            remaining=_int(headers, "X-RateLimit-Remaining"),
            interval_ms=_int(headers, "X-RateLimit-Interval-Milliseconds"),
            daily_limit=_int(headers, "X-RateLimit-Limit-Daily"),
            daily_remaining=_int(headers, "X-RateLimit-Daily-Remaining"),
        )
        return None if info == _EMPTY else info


_EMPTY = RateLimitInfo()


@dataclass(frozen=True, slots=True)
class RateLimit:
    """The burst rule to keep to, per location (or company).

    Args:
        requests: at most this many requests in any window of ``period`` seconds.
        period: the window, in seconds.
        burst: how many requests may leave at once (default: ``requests``, as HighLevel
            allows); ``1`` spaces every request evenly.
        margin: seconds added to the window for safety (default: 0.2% of ``period``).
    """

    requests: int = defaults.RATE_LIMIT_REQUESTS
    period: float = defaults.RATE_LIMIT_PERIOD
    burst: int | None = None
    margin: float | None = None

    def __post_init__(self) -> None:
        if not _integer(self.requests):
            raise ConfigError(f"RateLimit.requests must be an int, not {self.requests!r}")
        if self.requests < 1:
            raise ConfigError(f"RateLimit.requests must be at least 1, not {self.requests}")
        if not (_number(self.period) and self.period > 0):
            raise ConfigError(f"RateLimit.period must be a positive number, not {self.period!r}")
        if self.burst is not None and not (
            _integer(self.burst) and 1 <= self.burst <= self.requests
        ):
            raise ConfigError(f"RateLimit.burst must be an int in 1..requests, not {self.burst!r}")
        if self.margin is not None and not (_number(self.margin) and self.margin >= 0):
            raise ConfigError(f"RateLimit.margin must be a number >= 0, not {self.margin!r}")

    @property
    def span(self) -> float:
        """Seconds a finished request keeps its slot: the period plus the margin."""
        margin = self.period * 0.002 if self.margin is None else self.margin
        return self.period + margin


def _integer(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def window_wait(
    log: deque[float], in_flight: int, now: float, requests: int, span: float
) -> float | None:
    """Seconds before one more request may leave (0: now; None: when one in flight ends).

    ``log`` holds the completion times of finished requests younger than ``span``, oldest
    first; ``in_flight`` requests were admitted and have not finished. All of them hold a slot.
    """
    need = in_flight + len(log) - requests + 1  # slots that must free up first
    if need <= 0:
        return 0.0
    if need > len(log):
        return None  # requests in flight hold the slots; they free them one span after ending
    return max(log[need - 1] + span - now, 0.0)


def padding(
    log: deque[float], in_flight: int, now: float, requests: int, period: float, remaining: int
) -> int:
    """How many requests the server counted that the bucket does not know about.

    ``remaining`` is the server's ``X-RateLimit-Remaining``. The bucket's own requests in the
    window are those in flight and those finished less than ``period`` ago; when the server has
    fewer free slots, someone else (another process, another client) used the difference.
    """
    used = requests - max(remaining, 0)
    if used <= 0:
        return 0
    ours = in_flight + len(log) - _count_before(log, now - period)
    return max(used - ours, 0)


def _count_before(log: deque[float], floor: float) -> int:
    # The log is sorted and pruned to one span, so only a margin's worth of entries is old.
    count = 0
    for stamp in log:
        if stamp > floor:
            break
        count += 1
    return count


class Bucket:
    """The limiter of one location (or company): see the module docstring.

    Every :meth:`acquire` must be paired with one :meth:`release` once the response (or the
    failure) is in.
    """

    __slots__ = (
        "_in_flight",
        "_limiter",
        "_lock",
        "_log",
        "_paused_until",
        "_released",
        "_span",
        "rule",
    )

    def __init__(self, rule: RateLimit) -> None:
        self.rule = rule
        self._span = rule.span
        burst = rule.requests if rule.burst is None else rule.burst
        self._limiter = AsyncLimiter(burst, rule.period * burst / rule.requests)
        self._log: deque[float] = deque(maxlen=rule.requests)  # completion times
        self._in_flight = 0
        # FIFO among callers that must wait; the fast path never touches it.
        self._lock = asyncio.Lock()
        self._released: asyncio.Future[None] | None = None
        self._paused_until = 0.0

    async def acquire(self) -> None:
        """Wait until one more request keeps the rule, and take its slot."""
        await self._limiter.acquire()
        if not self._lock.locked():
            # Fast path, on every request: `_wait(now) == 0.0` written out (a free slot and no
            # pause), as one clock read and one comparison.
            now = _now()
            log = self._log
            floor = now - self._span
            while log and log[0] <= floor:
                log.popleft()
            if self._in_flight + len(log) < self.rule.requests and self._paused_until <= now:
                self._in_flight += 1
                return
        loop = asyncio.get_running_loop()
        async with self._lock:
            while True:
                now = _now()
                self._prune(now)
                wait = self._wait(now)
                if wait == 0.0:
                    break
                if wait is None:
                    released = self._released
                    if released is None or released.done():
                        released = self._released = loop.create_future()
                    await released
                else:
                    await asyncio.sleep(wait)
            self._in_flight += 1

    def release(self) -> None:
        """The request of one :meth:`acquire` finished (answered or failed) just now."""
        self._in_flight -= 1
        self._log.append(_now())
        released, self._released = self._released, None
        if released is not None and not released.done():
            released.set_result(None)

    def _prune(self, now: float) -> None:
        # Requests that ended more than a span ago no longer hold a slot.
        log = self._log
        floor = now - self._span
        while log and log[0] <= floor:
            log.popleft()

    def _wait(self, now: float) -> float | None:
        wait = window_wait(self._log, self._in_flight, now, self.rule.requests, self._span)
        pause = self._paused_until - now
        if pause > 0.0 and wait is not None:
            return max(wait, pause)
        return wait

    def observe(self, remaining: int) -> None:
        """Take the server's ``X-RateLimit-Remaining`` into account."""
        rule = self.rule
        if remaining >= rule.requests:
            return
        now = _now()
        self._prune(now)
        extra = padding(self._log, self._in_flight, now, rule.requests, rule.period, remaining)
        # Stamped now: the latest moment those unknown requests can have happened, so they
        # are assumed to leave the window last (never too early).
        self._log.extend([now] * extra)

    def pause(self, seconds: float) -> None:
        """Admit nothing for ``seconds`` (the server answered 429 with a ``Retry-After``)."""
        until = _now() + seconds
        self._paused_until = max(until, self._paused_until)


class RateLimiter:
    """The buckets of one client, by rate key (location or company id), made on first use."""

    __slots__ = ("_buckets", "rule")

    def __init__(self, rule: RateLimit) -> None:
        self.rule = rule
        self._buckets: dict[str, Bucket] = {}

    def bucket(self, key: str) -> Bucket:
        """The bucket of ``key``."""
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = Bucket(self.rule)
        return found

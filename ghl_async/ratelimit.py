"""Rate limits: HighLevel's ``X-RateLimit-*`` headers, the rate-budget interface, and the
in-memory budget (one token bucket per location).

**The interface.** The request pipeline talks to a :class:`RateBudget` (``bucket(key)`` per
location or company) and its :class:`RateBucket`\\ s: ``acquire`` before each attempt (may
wait, may be async, so a shared budget can spend one round trip to Redis there), then
``release`` once the answer (with its headers) or the failure is in, and ``pause`` when the
server answered 429 with a wait. ``release`` and ``pause`` are synchronous and must not block:
an implementation may buffer them and send them with its next ``acquire``, so a cross-process
budget costs at most one round trip per request. :class:`RateLimiter` below is the in-memory
implementation; ``Client(rate_limit=...)`` takes a :class:`RateLimit` rule (an in-memory
limiter is built from it), ``RateLimit.unlimited()``, ``None``, or any :class:`RateBudget`.

**The in-memory bucket.** HighLevel allows 100 requests per 10 s per app per resource
(location or company) and counts them in a window: at most ``requests`` inside any
``period``. aiolimiter's leaky bucket (``AsyncLimiter(100, 10)``) does not keep that promise by
itself: a full bucket admits a burst of 100, then refills at 10/s, so the first 10 s can see
200 requests and a 429. Each :class:`Bucket` therefore has two stages:

1. an :class:`aiolimiter.AsyncLimiter` token bucket that shapes the traffic:
   ``RateLimit(burst=1)`` turns it into a smooth pacer, ``burst=10`` lets 10 leave at once and
   the rest follow at ``requests / period``. At the default, ``burst=requests`` (the whole
   burst HighLevel allows), it is left out: such a bucket never makes a request wait that
   stage 2 admits. (Stage 2 admits at ``t`` only with at most ``requests - 1`` admissions in
   the ``span >= period`` before ``t``, so any stretch of ``k`` periods plus ``r`` holds at
   most ``k * requests + requests - 1`` of them, and the bucket, draining ``requests`` per
   period, is at most ``requests - 1 - r * requests / period`` full: room for one more.)
   Calling it would only cost each request a coroutine and three clock reads;
2. a window of slots, exactly HighLevel's rule: a request holds a slot from the moment it is
   admitted until ``period`` (plus a tiny ``margin``) after its response arrived. The server
   saw the request at some moment between the two, so measuring from the response is the
   latest it can have counted it: no latency pattern (a slow TLS handshake on the first
   burst, a stalled connection) can squeeze ``requests + 1`` into one server window. A long
   run goes at ``requests / (period + margin + round trip)``.

The server's own word feeds back in, and can never poison the bucket:

* ``X-RateLimit-Max`` with ``X-RateLimit-Interval-Milliseconds`` is the server's rule. The
  bucket keeps ``min(configured rule, server rule)`` (:func:`windows_for`): a configured rule
  above the server's is followed down to it, never exceeded and never cut further. A server
  rule outside sane bounds (a window over :data:`SERVER_WINDOW_MAX` seconds, a count over
  :data:`SERVER_MAX`) is ignored.
* ``X-RateLimit-Remaining`` lower than the bucket expects (another process uses the same app
  and location) fills slots, counted against the server's rule.
* A 429 pauses the bucket for its ``Retry-After``, only when that is within the client's
  ``retry_after_cap``; a longer wait fails that one call (``RateLimitError``) and leaves the
  bucket as it was. ``acquire(max_wait)`` likewise refuses, without waiting, any wait the
  server imposed (pause, server window) longer than ``max_wait``.
* Malformed values (``1e400``, ``Infinity``, ``NaN``, negative, non-ASCII digits, huge) are
  ignored, never raised (:func:`header_count`).

The fast path (:meth:`Bucket.try_acquire`, and :meth:`Bucket.acquire` before it waits), taken
by every request while the window has room, is one comparison: expired slots are dropped, with
one clock read, only when the count says the window may be full (plus one aiolimiter acquire
when ``burst`` is below ``requests``).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol, TypeGuard

from aiolimiter import AsyncLimiter

from ghl_async import defaults
from ghl_async.errors import ConfigError

__all__ = [
    "SERVER_MAX",
    "SERVER_WINDOW_MAX",
    "UNLIMITED",
    "Bucket",
    "RateBucket",
    "RateBudget",
    "RateLimit",
    "RateLimitInfo",
    "RateLimiter",
    "Unlimited",
    "Window",
    "header_count",
    "padding",
    "server_rule",
    "window_wait",
    "windows_for",
]

logger = logging.getLogger("ghl_async")

# asyncio's own clock (BaseEventLoop.time) without looking the loop up on every request.
_now = time.monotonic

# The largest server rule the bucket follows; beyond, the headers are taken as nonsense.
SERVER_MAX: Final = 1_000_000  # requests per window
SERVER_WINDOW_MAX: Final = 3_600.0  # seconds
# Waits at least this long are logged at INFO.
_LOG_WAIT: Final = 1.0


def header_count(raw: str | None, maximum: int = 10**12) -> int | None:
    """A non-negative integer header value, or ``None`` when missing or malformed.

    Accepts ASCII digits with an optional all-digit fraction (``"199000.0"``); rejects
    negatives, exponents, ``inf``/``nan``, non-ASCII digits and values above ``maximum``.
    """
    if raw is None:
        return None
    if raw.isdigit() and raw.isascii() and len(raw) <= 15:  # what HighLevel sends
        value = int(raw)
        return value if value <= maximum else None
    text = raw.strip()
    whole, dot, fraction = text.partition(".")
    if (
        not whole.isascii()
        or not whole.isdigit()
        or len(whole) > 15
        or (dot and not (fraction.isascii() and fraction.isdigit()))
    ):
        return None
    value = int(whole)
    return value if value <= maximum else None


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
        """Parse the five headers; ``None`` when none of them carries a usable value.

        Malformed values are left out (``None``), never raised.
        """
        info = cls(
            max=header_count(headers.get("X-RateLimit-Max")),
            remaining=header_count(headers.get("X-RateLimit-Remaining")),
            interval_ms=header_count(headers.get("X-RateLimit-Interval-Milliseconds")),
            daily_limit=header_count(headers.get("X-RateLimit-Limit-Daily")),
            daily_remaining=header_count(headers.get("X-RateLimit-Daily-Remaining")),
        )
        return None if info == _EMPTY else info


_EMPTY = RateLimitInfo()


@dataclass(frozen=True, slots=True)
class Unlimited:
    """No client-side limit: requests never wait for a budget.

    Unlike ``rate_limit=None``, the bookkeeping stays on: ``Client.rate_limits`` records the
    server's ``X-RateLimit-*`` values and a spent daily quota fails later calls at once
    (``DailyQuotaExceeded``) instead of sending them. A 429 is still retried after its
    ``Retry-After`` (per call: there is no shared pause). Get it as ``RateLimit.unlimited()``.
    """

    def __repr__(self) -> str:
        return "RateLimit.unlimited()"


UNLIMITED: Final = Unlimited()


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

    @staticmethod
    def unlimited() -> Unlimited:
        """No client-side limit, bookkeeping kept (see :class:`Unlimited`)."""
        return UNLIMITED

    @property
    def span(self) -> float:
        """Seconds a finished request keeps its slot: the period plus the margin."""
        return self.period + self.margin_for(self.period)

    def margin_for(self, period: float) -> float:
        """The safety margin added to a window of ``period`` seconds."""
        return period * 0.002 if self.margin is None else self.margin


def _integer(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --- the interface the pipeline calls ---------------------------------------------------------


class RateBucket(Protocol):
    """The rate budget of one location (or company), as the request pipeline uses it.

    Per attempt the pipeline calls ``acquire`` once; if it admitted the request, exactly one
    ``release`` follows, whatever happens (answer, failure, cancellation).
    """

    def acquire(self, max_wait: float) -> Awaitable[float | None]:
        """Wait until one more request keeps the budget and take its slot; return ``None``.

        If admitting the request means waiting longer than ``max_wait`` seconds because of
        what the server said (a 429 pause, the server's window), take nothing and return that
        wait at once: the call then fails with ``RateLimitError(retry_after=wait)``. May be a
        coroutine (one round trip to a shared store is fine); must not raise except on
        cancellation.
        """
        ...

    def release(self, headers: Mapping[str, str] | None) -> None:
        """The admitted request finished now: ``headers`` of its answer, ``None`` if none came.

        Synchronous and non-blocking (no I/O here: buffer it for the next ``acquire``).
        Header values may be malformed: ignore what :func:`header_count` rejects.
        """
        ...

    def pause(self, seconds: float) -> None:
        """The server answered 429 and asked for ``seconds`` (at most the client's cap).

        Admit nothing for that long. Synchronous and non-blocking, like ``release``.
        """
        ...


class RateBudget(Protocol):
    """A client's rate budget: one :class:`RateBucket` per rate key (location or company id).

    ``Client(rate_limit=budget)`` accepts any object with this method; :class:`RateLimiter` is
    the in-memory implementation. ``bucket`` is called once per call (not per attempt), so
    it should be a dictionary lookup, not I/O.
    """

    def bucket(self, key: str) -> RateBucket:
        """The bucket of ``key``."""
        ...


# --- window arithmetic (pure) -----------------------------------------------------------------

# (requests, span, imposed by the server): at most `requests` slots inside `span` seconds.
Window = tuple[int, float, bool]


def server_rule(max_value: int | None, interval_ms: int | None) -> tuple[int, float] | None:
    """The server's rule ``(requests, seconds)`` from its headers, if present and sane."""
    if max_value is None or interval_ms is None:
        return None
    if not 1 <= max_value <= SERVER_MAX or not 1 <= interval_ms <= SERVER_WINDOW_MAX * 1000:
        return None
    return max_value, interval_ms / 1000


def windows_for(rule: RateLimit, server: tuple[int, float] | None) -> tuple[Window, ...]:
    """The windows a bucket keeps: ``min(rule, server rule)``.

    One rule is enough when it is at least as strict as the other (no more requests in a
    window at least as long); when neither is, both are kept, so the server's rule is never
    exceeded and the configured one never cut below what both allow.
    """
    own: Window = (rule.requests, rule.span, False)
    if server is None:
        return (own,)
    requests, period = server
    theirs: Window = (requests, period + rule.margin_for(period), True)
    if rule.requests <= requests and rule.period >= period:
        return (own,)
    if requests <= rule.requests and period >= rule.period:
        return (theirs,)
    return (own, theirs)


def window_wait(
    log: deque[float], in_flight: int, now: float, requests: int, span: float
) -> float | None:
    """Seconds before one more request may leave (0: now; None: when one in flight ends).

    ``log`` holds the completion times of finished requests, oldest first; those older than
    ``span`` are ignored. ``in_flight`` requests were admitted and have not finished. All of
    them hold a slot.
    """
    old = _count_before(log, now - span)
    need = in_flight + len(log) - old - requests + 1  # slots that must free up first
    if need <= 0:
        return 0.0
    if need > len(log) - old:
        return None  # requests in flight hold the slots; they free them one span after ending
    return max(log[old + need - 1] + span - now, 0.0)


def padding(
    log: deque[float], in_flight: int, now: float, requests: int, period: float, remaining: int
) -> int:
    """How many requests the server counted that the bucket does not know about.

    ``remaining`` is the server's ``X-RateLimit-Remaining`` under its rule of ``requests`` per
    ``period``. The bucket's own requests in the window are those in flight and those finished
    less than ``period`` ago; when the server has fewer free slots, someone else (another
    process, another client) used the difference.
    """
    used = requests - max(remaining, 0)
    if used <= 0:
        return 0
    ours = in_flight + len(log) - _count_before(log, now - period)
    return max(used - ours, 0)


def _count_before(log: deque[float], floor: float) -> int:
    # The log is sorted and pruned to the longest span, so few entries are old.
    count = 0
    for stamp in log:
        if stamp > floor:
            break
        count += 1
    return count


# --- the in-memory implementation -------------------------------------------------------------


class Bucket:
    """The in-memory :class:`RateBucket` of one location (or company): see the module docstring.

    Every :meth:`acquire` that admitted a request must be paired with one :meth:`release` once
    the response (or the failure) is in.
    """

    __slots__ = (
        "_in_flight",
        "_interval_raw",
        "_limit",
        "_limiter",
        "_lock",
        "_log",
        "_max_raw",
        "_observed",
        "_paused_until",
        "_queued",
        "_recheck",
        "_released",
        "_server",
        "_span",
        "_windows",
        "key",
        "rule",
    )

    def __init__(self, rule: RateLimit, key: str = "") -> None:
        self.rule = rule
        self.key = key
        burst = rule.requests if rule.burst is None else rule.burst
        # Stage 1 only where it can shape anything: a full-size burst (the default) is a leaky
        # bucket that never makes anyone wait once stage 2 holds (the module docstring shows
        # why; tests/test_client_ratelimit_units.py checks it), so it is left out of the path.
        self._limiter = (
            AsyncLimiter(burst, rule.period * burst / rule.requests)
            if burst < rule.requests
            else None
        )
        self._windows: tuple[Window, ...] = windows_for(rule, None)
        # Every window has room while in_flight + len(log) < _limit (once the log is pruned to
        # `_span`; unpruned, the count only errs on the safe side).
        self._limit = rule.requests
        self._span = rule.span
        self._log: deque[float] = deque(maxlen=rule.requests)  # completion times
        self._in_flight = 0
        # FIFO among callers that must wait; the fast path never touches it.
        self._lock = asyncio.Lock()
        self._queued = 0  # callers in the slow path, the lock's holder included
        self._released: asyncio.Future[None] | None = None
        self._paused_until = 0.0
        self._server: tuple[int, float] | None = None
        # The rule X-RateLimit-Remaining counts against (the server's, else ours): a count at or
        # above its requests needs no look at the log.
        self._observed: tuple[int, float] = (rule.requests, rule.period)
        self._max_raw: str | None = None
        self._interval_raw: str | None = None
        self._recheck = 0

    @property
    def windows(self) -> tuple[Window, ...]:
        """The windows kept now: the rule, the server's, or both (:func:`windows_for`)."""
        return self._windows

    async def acquire(self, max_wait: float = math.inf) -> float | None:
        """Wait until one more request keeps the rule and take its slot; return ``None``.

        A wait the server imposed (429 pause, the server's window) longer than ``max_wait`` is
        not taken: nothing is acquired and that wait is returned at once.
        """
        if self._limiter is not None:
            await self._limiter.acquire()
        if self._admit():
            return None
        loop = asyncio.get_running_loop()
        # Counted until the slow path ends, so the fast path never overtakes a waiting caller.
        self._queued += 1
        try:
            async with self._lock:
                while True:
                    now = _now()
                    self._prune(now)
                    wait, imposed = self._wait(now)
                    if imposed > max_wait:
                        return imposed
                    if wait == 0.0:
                        break
                    if wait is None:
                        released = self._released
                        if released is None or released.done():
                            released = self._released = loop.create_future()
                        await released
                    else:
                        if wait >= _LOG_WAIT:
                            logger.info(
                                "rate limit of %s: waiting %.1f s", self.key or "?", wait
                            )
                        await asyncio.sleep(wait)
                self._in_flight += 1
        finally:
            self._queued -= 1
        return None

    def try_acquire(self) -> bool:
        """Take a slot if one is free now, without waiting; ``False`` (nothing taken) otherwise.

        The pipeline's synchronous fast path (no coroutine): a caller that gets ``False``
        awaits :meth:`acquire`. Always ``False`` while stage 1 (a ``burst`` below
        ``requests``) is in use, as only :meth:`acquire` can pass it.
        """
        return self._limiter is None and self._admit()

    def _admit(self) -> bool:
        # The fast path, on every request: `_wait(now) == (0.0, 0.0)` written out (a free slot
        # in every window, no pause, nobody waiting). Expired slots are dropped only when the
        # log looks full: until then a request reads neither the clock nor the oldest entry
        # (allocated a window ago, out of the CPU's caches).
        if self._queued:
            return False
        paused = self._paused_until
        if paused:
            if paused > _now():
                return False
            self._paused_until = 0.0
        log = self._log
        if self._in_flight + len(log) >= self._limit:
            floor = _now() - self._span
            while log and log[0] <= floor:
                log.popleft()
            if self._in_flight + len(log) >= self._limit:
                return False
        self._in_flight += 1
        return True

    def release(self, headers: Mapping[str, str] | None = None) -> None:
        """The request of one :meth:`acquire` finished (answered or failed) just now."""
        self._in_flight -= 1
        self._log.append(_now())
        released = self._released
        if released is not None:
            self._released = None
            if not released.done():
                released.set_result(None)
        if headers is not None:
            remaining = headers.get("X-RateLimit-Remaining")
            if remaining is not None:
                self._recheck -= 1
                if (
                    self._recheck > 0
                    and len(remaining) <= 15
                    and remaining.isdigit()
                    and remaining.isascii()
                    and int(remaining) >= self._observed[0]
                ):
                    # On almost every answer: the server's rule was looked at recently and its
                    # count says nothing the log does not (observe() would return at once).
                    return
                self._feedback(headers, remaining)

    def _feedback(self, headers: Mapping[str, str], remaining: str) -> None:
        if self._recheck <= 0:
            # The server's rule hardly ever changes: look at it on the first answer, then on
            # every 32nd (two header lookups saved on the others).
            self._recheck = 32
            raw_max = headers.get("X-RateLimit-Max")
            raw_interval = headers.get("X-RateLimit-Interval-Milliseconds")
            if raw_max != self._max_raw or raw_interval != self._interval_raw:
                self._max_raw, self._interval_raw = raw_max, raw_interval
                self.follow(server_rule(header_count(raw_max), header_count(raw_interval)))
        if remaining.isdigit() and remaining.isascii() and len(remaining) <= 15:
            self.observe(int(remaining))  # header_count's fast path, inline
        else:
            count = header_count(remaining)
            if count is not None:
                self.observe(count)

    def follow(self, server: tuple[int, float] | None) -> None:
        """Keep ``min(rule, server)`` from now on (``None``: the server said nothing usable)."""
        if server == self._server:
            return
        self._server = server
        self._observed = server if server is not None else (self.rule.requests, self.rule.period)
        windows = self._windows = windows_for(self.rule, server)
        self._limit = min(window[0] for window in windows)
        self._span = max(window[1] for window in windows)
        size = max(window[0] for window in windows)
        if self._log.maxlen != size:
            self._log = deque(self._log, maxlen=size)

    def _prune(self, now: float) -> None:
        # Requests that ended more than a span ago no longer hold a slot.
        log = self._log
        floor = now - self._span
        while log and log[0] <= floor:
            log.popleft()

    def _wait(self, now: float) -> tuple[float | None, float]:
        """(the wait before admitting one more, the part of it the server imposed)."""
        imposed = max(self._paused_until - now, 0.0)
        wait: float | None = imposed
        for requests, span, theirs in self._windows:
            needed = window_wait(self._log, self._in_flight, now, requests, span)
            if needed is None:
                wait = None
                continue
            if theirs:
                imposed = max(imposed, needed)
            if wait is not None:
                wait = max(wait, needed)
        return wait, imposed

    def observe(self, remaining: int) -> None:
        """Take the server's ``X-RateLimit-Remaining`` into account."""
        requests, period = self._observed
        if remaining >= requests:
            return
        now = _now()
        self._prune(now)
        extra = padding(self._log, self._in_flight, now, requests, period, remaining)
        if extra:
            # Stamped now: the latest moment those unknown requests can have happened, so they
            # are assumed to leave the window last (never too early).
            self._log.extend([now] * extra)

    def pause(self, seconds: float) -> None:
        """Admit nothing for ``seconds`` (the server answered 429 with a ``Retry-After``)."""
        until = _now() + seconds
        self._paused_until = max(until, self._paused_until)


class RateLimiter:
    """The in-memory :class:`RateBudget`: one :class:`Bucket` per rate key, made on first use."""

    __slots__ = ("_buckets", "rule")

    def __init__(self, rule: RateLimit) -> None:
        self.rule = rule
        self._buckets: dict[str, Bucket] = {}

    def bucket(self, key: str) -> Bucket:
        """The bucket of ``key``."""
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = Bucket(self.rule, key)
        return found

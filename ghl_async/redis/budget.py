"""A rate budget shared by every process and machine: :class:`RedisRateBudget`.

Plugs into the request pipeline like the in-memory limiter (``Client(rate_limit=budget)``, the
:class:`~ghl_async.ratelimit.RateBudget` protocol) and keeps the same promise across processes:
at most ``requests`` in any ``period`` per location, counted from admission until one span after
the answer, so N processes never exceed one location's rule together. Each location's state is
one sorted set, ``<prefix>budget:<location id>``, changed only by one Lua script (atomic; see
:mod:`ghl_async.redis._window` for the arithmetic and why it is a sliding window, not GCRA).

**Round trips.** One script call per request: ``acquire`` runs it, carrying what ``release`` and
``pause`` buffered (they never do I/O). When the window is full the script either reserves a
slot in the future (the caller sleeps locally, no second call) or, when the slot it needs is
still open in another process, says how long to sleep before asking again (a bounded poll,
backing off). When a location falls idle its last answers are sent by one batched call after
:data:`FLUSH_DELAY`, so that other processes see the slots free.

**The server's word** is followed as in memory: ``X-RateLimit-Max``/``-Interval-Milliseconds``
set the windows (``min(rule, server rule)``, per process: each learns it from its own answers),
an ``X-RateLimit-Remaining`` lower than the shared state explains fills slots, and a 429 pauses
the location for every process.

**When Redis is unreachable** (an error, or no answer within ``timeout``), requests are not
failed: each bucket falls back to the same arithmetic on local state, with the rule divided by
the number of processes that shared the location at the last contact, logs one warning per
outage, and tries Redis again every ``retry_interval`` seconds; when it is back, the requests
sent meanwhile are added to the shared window. The guarantee holds as long as every process
loses Redis together (the usual case) and knew the others; a process that never reached Redis
assumes it is alone, and the pipeline's 429 handling covers the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import os
import secrets
import time
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from ghl_async.errors import ConfigError
from ghl_async.ratelimit import RateLimit, header_count, server_rule, windows_for
from ghl_async.redis._client import DEFAULT_MAX_CONNECTIONS, RedisUser, connect, require_redis
from ghl_async.redis._keys import DEFAULT_PREFIX, RedisKeys
from ghl_async.redis._window import REFUSED, RETRY, SCRIPT, Call, Reply, Window, WindowModel

require_redis()

from redis.exceptions import RedisError  # noqa: E402  (after the check that names the extra)

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "DEFAULT_HOLD",
    "DEFAULT_TIMEOUT",
    "FLUSH_DELAY",
    "RedisBucket",
    "RedisRateBudget",
]

log = logging.getLogger("ghl_async.redis")

DEFAULT_HOLD: Final = 60.0
"""Seconds an admitted request counts without an answer before its slot is dropped (the process
that sent it died). Longer than a request can take: the default 30 s timeout plus a refresh."""
DEFAULT_TIMEOUT: Final = 2.0
"""Seconds a script call may take before Redis counts as unreachable."""
DEFAULT_RETRY_INTERVAL: Final = 1.0
"""Seconds between attempts to reach Redis again during an outage."""
FLUSH_DELAY: Final = 0.25
"""Seconds (at most; a quarter of the window if shorter) an answer waits for the next
``acquire`` to carry it before it is sent alone. Others need it only when the slot could free,
one window after the request was admitted, so waiting costs no one anything."""

_POLL_FIRST: Final = 0.002
_POLL_MAX: Final = 0.25
_LOG_WAIT: Final = 1.0
_FAILURES: Final = (RedisError, OSError, asyncio.TimeoutError, ValueError)

_now = time.monotonic


class RedisRateBudget(RedisUser):
    """A :class:`~ghl_async.ratelimit.RateBudget` in Redis, shared by processes and machines.

    ``Client(rate_limit=RedisRateBudget(redis, RateLimit(100, 10)))`` in every process that calls
    HighLevel as the same app; one budget object per process, shared by its clients.

    Args:
        client: a ``redis.asyncio.Redis`` on the primary; yours to close.
        rule: the burst rule per location (HighLevel's 100 per 10 s by default).
        prefix: put before every key; one prefix per app (the limits are per app).
        hold: seconds an admitted request without a known answer keeps its slot.
        timeout: seconds a script call may take before Redis counts as unreachable.
        retry_interval: seconds between attempts to reach Redis during an outage.

    Raises:
        ConfigError: a setting is out of range, or ``client`` is not a ``redis.asyncio.Redis``.
    """

    def __init__(
        self,
        client: Redis,
        rule: RateLimit | None = None,
        *,
        prefix: str = DEFAULT_PREFIX,
        hold: float = DEFAULT_HOLD,
        timeout: float = DEFAULT_TIMEOUT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
    ) -> None:
        _check(rule, hold, timeout, retry_interval)
        self.keys = RedisKeys(prefix)
        super().__init__(client)
        self.rule = rule if rule is not None else RateLimit()
        self.hold = hold
        self.timeout = timeout
        self.retry_interval = retry_interval
        self.member = f"{os.getpid()}-{secrets.token_hex(4)}"
        self._script = client.register_script(SCRIPT)
        self._buckets: dict[str, RedisBucket] = {}
        self._ids = itertools.count(1)
        self._down_until = 0.0
        self._down = False
        self._tasks: set[asyncio.Task[None]] = set()
        self.round_trips = 0  # script calls sent, for figures

    @classmethod
    def from_url(
        cls,
        url: str,
        rule: RateLimit | None = None,
        *,
        prefix: str = DEFAULT_PREFIX,
        hold: float = DEFAULT_HOLD,
        timeout: float = DEFAULT_TIMEOUT,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> RedisRateBudget:
        """Make a budget with its own client for ``url``, closed by :meth:`aclose`.

        Raises:
            ConfigError: ``url`` is not a Redis URL, or a setting is out of range.
        """
        _check(rule, hold, timeout, retry_interval)
        RedisKeys(prefix)
        budget = cls(
            connect(url, max_connections=max_connections),
            rule,
            prefix=prefix,
            hold=hold,
            timeout=timeout,
            retry_interval=retry_interval,
        )
        budget._owns_client = True
        return budget

    def bucket(self, key: str) -> RedisBucket:
        """The bucket of ``key`` (a location or company id); made on first use, no I/O."""
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = RedisBucket(self, key)
        return found

    @property
    def available(self) -> bool:
        """False while Redis counts as unreachable (the buckets use local state)."""
        return not self._down

    async def flush(self) -> None:
        """Send every answer still buffered, so other processes see those slots free now.

        :meth:`aclose` does it too; errors are logged, not raised.
        """
        calls = [bucket.flush_now() for bucket in self._buckets.values() if bucket.pending]
        if calls:
            await asyncio.gather(*calls)

    async def aclose(self) -> None:
        """Flush what is buffered, then close the client if it was made here."""
        try:
            await self.flush()
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            await super().aclose()

    def __repr__(self) -> str:
        rule = self.rule
        return (
            f"RedisRateBudget({rule.requests}/{rule.period:g}s, prefix={self.keys.prefix!r}, "
            f"hold={self.hold:g})"
        )

    # -- for the buckets -------------------------------------------------------------------

    def slot_id(self) -> str:
        """A slot (or padding) name no other process uses."""
        return f"{self.member}:{next(self._ids)}"

    def outage(self) -> bool:
        """True while the buckets should use local state instead of Redis."""
        return self._down and _now() < self._down_until

    async def run(self, name: str, call: Call) -> Reply:
        """Run the script once for the location key ``name``.

        Raises:
            RedisError, OSError, TimeoutError, ValueError: Redis could not be used (the caller
                marks the outage with :meth:`went_down`).
        """
        self.round_trips += 1
        raw = await asyncio.wait_for(
            self._script(keys=[name], args=call.argv()), timeout=self.timeout
        )
        reply = Reply.parse(raw)
        if self._down:
            self._down = False
            log.warning("rate budget: Redis reachable again; the budget is shared again")
        return reply

    def went_down(self, err: BaseException) -> None:
        """Redis failed: use local state for ``retry_interval`` seconds (warn once per outage)."""
        if not self._down:
            log.warning(
                "rate budget: Redis unreachable (%s); each location falls back to a local "
                "share of its rule until Redis answers again",
                type(err).__name__,
            )
        self._down = True
        self._down_until = _now() + self.retry_interval

    def background(self, bucket: RedisBucket) -> None:
        """Flush ``bucket`` in a task of its own (an idle location's last answers)."""
        task = asyncio.ensure_future(bucket.flush_now())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class RedisBucket:
    """The :class:`~ghl_async.ratelimit.RateBucket` of one location in a :class:`RedisRateBudget`.

    Slots are released oldest first (the protocol does not say which request finished; any
    order is correct, oldest first frees the oldest admission).
    """

    __slots__ = (
        "_budget",
        "_carry",
        "_drops",
        "_flush_handle",
        "_interval_raw",
        "_keep",
        "_local",
        "_max_raw",
        "_observed",
        "_open",
        "_pause",
        "_queue",
        "_recheck",
        "_released",
        "_releases",
        "_server",
        "_windows",
        "key",
        "members",
        "name",
        "rule",
    )

    def __init__(self, budget: RedisRateBudget, key: str) -> None:
        self._budget = budget
        self.key = key
        self.name = budget.keys.budget(key)
        self.rule = budget.rule
        self.members = 1  # processes sharing the location, as of the last script call
        self._server: tuple[int, float] | None = None
        self._windows: tuple[Window, ...] = ()
        self._keep = 0.0
        self._follow(None)
        self._open: deque[str] = deque()  # admitted slots, oldest first; "L..." are local
        self._releases: list[tuple[str, float]] = []  # (slot, finished at, our clock)
        self._drops: list[str] = []
        self._pause: tuple[float, float] | None = None  # (until, set at), our clock
        self._observed: tuple[int, int, float, float] | None = None
        self._carry = 0
        self._flush_handle: asyncio.TimerHandle | None = None
        self._queue = asyncio.Lock()  # FIFO among this process's callers while the window is full
        self._released: asyncio.Future[None] | None = None  # set when one of ours ends
        self._local = WindowModel()
        self._max_raw: str | None = None
        self._interval_raw: str | None = None
        self._recheck = 0

    @property
    def windows(self) -> tuple[Window, ...]:
        """The windows kept now, spans in ms: the rule, the server's, or both."""
        return self._windows

    @property
    def pending(self) -> bool:
        """Whether answers or a pause wait to be sent."""
        return bool(self._releases or self._drops or self._pause or self._observed)

    async def acquire(self, max_wait: float = math.inf) -> float | None:
        """Wait until one more request keeps the shared budget and take its slot; ``None``.

        A wait the server imposed (429 pause, the server's window) longer than ``max_wait`` is
        not taken: nothing is acquired and that wait is returned at once.
        """
        first: Reply | None = None
        if not self._queue.locked():
            # While the window has room, callers ask in parallel: one round trip each.
            slot, first = await self._ask(max_wait)
            if first.status != RETRY:
                return await self._settle(slot, first)
        # The window is full: callers of this process queue here and one of them asks, so a
        # full window costs one poller per process, not one per waiting request.
        at_once = not self._queue.locked()
        async with self._queue:
            polls = 0
            if first is not None and at_once:
                await self._poll(first.wait, polls)  # no one asked since: the answer holds
                polls += 1
            while True:
                slot, reply = await self._ask(max_wait)
                if reply.status != RETRY:
                    break
                await self._poll(reply.wait, polls)
                polls += 1
        return await self._settle(slot, reply)

    async def _ask(self, max_wait: float) -> tuple[str, Reply]:
        """One script call (or a step of the local model during an outage)."""
        budget = self._budget
        while True:
            if budget.outage():
                slot = "L" + budget.slot_id()
                return slot, self._local.step(self._local_call(slot, max_wait), _now() * 1000)
            slot = budget.slot_id()
            call = self._call(slot, max_wait)
            try:
                reply = await budget.run(self.name, call)
            except asyncio.CancelledError:
                self._give_back(call)
                self._drops.append(slot)  # it may have been admitted
                raise
            except _FAILURES as err:
                self._give_back(call)
                budget.went_down(err)
                continue
            self.members = max(reply.members, 1)
            return slot, reply

    async def _settle(self, slot: str, reply: Reply) -> float | None:
        wait = reply.wait
        if reply.status == REFUSED:
            return wait
        if wait > 0:
            if wait >= _LOG_WAIT:
                log.info("shared rate limit of %s: waiting %.1f s", self.key, wait)
            try:
                await asyncio.sleep(wait)
            except asyncio.CancelledError:
                self._give_up(slot)
                raise
        self._open.append(slot)
        return None

    async def _poll(self, wait: float, polls: int) -> None:
        """Sleep before asking again: the slot needed is open (in flight, or not yet reported).

        ``wait`` is when it can free at the earliest. When that moment has passed, the request
        is still in flight somewhere: ask again when one of ours ends (its answer goes with the
        next call) or after a backoff, whichever comes first.
        """
        if wait > 0:
            await asyncio.sleep(wait)
            return
        released = self._released
        if released is None or released.done():
            released = self._released = asyncio.get_running_loop().create_future()
        backoff = min(_POLL_FIRST * 2**polls, _POLL_MAX, self._keep / 10_000)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(released), backoff)

    def release(self, headers: Mapping[str, str] | None = None) -> None:
        """The request of one :meth:`acquire` finished (answered or failed) just now."""
        now = _now()
        if self._open:
            slot = self._open.popleft()
            if slot.startswith("L"):
                self._local.step(self._local_flush([(slot, 0.0)]), now * 1000)
            else:
                self._releases.append((slot, now))
                self._schedule()
            released, self._released = self._released, None
            if released is not None and not released.done():
                released.set_result(None)
        if headers is not None:
            remaining = headers.get("X-RateLimit-Remaining")
            if remaining is not None:
                self._feedback(headers, remaining, now)

    def pause(self, seconds: float) -> None:
        """Admit nothing anywhere for ``seconds`` (the server answered 429)."""
        now = _now()
        until = now + seconds
        if self._pause is None or until > self._pause[0]:
            self._pause = (until, now)
        self._local.step(self._local_flush([], pause=(seconds * 1000, 0.0)), now * 1000)
        self._schedule(now=True)  # every process should stop now, not after the next request

    async def flush_now(self) -> None:
        """Send what is buffered in one script call (errors are logged, not raised)."""
        if not self.pending or self._budget.outage():
            return
        call = self._call(None, math.inf)
        try:
            reply = await self._budget.run(self.name, call)
        except asyncio.CancelledError:
            self._give_back(call)
            raise
        except _FAILURES as err:
            self._give_back(call)
            self._budget.went_down(err)
            return
        self.members = max(reply.members, 1)

    # -- the server's headers --------------------------------------------------------------

    def _feedback(self, headers: Mapping[str, str], remaining: str, now: float) -> None:
        self._recheck -= 1
        if self._recheck <= 0:
            # As in memory: the server's rule hardly ever changes; read it every 32 answers.
            self._recheck = 32
            raw_max = headers.get("X-RateLimit-Max")
            raw_interval = headers.get("X-RateLimit-Interval-Milliseconds")
            if raw_max != self._max_raw or raw_interval != self._interval_raw:
                self._max_raw, self._interval_raw = raw_max, raw_interval
                self._follow(server_rule(header_count(raw_max), header_count(raw_interval)))
        count = header_count(remaining)
        if count is None:
            return
        requests, period = self._server or (self.rule.requests, self.rule.period)
        if count < requests:
            self._observed = (count, requests, period * 1000, now)

    def _follow(self, server: tuple[int, float] | None) -> None:
        self._server = server
        self._windows = tuple(
            (requests, span * 1000, theirs)
            for requests, span, theirs in windows_for(self.rule, server)
        )
        self._keep = max(span for _, span, _ in self._windows)

    # -- building calls --------------------------------------------------------------------

    def _call(self, slot: str | None, max_wait: float) -> Call:
        """A script call carrying (and taking) everything buffered."""
        now = _now()
        budget = self._budget
        carry = 0
        if self._local.finished or self._local.opened:
            # Back from an outage: what was sent meanwhile still counts for everyone.
            carry = self._local.holding(now * 1000, self._keep)
            self._local = WindowModel()
        call = Call(
            member=budget.member,
            hold_ms=budget.hold * 1000,
            keep_ms=self._keep,
            releases=[(s, (now - at) * 1000) for s, at in self._releases],
            drops=self._drops,
            pause=None
            if self._pause is None
            else ((self._pause[0] - self._pause[1]) * 1000, (now - self._pause[1]) * 1000),
            observed=None
            if self._observed is None
            else (*self._observed[:3], (now - self._observed[3]) * 1000),
            carry=carry + self._carry,
            pad=budget.slot_id(),
            slot=slot,
            max_wait_ms=max_wait * 1000,
            windows=self._windows,
        )
        self._releases, self._drops = [], []
        self._pause = self._observed = None
        self._carry = 0
        return call

    def _give_back(self, call: Call) -> None:
        """The call failed: keep what it carried for the next one (applying twice is safe)."""
        now = _now()
        self._releases[:0] = [(slot, now - age / 1000) for slot, age in call.releases]
        self._drops[:0] = call.drops
        if call.pause is not None and self._pause is None:
            length, age = call.pause
            self._pause = (now - age / 1000 + length / 1000, now - age / 1000)
        if call.observed is not None and self._observed is None:
            remaining, requests, period, age = call.observed
            self._observed = (remaining, requests, period, now - age / 1000)
        self._carry += call.carry

    def _give_up(self, slot: str) -> None:
        """An admitted slot that will never be used (its caller was cancelled)."""
        if slot.startswith("L"):
            self._local.step(self._local_flush([], drops=[slot]), _now() * 1000)
        else:
            self._drops.append(slot)
            self._schedule()

    def _local_call(self, slot: str, max_wait: float) -> Call:
        share = max(self.members, 1)
        windows = tuple(
            (max(requests // share, 1), span, theirs) for requests, span, theirs in self._windows
        )
        return Call(
            member="local",
            hold_ms=self._budget.hold * 1000,
            keep_ms=self._keep,
            slot=slot,
            max_wait_ms=max_wait * 1000,
            windows=windows,
        )

    def _local_flush(
        self,
        releases: list[tuple[str, float]],
        *,
        drops: list[str] | None = None,
        pause: tuple[float, float] | None = None,
    ) -> Call:
        return Call(
            member="local",
            hold_ms=self._budget.hold * 1000,
            keep_ms=self._keep,
            releases=releases,
            drops=drops or [],
            pause=pause,
        )

    def _schedule(self, *, now: bool = False) -> None:
        if now and self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if self._flush_handle is None:
            loop = asyncio.get_running_loop()
            delay = 0.0 if now else min(FLUSH_DELAY, self._keep / 4000)
            self._flush_handle = loop.call_later(delay, self._flush_due)

    def _flush_due(self) -> None:
        self._flush_handle = None
        if self.pending:
            self._budget.background(self)

    def __repr__(self) -> str:
        return f"RedisBucket({self.key!r}, open={len(self._open)}, members={self.members})"


def _check(rule: RateLimit | None, hold: float, timeout: float, retry_interval: float) -> None:
    if rule is not None and not isinstance(rule, RateLimit):
        raise ConfigError(f"rule must be a ghl_async.RateLimit, not {rule!r}")
    for name, value in (("hold", hold), ("timeout", timeout), ("retry_interval", retry_interval)):
        positive_seconds(name, value)


def positive_seconds(name: str, value: object) -> None:
    """Check that a setting is a positive number of seconds.

    Raises:
        ConfigError: it is not.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigError(f"{name} must be a positive number of seconds, not {value!r}")

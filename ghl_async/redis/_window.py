"""The shared rate window of one location: the Lua script, and the same arithmetic in Python.

Kept free of the ``redis`` package: :class:`WindowModel` runs the script's decisions on a local
state, which the tests compare with the real script (same calls, same replies) and which
:class:`~ghl_async.redis.budget.RedisRateBudget` uses as its local budget while Redis is down.

**Why a sliding window and not GCRA.** HighLevel counts requests in a window (at most
``requests`` in any ``period``). GCRA with a burst of ``requests`` lets ``2 * requests - 1``
through the first period (the burst, then the steady drip), and GCRA without a burst paces
requests evenly, which any latency jitter turns into ``requests + 1`` inside one server window
unless a margin of the jitter's size is added to every gap. A window of slots keeps the rule
exactly and needs no such margin.

**The state**: one sorted set per location (one key, so Redis Cluster works), its members in
four score bands so that every count is one ``ZCOUNT``:

=========================  ==================================  ====================================
member                     score                               meaning
=========================  ==================================  ====================================
``f<slot>``, ``p<id>.<n>``  completion time (ms)               a finished request (``p``: one the
                                                               server counted that we did not send)
``o<slot>``                ``OPEN`` + admission time           admitted, no answer known yet (the
                                                               time may be in the future: a
                                                               reservation)
``h<member>``              ``HEART`` + time of its last call   a process sharing this budget
``pause``                  ``PAUSE`` + end of the pause        a 429 asked everyone to wait
=========================  ==================================  ====================================

As in the in-memory bucket, a request holds its slot from admission until one span (the period
plus a margin) after its *answer*, the latest moment the server can have counted it, so no
latency can squeeze ``requests + 1`` into a server window. The answer is only known to the
process that sent the request; it reports it (as "finished this many ms ago", so the clocks of
the machines never meet: Redis's clock stamps it) with its next call of the script for that
location, so a request costs one round trip. Until then the slot counts as open: later for
everyone, never earlier. An open slot of a process that died is dropped ``hold`` after its
admission.

**One call** applies what the caller buffered (finished slots, slots it gave up, a 429 pause,
the server's ``X-RateLimit-Remaining`` when lower than the state explains), drops what is
stale, and then, when asked to admit a request, either admits it now or for a moment in the
future (a reservation: the caller sleeps locally, no second call), refuses it (the server
imposed a wait longer than the caller's ``max_wait``), or answers "not before N ms" when the
slot it needs is still open somewhere (the caller sleeps that long, then asks again).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

__all__ = ["ADMITTED", "FLUSHED", "REFUSED", "RETRY", "Call", "Reply", "WindowModel"]

FLUSHED: Final = 0  # nothing was asked for: the buffer was applied
ADMITTED: Final = 1  # the slot is taken; go after the wait
REFUSED: Final = 2  # the server imposed a longer wait than max_wait; nothing was taken
RETRY: Final = 3  # the slot needed is still open; ask again after the wait

OPEN: Final = 1e13
HEART: Final = 2e13
PAUSE: Final = 3e13
NEVER: Final = 1e15  # "no limit" for max_wait, a number Lua reads

SCRIPT: Final = """
local key = KEYS[1]
local OPEN, HEART, PAUSE = 1e13, 2e13, 3e13
local function num(x) return string.format('%.17g', x) end
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local member, hold, keep = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local i = 5
local n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  local slot, age = ARGV[i], math.max(tonumber(ARGV[i + 1]), 0); i = i + 2
  redis.call('ZREM', key, 'o' .. slot)
  redis.call('ZADD', key, num(now - age), 'f' .. slot)
end
n = tonumber(ARGV[i]); i = i + 1
for _ = 1, n do
  redis.call('ZREM', key, 'o' .. ARGV[i]); i = i + 1
end
if ARGV[i] ~= '' then
  local untl = now - math.max(tonumber(ARGV[i + 1]), 0) + tonumber(ARGV[i])
  redis.call('ZADD', key, 'GT', num(PAUSE + untl), 'pause')
end
i = i + 2
local extra = 0
if ARGV[i] ~= '' then
  local remaining, requests = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  local period, at = tonumber(ARGV[i + 2]), now - math.max(tonumber(ARGV[i + 3]), 0)
  local used = requests - math.max(remaining, 0)
  if used > 0 then
    local ours = redis.call('ZCOUNT', key, num(OPEN), '(' .. num(HEART))
      + redis.call('ZCOUNT', key, '(' .. num(at - period), '(' .. num(OPEN))
    extra = math.max(used - ours, 0)
  end
end
i = i + 4
extra = extra + tonumber(ARGV[i])
local pad = ARGV[i + 1]; i = i + 2
for k = 1, extra do redis.call('ZADD', key, num(now), 'p' .. pad .. '.' .. k) end
redis.call('ZADD', key, num(HEART + now), 'h' .. member)
redis.call('ZREMRANGEBYSCORE', key, num(HEART), '(' .. num(HEART + now - hold))
redis.call('ZREMRANGEBYSCORE', key, num(OPEN), '(' .. num(OPEN + now - hold))
redis.call('ZREMRANGEBYSCORE', key, '-inf', num(now - math.max(keep, hold)))
local members = redis.call('ZCOUNT', key, num(HEART), '(' .. num(PAUSE))
local paused = 0
local p = redis.call('ZSCORE', key, 'pause')
if p then
  paused = tonumber(p) - PAUSE - now
  if paused <= 0 then
    redis.call('ZREM', key, 'pause')
    paused = 0
  end
end
redis.call('PEXPIRE', key, math.ceil(math.max(keep, hold) + paused + 1000))
local slot = ARGV[i]
if slot == '' then return {0, 0, members} end
local max_wait, windows = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]); i = i + 3
local open = redis.call('ZCOUNT', key, num(OPEN), '(' .. num(HEART))
local wait, imposed, exact = paused, paused, true
for _ = 1, windows do
  local requests, span, theirs = tonumber(ARGV[i]), tonumber(ARGV[i + 1]), ARGV[i + 2] == '1'
  i = i + 3
  local floor = '(' .. num(now - span)
  local fin = redis.call('ZCOUNT', key, floor, '(' .. num(OPEN))
  local need = open + fin - requests + 1
  if need > 0 then
    local f = redis.call('ZRANGEBYSCORE', key, floor, '(' .. num(OPEN),
      'WITHSCORES', 'LIMIT', 0, need)
    local o = redis.call('ZRANGEBYSCORE', key, num(OPEN), '(' .. num(HEART),
      'WITHSCORES', 'LIMIT', 0, need)
    local fi, oi, bound = 2, 2, 0
    for _ = 1, need do
      local ft, ot = tonumber(f[fi]), tonumber(o[oi])
      if ot then ot = ot - OPEN end
      if ot == nil or (ft ~= nil and ft <= ot) then
        bound = ft; fi = fi + 2
      else
        bound = ot; oi = oi + 2; exact = false
      end
    end
    local w = math.max(bound + span - now, 0)
    if theirs and w > imposed then imposed = w end
    if w > wait then wait = w end
  end
end
if imposed > max_wait then return {2, math.ceil(imposed * 1000), members} end
if not exact then return {3, math.ceil(wait * 1000), members} end
redis.call('ZADD', key, num(OPEN + now + wait), 'o' .. slot)
return {1, math.ceil(wait * 1000), members}
"""
"""KEYS[1]: the location's sorted set; ARGV: what :meth:`Call.argv` lists."""


Window = tuple[int, float, bool]
"""(requests, span in ms, imposed by the server): at most ``requests`` slots in ``span``."""


@dataclass(slots=True)
class Call:
    """One run of the script: what to apply, and whether to admit a request.

    Times are milliseconds; ``age`` values say how long ago (on the caller's clock) something
    happened, so only durations cross between machines.
    """

    member: str  # the calling process
    hold_ms: float  # an open slot older than this is dropped (its process died)
    keep_ms: float  # the longest window the caller keeps
    releases: list[tuple[str, float]] = field(default_factory=list)  # (slot, age)
    drops: list[str] = field(default_factory=list)  # slots admitted but never used
    pause: tuple[float, float] | None = None  # (length, age) of a 429's pause
    observed: tuple[int, int, float, float] | None = None  # remaining, requests, period, age
    carry: int = 0  # requests sent while Redis was down, still in their window
    pad: str = ""  # unique prefix for the padding members this call may add
    slot: str | None = None  # the slot to admit; None: only apply the rest
    max_wait_ms: float = NEVER
    windows: tuple[Window, ...] = ()
    now_ms: float | None = None  # None: Redis's clock (tests pass their own)

    def argv(self) -> list[str | int | float]:
        """The script's ARGV."""
        args: list[str | int | float] = [
            "" if self.now_ms is None else repr(self.now_ms),
            self.member,
            repr(self.hold_ms),
            repr(self.keep_ms),
            len(self.releases),
        ]
        for slot, age in self.releases:
            args += [slot, repr(age)]
        args.append(len(self.drops))
        args += self.drops
        args += ["", ""] if self.pause is None else [repr(self.pause[0]), repr(self.pause[1])]
        if self.observed is None:
            args += ["", "", "", ""]
        else:
            remaining, requests, period, age = self.observed
            args += [remaining, requests, repr(period), repr(age)]
        args += [self.carry, self.pad]
        if self.slot is None:
            args.append("")
            return args
        args += [self.slot, repr(min(self.max_wait_ms, NEVER)), len(self.windows)]
        for requests, span, theirs in self.windows:
            args += [requests, repr(span), "1" if theirs else "0"]
        return args


@dataclass(frozen=True, slots=True)
class Reply:
    """What the script answered: a status, a wait in microseconds, the processes sharing."""

    status: int
    wait_us: int
    members: int

    @property
    def wait(self) -> float:
        """The wait in seconds."""
        return self.wait_us / 1e6

    @classmethod
    def parse(cls, raw: object) -> Reply:
        """Read the script's reply (a list of three integers).

        Raises:
            ValueError: the reply has another shape.
        """
        if not isinstance(raw, (list, tuple)) or len(raw) != 3:
            raise ValueError(f"unexpected budget script reply: {raw!r}")
        status, wait, members = (int(x) for x in raw)
        return cls(status, wait, members)


@dataclass(slots=True)
class WindowModel:
    """The script's state and arithmetic in Python, step for step (see the module docstring)."""

    finished: dict[str, float] = field(default_factory=dict)
    opened: dict[str, float] = field(default_factory=dict)
    hearts: dict[str, float] = field(default_factory=dict)
    paused_until: float | None = None

    def step(self, call: Call, now: float) -> Reply:
        """Run one call at ``now`` (ms) and return what the script would answer."""
        if call.now_ms is not None:
            now = call.now_ms
        for slot, age in call.releases:
            self.opened.pop(slot, None)
            self.finished["f" + slot] = now - max(age, 0.0)
        for slot in call.drops:
            self.opened.pop(slot, None)
        if call.pause is not None:
            length, age = call.pause
            until = now - max(age, 0.0) + length
            if self.paused_until is None or until > self.paused_until:
                self.paused_until = until
        extra = 0
        if call.observed is not None:
            remaining, requests, period, age = call.observed
            at = now - max(age, 0.0)
            used = requests - max(remaining, 0)
            if used > 0:
                ours = len(self.opened) + sum(1 for t in self.finished.values() if t > at - period)
                extra = max(used - ours, 0)
        for k in range(1, extra + call.carry + 1):
            self.finished[f"p{call.pad}.{k}"] = now
        self.hearts[call.member] = now
        hold, keep = call.hold_ms, call.keep_ms
        self.hearts = {m: t for m, t in self.hearts.items() if t >= now - hold}
        self.opened = {s: t for s, t in self.opened.items() if t >= now - hold}
        self.finished = {s: t for s, t in self.finished.items() if t > now - max(keep, hold)}
        members = len(self.hearts)
        paused = 0.0
        if self.paused_until is not None:
            paused = self.paused_until - now
            if paused <= 0:
                self.paused_until = None
                paused = 0.0
        if call.slot is None:
            return Reply(FLUSHED, 0, members)
        wait = imposed = paused
        exact = True
        opened = sorted(self.opened.values())
        for requests, span, theirs in call.windows:
            done = sorted(t for t in self.finished.values() if t > now - span)
            need = len(opened) + len(done) - requests + 1
            if need <= 0:
                continue
            # The need-th slot to free: finished ones at t + span, open ones not before
            # admission + span (their answer is not known yet).
            bounds = sorted([(t, 0) for t in done] + [(t, 1) for t in opened])[:need]
            if any(is_open for _, is_open in bounds):
                exact = False
            w = max(bounds[-1][0] + span - now, 0.0)
            if theirs:
                imposed = max(imposed, w)
            wait = max(wait, w)
        if imposed > call.max_wait_ms:
            return Reply(REFUSED, math.ceil(imposed * 1000), members)
        if not exact:
            return Reply(RETRY, math.ceil(wait * 1000), members)
        self.opened[call.slot] = now + wait
        return Reply(ADMITTED, math.ceil(wait * 1000), members)

    def holding(self, now: float, keep: float) -> int:
        """Slots still counted at ``now``: open, or finished less than ``keep`` ms ago."""
        return len(self.opened) + sum(1 for t in self.finished.values() if t > now - keep)

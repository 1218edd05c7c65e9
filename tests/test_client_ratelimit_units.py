"""The per-location bucket: window arithmetic by table, then its timing on the loop clock."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque

import pytest

from ghl_async.errors import ConfigError
from ghl_async.ratelimit import (
    SERVER_MAX,
    SERVER_WINDOW_MAX,
    UNLIMITED,
    Bucket,
    RateLimit,
    RateLimiter,
    RateLimitInfo,
    Unlimited,
    Window,
    header_count,
    padding,
    server_rule,
    window_wait,
    windows_for,
)


@pytest.mark.parametrize(
    ("log", "in_flight", "now", "expected"),
    [
        ([], 0, 0.0, 0.0),
        ([0.0, 0.1], 0, 0.2, 0.0),  # two of three slots held: go
        ([0.1], 1, 0.2, 0.0),
        ([0.0, 0.1, 0.2], 0, 0.25, 1.05),  # full: wait for the oldest to be `span` old
        ([0.0, 0.1, 0.2], 0, 1.29, 0.01),
        ([0.0, 0.1, 0.2], 0, 1.3, 0.0),
        ([0.0, 0.1], 1, 0.25, 1.05),  # one in flight holds the third slot
        ([0.0, 0.1, 0.2], 1, 0.25, 1.15),  # 4 held: two must free up
        ([0.0], 2, 0.25, 1.05),
        ([], 3, 0.25, None),  # only requests in flight: wait until one ends
        ([0.0], 3, 0.25, None),
    ],
)
def test_window_wait(log: list[float], in_flight: int, now: float,
                     expected: float | None) -> None:  # fmt: skip
    wait = window_wait(deque(log, maxlen=5), in_flight, now, 3, 1.3)
    if expected is None:
        assert wait is None
    else:
        assert wait == pytest.approx(expected)


@pytest.mark.parametrize(
    ("log", "in_flight", "now", "remaining", "expected"),
    [
        ([], 0, 5.0, 3, 0),  # server agrees: 3 free
        ([], 0, 5.0, 0, 3),  # someone else spent the window
        ([4.5, 4.8], 0, 5.0, 1, 0),  # our two + one free = 3
        ([4.5, 4.8], 0, 5.0, 0, 1),  # one request we did not send
        ([4.8], 1, 5.0, 0, 1),  # in flight counts as ours
        ([3.0, 4.8], 0, 5.0, 0, 2),  # 3.0 left the 1 s window already
        ([4.1, 4.5, 4.8], 0, 5.0, 0, 0),
        ([4.1, 4.5, 4.8], 0, 5.0, 2, 0),  # the server counts fewer than we do: no change
        ([], 0, 5.0, -4, 3),
    ],
)
def test_padding(log: list[float], in_flight: int, now: float, remaining: int,
                 expected: int) -> None:  # fmt: skip
    assert padding(deque(log, maxlen=3), in_flight, now, 3, 1.0, remaining) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"requests": 0},
        {"requests": 2.5},
        {"requests": True},
        {"period": 0},
        {"period": -1.0},
        {"period": "10"},
        {"burst": 0},
        {"burst": 101},
        {"burst": 1.0},
        {"margin": -0.1},
        {"margin": "0"},
    ],
)
def test_rate_limit_validates(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        RateLimit(**kwargs)  # type: ignore[arg-type]  # deliberately wrong values


def test_rate_limit_span() -> None:
    assert RateLimit().span == pytest.approx(10.02)
    assert RateLimit(20, 1.0, margin=0.05).span == pytest.approx(1.05)
    assert RateLimit(20, 1.0, margin=0).span == 1.0


def test_rate_limit_info_from_headers() -> None:
    headers = {
        "X-RateLimit-Max": "100",
        "X-RateLimit-Remaining": "42",
        "X-RateLimit-Interval-Milliseconds": "10000",
        "X-RateLimit-Limit-Daily": "200000",
        "X-RateLimit-Daily-Remaining": "199000.0",
    }
    assert RateLimitInfo.from_headers(headers) == RateLimitInfo(100, 42, 10_000, 200_000, 199_000)
    assert RateLimitInfo.from_headers({}) is None
    assert RateLimitInfo.from_headers({"X-RateLimit-Remaining": "lots"}) is None


async def _admit(bucket: Bucket, n: int, hold: float = 0.0) -> list[float]:
    """Send ``n`` requests through ``bucket`` that take ``hold`` seconds; their start times."""
    loop = asyncio.get_running_loop()
    times: list[float] = []

    async def one() -> None:
        await bucket.acquire()
        times.append(loop.time())
        await asyncio.sleep(hold)
        bucket.release()

    await asyncio.gather(*(one() for _ in range(n)))
    return sorted(times)


async def test_bucket_keeps_the_window_and_uses_it() -> None:
    rule = RateLimit(requests=5, period=0.1, margin=0.005)
    times = await _admit(Bucket(rule), 23)
    # Never more than 5 in any 0.1 s window...
    assert all(later - earlier >= 0.1 for earlier, later in zip(times, times[5:], strict=False))
    # ...a full burst at once, and no slower than the rule: 23 = 4 full windows + 3.
    assert times[4] - times[0] < 0.05
    assert 4 * 0.105 <= times[-1] - times[0] < 4 * 0.105 + 0.15


async def test_slow_responses_hold_their_slots() -> None:
    # A slot counts from the response: 5 requests taking 0.05 s free their slots 0.15 s after
    # they started, whatever the server's clock said when it saw them.
    rule = RateLimit(requests=5, period=0.1, margin=0.0)
    times = await _admit(Bucket(rule), 10, hold=0.05)
    assert times[5] - times[0] >= 0.15


async def test_requests_in_flight_block_until_one_ends() -> None:
    loop = asyncio.get_running_loop()
    bucket = Bucket(RateLimit(requests=2, period=0.05, margin=0.0))
    await bucket.acquire()
    await bucket.acquire()
    waiter = asyncio.ensure_future(bucket.acquire())
    await asyncio.sleep(0.1)
    assert not waiter.done()  # both slots in flight, however long it takes
    start = loop.time()
    bucket.release()
    await waiter
    assert loop.time() - start >= 0.045  # then one period after that response


async def test_waiters_are_admitted_in_arrival_order_and_never_overtaken() -> None:
    # A caller arriving while others wait must queue behind them, even once the wait is over
    # but before the first waiter (holding the queue) has woken to take its slot.
    bucket = Bucket(RateLimit(requests=4, period=0.1, margin=0.0))
    bucket.pause(0.03)  # a 429's Retry-After: everyone waits
    order: list[int] = []

    async def one(n: int) -> None:
        assert await bucket.acquire() is None
        order.append(n)
        bucket.release()

    first = [asyncio.ensure_future(one(n)) for n in range(3)]
    await asyncio.sleep(0)
    # Block the loop past the pause, so the newcomer's first step runs before waiter 0's
    # timer is handled: the slot is free, and still it must queue behind the three.
    time.sleep(0.04)  # noqa: ASYNC251  # blocking the loop is the point
    late = asyncio.ensure_future(one(3))
    await asyncio.gather(*first, late)
    assert order == [0, 1, 2, 3]


@pytest.mark.parametrize("margin", [0.0, 0.004])
async def test_a_full_size_token_bucket_would_never_hold_back_what_the_window_admits(
    margin: float,
) -> None:
    # Why the default (burst == requests) leaves aiolimiter out of the path: the same rule's
    # token bucket, fed every admission of the window, always has room for it. Random holds
    # and arrivals, bursts included; 1e-6 of slack for clock rounding.
    import random

    from aiolimiter import AsyncLimiter

    rng = random.Random(20210728)
    rule = RateLimit(requests=6, period=0.05, margin=margin)
    bucket = Bucket(rule)
    shadow = AsyncLimiter(rule.requests, rule.period)
    refused: list[int] = []

    async def one(n: int) -> None:
        await asyncio.sleep(rng.random() * 0.3)
        await bucket.acquire()
        if not shadow.has_capacity(1 - 1e-6):
            refused.append(n)
        await shadow.acquire(1 - 1e-6)
        await asyncio.sleep(rng.choice((0.0, 0.0, 0.002, 0.01, 0.03)))
        bucket.release()

    await asyncio.gather(*(one(n) for n in range(120)))
    assert refused == []


async def test_burst_one_paces_evenly() -> None:
    rule = RateLimit(requests=5, period=0.1, burst=1, margin=0.005)
    times = await _admit(Bucket(rule), 8)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # Admissions are 20 ms apart; the stamps are taken when each waiter resumes, which on a
    # loaded machine can lag its admission, so one gap may look short while the next is long.
    # No two leave together, and the whole run takes the paced time.
    assert all(gap >= 0.01 for gap in gaps)
    assert times[-1] - times[0] >= 7 * 0.019
    assert all(later - earlier >= 0.1 for earlier, later in zip(times, times[5:], strict=False))


async def test_server_remaining_and_pause_hold_the_bucket() -> None:
    loop = asyncio.get_running_loop()
    bucket = Bucket(RateLimit(requests=3, period=0.1, margin=0.0))
    bucket.observe(3)  # the server agrees with us: nothing changes
    start = loop.time()
    await _admit(bucket, 1)
    assert loop.time() - start < 0.02
    bucket.observe(0)  # someone else spent the window: wait it out
    start = loop.time()
    await _admit(bucket, 1)
    assert loop.time() - start >= 0.09
    bucket.pause(0.05)  # a 429 with Retry-After
    start = loop.time()
    await _admit(bucket, 1)
    assert loop.time() - start >= 0.045


def test_rate_limiter_makes_one_bucket_per_key() -> None:
    limiter = RateLimiter(RateLimit())
    assert limiter.bucket("a") is limiter.bucket("a")
    assert limiter.bucket("a") is not limiter.bucket("b")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("100", 100),
        (" 42 ", 42),
        ("199000.0", 199_000),
        ("0", 0),
        (None, None),
        ("", None),
        ("-5", None),
        ("1e400", None),
        ("1e3", None),
        ("Infinity", None),
        ("inf", None),
        ("NaN", None),
        ("١٠٠", None),  # Arabic-Indic digits: int() would read 100
        ("١٠٠.0", None),
        ("12.x", None),
        ("9" * 16, None),
        ("1000000000001", None),  # above the default maximum
        ("0x10", None),
    ],
)
def test_header_count(raw: str | None, expected: int | None) -> None:
    assert header_count(raw) == expected


def test_rate_limit_info_never_raises_on_malformed_values() -> None:
    odd = dict.fromkeys(
        ("X-RateLimit-Max", "X-RateLimit-Remaining", "X-RateLimit-Interval-Milliseconds",
         "X-RateLimit-Limit-Daily", "X-RateLimit-Daily-Remaining"),
        "1e400",
    )  # fmt: skip
    assert RateLimitInfo.from_headers(odd) is None
    assert RateLimitInfo.from_headers({**odd, "X-RateLimit-Max": "50"}) == RateLimitInfo(max=50)


@pytest.mark.parametrize(
    ("max_value", "interval_ms", "expected"),
    [
        (100, 10_000, (100, 10.0)),
        (None, 10_000, None),
        (100, None, None),
        (0, 10_000, None),
        (100, 0, None),
        (SERVER_MAX + 1, 10_000, None),
        (100, int(SERVER_WINDOW_MAX * 1000) + 1, None),  # a window beyond reason: ignored
        (1, 1, (1, 0.001)),
    ],
)
def test_server_rule(
    max_value: int | None, interval_ms: int | None, expected: tuple[int, float] | None
) -> None:
    assert server_rule(max_value, interval_ms) == expected


R100 = RateLimit(100, 10.0, margin=0.0)


@pytest.mark.parametrize(
    ("rule", "server", "expected"),
    [
        (R100, None, ((100, 10.0, False),)),
        (R100, (100, 10.0), ((100, 10.0, False),)),  # the same: ours
        (R100, (50, 10.0), ((50, 10.0, True),)),  # stricter server: followed down
        (R100, (100, 20.0), ((100, 20.0, True),)),
        (R100, (200, 10.0), ((100, 10.0, False),)),  # looser server: our rule stands
        (RateLimit(1000, 10.0, margin=0.0), (100, 10.0), ((100, 10.0, True),)),  # not cut
        (R100, (10, 0.5), ((100, 10.0, False), (10, 0.5, True))),  # neither: both kept
        (RateLimit(20, 1.0, margin=0.0), (100, 10.0), ((20, 1.0, False), (100, 10.0, True))),
        (RateLimit(100, 10.0), (50, 5.0), ((100, 10.02, False), (50, 5.01, True))),
    ],
)
def test_windows_for(
    rule: RateLimit, server: tuple[int, float] | None, expected: tuple[Window, ...]
) -> None:
    got = windows_for(rule, server)
    assert [(n, pytest.approx(s), t) for n, s, t in got] == list(expected)


def test_window_wait_ignores_entries_older_than_its_span() -> None:
    log = deque([0.0, 0.1, 5.0, 5.1], maxlen=10)
    assert window_wait(log, 0, 5.2, 2, 1.0) == pytest.approx(0.8)  # only 5.0 and 5.1 count
    assert window_wait(log, 0, 5.2, 3, 1.0) == 0.0
    assert window_wait(log, 0, 5.2, 4, 10.0) == pytest.approx(4.8)


async def test_a_bucket_follows_the_server_rule_from_its_headers() -> None:
    bucket = Bucket(RateLimit(100, 10.0))
    assert await bucket.acquire() is None
    bucket.release({"X-RateLimit-Max": "3", "X-RateLimit-Interval-Milliseconds": "100",
                    "X-RateLimit-Remaining": "2"})  # fmt: skip
    # 3 per 0.1 s and 100 per 10 s: neither is stricter everywhere, both are kept.
    assert bucket.windows == ((100, pytest.approx(10.02), False), (3, pytest.approx(0.1002), True))
    loop = asyncio.get_running_loop()
    start = loop.time()
    await _admit(bucket, 3)  # one slot is held by the first request: the third waits
    assert loop.time() - start >= 0.09
    bucket.release({"X-RateLimit-Max": "oops", "X-RateLimit-Remaining": "1e400"})
    bucket.follow(None)  # the server stopped saying: back to the rule
    assert bucket.windows == ((100, pytest.approx(10.02), False),)


async def test_a_bucket_refuses_a_server_imposed_wait_beyond_max_wait(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="ghl_async")
    bucket = Bucket(RateLimit(100, 10.0), "loc_1")
    bucket.pause(30.0)
    wait = await bucket.acquire(max_wait=5.0)
    assert wait is not None
    assert 29 < wait <= 30
    assert bucket.windows == ((100, pytest.approx(10.02), False),)
    # Nothing was taken: a shorter pause is simply waited out, and logged when long.
    other = Bucket(RateLimit(100, 10.0), "loc_2")
    other.pause(1.1)
    assert await other.acquire(max_wait=5.0) is None  # waits the pause out
    assert any("rate limit of loc_2: waiting 1." in r.getMessage() for r in caplog.records)


async def test_a_users_own_rule_is_never_refused() -> None:
    # max_wait bounds what the server imposes, not the window the caller asked for.
    bucket = Bucket(RateLimit(1, 0.3, margin=0.0))
    assert await bucket.acquire(max_wait=0.01) is None
    bucket.release()
    assert await bucket.acquire(max_wait=0.01) is None


def test_unlimited_is_one_value() -> None:
    assert RateLimit.unlimited() is UNLIMITED
    assert isinstance(UNLIMITED, Unlimited)


async def test_try_acquire_takes_a_free_slot_and_never_waits() -> None:
    # A 1 s window: the released slot is still held when it is checked, however slow the
    # machine is between two statements.
    bucket = Bucket(RateLimit(requests=2, period=1.0, margin=0.0))
    assert bucket.try_acquire()
    assert bucket.try_acquire()
    assert not bucket.try_acquire()  # both slots in flight: the caller must await acquire()
    bucket.release()
    assert not bucket.try_acquire()  # the released slot is held one period after its answer
    await asyncio.sleep(1.05)
    assert bucket.try_acquire()
    paused = Bucket(RateLimit(requests=2, period=0.05, margin=0.0))
    paused.pause(0.05)  # a 429's Retry-After
    assert not paused.try_acquire()
    await asyncio.sleep(0.06)
    assert paused.try_acquire()
    # With a burst below the rule, stage 1 (aiolimiter) is in use: only acquire() passes it.
    shaped = Bucket(RateLimit(requests=4, period=0.05, burst=1))
    assert not shaped.try_acquire()
    assert await shaped.acquire() is None

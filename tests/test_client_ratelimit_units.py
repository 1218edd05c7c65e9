"""The per-location bucket: window arithmetic by table, then its timing on the loop clock."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque

import pytest

from ghl_async.errors import ConfigError
from ghl_async.ratelimit import (
    Bucket,
    RateLimit,
    RateLimiter,
    RateLimitInfo,
    padding,
    window_wait,
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


async def test_burst_one_paces_evenly() -> None:
    rule = RateLimit(requests=5, period=0.1, burst=1, margin=0.005)
    times = await _admit(Bucket(rule), 8)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.018 for gap in gaps)
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

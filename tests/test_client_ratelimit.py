"""The per-location bucket against FakeHighLevel's burst rule, scaled down to keep tests short.

The fake counts a fixed window opened by the first request after the previous window closed
(HighLevel: 100 per 10 s) and answers 429 past it; a refused request is not counted.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from client_helpers import make_client

from ghl_async import RateLimit
from ghl_async.testing import FakeHighLevel

RULE = RateLimit(requests=20, period=0.5)


async def _workers(n: int, concurrency: int, job: object) -> None:
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await job(i)  # type: ignore[operator]  # a coroutine function

    await asyncio.gather(*(worker() for _ in range(concurrency)))


@pytest.mark.fake_highlevel(rate_limit="20/0.5", daily_limit=None)
async def test_a_long_run_at_full_speed_keeps_the_rule(fake: FakeHighLevel) -> None:
    ids = fake.seed_contacts(10, business_id=None, tasks=0, notes=0, appointments=0)
    n = 140  # seven windows' worth
    async with make_client(fake, rate_limit=RULE) as ghl:

        async def job(i: int) -> None:
            assert (await ghl.contacts.get(ids[i % 10])).id == ids[i % 10]

        start = time.monotonic()
        await _workers(n, 16, job)
        elapsed = time.monotonic() - start
    served = [r for r in fake.requests if r.operation == "contacts.get"]
    assert [r.status for r in served] == [200] * n  # not one 429
    # HighLevel's rule as a sliding window, on the server's clock: never 21 inside 0.5 s.
    stamps = sorted(r.timestamp for r in served)
    closest = min(b - a for a, b in zip(stamps, stamps[20:], strict=False))
    assert closest > 0.5 - 0.002
    # ...and not slower than needed: 7 bursts of 20, six window waits of 0.505 s.
    ideal = 6 * RULE.span
    assert ideal - 0.01 <= elapsed < ideal * 1.12, elapsed


@pytest.mark.fake_highlevel(rate_limit="5/0.3", daily_limit=None)
async def test_remaining_zero_from_someone_else_holds_the_bucket(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    async with aiohttp.ClientSession() as other:  # another process on the same app and location
        for _ in range(4):
            async with other.get(fake.url(f"/contacts/{cid}"), headers=fake.headers()) as r:
                assert r.status == 200
    async with make_client(fake, rate_limit=RateLimit(requests=5, period=0.3)) as ghl:
        await ghl.contacts.get(cid)  # answered with X-RateLimit-Remaining: 0
        assert ghl.rate_limits[fake.location_id].remaining == 0
        start = time.monotonic()
        await asyncio.gather(*(ghl.contacts.get(cid) for _ in range(5)))
        assert time.monotonic() - start >= 0.25
    assert fake.count(status=429) == 0


@pytest.mark.fake_highlevel(rate_limit="5/0.3", daily_limit=None)
async def test_a_429_storm_ends_in_success_at_the_rule(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    fake.exhaust_rate_limit()  # someone else spent this window
    rule = RateLimit(requests=5, period=0.3)
    async with make_client(fake, rate_limit=rule, max_retries=5) as ghl:
        got = await asyncio.gather(*(ghl.contacts.get(cid) for _ in range(20)))
    assert {c.id for c in got} == {cid}
    served = [r for r in fake.requests if r.operation == "contacts.get"]
    assert sum(r.status == 200 for r in served) == 20
    assert 1 <= sum(r.status == 429 for r in served) <= 5  # only the first wave
    ok = sorted(r.timestamp for r in served if r.status == 200)
    assert min(b - a for a, b in zip(ok, ok[5:], strict=False)) > 0.3 - 0.002


@pytest.mark.fake_highlevel(rate_limit="5/0.3", daily_limit=None)
async def test_without_a_bucket_429s_are_waited_out(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    async with make_client(fake, rate_limit=None, max_retries=8) as ghl:
        got = await asyncio.gather(*(ghl.contacts.get(cid) for _ in range(12)))
    assert len(got) == 12
    assert fake.count(status=429) > 0  # a storm, waited out with the interval header


@pytest.mark.fake_highlevel(daily_limit=50)
async def test_daily_counters_are_exposed(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    async with make_client(fake) as ghl:
        assert ghl.rate_limits == {}
        for _ in range(3):
            await ghl.contacts.get(cid)
        info = ghl.rate_limits[fake.location_id]
        assert (info.daily_limit, info.daily_remaining) == (50, 47)
        assert (info.max, info.interval_ms, info.remaining) == (100, 10_000, 97)
        sibling = ghl.with_options(max_retries=0)
        assert sibling.rate_limits == ghl.rate_limits


@pytest.mark.fake_highlevel(rate_limit=None, daily_limit=20)
async def test_daily_counters_are_exposed_without_a_burst_rule(fake: FakeHighLevel) -> None:
    # A server that reports only the daily quota must still let a sync see it running out.
    (cid,) = fake.seed_contacts(1, business_id=None)
    async with make_client(fake) as ghl:
        await ghl.contacts.get(cid)
        info = ghl.rate_limits[fake.location_id]
        assert (info.daily_limit, info.daily_remaining, info.remaining) == (20, 19, None)

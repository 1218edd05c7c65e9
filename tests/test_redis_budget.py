"""RedisRateBudget: one location's rule kept by several budgets (processes) together, through the
request pipeline and the real Redis; the server's feedback shared; Redis down is survived."""

from __future__ import annotations

import asyncio
import logging
import socket

import pytest
import redis.asyncio
from client_helpers import make_client

from ghl_async import Client, RateLimit, StaticToken
from ghl_async.errors import ConfigError
from ghl_async.redis import RedisKeys, RedisRateBudget
from ghl_async.redis.budget import FLUSH_DELAY, RedisBucket
from ghl_async.testing import FakeHighLevel

LOCATION = "loc-1"


def budget_for(
    client: redis.asyncio.Redis, prefix: str, rule: RateLimit, **kw: float
) -> RedisRateBudget:
    return RedisRateBudget(client, rule, prefix=prefix, **kw)


async def members(client: redis.asyncio.Redis, prefix: str, key: str = LOCATION) -> list[str]:
    names = await client.zrange(RedisKeys(prefix).budget(key), 0, -1)
    return sorted(n.decode() for n in names)


async def until(check: object, timeout: float = 5.0) -> None:
    """Poll an async predicate (a hang guard, not a speed check)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


@pytest.mark.fake_highlevel(rate_limit="10/0.5")
async def test_two_processes_keep_one_locations_rule_together(
    fake: FakeHighLevel, redis_url: str, redis_prefix: str
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    rule = RateLimit(10, 0.5)
    # Two budgets with their own connections: what two processes would have.
    async with (
        RedisRateBudget.from_url(redis_url, rule, prefix=redis_prefix) as one,
        RedisRateBudget.from_url(redis_url, rule, prefix=redis_prefix) as two,
    ):
        async with make_client(fake, rate_limit=one) as a, make_client(fake, rate_limit=two) as b:
            await asyncio.gather(*(c.contacts.get(cid) for c in (a, b) for _ in range(20)))
        assert one.round_trips >= 20
        assert two.round_trips >= 20
    assert fake.count(operation="contacts.get") == 40
    assert fake.count(status=429) == 0


@pytest.mark.fake_highlevel(rate_limit="10/0.5")
async def test_apart_the_same_two_clients_get_429s(fake: FakeHighLevel) -> None:
    # The contrast: each with its own in-memory bucket, both assume the whole rule.
    (cid,) = fake.seed_contacts(1, business_id=None)
    rule = RateLimit(10, 0.5)
    async with make_client(fake, rate_limit=rule) as a, make_client(fake, rate_limit=rule) as b:
        await asyncio.gather(*(c.contacts.get(cid) for c in (a, b) for _ in range(20)))
    assert fake.count(status=429) > 0


async def test_a_429_pause_holds_every_process(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    one = budget_for(redis_client, redis_prefix, RateLimit(10, 1))
    two = budget_for(redis_client, redis_prefix, RateLimit(10, 1))
    one.bucket(LOCATION).pause(2.0)
    await one.flush()
    refused = await two.bucket(LOCATION).acquire(max_wait=0.5)
    assert refused is not None
    assert 0 < refused <= 2.0
    assert "pause" in await members(redis_client, redis_prefix)


async def test_the_servers_rule_and_remaining_are_followed(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    budget = budget_for(redis_client, redis_prefix, RateLimit(100, 10))
    bucket = budget.bucket(LOCATION)
    assert await bucket.acquire() is None
    headers = {
        "X-RateLimit-Max": "2",
        "X-RateLimit-Interval-Milliseconds": "60000",
        "X-RateLimit-Remaining": "0",
    }
    bucket.release(headers)
    assert (2, 60_000 + 120.0, True) in bucket.windows  # the server's stricter rule
    # The server counted 2, we know of 1: the other is filled in, and its window is full.
    refused = await bucket.acquire(max_wait=1.0)
    assert refused is not None
    assert 30 < refused <= 60.2
    assert any(m.startswith("p") for m in await members(redis_client, redis_prefix))


@pytest.mark.parametrize(
    "headers",
    [
        {"X-RateLimit-Remaining": "1e400"},
        {"X-RateLimit-Remaining": "-3", "X-RateLimit-Max": "NaN"},
        {"X-RateLimit-Remaining": "5", "X-RateLimit-Max": "5",
         "X-RateLimit-Interval-Milliseconds": "999999999999"},
    ],
)
async def test_malformed_or_absurd_headers_change_nothing(
    redis_client: redis.asyncio.Redis, redis_prefix: str, headers: dict[str, str]
) -> None:
    bucket = budget_for(redis_client, redis_prefix, RateLimit(5, 1)).bucket(LOCATION)
    before = bucket.windows
    assert await bucket.acquire() is None
    bucket.release(headers)
    assert bucket.windows == before
    assert await bucket.acquire(max_wait=0.0) is None


async def test_a_caller_cancelled_while_its_reservation_waits_gives_the_slot_back(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    budget = budget_for(redis_client, redis_prefix, RateLimit(1, 30))
    bucket = budget.bucket(LOCATION)
    assert await bucket.acquire() is None
    bucket.release(None)
    waiting = asyncio.ensure_future(bucket.acquire())
    await until(lambda: _has_open(redis_client, redis_prefix))  # its reservation, 30 s out
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await budget.flush()
    assert not [m for m in await members(redis_client, redis_prefix) if m.startswith("o")]


async def test_an_idle_locations_answers_are_sent_without_waiting_for_a_request(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    budget = budget_for(redis_client, redis_prefix, RateLimit(5, 1))
    bucket = budget.bucket(LOCATION)
    assert await bucket.acquire() is None
    assert any(m.startswith("o") for m in await members(redis_client, redis_prefix))
    bucket.release(None)
    await asyncio.sleep(FLUSH_DELAY)

    async def reported() -> bool:
        names = await members(redis_client, redis_prefix)
        return any(m.startswith("f") for m in names) and not any(m.startswith("o") for m in names)

    await until(reported)
    assert not bucket.pending


async def test_closing_sends_what_is_buffered(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    budget = budget_for(redis_client, redis_prefix, RateLimit(5, 1))
    bucket = budget.bucket(LOCATION)
    assert await bucket.acquire() is None
    bucket.release(None)
    bucket.pause(0.5)
    await budget.aclose()
    names = await members(redis_client, redis_prefix)
    assert [m[0] for m in names] == ["f", "h", "p"]  # finished, the heartbeat, the pause
    assert await redis_client.pttl(RedisKeys(redis_prefix).budget(LOCATION)) > 0


async def test_a_full_window_queues_callers_and_each_goes_once(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    budget = budget_for(redis_client, redis_prefix, RateLimit(3, 0.2))
    bucket = budget.bucket(LOCATION)

    async def one() -> None:
        assert await bucket.acquire() is None
        await asyncio.sleep(0.01)
        bucket.release(None)

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(9))), 30)
    await budget.flush()
    names = await members(redis_client, redis_prefix)
    assert sum(1 for m in names if m.startswith("f")) == 9
    assert budget.round_trips < 9 * 4  # a poller per process, not one per waiting caller


# --- Redis unreachable ----------------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_without_redis_a_local_share_of_the_rule_is_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="ghl_async.redis")
    url = f"redis://127.0.0.1:{_closed_port()}/0"
    async with RedisRateBudget.from_url(url, RateLimit(4, 30), retry_interval=60) as budget:
        bucket = budget.bucket(LOCATION)
        bucket.members = 2  # as if the last contact said two processes share the location
        for _ in range(2):
            assert await bucket.acquire() is None  # never raises: the local budget admits
        assert not budget.available
        third = asyncio.ensure_future(bucket.acquire())
        done, _ = await asyncio.wait({third}, timeout=0.2)
        assert not done  # 2 of 4: this process's half is spent for 30 s
        third.cancel()
        with pytest.raises(asyncio.CancelledError):
            await third
        bucket.release(None)
        bucket.pause(0.1)
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1  # once per outage, not per request
    assert url not in caplog.text


async def test_back_from_an_outage_the_requests_sent_meanwhile_count_for_everyone(
    redis_client: redis.asyncio.Redis, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="ghl_async.redis")
    key = RedisKeys(redis_prefix).budget(LOCATION)
    await redis_client.set(key, "not a sorted set")  # every script call now fails
    budget = budget_for(redis_client, redis_prefix, RateLimit(5, 30), retry_interval=0.05)
    bucket = budget.bucket(LOCATION)
    assert await bucket.acquire() is None
    assert await bucket.acquire() is None
    assert not budget.available
    bucket.release(None)
    await redis_client.delete(key)
    await asyncio.sleep(0.06)
    assert await bucket.acquire() is None  # through Redis again, carrying the local two
    assert budget.available
    padding = [m for m in await members(redis_client, redis_prefix) if m.startswith("p")]
    assert len(padding) == 2
    assert "reachable again" in caplog.text


# --- settings -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [{"hold": 0}, {"timeout": -1.0}, {"retry_interval": "1"}, {"hold": True}],
)
def test_bad_settings_raise_config_error(
    redis_client: redis.asyncio.Redis, kwargs: dict[str, object]
) -> None:
    with pytest.raises(ConfigError):
        RedisRateBudget(redis_client, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        RedisRateBudget.from_url("redis://127.0.0.1:6379/0", **kwargs)  # type: ignore[arg-type]


def test_a_rule_must_be_a_rate_limit(redis_client: redis.asyncio.Redis) -> None:
    with pytest.raises(ConfigError, match="RateLimit"):
        RedisRateBudget(redis_client, (100, 10))  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        RedisRateBudget.from_url("")


def test_the_budget_plugs_into_a_client_and_says_what_it_is(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    budget = RedisRateBudget(redis_client, RateLimit(20, 1), prefix=redis_prefix)
    Client(auth=StaticToken("pit-x", location_id=LOCATION), rate_limit=budget)
    bucket = budget.bucket(LOCATION)
    assert isinstance(bucket, RedisBucket)
    assert budget.bucket(LOCATION) is bucket  # a dictionary lookup, no I/O
    assert repr(budget) == f"RedisRateBudget(20/1s, prefix={redis_prefix!r}, hold=60)"
    assert repr(bucket) == "RedisBucket('loc-1', open=0, members=1)"


async def _has_open(client: redis.asyncio.Redis, prefix: str) -> bool:
    return any(m.startswith("o") for m in await members(client, prefix))


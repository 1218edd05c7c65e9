"""RedisTokenStore against a real Redis: the TokenStore contract, the lease, the key layout."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
import redis.asyncio
from redis_plugin import start_private, stop_private

from ghl_async.errors import ConfigError, LockTimeoutError
from ghl_async.redis import (
    DEFAULT_PREFIX,
    RedisKeys,
    RedisLease,
    RedisTokenStore,
    connect,
)
from ghl_async.testing.contracts import TokenStoreContract, contract_token
from ghl_async.tokenstore import TokenStore


class TestRedisTokenStore(TokenStoreContract):
    @pytest.fixture
    def store(self, redis_client: redis.asyncio.Redis, redis_prefix: str) -> TokenStore:
        return RedisTokenStore(redis_client, prefix=redis_prefix, lease=2.0)

    @pytest.fixture
    async def twin(self, redis_url: str, redis_prefix: str) -> AsyncIterator[TokenStore]:
        # Its own client and connections: what another process would have.
        async with RedisTokenStore.from_url(redis_url, prefix=redis_prefix, lease=2.0) as other:
            yield other


@pytest.fixture
def store(redis_client: redis.asyncio.Redis, redis_prefix: str) -> RedisTokenStore:
    return RedisTokenStore(redis_client, prefix=redis_prefix, lease=0.6, wait=10)


# --- layout -------------------------------------------------------------------------------


async def test_keys_follow_the_documented_layout(
    store: RedisTokenStore, redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    await store.save("location:L1", contract_token(1))
    assert await redis_client.exists(f"{redis_prefix}token:location:L1") == 1
    assert await redis_client.ttl(f"{redis_prefix}token:location:L1") == -1  # never expires
    async with store.lock("location:L1"):
        assert 0 < await redis_client.pttl(f"{redis_prefix}lock:location:L1") <= 600
    assert await redis_client.exists(f"{redis_prefix}lock:location:L1") == 0
    assert RedisKeys(redis_prefix).token("location:L1") == f"{redis_prefix}token:location:L1"


def test_key_names_and_pattern() -> None:
    keys = RedisKeys()
    assert keys.prefix == DEFAULT_PREFIX == "ghl:"
    assert keys.token("company:C") == "ghl:token:company:C"
    assert keys.lock("location:L") == "ghl:lock:location:L"
    assert keys.seen("w-1") == "ghl:seen:w-1"
    assert keys.pattern() == "ghl:*"
    assert RedisKeys("a*b?[c]\\:").pattern() == "a\\*b\\?\\[c\\]\\\\:*"


async def test_prefixes_keep_apps_apart(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    one = RedisTokenStore(redis_client, prefix=redis_prefix + "one:")
    two = RedisTokenStore(redis_client, prefix=redis_prefix + "two:")
    await one.save("location:L", contract_token(1))
    assert await two.load("location:L") is None
    async with one.lock("location:L"):
        await asyncio.wait_for(_enter_and_leave(two, "location:L"), timeout=10)


# --- the lease ----------------------------------------------------------------------------


async def test_a_dead_holders_lease_blocks_only_until_it_expires(
    store: RedisTokenStore, redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    # A holder that died without releasing: its token, its expiry, nobody renewing.
    await redis_client.set(f"{redis_prefix}lock:location:D", "dead-holder", px=300)
    async with store.lock("location:D"):
        assert await redis_client.get(f"{redis_prefix}lock:location:D") != b"dead-holder"
    assert await redis_client.exists(f"{redis_prefix}lock:location:D") == 0


async def test_the_lease_is_renewed_while_held(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    store = RedisTokenStore(redis_client, prefix=redis_prefix, lease=0.3)
    other = RedisTokenStore(redis_client, prefix=redis_prefix, lease=0.3, wait=0)
    name = f"{redis_prefix}lock:location:R"
    async with store.lock("location:R"):
        holder = await redis_client.get(name)
        for _ in range(6):  # three lease lengths in all
            await asyncio.sleep(0.15)
            assert await redis_client.get(name) == holder
            with pytest.raises(LockTimeoutError):
                await _enter_and_leave(other, "location:R")
    assert await redis_client.exists(name) == 0


async def test_waiters_give_up_at_their_deadline_with_a_typed_error(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    holder = RedisTokenStore(redis_client, prefix=redis_prefix)
    waiter = RedisTokenStore(redis_client, prefix=redis_prefix, wait=0.2)
    async with holder.lock("location:W"):
        with pytest.raises(LockTimeoutError) as info:
            await _enter_and_leave(waiter, "location:W")
    assert isinstance(info.value, TimeoutError)
    assert info.value.key == "location:W"
    assert info.value.waited >= 0.2
    await asyncio.wait_for(_enter_and_leave(waiter, "location:W"), timeout=10)


async def test_only_the_holder_releases_and_a_lost_lease_is_reported(
    redis_client: redis.asyncio.Redis, redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"{redis_prefix}lock:job"
    lease = RedisLease(redis_client, name, ttl=0.3, wait=5)
    async with lease:
        # The lease ran out (say the holder was paused) and another holder took the key.
        await redis_client.set(name, "successor", px=10_000)
        await asyncio.sleep(0.25)  # a renewal comes due and must not extend the successor's
        assert lease.lost
    assert await redis_client.get(name) == b"successor"  # not deleted by the old holder
    assert 0 < await redis_client.pttl(name) <= 10_000
    assert not lease.held
    messages = [r.getMessage() for r in caplog.records if r.name == "ghl_async.redis"]
    assert any("while held" in m for m in messages)
    assert any("before release" in m for m in messages)
    assert await lease.release() is False  # releasing twice is harmless


async def test_a_lease_object_is_held_once_at_a_time(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    lease = RedisLease(redis_client, f"{redis_prefix}lock:once", ttl=5)
    async with lease:
        assert lease.held
        assert "held=True" in repr(lease)
        with pytest.raises(RuntimeError, match="already held"):
            await lease.acquire()
    assert not lease.held
    assert not lease.lost


async def test_unlimited_wait_takes_over_after_expiry(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    name = f"{redis_prefix}lock:forever"
    await redis_client.set(name, "dead-holder", px=200)
    async with RedisLease(redis_client, name, ttl=1, wait=None) as lease:
        assert lease.held


async def test_a_redis_outage_while_held_is_logged_and_never_raised(
    redis_server_binary: str, caplog: pytest.LogCaptureFixture
) -> None:
    process, url = start_private(redis_server_binary)
    try:
        async with redis.asyncio.Redis.from_url(url) as client:
            lease = RedisLease(client, "ghltest:lock:outage", ttl=0.3, wait=5)
            await lease.acquire()
            stop_private(process)  # Redis goes away while the lease is held
            await asyncio.sleep(0.5)  # renewals come due and fail
            assert await lease.release() is False
            assert not lease.held
    finally:
        stop_private(process)
    messages = [r.getMessage() for r in caplog.records if r.name == "ghl_async.redis"]
    assert any("could not renew" in m for m in messages)
    assert any("could not release" in m for m in messages)


async def test_cancelling_a_holder_releases_the_lease(
    store: RedisTokenStore, redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    inside = asyncio.Event()

    async def hold() -> None:
        async with store.lock("location:C"):
            inside.set()
            await asyncio.sleep(60)

    task = asyncio.ensure_future(hold())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await redis_client.exists(f"{redis_prefix}lock:location:C") == 0


@contextlib.asynccontextmanager
async def slow_replies(redis_url: str, delay: float) -> AsyncIterator[str]:
    """A TCP proxy to Redis that holds every reply for ``delay`` seconds; yields its URL."""
    target = urlsplit(redis_url)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, wait: float) -> None:
        try:
            while data := await reader.read(65536):
                await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    tasks: list[asyncio.Task[None]] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(target.hostname, target.port)
        tasks.append(asyncio.ensure_future(pipe(reader, up_writer, 0)))
        tasks.append(asyncio.ensure_future(pipe(up_reader, writer, delay)))

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}{target.path or '/0'}"
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await server.wait_closed()


async def test_a_waiter_cancelled_after_its_set_landed_leaves_no_lease(
    redis_url: str, redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    # The SET reaches Redis but its answer is slow; the waiter is cancelled before reading it.
    name = f"{redis_prefix}lock:mid"
    async with (
        slow_replies(redis_url, 0.3) as slow_url,
        redis.asyncio.Redis.from_url(slow_url) as slow,
    ):
        await slow.ping()  # connected (slowly) before the race
        lease = RedisLease(slow, name, ttl=30, wait=5)
        task = asyncio.ensure_future(lease.acquire())
        for _ in range(1000):
            if await redis_client.exists(name):
                break
            await asyncio.sleep(0.005)
        assert await redis_client.exists(name) == 1  # it landed; the answer is in flight
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not lease.held
        for _ in range(1000):  # the undo runs in the background, through the slow proxy
            if not await redis_client.exists(name):
                break
            await asyncio.sleep(0.005)
        assert await redis_client.exists(name) == 0


# --- values and settings ------------------------------------------------------------------


async def test_a_corrupt_value_raises_config_error_without_content(
    store: RedisTokenStore, redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    await redis_client.set(f"{redis_prefix}token:location:X", b'{"access_token": "LEAKED-SECRET"')
    with pytest.raises(ConfigError) as info:
        await store.load("location:X")
    assert "LEAKED" not in str(info.value)
    assert f"{redis_prefix}token:location:X" in str(info.value)


async def test_a_decoding_client_works_too(redis_url: str, redis_prefix: str) -> None:
    async with redis.asyncio.Redis.from_url(redis_url, decode_responses=True) as client:
        store = RedisTokenStore(client, prefix=redis_prefix)
        await store.save("location:S", contract_token(5))
        assert await store.load("location:S") == contract_token(5)
        async with store.lock("location:S"):
            pass
        await store.delete("location:S")


async def test_own_client_is_closed_and_a_given_one_is_not(
    redis_url: str, redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    given = RedisTokenStore(redis_client, prefix=redis_prefix)
    await given.aclose()
    assert await redis_client.ping()
    owned = RedisTokenStore.from_url(redis_url, prefix=redis_prefix)
    await owned.save("k", contract_token(1))
    await owned.aclose()
    await owned.aclose()  # idempotent


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lease": 0}, "ttl must be a positive"),
        ({"lease": -1.0}, "ttl must be a positive"),
        ({"lease": float("nan")}, "ttl must be a positive"),
        ({"wait": -0.1}, "wait must be >= 0"),
        ({"prefix": ""}, "non-empty"),
    ],
)
async def test_bad_settings_raise_config_error_before_any_io(
    kwargs: dict[str, object], match: str
) -> None:
    client = connect("redis://127.0.0.1:1/0")  # nothing listens: any I/O would fail loudly
    with pytest.raises(ConfigError, match=match):
        RedisTokenStore(client, **kwargs)  # type: ignore[arg-type]  # table of bad values
    with pytest.raises(ConfigError, match=match):
        RedisTokenStore.from_url("redis://127.0.0.1:1/0", **kwargs)  # type: ignore[arg-type]
    await client.aclose()


@pytest.mark.parametrize("url", ["", "http://example.com", "127.0.0.1:6379"])
def test_bad_urls_raise_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        RedisTokenStore.from_url(url)


def test_a_url_password_never_shows(redis_url: str) -> None:
    with pytest.raises(ConfigError) as info:
        connect("http://user:hunter2@example.com")
    assert "hunter2" not in str(info.value)
    assert "hunter2" not in repr(RedisTokenStore.from_url("redis://:hunter2@127.0.0.1:1/0"))


def test_the_client_must_be_an_asyncio_redis() -> None:
    import redis as sync_redis

    with pytest.raises(ConfigError, match=r"redis\.asyncio\.Redis"):
        RedisTokenStore(sync_redis.Redis())  # type: ignore[arg-type]  # the mistake under test


async def _enter_and_leave(store: TokenStore, key: str) -> None:
    async with store.lock(key):
        pass

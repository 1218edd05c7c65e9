"""Processes sharing a RedisTokenStore against FakeHighLevel: one refresh per expiry, never a
refresh token spent twice (the fake answers 400 invalid_grant on reuse), and a holder killed with
SIGKILL mid-refresh blocks the others for at most the lease and loses no token."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio

from ghl_async.redis import RedisTokenStore
from ghl_async.testing import FakeHighLevel
from ghl_async.tokenstore import Token

CHILD = str(Path(__file__).resolve().parent / "redis_oauth_child.py")
LEASE = 2.0  # renewed every 0.67 s: a loaded machine does not lose it by accident


@pytest.fixture
async def fake() -> AsyncIterator[FakeHighLevel]:
    async with FakeHighLevel(rate_limit=None) as running:
        yield running


@pytest.fixture
def store(redis_client: redis.asyncio.Redis, redis_prefix: str) -> RedisTokenStore:
    return RedisTokenStore(redis_client, prefix=redis_prefix)


async def install(fake: FakeHighLevel, store: RedisTokenStore, *, expired: bool) -> Token:
    """Save a pair the fake issued, as if the app had been installed; expired: refresh at once."""
    issued = fake.issue_token()
    token = Token(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_at=time.time() - 60 if expired else time.time() + issued.expires_in,
        scope=issued.scope,
        user_type="Location",
        location_id=fake.location_id,
        company_id=fake.company_id,
    )
    await store.save(f"location:{fake.location_id}", token)
    return token


_RUNNING: list[asyncio.subprocess.Process] = []


@pytest.fixture(autouse=True)
async def _no_orphans() -> AsyncIterator[None]:
    """Kill the workers a failing test left behind (the stalled ones never exit)."""
    yield
    while _RUNNING:
        process = _RUNNING.pop()
        if process.returncode is None:
            process.kill()
            await process.wait()


class Worker:
    """One child process (see redis_oauth_child.py)."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        _RUNNING.append(process)

    @classmethod
    async def start(
        cls,
        mode: str,
        fake: FakeHighLevel,
        redis_url: str,
        prefix: str,
        **env: str,
    ) -> Worker:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            CHILD,
            mode,
            fake.base_url,
            redis_url,
            prefix,
            fake.location_id,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env={
                **os.environ,
                "GHL_TEST_CLIENT_ID": fake.client_id,
                "GHL_TEST_CLIENT_SECRET": fake.client_secret,
                "GHL_TEST_LEASE": str(LEASE),
                **env,
            },
        )
        worker = cls(process)
        assert await worker.line() == "ready"
        return worker

    async def line(self) -> str:
        assert self.process.stdout is not None
        return (await asyncio.wait_for(self.process.stdout.readline(), timeout=60)).decode().strip()

    async def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")
        await self.process.stdin.drain()

    async def finish(self) -> str:
        out, _ = await asyncio.wait_for(self.process.communicate(), timeout=60)
        assert self.process.returncode == 0
        return out.decode().strip()

    async def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(self.process.wait(), timeout=30) == -signal.SIGKILL


def refreshes(fake: FakeHighLevel, status: int | None = None) -> int:
    return fake.count("POST", "/oauth/token", status=status)


async def test_processes_refresh_an_expired_token_once(
    fake: FakeHighLevel, store: RedisTokenStore, redis_url: str, redis_prefix: str
) -> None:
    installed = await install(fake, store, expired=True)
    fake.delay("oauth.token", 0.3)  # the others surely arrive while the first holds the lock
    workers = [await Worker.start("tokens", fake, redis_url, redis_prefix) for _ in range(3)]
    for worker in workers:
        await worker.go()
    printed = {await worker.finish() for worker in workers}

    assert len(printed) == 1  # 60 calls in 3 processes: one token
    (token,) = printed
    assert " " not in token
    assert token != installed.access_token
    assert refreshes(fake) == 1
    assert refreshes(fake, status=400) == 0
    saved = await store.load(f"location:{fake.location_id}")
    assert saved is not None
    assert saved.access_token == token
    assert saved.refresh_token != installed.refresh_token
    assert fake.tokens.lookup(token, time.time()) is not None


async def test_processes_calling_through_expiries_never_spend_a_refresh_token_twice(
    store: RedisTokenStore, redis_url: str, redis_prefix: str
) -> None:
    # Tokens live 2 s and are renewed 1.5 s early: a rotation every half second, mid-run, with
    # 1.5 s to spare before the fake would refuse a token (a 401) on a slow machine.
    async with FakeHighLevel(rate_limit=None, token_lifetime=2.0) as fake:
        (contact_id,) = fake.seed_contacts(1)
        await install(fake, store, expired=False)
        env = {
            "GHL_TEST_CALLS": "40",
            "GHL_TEST_PAUSE": "0.05",
            "GHL_TEST_SKEW": "1.5",
            "GHL_TEST_CONTACT": contact_id,
        }
        workers = [
            await Worker.start("calls", fake, redis_url, redis_prefix, **env) for _ in range(3)
        ]
        for worker in workers:
            await worker.go()
        assert [await worker.finish() for worker in workers] == ["ok 40"] * 3

        assert refreshes(fake) >= 2  # rotations happened while the workers ran
        assert refreshes(fake, status=400) == 0  # no refresh token was ever sent twice
        assert fake.count("GET", status=401) == 0  # nobody used a token the fake had retired
        assert fake.count("GET", status=200) == 120
        saved = await store.load(f"location:{fake.location_id}")
        assert saved is not None
        assert saved.refresh_token is not None
        assert not fake.tokens.refresh[saved.refresh_token].spent  # the stored pair is the live one


async def test_a_holder_killed_before_sending_is_taken_over_after_the_lease(
    fake: FakeHighLevel,
    store: RedisTokenStore,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    redis_prefix: str,
) -> None:
    installed = await install(fake, store, expired=True)
    lock = f"{redis_prefix}lock:location:{fake.location_id}"
    stuck = await Worker.start("stall-send", fake, redis_url, redis_prefix)
    await stuck.go()
    assert await stuck.line() == "refreshing"  # it holds the lock, mid-refresh
    holder = await redis_client.get(lock)
    assert holder is not None
    taker = await Worker.start("tokens", fake, redis_url, redis_prefix)
    await taker.go()
    assert await redis_client.get(lock) == holder  # the lease is renewed while its holder lives
    assert 0 < await redis_client.pttl(lock) <= LEASE * 1000  # and lapses within one lease
    await stuck.kill()
    (token,) = (await taker.finish()).split()

    assert token != installed.access_token
    assert refreshes(fake) == 1  # the killed holder never sent its refresh
    assert refreshes(fake, status=400) == 0
    saved = await store.load(f"location:{fake.location_id}")
    assert saved is not None
    assert saved.access_token == token
    assert fake.tokens.lookup(token, time.time()) is not None
    assert await redis_client.exists(lock) == 0


async def test_a_holder_killed_after_saving_loses_nothing(
    fake: FakeHighLevel,
    store: RedisTokenStore,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    redis_prefix: str,
) -> None:
    installed = await install(fake, store, expired=True)
    key = f"location:{fake.location_id}"
    lock = f"{redis_prefix}lock:{key}"
    stuck = await Worker.start("stall-after-save", fake, redis_url, redis_prefix)
    await stuck.go()
    assert await stuck.line() == "saved"  # refreshed and saved, lock still held
    rotated = await store.load(key)
    assert rotated is not None
    assert rotated.access_token != installed.access_token
    assert await redis_client.exists(lock) == 1
    taker = await Worker.start("tokens", fake, redis_url, redis_prefix)
    await taker.go()
    assert 0 < await redis_client.pttl(lock) <= LEASE * 1000
    await stuck.kill()

    assert await taker.finish() == rotated.access_token  # re-loaded under the lock, not refreshed
    assert refreshes(fake) == 1
    assert refreshes(fake, status=400) == 0
    assert await store.load(key) == rotated

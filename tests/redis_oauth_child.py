"""A worker process for test_redis_processes: an OAuthApp whose tokens live in Redis.

Usage: ``python redis_oauth_child.py MODE BASE_URL REDIS_URL PREFIX LOCATION_ID``; it prints
``ready``, waits for a line on stdin, then works. Client id and secret come from the environment
(``GHL_TEST_CLIENT_ID``/``_SECRET``), the lease from ``GHL_TEST_LEASE``. Modes:

* ``tokens``: 20 concurrent ``access_token`` calls; prints the distinct tokens on one line.
* ``calls``: ``GHL_TEST_CALLS`` real API calls through a Client, ``GHL_TEST_PAUSE`` s apart,
  with ``refresh_skew=GHL_TEST_SKEW``; prints ``ok N``.
* ``stall-send``: its token transport prints ``refreshing`` and never sends (kill it then).
* ``stall-after-save``: its store saves the new pair, prints ``saved`` and never returns, so the
  lock stays held (kill it then).

The stalls use the public extension points (a ``TokenTransport``, a ``TokenStore`` wrapper), the
way a user's own code could hang.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager

import aiohttp

from ghl_async import Client
from ghl_async.auth import AiohttpTokenTransport, OAuthApp
from ghl_async.redis import RedisTokenStore
from ghl_async.tokenstore import Token, TokenStore

HANG = 3600.0


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class StallingTransport:
    """Announces the refresh, then hangs before anything is sent."""

    async def post_form(
        self,
        path: str,
        form: Mapping[str, str],
        *,
        bearer: str | None = None,
        version: bool = False,
    ) -> tuple[int, bytes]:
        say("refreshing")
        await asyncio.sleep(HANG)
        raise AssertionError("unreachable")


class StallAfterSave:
    """A TokenStore that saves, announces it, then hangs inside the lock."""

    def __init__(self, inner: TokenStore) -> None:
        self._inner = inner

    async def load(self, key: str) -> Token | None:
        return await self._inner.load(key)

    async def save(self, key: str, token: Token) -> None:
        await self._inner.save(key, token)
        say("saved")
        await asyncio.sleep(HANG)

    async def delete(self, key: str) -> None:
        await self._inner.delete(key)

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        return self._inner.lock(key)


async def main() -> None:
    mode, base_url, redis_url, prefix, location_id = sys.argv[1:6]
    lease = float(os.environ.get("GHL_TEST_LEASE", "10"))
    async with RedisTokenStore.from_url(redis_url, prefix=prefix, lease=lease, wait=60) as redis:
        store: TokenStore = StallAfterSave(redis) if mode == "stall-after-save" else redis
        app = OAuthApp(
            client_id=os.environ["GHL_TEST_CLIENT_ID"],
            client_secret=os.environ["GHL_TEST_CLIENT_SECRET"],
            store=store,
            refresh_skew=float(os.environ.get("GHL_TEST_SKEW", "60")),
        )
        say("ready")
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if mode == "calls":
            await calls(app, base_url, location_id)
            return
        async with aiohttp.ClientSession() as http:
            if mode == "stall-send":
                app.bind(StallingTransport())
            else:
                app.bind(AiohttpTokenTransport(http, base_url=base_url))
            tokens = await asyncio.gather(*(app.access_token(location_id) for _ in range(20)))
            say(" ".join(sorted(set(tokens))))


async def calls(app: OAuthApp, base_url: str, location_id: str) -> None:
    count = int(os.environ["GHL_TEST_CALLS"])
    pause = float(os.environ["GHL_TEST_PAUSE"])
    contact_id = os.environ["GHL_TEST_CONTACT"]
    async with Client(
        auth=app,
        location_id=location_id,
        base_url=base_url,
        rate_limit=None,
        backoff_base=0.001,
        backoff_max=0.005,
    ) as ghl:
        for _ in range(count):
            await ghl.contacts.get(contact_id)
            await asyncio.sleep(pause)
    say(f"ok {count}")


if __name__ == "__main__":
    asyncio.run(main())

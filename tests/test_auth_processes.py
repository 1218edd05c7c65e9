"""Two processes sharing a FileTokenStore refresh an expired token exactly once."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import msgspec
import pytest

from ghl_async.auth import AiohttpTokenTransport, OAuthApp
from ghl_async.testing import FakeHighLevel
from ghl_async.tokenstore import FileTokenStore

_CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    import aiohttp
    from ghl_async.auth import AiohttpTokenTransport, OAuthApp
    from ghl_async.tokenstore import FileTokenStore

    async def main() -> None:
        base_url, path, location_id = sys.argv[1:4]
        async with aiohttp.ClientSession() as http:
            app = OAuthApp(
                client_id=os.environ["GHL_TEST_CLIENT_ID"],
                client_secret=os.environ["GHL_TEST_CLIENT_SECRET"],
                store=FileTokenStore(path),
            )
            app.bind(AiohttpTokenTransport(http, base_url=base_url))
            print("ready", flush=True)
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            print(await app.access_token(location_id), flush=True)

    asyncio.run(main())
    """
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeHighLevel]:
    async with FakeHighLevel(rate_limit=None) as running:
        yield running


async def test_two_processes_refresh_an_expired_token_once(
    fake: FakeHighLevel, tmp_path: Path
) -> None:
    path = tmp_path / "tokens.json"
    store = FileTokenStore(path)
    key = f"location:{fake.location_id}"
    async with aiohttp.ClientSession() as http:
        app = OAuthApp(client_id=fake.client_id, client_secret=fake.client_secret, store=store)
        app.bind(AiohttpTokenTransport(http, base_url=fake.base_url))
        installed = await app.exchange_code(fake.issue_code())
    await store.save(key, msgspec.structs.replace(installed, expires_at=time.time() - 60))
    # A slow refresh, so the second process surely arrives while the first holds the lock.
    fake.delay("oauth.token", 0.3)

    env = {
        **os.environ,
        "GHL_TEST_CLIENT_ID": fake.client_id,
        "GHL_TEST_CLIENT_SECRET": fake.client_secret,
    }
    children = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD,
            fake.base_url,
            str(path),
            fake.location_id,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        for _ in range(2)
    ]
    for child in children:
        assert child.stdout is not None
        assert await asyncio.wait_for(child.stdout.readline(), timeout=30) == b"ready\n"
    for child in children:  # release both at once
        assert child.stdin is not None
        child.stdin.write(b"go\n")
        await child.stdin.drain()
    outputs = [await asyncio.wait_for(child.communicate(), timeout=30) for child in children]

    assert [child.returncode for child in children] == [0, 0]
    tokens = {out.decode().strip() for out, _ in outputs}
    assert len(tokens) == 1
    (token,) = tokens
    assert token != installed.access_token
    assert fake.count("POST", "/oauth/token") == 2  # the exchange, then ONE refresh
    assert fake.count("POST", "/oauth/token", status=400) == 0
    saved = await store.load(key)
    assert saved is not None
    assert saved.access_token == token
    assert fake.tokens.lookup(token, time.time()) is not None

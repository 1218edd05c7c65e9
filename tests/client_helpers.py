"""Helpers shared by the client tests (imported as ``client_helpers``)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from ghl_async import Auth, Client, RateLimit, StaticToken
from ghl_async.ratelimit import RateBudget
from ghl_async.testing import FakeHighLevel

# Near-zero backoff: retries keep their logic, tests lose the waiting.
BACKOFF_BASE = 0.001
BACKOFF_MAX = 0.005
DEFAULT_RULE = RateLimit()


def make_client(
    fake: FakeHighLevel,
    *,
    auth: Auth | None = None,
    location_id: str | None = None,
    max_retries: int = 3,
    rate_limit: RateLimit | RateBudget | None = DEFAULT_RULE,
    timeout: float | None = None,
) -> Client:
    """A client of ``fake``: its private token and default location unless told otherwise."""
    return Client(
        auth=auth or StaticToken(fake.private_token, location_id=fake.location_id),
        location_id=location_id or fake.location_id,
        base_url=fake.base_url,
        max_retries=max_retries,
        backoff_base=BACKOFF_BASE,
        backoff_max=BACKOFF_MAX,
        rate_limit=rate_limit,
        timeout=timeout,
    )


@contextlib.asynccontextmanager
async def serve_app(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on a free 127.0.0.1 port for the block; yield its base URL."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()

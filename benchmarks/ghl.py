"""ghl_async as a contender: once with its limiter out of the way, once with the full pipeline."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from importlib.util import find_spec
from typing import Any

from benchmarks import payloads
from benchmarks.contenders import TOKEN, Contender


def _missing() -> str | None:
    if find_spec("ghl_async") is None or find_spec("ghl_async.client") is None:
        return "ghl_async.client is not there yet"
    return None


class GhlAsyncNoLimit(Contender):
    """ghl_async with `rate_limit=None`: retry, auth, send, status map, decode."""

    name = "ghl_async-nolimit"
    description = "ghl_async.Client(rate_limit=None): the pipeline without the limiter"

    @classmethod
    def unavailable(cls) -> str | None:
        return _missing()

    def _options(self, rule: tuple[int, float] | None) -> dict[str, Any]:
        return {"rate_limit": None}

    async def start(self, base_url: str, rule: tuple[int, float] | None = None) -> None:
        import ghl_async

        self.client = ghl_async.Client(
            auth=ghl_async.StaticToken(TOKEN), location_id=payloads.LOCATION_ID,
            base_url=base_url, **self._options(rule))
        await self.client.__aenter__()

    async def stop(self) -> None:
        await self.client.aclose()

    async def get(self, contact_id: str) -> Any:
        return await self.client.contacts.get(contact_id)

    def walk(self, business_id: str, limit: int) -> AsyncIterator[Any]:
        return self.client.contacts.iter_by_business(business_id, limit=limit)

    async def create(self, index: int) -> Any:
        f = payloads.create_fields(index)
        return await self.client.contacts.create(
            first_name=f["first_name"], last_name=f["last_name"], email=f["email"],
            phone=f["phone"], source=f["source"])

    @staticmethod
    def decoder() -> Callable[[bytes], Any] | None:
        # Exactly the decoder the session caches for the business listing route.
        from ghl_async import routes
        from ghl_async.session import _decoder

        decode = _decoder(routes.LIST_BUSINESS_CONTACTS)
        return lambda data: decode(data).contacts


# HighLevel's rule and the client's default is 100 requests per 10 s. The throughput scenarios
# keep the limiter's code path with a rule far out of reach: 10,000 requests per 0.1 s. A slot
# is held from admission until one window after the response, so a client doing N req/s at
# concurrency 64 holds about 64 + N / 10 slots: at the ~9,000 req/s a 2-core EPYC reaches,
# ~1,000. (The earlier 1,000 per 0.1 s was out of reach at ~4,500 req/s on a slower machine; on
# a faster one it made callers wait, timing the rule instead of the pipeline.)
THROUGHPUT_RULE = (10_000, 0.1)


class GhlAsyncDefault(GhlAsyncNoLimit):
    """ghl_async with its default pipeline, the limiter included."""

    name = "ghl_async-default"
    description = (
        "ghl_async.Client with every default (retries, auth, per-location limiter bucket, "
        "X-RateLimit header observation) except the rule: RateLimit(requests=10000, "
        "period=0.1) instead of (100, 10.0), far enough out of reach that the bucket never "
        "waits here (the open listener advertises X-RateLimit-Max 10^9, so observe() takes "
        "its early exit); the rate-limited scenario uses the server's 20 / 1 s rule instead")

    def _options(self, rule: tuple[int, float] | None) -> dict[str, Any]:
        from ghl_async import RateLimit

        requests, period = THROUGHPUT_RULE if rule is None else rule
        return {"rate_limit": RateLimit(requests=requests, period=period)}


GHL_CONTENDERS: list[type[Contender]] = [GhlAsyncNoLimit, GhlAsyncDefault]

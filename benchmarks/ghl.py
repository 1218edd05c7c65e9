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
        await self.client.__aexit__(None, None, None)

    async def get(self, contact_id: str) -> Any:
        return await self.client.contacts.get(contact_id)

    def walk(self, business_id: str, limit: int) -> AsyncIterator[Any]:
        return self.client.contacts.iter_by_business(business_id, limit=limit)

    async def create(self, index: int) -> Any:
        return await self.client.contacts.create(**payloads.create_fields(index))

    @staticmethod
    def decoder() -> Callable[[bytes], Any] | None:
        import msgspec

        from ghl_async import models

        dec = msgspec.json.Decoder(models.ContactsPage)
        return lambda data: dec.decode(data).contacts


class GhlAsyncDefault(GhlAsyncNoLimit):
    """ghl_async with its default pipeline, the limiter included."""

    name = "ghl_async-default"
    description = "ghl_async.Client with the default pipeline"

    def _options(self, rule: tuple[int, float] | None) -> dict[str, Any]:
        return {}


GHL_CONTENDERS: list[type[Contender]] = [GhlAsyncNoLimit, GhlAsyncDefault]

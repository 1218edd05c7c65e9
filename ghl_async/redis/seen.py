"""Webhook dedupe across receivers: :class:`RedisSeenStore`, one Redis key per ``webhookId``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from ghl_async.errors import ConfigError
from ghl_async.redis._client import DEFAULT_MAX_CONNECTIONS, RedisUser, connect, require_redis
from ghl_async.redis._keys import DEFAULT_PREFIX, RedisKeys

require_redis()

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisSeenStore"]


class RedisSeenStore(RedisUser):
    """A :class:`~ghl_async.webhooks.SeenStore` in Redis, for receivers behind a load balancer.

    ``add`` is one ``SET <prefix>seen:<webhookId> 1 NX PX <ttl>``, so of two receivers given the
    same delivery at once exactly one gets ``True``; Redis expires the ids, so nothing grows.
    When Redis cannot be reached ``add`` raises and the receiver answers 429, which makes
    HighLevel deliver again later: no event is lost to an outage.

    Args:
        client: a ``redis.asyncio.Redis`` connected to the primary; yours to close.
        prefix: put before every key (see :mod:`ghl_async.redis` for the layout).

    Raises:
        ConfigError: ``prefix`` is empty, or ``client`` is not a ``redis.asyncio.Redis``.
    """

    def __init__(self, client: Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        self.keys = RedisKeys(prefix)
        super().__init__(client)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> RedisSeenStore:
        """Make a store with its own client for ``url``, closed by :meth:`aclose`.

        The client opens at most ``max_connections`` connections; further deliveries wait.

        Raises:
            ConfigError: ``url`` is not a Redis URL, ``prefix`` is empty, or
                ``max_connections`` is below 1.
        """
        RedisKeys(prefix)
        store = cls(connect(url, max_connections=max_connections), prefix=prefix)
        store._owns_client = True
        return store

    async def add(self, webhook_id: str, ttl: float) -> bool:
        """Record ``webhook_id`` for ``ttl`` seconds; return ``False`` if it was already there.

        Raises:
            ConfigError: ``ttl`` is not positive.
        """
        if not ttl > 0:
            raise ConfigError("the seen-store ttl must be a positive number of seconds")
        ttl_ms = max(1, math.ceil(ttl * 1000))
        return bool(await self.client.set(self.keys.seen(webhook_id), b"1", nx=True, px=ttl_ms))

    async def discard(self, webhook_id: str) -> None:
        """Forget ``webhook_id`` (no error if absent)."""
        await self.client.delete(self.keys.seen(webhook_id))

    def __repr__(self) -> str:
        return f"RedisSeenStore(prefix={self.keys.prefix!r})"

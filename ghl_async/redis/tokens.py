"""OAuth tokens in Redis: :class:`RedisTokenStore`, shared by every process and machine.

Each token is one Redis string (``<prefix>token:<key>``) holding the
:class:`~ghl_async.tokenstore.Token` as JSON; ``lock(key)`` is a :class:`RedisLease` on
``<prefix>lock:<key>``. With :class:`~ghl_async.auth.OAuthApp`'s sequence (load, lock, load
again, refresh, save, release), a refresh token is spent by one holder at a time and the new pair
is in Redis before the lease is released, so the next holder's re-load sees it: every command goes
to the one primary, which applies them in order.

Redis access is token access: whoever can ``GET`` these keys can call HighLevel as your app's
installations. Use an ACL user limited to the prefix (``~ghl:*``), TLS (``rediss://``) across
machines, and persistence (``appendonly yes``): a Redis restarted without its data has lost
every rotated refresh token, and each location must then be authorised again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import msgspec

from ghl_async.errors import ConfigError
from ghl_async.redis._client import DEFAULT_MAX_CONNECTIONS, RedisUser, connect, require_redis
from ghl_async.redis._keys import DEFAULT_PREFIX, RedisKeys
from ghl_async.redis.lease import DEFAULT_LEASE, DEFAULT_WAIT, RedisLease, check_timing
from ghl_async.tokenstore import Token

require_redis()

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisTokenStore"]

_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Token)


class RedisTokenStore(RedisUser):
    """A :class:`~ghl_async.tokenstore.TokenStore` in Redis, shared across processes and machines.

    ``lock(key)`` is a lease (``SET NX PX`` with a random token, renewed every ``lease / 3``
    while held, deleted only by its holder), so a process killed while refreshing blocks the
    others for at most ``lease`` seconds; tasks of one process queue on a local lock first.
    Values never appear in logs, reprs or errors.

    Args:
        client: a ``redis.asyncio.Redis`` connected to the primary; yours to close.
        prefix: put before every key (see :mod:`ghl_async.redis` for the layout).
        lease: seconds a lock lasts without renewal.
        wait: seconds ``lock`` waits before raising :class:`~ghl_async.errors.LockTimeoutError`
            (``None``: no limit).

    Raises:
        ConfigError: a setting is out of range, or ``client`` is not a ``redis.asyncio.Redis``.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = DEFAULT_PREFIX,
        lease: float = DEFAULT_LEASE,
        wait: float | None = DEFAULT_WAIT,
    ) -> None:
        check_timing(lease, wait)
        self.keys = RedisKeys(prefix)
        super().__init__(client)
        self.lease = lease
        self.wait = wait
        self._locks: dict[str, asyncio.Lock] = {}

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        lease: float = DEFAULT_LEASE,
        wait: float | None = DEFAULT_WAIT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> RedisTokenStore:
        """Make a store with its own client for ``url``, closed by :meth:`aclose`.

        The client opens at most ``max_connections`` connections; further commands wait.

        Raises:
            ConfigError: ``url`` is not a Redis URL, or a setting is out of range.
        """
        check_timing(lease, wait)
        RedisKeys(prefix)
        client = connect(url, max_connections=max_connections)
        store = cls(client, prefix=prefix, lease=lease, wait=wait)
        store._owns_client = True
        return store

    async def load(self, key: str) -> Token | None:
        """Return the token saved under ``key``, or ``None``.

        Raises:
            ConfigError: the Redis value is not a token (its content is never quoted).
        """
        name = self.keys.token(key)
        data = await self.client.get(name)
        if data is None:
            return None
        try:
            return _DECODER.decode(data)
        except msgspec.DecodeError:
            raise ConfigError(f"Redis key {name!r} does not hold a valid token") from None

    async def save(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key`` (one ``SET``; no expiry: refresh tokens last a year)."""
        await self.client.set(self.keys.token(key), _ENCODER.encode(token))

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        await self.client.delete(self.keys.token(key))

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold ``key`` exclusively across every process and machine using this Redis and prefix.

        Raises:
            LockTimeoutError: another holder kept it for longer than ``wait`` seconds.
        """
        return self._lock(key)

    @contextlib.asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[None]:
        # The local lock first: tasks of this process queue here instead of polling Redis.
        async with self._locks.setdefault(key, asyncio.Lock()):
            lease = RedisLease(
                self.client, self.keys.lock(key), ttl=self.lease, wait=self.wait, label=key
            )
            async with lease:
                yield

    def __repr__(self) -> str:
        return f"RedisTokenStore(prefix={self.keys.prefix!r}, lease={self.lease})"

"""The optional ``redis`` dependency: a clear error without it, and client ownership with it."""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, TypeVar

from ghl_async.errors import ConfigError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "INSTALL_HINT",
    "RedisMissingError",
    "RedisUser",
    "connect",
    "require_redis",
]

INSTALL_HINT = "pip install 'ghl-async[redis]'"

_R = TypeVar("_R", bound="RedisUser")


class RedisMissingError(ConfigError, ImportError):
    """The Redis integration needs the optional ``redis`` package."""

    def __init__(self) -> None:
        super().__init__(
            f"ghl_async.redis needs the 'redis' package (redis.asyncio): {INSTALL_HINT}"
        )


def require_redis() -> None:
    """Raise :class:`RedisMissingError` unless ``redis.asyncio`` can be imported."""
    try:
        import redis.asyncio  # noqa: F401
    except ImportError as err:  # pragma: no cover - tested in a subprocess without redis
        raise RedisMissingError() from err


DEFAULT_MAX_CONNECTIONS = 50
"""Connections a client made by ``from_url`` opens at most; further callers wait for one."""


def connect(url: str, *, max_connections: int = DEFAULT_MAX_CONNECTIONS) -> Redis:
    """Make a ``redis.asyncio.Redis`` for ``url`` (``redis://``, ``rediss://``, ``unix://``).

    Its pool blocks when all ``max_connections`` are busy instead of failing (redis-py's default
    pool raises ``MaxConnectionsError`` at 100), so a burst of webhooks queues for a connection.
    No connection is opened until the first command.

    Raises:
        ConfigError: ``url`` is not a Redis URL, or ``max_connections`` is below 1.
    """
    require_redis()
    from redis.asyncio import BlockingConnectionPool, Redis

    if not url:
        raise ConfigError("a Redis URL is needed, e.g. redis://127.0.0.1:6379/0")
    if isinstance(max_connections, bool) or not isinstance(max_connections, int):
        raise ConfigError(f"max_connections must be an int, not {max_connections!r}")
    if max_connections < 1:
        raise ConfigError(f"max_connections must be at least 1, not {max_connections}")
    try:
        pool = BlockingConnectionPool.from_url(url, max_connections=max_connections)
    except ValueError as err:
        # redis-py's message names the accepted schemes; the URL may hold a password, so it is
        # not repeated here.
        raise ConfigError(f"not a usable Redis URL: {err}") from None
    return Redis.from_pool(pool)  # the client owns the pool and closes it


class RedisUser:
    """Something that talks to Redis through a client it may own.

    A client you pass in stays yours (never closed here); one made by ``from_url`` is closed by
    :meth:`aclose` or on leaving ``async with``.
    """

    def __init__(self, client: Redis, *, owns_client: bool = False) -> None:
        require_redis()
        from redis.asyncio import Redis

        if not isinstance(client, Redis):
            raise ConfigError(f"expected a redis.asyncio.Redis client, got {type(client).__name__}")
        self.client = client
        self._owns_client = owns_client

    async def aclose(self) -> None:
        """Close the client if it was made here (``from_url``); otherwise do nothing."""
        if self._owns_client:
            self._owns_client = False
            await self.client.aclose()

    async def __aenter__(self: _R) -> _R:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self.aclose()

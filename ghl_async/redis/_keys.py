"""The names of the keys ghl_async keeps in Redis: one prefix, one namespace per job.

Kept free of the ``redis`` package so the layout can be read (and tested) without the extra.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ghl_async.errors import ConfigError

__all__ = ["DEFAULT_PREFIX", "RedisKeys"]

DEFAULT_PREFIX: Final = "ghl:"
"""The prefix of every key unless you choose another (e.g. one per app or environment)."""

_GLOB_SPECIAL: Final = frozenset("*?[]\\")


@dataclass(frozen=True, slots=True)
class RedisKeys:
    """Every key name under one ``prefix``; see :mod:`ghl_async.redis` for the layout.

    Raises:
        ConfigError: ``prefix`` is empty or not a string.
    """

    prefix: str = DEFAULT_PREFIX

    def __post_init__(self) -> None:
        if not self.prefix:
            raise ConfigError("the Redis key prefix must be a non-empty string, e.g. 'ghl:'")

    def token(self, key: str) -> str:
        """The string holding the JSON :class:`~ghl_async.tokenstore.Token` saved under ``key``."""
        return f"{self.prefix}token:{key}"

    def lock(self, key: str) -> str:
        """The lease of ``TokenStore.lock(key)``: the holder's random token, with an expiry."""
        return f"{self.prefix}lock:{key}"

    def seen(self, webhook_id: str) -> str:
        """The marker of an accepted ``webhookId``, expiring after the seen-store TTL."""
        return f"{self.prefix}seen:{webhook_id}"

    def budget(self, key: str) -> str:
        """The sorted set of the shared rate window of ``key`` (``location:<id>``...)."""
        return f"{self.prefix}budget:{key}"

    def job(self, name: str, part: str) -> str:
        """One key of the distributed import ``name``.

        Every key of one import shares the hash tag ``{<name>}``, so the scripts that touch
        several of them work on Redis Cluster too.
        """
        return f"{self.prefix}jobs:{{{name}}}:{part}"

    def jobs(self) -> str:
        """The set of the imports that are not finished (what ``ghl-async worker`` joins)."""
        return f"{self.prefix}jobs:active"

    def pattern(self) -> str:
        """A ``SCAN MATCH`` pattern for every key under the prefix (glob characters escaped)."""
        escaped = "".join(f"\\{c}" if c in _GLOB_SPECIAL else c for c in self.prefix)
        return escaped + "*"

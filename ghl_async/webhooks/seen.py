"""Which ``webhookId``\\ s were already accepted: the replay/duplicate memory.

The receiver needs two atomic operations, so a store can live in Redis or a database as well as
in memory: ``add`` (record, and say whether it was new) and ``discard`` (undo an ``add`` when the
event could not be queued and was answered 429, so HighLevel's redelivery is accepted).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from ghl_async.errors import ConfigError

__all__ = ["MemorySeenStore", "SeenStore"]

logger = logging.getLogger("ghl_async.webhooks")


class SeenStore(Protocol):
    """Remembers accepted ``webhookId``\\ s for a while."""

    async def add(self, webhook_id: str, ttl: float) -> bool:
        """Record ``webhook_id`` for ``ttl`` seconds; return ``False`` if it was already there."""
        ...

    async def discard(self, webhook_id: str) -> None:
        """Forget ``webhook_id`` (no error if absent)."""
        ...


class MemorySeenStore:
    """In-process :class:`SeenStore`: a TTL map bounded to ``max_size`` ids.

    When full, the oldest id is evicted early; that only weakens duplicate detection for ids older
    than the newest ``max_size``, and a warning is logged the first time it happens. Use a shared
    store instead when several processes receive webhooks.
    """

    def __init__(
        self, *, max_size: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_size < 1:
            raise ConfigError("max_size must be at least 1")
        self._max_size = max_size
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._warned = False

    def __len__(self) -> int:
        return len(self._expiry)

    def __contains__(self, webhook_id: object) -> bool:
        expires = self._expiry.get(webhook_id) if isinstance(webhook_id, str) else None
        return expires is not None and expires > self._clock()

    async def add(self, webhook_id: str, ttl: float) -> bool:
        """Record ``webhook_id`` for ``ttl`` seconds; return ``False`` if it was already there."""
        now = self._clock()
        self._purge(now)
        expires = self._expiry.get(webhook_id)
        if expires is not None and expires > now:
            return False
        self._expiry[webhook_id] = now + ttl
        # Kept in insertion order, so with one TTL the front always expires first.
        self._expiry.move_to_end(webhook_id)
        if len(self._expiry) > self._max_size:
            self._expiry.popitem(last=False)
            if not self._warned:
                self._warned = True
                logger.warning(
                    "webhook seen-store full (%d ids): evicting unexpired ids early",
                    self._max_size,
                )
        return True

    async def discard(self, webhook_id: str) -> None:
        """Forget ``webhook_id`` (no error if absent)."""
        self._expiry.pop(webhook_id, None)

    def _purge(self, now: float) -> None:
        while self._expiry:
            oldest, expires = next(iter(self._expiry.items()))
            if expires > now:
                break
            del self._expiry[oldest]

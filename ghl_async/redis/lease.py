"""A lease on one Redis key: exclusion across processes and machines that survives a crash.

The holder writes a random token with ``SET key token NX PX ttl``. While it holds the lease a
background task pushes the expiry forward every ``ttl / 3`` with a check-and-extend script, and
on exit a check-and-delete script removes the key only if it still holds *this* holder's token,
so a holder whose lease ran out can never delete (or extend) its successor's lease. A holder
killed with SIGKILL stops renewing, so the others wait at most ``ttl`` for the key to expire.
Waiters poll with jittered exponential backoff until their deadline and then raise
:class:`~ghl_async.errors.LockTimeoutError`.

The exclusion holds as long as the holder keeps renewing: a holder paused longer than ``ttl``
(a stopped process, Redis unreachable) loses the lease, which is then logged as a warning.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import types
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Final

from ghl_async.errors import ConfigError, LockTimeoutError
from ghl_async.redis._client import require_redis

require_redis()

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["DEFAULT_LEASE", "DEFAULT_WAIT", "RedisLease"]

log = logging.getLogger("ghl_async.redis")

DEFAULT_LEASE: Final = 10.0
"""Seconds a lease lasts without renewal: how long a crashed holder can block the others."""
DEFAULT_WAIT: Final = 60.0
"""Seconds a waiter keeps trying before :class:`LockTimeoutError` (a refresh can take 30 s)."""

_POLL_FIRST: Final = 0.005
_POLL_MAX: Final = 0.1

# KEYS[1] lease key; ARGV[1] holder token; ARGV[2] new expiry in ms.
_EXTEND: Final = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('pexpire', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS[1] lease key; ARGV[1] holder token.
_RELEASE: Final = """
if redis.call('get', KEYS[1]) == ARGV[1] then
  return redis.call('del', KEYS[1])
end
return 0
"""

# Strong references to fire-and-forget cleanups, which the loop only holds weakly.
_BACKGROUND: set[asyncio.Task[None]] = set()


class RedisLease:
    """Hold one Redis key exclusively, for ``ttl`` seconds at a time, renewed while held.

    Use it as ``async with RedisLease(client, "ghl:lock:job-1"):``; one holder per object at a
    time. ``label`` names the lease in errors and logs (e.g. the token store key).

    Args:
        client: a ``redis.asyncio.Redis`` on the primary (never a replica).
        name: the Redis key of the lease.
        ttl: seconds the lease lasts unless renewed; renewed every ``ttl / 3`` while held.
        wait: seconds to keep trying before raising; ``None`` waits without limit.
        label: what to call the lease in messages; ``name`` by default.

    Raises:
        ConfigError: ``ttl`` is not positive, or ``wait`` is negative.
    """

    def __init__(
        self,
        client: Redis,
        name: str,
        *,
        ttl: float = DEFAULT_LEASE,
        wait: float | None = DEFAULT_WAIT,
        label: str | None = None,
    ) -> None:
        check_timing(ttl, wait)
        self.client = client
        self.name = name
        self.ttl = ttl
        self.wait = wait
        self.label = label if label is not None else name
        self._token: str | None = None
        self._renewal: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lost = False

    @property
    def held(self) -> bool:
        """True between a successful :meth:`acquire` and :meth:`release`."""
        return self._token is not None

    @property
    def lost(self) -> bool:
        """True once a renewal found the key expired or owned by another holder."""
        return self._lost

    def __repr__(self) -> str:
        return f"RedisLease({self.name!r}, ttl={self.ttl}, held={self.held})"

    async def acquire(self) -> None:
        """Wait until the key is free and take it.

        Raises:
            LockTimeoutError: still held by another holder after ``wait`` seconds.
            RuntimeError: this object already holds the lease.
        """
        if self._token is not None:
            raise RuntimeError(f"{self!r} is already held")
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = None if self.wait is None else start + self.wait
        token = secrets.token_hex(16)
        ttl_ms = _millis(self.ttl)
        poll_max = min(_POLL_MAX, self.ttl / 4)
        delay = _POLL_FIRST
        while True:
            try:
                taken = await self.client.set(self.name, token, nx=True, px=ttl_ms)
            except BaseException:
                # Cancelled (or cut off) after the SET may have landed: a lease nobody holds
                # would block everyone for `ttl`, so delete it if it carries our token.
                _in_background(_release(self.client, self.name, token))
                raise
            if taken:
                break
            now = loop.time()
            if deadline is not None and now >= deadline:
                raise LockTimeoutError(self.label, now - start)
            pause = delay * random.uniform(0.5, 1.0)  # jitter: waiters do not poll in step
            if deadline is not None:
                pause = min(pause, deadline - now)
            await asyncio.sleep(pause)
            delay = min(delay * 2, poll_max)
        self._token = token
        self._lost = False
        self._stop = asyncio.Event()
        self._renewal = loop.create_task(
            self._renew(token, self._stop), name=f"ghl-lease-renew:{self.name}"
        )

    async def release(self) -> bool:
        """Stop renewing and delete the key if it is still ours; return whether it was.

        A failure to reach Redis is logged, not raised: the lease then simply expires.
        """
        token, self._token = self._token, None
        renewal, self._renewal = self._renewal, None
        self._stop.set()
        if renewal is not None:
            renewal.cancel()
        released: bool | None = False
        if token is not None:
            # Shielded: a caller cancelled while leaving must not leave the lease to expire. A
            # renewal still in flight cannot resurrect the key: it extends only our own token.
            released = await asyncio.shield(
                asyncio.ensure_future(_release(self.client, self.name, token))
            )
        if renewal is not None:
            await asyncio.gather(renewal, return_exceptions=True)
        if token is None:
            return False
        if released is None:
            return False  # Redis unreachable (logged): the lease expires by itself
        if not released:
            self._lost = True
            log.warning(
                "lease %s had expired or passed to another holder before release", self.label
            )
        return released

    async def __aenter__(self) -> RedisLease:
        await self.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self.release()

    async def _renew(self, token: str, stop: asyncio.Event) -> None:
        # `stop` as well as cancel(): a cancellation landing inside the client's I/O can come
        # out as a connection error (or not at all), and this loop must end all the same.
        extend = self.client.register_script(_EXTEND)
        interval = self.ttl / 3
        ttl_ms = _millis(self.ttl)
        while not stop.is_set():
            await asyncio.sleep(interval)
            if stop.is_set():
                return
            try:
                extended = await extend(keys=[self.name], args=[token, ttl_ms])
            except Exception as err:
                if stop.is_set():
                    return
                # Keep trying: the lease survives outages shorter than what is left of it.
                log.warning("could not renew lease %s: %s", self.label, type(err).__name__)
                continue
            if not extended and not stop.is_set():
                self._lost = True
                log.warning(
                    "lease %s expired or passed to another holder while held "
                    "(paused longer than its %.1fs?)",
                    self.label,
                    self.ttl,
                )
                return


def check_timing(ttl: float, wait: float | None) -> None:
    """Validate a lease's ``ttl`` and ``wait``.

    Raises:
        ConfigError: ``ttl`` is not positive, or ``wait`` is negative.
    """
    if not ttl > 0:
        raise ConfigError("the lease ttl must be a positive number of seconds")
    if wait is not None and not wait >= 0:
        raise ConfigError("wait must be >= 0 seconds (or None to wait without limit)")


def _millis(seconds: float) -> int:
    return max(1, round(seconds * 1000))


async def _release(client: Redis, name: str, token: str) -> bool | None:
    """Delete ``name`` if it holds ``token``; ``None`` when Redis could not be asked."""
    try:
        return bool(await client.register_script(_RELEASE)(keys=[name], args=[token]))
    except Exception as err:
        log.warning("could not release lease %s: %s", name, type(err).__name__)
        return None


def _in_background(work: Coroutine[object, object, bool | None]) -> None:
    task: asyncio.Task[None] = asyncio.ensure_future(_discard(work))
    _BACKGROUND.add(task)
    task.add_done_callback(_BACKGROUND.discard)


async def _discard(work: Coroutine[object, object, bool | None]) -> None:
    await work

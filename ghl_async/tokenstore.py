"""OAuth tokens at rest: the :class:`Token` model, the :class:`TokenStore` protocol and two stores.

HighLevel refresh tokens rotate: each refresh spends the old one. So a store must always hold the
newest pair, and two refreshers (tasks or processes) must never spend the same refresh token.
``TokenStore.lock(key)`` is that exclusion; :class:`~ghl_async.auth.OAuthApp` takes it, re-loads
the token (someone else may have refreshed meanwhile) and saves the new pair before releasing it.

Keys are opaque strings; ``OAuthApp`` uses ``"location:<id>"`` and ``"company:<id>"``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable

import msgspec

from ghl_async.errors import ConfigError

# fcntl is POSIX-only; importing it lazily keeps ghl_async importable on Windows, where
# FileTokenStore refuses to start and users bring their own TokenStore.
if sys.platform != "win32":
    import fcntl

__all__ = ["FileTokenStore", "MemoryTokenStore", "Token", "TokenStore"]

_REDACTED = "<redacted>"


class Token(msgspec.Struct, frozen=True, kw_only=True):
    """An OAuth access token, its refresh token and what HighLevel said about them.

    ``expires_at`` is in epoch seconds (``None``: unknown, never refreshed early). ``user_type`` is
    ``"Location"`` or ``"Company"``. ``repr()`` and ``str()`` never show the token values.
    """

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None
    scope: str = ""
    user_type: str | None = None
    location_id: str | None = None
    company_id: str | None = None
    user_id: str | None = None

    def expires_within(self, seconds: float, *, now: float | None = None) -> bool:
        """Tell whether the access token expires in less than ``seconds`` from ``now``."""
        if self.expires_at is None:
            return False
        return self.expires_at - (time.time() if now is None else now) < seconds

    def __repr__(self) -> str:
        return (
            f"Token(user_type={self.user_type!r}, location_id={self.location_id!r}, "
            f"company_id={self.company_id!r}, user_id={self.user_id!r}, "
            f"expires_at={self.expires_at!r}, scope={self.scope!r}, "
            f"access_token={_REDACTED}, "
            f"refresh_token={_REDACTED if self.refresh_token else None})"
        )

    __str__ = __repr__

    def __rich_repr__(self) -> list[tuple[str, object]]:
        # msgspec's default __rich_repr__ would hand every field, tokens included, to rich.
        return [
            ("user_type", self.user_type),
            ("location_id", self.location_id),
            ("company_id", self.company_id),
            ("expires_at", self.expires_at),
        ]


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens live between refreshes and between processes.

    Implement it over your database to share tokens across machines; ``lock(key)`` must then
    exclude every other holder of the same key (a row lock, an advisory lock, a Redis lock).
    """

    async def load(self, key: str) -> Token | None:
        """Return the token saved under ``key``, or ``None``."""
        ...

    async def save(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key``, replacing any previous one."""
        ...

    async def delete(self, key: str) -> None:
        """Forget ``key``; no error when it is absent."""
        ...

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold ``key`` exclusively (across processes, where the store is shared) while inside."""
        ...


class MemoryTokenStore:
    """Tokens in a dict: for tests, scripts and one-process apps that re-authorise on restart.

    A rotated refresh token dies with the process, so use a persistent store in production.
    """

    def __init__(self) -> None:
        self._tokens: dict[str, Token] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self, key: str) -> Token | None:
        """Return the token saved under ``key``, or ``None``."""
        return self._tokens.get(key)

    async def save(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key``."""
        self._tokens[key] = token

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        self._tokens.pop(key, None)

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold ``key`` exclusively within this process."""
        return _hold(self._locks.setdefault(key, asyncio.Lock()))

    def __repr__(self) -> str:
        return f"MemoryTokenStore(keys={len(self._tokens)})"


@contextlib.asynccontextmanager
async def _hold(lock: asyncio.Lock) -> AsyncIterator[None]:
    async with lock:
        yield


class _Tokens(msgspec.Struct, kw_only=True):
    version: int = 1
    tokens: dict[str, Token] = msgspec.field(default_factory=dict)


_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(_Tokens)

# Polling, not a blocking flock in a thread: a cancelled waiter must not leave a thread that
# later acquires the lock for nobody.
_LOCK_POLL_FIRST = 0.002
_LOCK_POLL_MAX = 0.05


class FileTokenStore:
    """Tokens in one JSON file (mode 0600), safe to share between processes on one machine.

    Every write replaces the file atomically (temp file, fsync, ``os.replace``) under an ``flock``
    on ``<path>.lock``, so readers see the old or the new file, never half of one. ``lock(key)``
    takes an ``flock`` on a per-key file in ``<path>.locks/``, so two processes never refresh the
    same token at once while different locations refresh in parallel. POSIX only (``fcntl``).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        if sys.platform == "win32":  # pragma: no cover - POSIX CI
            raise ConfigError("FileTokenStore needs POSIX file locks; implement TokenStore instead")
        self.path = Path(path)
        if self.path.is_dir():
            raise ConfigError(f"FileTokenStore path {str(self.path)!r} is a directory")
        self._write_lock_path = self.path.with_name(self.path.name + ".lock")
        self._key_lock_dir = self.path.with_name(self.path.name + ".locks")
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self, key: str) -> Token | None:
        """Return the token saved under ``key``, or ``None``."""
        tokens = await asyncio.to_thread(self._read)
        return tokens.tokens.get(key)

    async def save(self, key: str, token: Token) -> None:
        """Store ``token`` under ``key`` (atomic replace of the whole file)."""
        await asyncio.to_thread(self._update, key, token)

    async def delete(self, key: str) -> None:
        """Forget ``key``."""
        await asyncio.to_thread(self._update, key, None)

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold ``key`` exclusively across every task and process using this file."""
        return self._lock(key)

    @contextlib.asynccontextmanager
    async def _lock(self, key: str) -> AsyncIterator[None]:
        async with self._locks.setdefault(key, asyncio.Lock()):
            digest = hashlib.sha256(key.encode()).hexdigest()[:32]
            self._key_lock_dir.mkdir(mode=0o700, exist_ok=True)
            fd = os.open(self._key_lock_dir / digest, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                delay = _LOCK_POLL_FIRST
                while not _try_flock(fd):
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, _LOCK_POLL_MAX)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def _read(self) -> _Tokens:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return _Tokens()
        if not data.strip():
            return _Tokens()
        try:
            return _DECODER.decode(data)
        except msgspec.DecodeError as err:
            # The file's content may hold tokens: name the file, never quote it.
            raise ConfigError(f"token file {str(self.path)!r} is not a valid token file") from err

    def _update(self, key: str, token: Token | None) -> None:
        fd = os.open(self._write_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            tokens = self._read()
            if token is None:
                if tokens.tokens.pop(key, None) is None:
                    return
            else:
                tokens.tokens[key] = token
            self._write(_ENCODER.encode(tokens))
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def _write(self, data: bytes) -> None:
        directory = self.path.parent
        # mkstemp creates the file with mode 0600, so tokens are never readable by others.
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(directory)

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as err:
        if err.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; some filesystems refuse to fsync a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platform dependent
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)

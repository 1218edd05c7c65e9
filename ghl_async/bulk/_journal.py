"""The sync journal: one JSON line per finished record, so a rerun skips what is done.

A record is done when HighLevel accepted its upsert (and, for business syncs, the bulk call
that attached it). The journal remembers *what* was sent, not just *which* record: an entry
holds the record's key and a hash of the upsert body, and a record is skipped only when the
last body sent for its key is the same. Edit a row and rerun, and that row is sent again; a
key that appears twice with different data is sent again in input order, so the contact ends
up as the last row says.

Lines are appended and flushed one at a time (``fsync=True`` also forces them to disk), so a
crash loses at most the line being written; a torn last line is ignored when the journal is
read back. Failed records are written too, for the record, but never count as done.

The file is guarded: one run at a time holds an exclusive lock on it (a second run fails at
once, naming the first one's process id); a file that does not start with a journal header is
never written to; new journals are readable by their owner only (they hold emails and phone
numbers); and each run's header records the input and mapping it was started with, so a run
with another mapping (or input) is refused unless forced.

What a sync needs from a journal is small: :meth:`Journal.last` (the hash last accepted for a
key), :meth:`Journal.record` (append an entry) and :meth:`Journal.close`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import stat
import sys
from pathlib import Path
from typing import IO, Final, Literal

import msgspec

from ghl_async.bulk._filelock import try_lock
from ghl_async.errors import ConfigError
from ghl_async.models import UpsertContact

__all__ = ["Journal", "JournalEntry", "JournalLockedError", "Status", "body_hash"]

log = logging.getLogger("ghl_async.bulk")

Status = Literal["created", "updated", "failed", "invalid"]
DONE: Final = frozenset({"created", "updated"})
_ENCODER = msgspec.json.Encoder()
_MAGIC: Final = b'{"journal":"ghl_async.bulk"'
_VERSION: Final = 2  # 2: headers carry pid, input and mapping; entries are unchanged
_KNOWN_VERSIONS: Final = frozenset({1, 2})


class JournalLockedError(ConfigError):
    """Another run holds the journal. ``pid`` is its process id, when its header says it."""

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


class JournalEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One line of the journal."""

    k: str  # the record's key (email:..., phone:..., col:..., hash:...)
    s: Status
    i: int  # index of the record in its input
    h: str = ""  # hash of the upsert body sent
    id: str | None = None  # the contact id HighLevel returned
    e: str | None = None  # the failure reason
    line: int | None = None  # the line the record starts on in its file


class _Header(msgspec.Struct, kw_only=True, omit_defaults=True):
    journal: str
    version: int
    started: str
    pid: int
    input: str | None = None
    mapping: str | None = None


class _Line(msgspec.Struct, kw_only=True):
    """Any line, read back: an entry, or the header each run starts with."""

    k: str = ""
    s: str = ""
    h: str = ""
    id: str | None = None
    journal: str | None = None
    version: int | None = None
    started: str | None = None
    pid: int | None = None
    input: str | None = None
    mapping: str | None = None


_LINE = msgspec.json.Decoder(_Line)


def body_hash(body: UpsertContact) -> str:
    """A short, stable digest of what an upsert sends."""
    return hashlib.sha256(_ENCODER.encode(body)).hexdigest()[:20]


class Journal:
    """An append-only JSON-lines file of finished records, locked while a run uses it.

    Opening it takes the lock, reads what earlier runs finished and writes this run's header;
    :meth:`is_done` answers from earlier runs and this run's entries. Use as a context
    manager, or call :meth:`close` (which releases the lock).

    Args:
        path: the journal file; created (mode 0600) if missing.
        fsync: force every line to disk, not just to the operating system.
        input_id: what is being imported (a file's absolute path); see ``force``.
        mapping_id: which mapping (:attr:`ContactMapping.fingerprint`); see ``force``.
        force: use the journal even though its last run named another input or mapping.

    Raises:
        JournalLockedError: another run holds the journal.
        ConfigError: the file cannot be opened, is not a journal, has an unknown version, or
            was last used with another input or mapping (and not ``force``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: bool = False,
        input_id: str | None = None,
        mapping_id: str | None = None,
        force: bool = False,
    ) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._last: dict[str, str] = {}  # key -> hash of the last body accepted for it
        self._contacts: dict[str, str] = {}
        self.previous = 0  # records (keys) done in earlier runs
        self._file = self._open()
        try:
            self._lock()
            last = self._read()
            self._check_binding(last, input_id, mapping_id, force)
            self._tighten()
            if self._file.tell() > 0 and not self._ends_with_newline():
                # A crash tore the last line; start ours on a fresh one.
                self._file.write(b"\n")
            header = _Header(
                journal="ghl_async.bulk",
                version=_VERSION,
                started=dt.datetime.now(dt.timezone.utc).isoformat(),
                pid=os.getpid(),
                input=input_id,
                mapping=mapping_id,
            )
            self._write(_ENCODER.encode(header))
        except BaseException:
            self._file.close()
            raise

    def _open(self) -> IO[bytes]:
        flags = os.O_RDWR | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except IsADirectoryError as err:
            raise ConfigError(f"{self.path}: cannot read journal: {err.strerror}") from None
        except OSError as err:
            raise ConfigError(f"{self.path}: cannot open journal: {err.strerror}") from None
        return os.fdopen(fd, "a+b")

    def _lock(self) -> None:
        try:
            locked = try_lock(self._file.fileno())
        except OSError as err:
            raise ConfigError(f"{self.path}: cannot lock journal: {err.strerror}") from None
        if locked:
            return
        holder = self._headers()[-1:]
        pid = holder[0].pid if holder else None
        started = holder[0].started if holder else None
        who = f"process {pid}" if pid is not None else "another process"
        since = f", running since {started}" if started else ""
        raise JournalLockedError(
            f"{self.path}: journal in use by {who}{since}; wait for that import to finish, "
            "or give this one another --journal",
            pid,
        )

    def _headers(self) -> list[_Line]:
        """Every run header in the file, oldest first (read without the lock: best effort)."""
        found = []
        self._file.seek(0)
        for line in self._file:
            if line.startswith(_MAGIC):
                try:
                    found.append(_LINE.decode(line))
                except msgspec.DecodeError:
                    continue
        return found

    def _read(self) -> _Line | None:
        """Load the entries; return the last run's header (None for a new journal)."""
        self._file.seek(0)
        first = True
        header: _Line | None = None
        bad = 0
        for number, line in enumerate(self._file, start=1):
            if not line.strip():
                continue
            if first:
                first = False
                if not line.startswith(_MAGIC):
                    raise ConfigError(
                        f"{self.path}: not a ghl_async journal (its first line is not a journal "
                        "header); refusing to write to it - give --journal a new file"
                    )
            try:
                entry = _LINE.decode(line)
            except msgspec.DecodeError:
                bad += 1
                log.warning("%s:%d: unreadable journal line ignored", self.path, number)
                continue
            if entry.journal is not None:
                if entry.version not in _KNOWN_VERSIONS:
                    raise ConfigError(f"{self.path}: journal version {entry.version} is unknown")
                header = entry
            elif entry.s in DONE:
                self._last[entry.k] = entry.h
                if entry.id:
                    self._contacts[entry.k] = entry.id
        self.previous = len(self._last)
        if bad:
            log.warning("%s: %d unreadable line(s) ignored (a torn write?)", self.path, bad)
        self._file.seek(0, os.SEEK_END)
        return header

    def _check_binding(
        self, last: _Line | None, input_id: str | None, mapping_id: str | None, force: bool
    ) -> None:
        if last is None or force:
            return
        changed = []
        if mapping_id is not None and last.mapping is not None and last.mapping != mapping_id:
            changed.append("another mapping (its rules changed, or it is another file)")
        if input_id is not None and last.input is not None and last.input != input_id:
            changed.append(f"another input ({last.input}, not {input_id})")
        if changed:
            raise ConfigError(
                f"{self.path}: this journal was last used with {' and '.join(changed)}; "
                "use a new journal for a new import, or --force (force=True) to go on with "
                "this one (records are still sent again only where their data changed)"
            )

    def _tighten(self) -> None:
        # Journals written before 0.2 were 0644; they hold emails and phone numbers.
        if sys.platform == "win32":  # pragma: no cover - POSIX CI
            return
        try:
            mode = os.fstat(self._file.fileno()).st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                os.fchmod(self._file.fileno(), 0o600)
        except OSError:  # pragma: no cover - someone else's file we may append to
            log.warning("%s: could not make the journal private (mode 0600)", self.path)

    def _ends_with_newline(self) -> bool:
        self._file.seek(-1, os.SEEK_END)
        ends = self._file.read(1) == b"\n"
        self._file.seek(0, os.SEEK_END)
        return ends

    def is_done(self, key: str, digest: str) -> bool:
        """Whether the last body accepted for ``key`` has this hash."""
        return self._last.get(key) == digest

    def last(self, key: str) -> str | None:
        """The hash of the last body accepted for ``key``, if any."""
        return self._last.get(key)

    def contact_id(self, key: str) -> str | None:
        """The contact id last recorded for ``key``."""
        return self._contacts.get(key)

    def record(self, entry: JournalEntry) -> None:
        """Append one entry and flush it (and fsync it, if asked)."""
        if entry.s in DONE:
            self._last[entry.k] = entry.h
            if entry.id:
                self._contacts[entry.k] = entry.id
        self._write(_ENCODER.encode(entry))

    def _write(self, line: bytes) -> None:
        self._file.write(line + b"\n")
        self._file.flush()
        if self.fsync:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        """Close the file and release the lock (idempotent)."""
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, done={len(self._last)})"

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
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
from pathlib import Path
from typing import IO, Final, Literal

import msgspec

from ghl_async.errors import ConfigError
from ghl_async.models import UpsertContact

__all__ = ["Journal", "JournalEntry", "Status", "body_hash"]

log = logging.getLogger("ghl_async.bulk")

Status = Literal["created", "updated", "failed", "invalid"]
DONE: Final = frozenset({"created", "updated"})
_ENCODER = msgspec.json.Encoder()


class JournalEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One line of the journal."""

    k: str  # the record's key (email:..., phone:..., col:..., hash:...)
    s: Status
    i: int  # index of the record in its input
    h: str = ""  # hash of the upsert body sent
    id: str | None = None  # the contact id HighLevel returned
    e: str | None = None  # the failure reason


class _Header(msgspec.Struct, kw_only=True):
    journal: str
    version: int
    started: str


class _Line(msgspec.Struct, kw_only=True):
    """Any line, read back: an entry, or the header each run starts with."""

    k: str = ""
    s: str = ""
    h: str = ""
    id: str | None = None
    journal: str | None = None
    version: int | None = None


_LINE = msgspec.json.Decoder(_Line)


def body_hash(body: UpsertContact) -> str:
    """A short, stable digest of what an upsert sends."""
    return hashlib.sha256(_ENCODER.encode(body)).hexdigest()[:20]


class Journal:
    """An append-only JSON-lines file of finished records.

    Opening it reads what earlier runs finished; :meth:`is_done` answers from that and from
    this run's entries. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._last: dict[str, str] = {}  # key -> hash of the last body accepted for it
        self._contacts: dict[str, str] = {}
        self.previous = 0  # records (keys) done in earlier runs
        self._read()
        try:
            self._file: IO[bytes] = self.path.open("ab")
        except OSError as err:
            raise ConfigError(f"{self.path}: cannot open journal: {err.strerror}") from None
        if self._file.tell() > 0 and not self._ends_with_newline():
            # A crash tore the last line; start ours on a fresh one.
            self._file.write(b"\n")
        header = _Header(
            journal="ghl_async.bulk",
            version=1,
            started=dt.datetime.now(dt.timezone.utc).isoformat(),
        )
        self._write(_ENCODER.encode(header))

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as f:
            f.seek(-1, os.SEEK_END)
            return f.read(1) == b"\n"

    def _read(self) -> None:
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return
        except OSError as err:
            raise ConfigError(f"{self.path}: cannot read journal: {err.strerror}") from None
        bad = 0
        with handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    entry = _LINE.decode(line)
                except msgspec.DecodeError:
                    bad += 1
                    log.warning("%s:%d: unreadable journal line ignored", self.path, number)
                    continue
                if entry.journal is not None and entry.version != 1:
                    raise ConfigError(f"{self.path}: journal version {entry.version} is unknown")
                if entry.s in DONE:
                    self._last[entry.k] = entry.h
                    if entry.id:
                        self._contacts[entry.k] = entry.id
        self.previous = len(self._last)
        if bad:
            log.warning("%s: %d unreadable line(s) ignored (a torn write?)", self.path, bad)

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
        """Close the file (idempotent)."""
        if not self._file.closed:
            self._file.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r}, done={len(self._last)})"

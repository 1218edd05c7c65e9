"""Record files for an import: CSV, JSON lines and JSON arrays, read with where each record is.

Every record comes out as a :class:`SourceRecord`: its data, its index, the physical line it
starts on (CSV: the header is line 1 and a quoted line break counts; JSON lines: the line) and
its text as read (for a rejects file). A record that cannot be read - a row with more or fewer
cells than the header, a line that is not a JSON object, a value over the size limit - still
comes out, with ``problem`` saying why, so an import reports it on its line and carries on.

Problems of the whole file raise :class:`~ghl_async.errors.ConfigError`: bytes that are not in
the encoding (with their offset), no CSV header, a record larger than ``max_record`` (nearly
always an unclosed quote swallowing the rest of the file). :meth:`RecordSource.check` reads the
file once to find them before anything is sent.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final, Literal, TextIO

from ghl_async.errors import ConfigError

__all__ = [
    "RecordKind",
    "RecordSource",
    "SourceLimits",
    "SourceRecord",
    "SourceSummary",
    "record_kind",
]

RecordKind = Literal["csv", "jsonl", "json"]
"""A records file's format: CSV with a header, JSON lines, or one JSON array of objects."""

_SUFFIXES: Final[dict[str, RecordKind]] = {
    "csv": "csv",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "json": "json",
}
_CHUNK: Final = 1 << 16
_MAX_DIGITS: Final = 100  # longer integers are not data anyone imports (and cost time to parse)
_MAX_DEPTH: Final = 64
_MAX_COLUMNS: Final = 10_000  # distinct JSON key paths remembered for the column check


@dataclass(frozen=True, slots=True)
class SourceLimits:
    """Size limits, in characters: a value, and a whole record (a CSV row or a JSON line)."""

    max_field: int = 131_072
    max_record: int = 1_048_576

    def __post_init__(self) -> None:
        if self.max_field < 1 or self.max_record < 1:
            raise ConfigError("size limits must be at least 1 character")


class SourceRecord(Mapping[str, object]):
    """One record of a file: a read-only mapping of its columns, plus where it came from.

    ``index`` counts records from 0, ``line`` is the physical line the record starts on,
    ``raw`` its text as read. ``problem`` says why the record could not be read (then the
    data holds what could be); ``problem_column`` names the column at fault, if one is.
    """

    __slots__ = ("_data", "index", "line", "problem", "problem_column", "raw")

    def __init__(
        self,
        data: Mapping[str, object],
        *,
        index: int,
        line: int,
        raw: str = "",
        problem: str | None = None,
        problem_column: str | None = None,
    ) -> None:
        self._data = data
        self.index = index
        self.line = line
        self.raw = raw
        self.problem = problem
        self.problem_column = problem_column

    def __getitem__(self, key: str) -> object:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        # Keys only: the values are people's data.
        state = f", problem={self.problem!r}" if self.problem else ""
        return f"SourceRecord(line={self.line}, columns={list(self._data)!r}{state})"


@dataclass(frozen=True, slots=True)
class SourceSummary:
    """What a full read of the file found (see :meth:`RecordSource.check`)."""

    records: int
    problems: int
    columns: tuple[str, ...]


def record_kind(path: str) -> RecordKind:
    """The format of a records file, from its suffix (``-``, standard input, is CSV).

    Raises:
        ConfigError: not .csv, .jsonl, .ndjson or .json.
    """
    if path == "-":
        return "csv"
    kind = _SUFFIXES.get(Path(path).suffix.lower().lstrip("."))
    if kind is None:
        raise ConfigError(f"{path}: records come from .csv, .jsonl, .ndjson or .json files")
    return kind


class _TooLarge(Exception):
    """A record grew past the limit while its lines were being read."""


class _LineFeed:
    """The lines of a text stream, fed to ``csv.reader`` one by one.

    Counts physical lines, keeps the text of the record being read (for the rejects file),
    caps its size, and hides NUL characters from the csv module, which refuses them before
    Python 3.11 (the record's text keeps them, and the record is refused for them).
    """

    def __init__(self, lines: Iterable[str], max_record: int) -> None:
        self._lines = iter(lines)
        self._max = max_record
        self._parts: list[str] = []
        self._size = 0
        self.count = 0
        self.eof = False

    def __iter__(self) -> _LineFeed:
        return self

    def __next__(self) -> str:
        try:
            line = next(self._lines)
        except StopIteration:
            self.eof = True
            raise
        self.count += 1
        self._size += len(line)
        if self._size > self._max:
            raise _TooLarge
        self._parts.append(line)
        return line.replace("\x00", "") if "\x00" in line else line

    def take(self) -> str:
        """The text read since the last call; starts the next record."""
        text = "".join(self._parts)
        self._parts.clear()
        self._size = 0
        return text


def _unclosed_quote(raw: str) -> bool:
    try:
        for _ in csv.reader(io.StringIO(raw, newline=""), strict=True):
            pass
    except csv.Error:
        return True
    return False


class _Unreadable:
    """Stands in for a JSON value we refuse to hold (NaN, a 5,000-digit integer)."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what


def _parse_int(text: str) -> int | _Unreadable:
    digits = len(text.lstrip("-"))
    if digits > _MAX_DIGITS:
        return _Unreadable(f"a number with {digits:,} digits")
    return int(text)


def _parse_float(text: str) -> float | _Unreadable:
    value = float(text)
    return value if math.isfinite(value) else _Unreadable(f"the number {text[:20]} is too large")


def _parse_constant(name: str) -> _Unreadable:
    return _Unreadable(f"{name} is not a number JSON allows")


_DECODER: Final = json.JSONDecoder(
    parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
)


def _kind(value: object) -> str:
    return {list: "a list", str: "a string", bool: "true/false", type(None): "null"}.get(
        type(value), "a number"
    )


def _object_problem(value: object, limits: SourceLimits) -> tuple[str | None, str | None]:
    """Why a decoded JSON value is not a usable record (and the key at fault), or Nones."""
    if not isinstance(value, dict):
        return f"expected a JSON object, got {_kind(value)}", None
    stack: list[tuple[str | None, object, int]] = [(None, value, 0)]
    while stack:
        column, node, depth = stack.pop()
        if depth > _MAX_DEPTH:
            return f"nested deeper than {_MAX_DEPTH} levels", column
        if isinstance(node, _Unreadable):
            return node.what, column
        if isinstance(node, str) and len(node) > limits.max_field:
            return _too_long(column, len(node), limits), column
        if isinstance(node, dict):
            for key, item in node.items():
                stack.append((key if column is None else column, item, depth + 1))
        elif isinstance(node, list):
            stack.extend((column, item, depth + 1) for item in node)
    return None, None


def _too_long(column: str | None, size: int, limits: SourceLimits) -> str:
    where = f"the value of {column!r}" if column is not None else "a value"
    return f"{where} is {size:,} characters long; the limit is {limits.max_field:,}"


def _key_paths(record: Mapping[str, object], into: dict[str, None]) -> None:
    """Add the record's keys, and the dotted paths into nested objects, to ``into``."""
    stack: list[tuple[str, object, int]] = [(key, value, 1) for key, value in record.items()]
    while stack and len(into) < _MAX_COLUMNS:
        path, value, depth = stack.pop(0)
        into.setdefault(path, None)
        if isinstance(value, dict) and depth < 5:
            stack.extend((f"{path}.{key}", item, depth + 1) for key, item in value.items())


class RecordSource:
    """A records file (or standard input, ``"-"``) read as :class:`SourceRecord` objects.

    ::

        source = RecordSource("leads.csv", encoding="cp1252")
        summary = source.check()          # reads it all once: encoding, header, counts
        for record in source:             # then as often as needed, lazily
            print(record.line, record["Email"], record.problem)

    Args:
        path: a .csv, .jsonl/.ndjson or .json file, or ``"-"`` for CSV on standard input.
        kind: the format, when the suffix does not say it.
        encoding: the text encoding; ``utf-8-sig`` reads UTF-8 with or without a BOM.
        limits: the largest value and record accepted.
        stdin: what ``"-"`` reads (default: ``sys.stdin``); read once, kept in memory.

    Raises:
        ConfigError: unknown suffix or encoding.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        kind: RecordKind | None = None,
        encoding: str = "utf-8-sig",
        limits: SourceLimits | None = None,
        stdin: IO[str] | None = None,
    ) -> None:
        self.path = str(path)
        self.name = "<stdin>" if self.path == "-" else self.path
        self.kind: RecordKind = kind or record_kind(self.path)
        try:
            self.encoding = codecs.lookup(encoding).name
        except LookupError:
            raise ConfigError(f"unknown encoding {encoding!r}") from None
        self.limits = limits or SourceLimits()
        self._stdin = stdin
        self._stdin_data: bytes | str | None = None
        self._summary: SourceSummary | None = None
        self.header: tuple[str, ...] = ()
        self.header_raw = ""

    @property
    def identity(self) -> str:
        """What the input is, for binding a journal to it: the absolute path, or ``<stdin>``."""
        return self.name if self.path == "-" else os.path.abspath(self.path)

    @property
    def columns(self) -> tuple[str, ...]:
        """The CSV header, or every key (and nested ``a.b`` path) seen in JSON records.

        Raises:
            ConfigError: as :meth:`check`, which it runs if it has not run yet.
        """
        return self.check().columns

    # -- opening ---------------------------------------------------------------------------

    def _stdin_bytes(self) -> bytes | str:
        if self._stdin_data is None:
            stream = self._stdin or sys.stdin
            buffer = getattr(stream, "buffer", None)
            self._stdin_data = buffer.read() if buffer is not None else stream.read()
        return self._stdin_data

    def _binary(self) -> IO[bytes] | None:
        """The raw bytes, or None when standard input was already text."""
        if self.path == "-":
            data = self._stdin_bytes()
            return io.BytesIO(data) if isinstance(data, bytes) else None
        try:
            return open(self.path, "rb")
        except OSError as err:
            raise ConfigError(f"{self.name}: {err.strerror or err}") from None

    @contextlib.contextmanager
    def _text(self) -> Iterator[TextIO]:
        binary = self._binary()
        if binary is None:
            data = self._stdin_bytes()
            assert isinstance(data, str)
            yield io.StringIO(data, newline="")
            return
        with binary, io.TextIOWrapper(binary, encoding=self.encoding, newline="") as text:
            try:
                yield text
            except UnicodeDecodeError:
                # check() found none: the file changed under us.
                raise ConfigError(
                    f"{self.name}: not {self.encoding} text any more (was it changed?)"
                ) from None

    def _check_encoding(self) -> None:
        binary = self._binary()
        if binary is None:
            return
        decoder = codecs.getincrementaldecoder(self.encoding)(errors="strict")
        offset = lines = 0
        with binary:
            while True:
                chunk = binary.read(_CHUNK)
                try:
                    decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as err:
                    pending = len(err.object) - len(chunk)
                    at = max(offset + err.start - pending, 0)
                    in_chunk = at - offset
                    line = lines + chunk[: max(in_chunk, 0)].count(b"\n") + 1
                    bad = err.object[err.start : err.start + 1]
                    raise ConfigError(self._decode_message(at, line, bad, chunk)) from None
                if not chunk:
                    return
                offset += len(chunk)
                lines += chunk.count(b"\n")

    def _decode_message(self, at: int, line: int, bad: bytes, chunk: bytes) -> str:
        what = f"byte 0x{bad.hex()}" if bad else "the end of the file"
        where = f"at byte offset {at:,}"
        if "16" not in self.encoding and "32" not in self.encoding:
            where += f" (line {line})"
        if at == 0 and chunk[:2] in (b"\xff\xfe", b"\xfe\xff"):
            hint = "it starts with a UTF-16 byte order mark: use the encoding utf-16"
        else:
            hint = (
                "it is in another encoding: files saved by Excel or other Windows programs are "
                "usually cp1252 (--encoding cp1252); latin-1 reads any byte (--encoding latin-1)"
            )
        return f"{self.name}: cannot read {what} {where} as {self.encoding}; {hint}"

    # -- reading ---------------------------------------------------------------------------

    def check(self) -> SourceSummary:
        """Read the whole input once; remember its columns and how many records it holds.

        Raises:
            ConfigError: unreadable file, bytes that are not in the encoding (with their
                offset and line), no CSV header, a record over the size limit, or a JSON
                array that does not parse.
        """
        if self._summary is not None:
            return self._summary
        self._check_encoding()
        records = problems = 0
        keys: dict[str, None] = {}
        for record in self:
            records += 1
            if record.problem is not None:
                problems += 1
            elif self.kind != "csv":
                _key_paths(record, keys)
        columns = self.header if self.kind == "csv" else tuple(keys)
        self._summary = SourceSummary(records=records, problems=problems, columns=columns)
        return self._summary

    def __iter__(self) -> Iterator[SourceRecord]:
        if self.kind == "csv":
            return self._csv()
        if self.kind == "jsonl":
            return self._jsonl()
        return self._json()

    def _csv(self) -> Iterator[SourceRecord]:
        with self._text() as text:
            feed = _LineFeed(text, self.limits.max_record)
            reader = csv.reader(feed)
            try:
                row = self._row(reader, feed)
                while row is not None and not any(cell.strip() for cell in row):
                    feed.take()  # blank lines before the header
                    row = self._row(reader, feed)
            except csv.Error as err:  # pragma: no cover - see the row handler below
                raise ConfigError(f"{self.name}:{feed.count}: unreadable header: {err}") from None
            if row is None:
                raise ConfigError(f"{self.name}: empty file; a CSV import needs a header line")
            self.header = tuple(row)
            self.header_raw = feed.take()
            index = 0
            while True:
                start = feed.count + 1
                problem: str | None = None
                try:
                    row = self._row(reader, feed)
                except csv.Error as err:  # pragma: no cover
                    # Lenient csv (our dialect, newline="", NULs hidden, its size limit lifted)
                    # raises nothing today; should a version start to, one record fails.
                    row, problem = [], f"malformed CSV: {err}"
                if row is None:
                    return
                raw = feed.take()
                if problem is None and not any(cell.strip() for cell in row):
                    continue  # a blank line, or a row of empty cells: no record
                yield self._csv_record(row, index, start, raw, problem, feed)
                index += 1

    def _row(self, reader: Iterator[list[str]], feed: _LineFeed) -> list[str] | None:
        start = feed.count + 1
        # The csv module's own field limit (128 KiB, process-wide) would end the whole read
        # on one long value; ours is checked per record below, so lift its limit just for
        # this call and put it back.
        previous = csv.field_size_limit(self.limits.max_record + 1)
        try:
            return next(reader)
        except StopIteration:
            return None
        except _TooLarge:
            raise ConfigError(
                f"{self.name}:{start}: the record starting on this line is longer than "
                f"{self.limits.max_record:,} characters - an unclosed quote? (If the record "
                "is real, raise the limit: --max-record-size.)"
            ) from None
        finally:
            csv.field_size_limit(previous)

    def _csv_record(
        self,
        row: list[str],
        index: int,
        line: int,
        raw: str,
        problem: str | None,
        feed: _LineFeed,
    ) -> SourceRecord:
        header = self.header
        width = len(header)
        column: str | None = None
        if problem is None and feed.eof and _unclosed_quote(raw):
            problem = f"a quote opened on line {line} is never closed; the row runs to the end"
        if problem is None and "\x00" in raw:
            problem = "the row holds a NUL character (is this a binary file?)"
        if len(row) > width and not any(cell.strip() for cell in row[width:]):
            row = row[:width]  # empty cells after the last column: trailing separators
        if problem is None and len(row) != width:
            hint = (
                "an unquoted comma in a value?"
                if len(row) > width
                else "a line break in an unquoted value, or missing cells?"
            )
            problem = f"the row has {len(row)} cells and the header {width} ({hint})"
        if problem is None:
            for name, cell in zip(header, row, strict=False):
                if len(cell) > self.limits.max_field:
                    problem, column = _too_long(name, len(cell), self.limits), name
                    break
        data = dict(zip(header, row, strict=False))  # a ragged row keeps what lines up
        return SourceRecord(
            data, index=index, line=line, raw=raw, problem=problem, problem_column=column
        )

    def _jsonl(self) -> Iterator[SourceRecord]:
        with self._text() as text:
            index = 0
            for number, line in enumerate(text, start=1):
                if not line.strip():
                    continue
                yield self._json_record(line, index, number, line)
                index += 1

    def _json_record(self, text: str, index: int, line: int, raw: str) -> SourceRecord:
        problem: str | None
        column: str | None = None
        value: object = None
        if len(text) > self.limits.max_record:
            problem = (
                f"the record is {len(text):,} characters long; "
                f"the limit is {self.limits.max_record:,}"
            )
        else:
            try:
                value = _DECODER.decode(text)
            except json.JSONDecodeError as err:
                problem = f"invalid JSON: {err.msg} (column {err.colno})"
            except RecursionError:
                problem = "invalid JSON: nested too deeply"
            else:
                problem, column = _object_problem(value, self.limits)
        data = value if problem is None and isinstance(value, dict) else {}
        return SourceRecord(
            data, index=index, line=line, raw=raw, problem=problem, problem_column=column
        )

    def _json(self) -> Iterator[SourceRecord]:
        with self._text() as handle:
            text = handle.read()
        position = _skip_space(text, 0)
        if position >= len(text) or text[position] != "[":
            raise ConfigError(f"{self.name}: a .json records file holds a list of objects")
        position = _skip_space(text, position + 1)
        line, counted, index = 1, 0, 0
        if position < len(text) and text[position] == "]":
            return
        while True:
            line += text.count("\n", counted, position)
            counted = position
            try:
                _, end = _DECODER.raw_decode(text, position)
            except json.JSONDecodeError as err:
                raise ConfigError(f"{self.name}:{err.lineno}: invalid JSON: {err.msg}") from None
            except RecursionError:
                raise ConfigError(f"{self.name}:{line}: invalid JSON: nested too deeply") from None
            raw = text[position:end]
            yield self._json_record(raw, index, line, raw)
            index += 1
            position = _skip_space(text, end)
            if position < len(text) and text[position] == ",":
                position = _skip_space(text, position + 1)
                continue
            if position < len(text) and text[position] == "]":
                return
            line += text.count("\n", counted, position)
            raise ConfigError(f"{self.name}:{line}: invalid JSON: expected ',' or ']'")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position

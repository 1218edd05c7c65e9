"""Export contacts to JSON lines or CSV while they stream in, at constant memory.

The source is any async iterable of :class:`~ghl_async.models.Contact`, typically the
pagination generator ``ghl.contacts.iter_by_business(...)``: it holds one page at a time, and
each contact is written and dropped before the next, so memory does not grow with the number
of contacts. Writing to a path goes through a temporary file renamed into place at the end, so
an interrupted export never leaves a file that looks complete.

JSON lines carry HighLevel's own camelCase field names. CSV has one column per contact field
named in ``columns`` (headed by its camelCase name); lists of strings (tags) are joined with
``;`` and structured values (custom fields as ``{id: value}``) are written as JSON.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import AsyncIterable, Callable, Sequence
from pathlib import Path
from typing import Final, Literal, TextIO

import msgspec

from ghl_async.errors import ConfigError
from ghl_async.mapping._rules import suggest
from ghl_async.models import Contact, CustomField

__all__ = ["DEFAULT_COLUMNS", "ExportFormat", "export_contacts", "write_contacts"]

ExportFormat = Literal["jsonl", "csv"]

DEFAULT_COLUMNS: Final = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "company_name",
    "address1",
    "city",
    "state",
    "postal_code",
    "country",
    "date_of_birth",
    "source",
    "tags",
    "custom_fields",
    "business_id",
    "date_added",
    "date_updated",
)
"""CSV columns when none are given: the fields most exports want."""

_WIRE_NAMES: Final = {f.name: f.encode_name for f in msgspec.structs.fields(Contact)}
_JSON = msgspec.json.Encoder()


def _check_columns(columns: Sequence[str]) -> list[str]:
    if not columns:
        raise ConfigError("a CSV export needs at least one column")
    for name in columns:
        if name not in _WIRE_NAMES:
            raise ConfigError(f"unknown contact field {name!r}{suggest(name, _WIRE_NAMES)}")
    return list(columns)


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            return ";".join(value)
        if all(isinstance(item, CustomField) for item in value):
            # {"id": value} reads better than a list of {"id", "value"} pairs.
            return _JSON.encode({item.id: item.value for item in value}).decode()
    return _JSON.encode(value).decode()


async def write_contacts(
    contacts: AsyncIterable[Contact],
    out: TextIO,
    *,
    format: ExportFormat = "jsonl",
    columns: Sequence[str] = DEFAULT_COLUMNS,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write every contact to the text stream ``out``; return how many were written.

    ``on_progress`` is called with the running count after each contact.

    Raises:
        ConfigError: unknown format or column (before anything is read).
    """
    if format not in ("jsonl", "csv"):
        raise ConfigError(f"export format must be 'jsonl' or 'csv', not {format!r}")
    count = 0
    if format == "csv":
        names = _check_columns(columns)
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_WIRE_NAMES[name] for name in names)
        async for contact in contacts:
            writer.writerow([_cell(getattr(contact, name)) for name in names])
            count += 1
            if on_progress is not None:
                on_progress(count)
    else:
        async for contact in contacts:
            out.write(_JSON.encode(contact).decode())
            out.write("\n")
            count += 1
            if on_progress is not None:
                on_progress(count)
    return count


def format_for(path: str | os.PathLike[str]) -> ExportFormat:
    """Pick the format from a file name: ``.csv`` is CSV, anything else JSON lines."""
    return "csv" if Path(path).suffix.lower() == ".csv" else "jsonl"


async def export_contacts(
    contacts: AsyncIterable[Contact],
    path: str | os.PathLike[str],
    *,
    format: ExportFormat | None = None,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write every contact to the file ``path`` (format from its suffix unless given).

    The file appears only once the export is complete; an error or a cancellation leaves the
    previous file, if any, untouched.

    Raises:
        ConfigError: unknown format or column, or the directory is not writable.
    """
    target = Path(path)
    chosen = format or format_for(target)
    if chosen == "csv":
        _check_columns(columns)
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise ConfigError(f"{target}: cannot write export: {err.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            count = await write_contacts(
                contacts, out, format=chosen, columns=columns, on_progress=on_progress
            )
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return count

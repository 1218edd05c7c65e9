"""The rejects file: the records an import could not take, as they were, each with its reason.

Fix the rows in it and import it again, with the same mapping: the reason column is one more
column the mapping does not read. A rejects file of a rejects file replaces the old reasons
instead of piling them up.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from ghl_async.errors import ConfigError
from ghl_async.mapping._sources import RecordSource, SourceRecord, record_kind

__all__ = ["REASON_COLUMN", "check_rejects_path", "write_rejects"]

REASON_COLUMN: Final = "import_error"
"""The column (CSV) or key (JSON) that holds why a record was rejected."""


def check_rejects_path(path: str | os.PathLike[str], source: RecordSource) -> None:
    """Refuse a rejects path that cannot be read back like the input, or is the input.

    Raises:
        ConfigError: its suffix names another format, it is the input file itself, or its
            directory is missing or not writable.
    """
    target = str(path)
    kind = record_kind(target)
    if kind != source.kind:
        raise ConfigError(
            f"--rejects {target}: write rejects in the input's format, a .{source.kind} file, "
            "so they can be fixed and imported again"
        )
    if source.path != "-" and Path(target).resolve() == Path(source.path).resolve():
        raise ConfigError(f"--rejects {target}: that is the input file")
    parent = Path(target).resolve().parent
    if not parent.is_dir() or not os.access(parent, os.W_OK):
        # Found now, not after the import: the report of a finished run must not be lost.
        raise ConfigError(f"--rejects {target}: cannot write in {parent}")


def _csv_cell(text: str) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([text])
    return out.getvalue()


def _drop_first_cell(raw: str) -> str:
    """The CSV text after its first cell and separator (the previous rejects reason)."""
    if raw.startswith('"'):
        position = 1
        while True:
            position = raw.find('"', position)
            if position < 0:
                return ""
            if raw.startswith('""', position):
                position += 2
                continue
            break
        comma = raw.find(",", position)
    else:
        comma = raw.find(",")
    return raw[comma + 1 :] if comma >= 0 else ""


def _ending(raw: str) -> str:
    stripped = raw.rstrip("\r\n")
    return raw[len(stripped) :]


def _with_reason_json(record: SourceRecord, reason: str) -> str:
    text = record.raw.strip()
    field = f"{json.dumps(REASON_COLUMN)}: {json.dumps(reason, ensure_ascii=False)}"
    if record.problem is not None or not text.startswith("{"):
        raw = json.dumps(text, ensure_ascii=False)
        return f'{{{field}, "raw": {raw}}}'
    inner = text[1:].lstrip()
    if inner.startswith(json.dumps(REASON_COLUMN)):
        # A rejects file imported again: swap the old reason for the new one.
        try:
            data = json.loads(text)
        except ValueError:  # pragma: no cover - it was read as an object just now
            data = None
        if isinstance(data, dict):
            data.pop(REASON_COLUMN, None)
            inner = json.dumps(data, ensure_ascii=False)[1:].lstrip()
    return f"{{{field}}}" if inner.startswith("}") else f"{{{field}, {inner}"


def write_rejects(
    source: RecordSource, reasons: Mapping[int, str], path: str | os.PathLike[str]
) -> int:
    """Write the records of ``source`` whose index is in ``reasons``, each with its reason.

    CSV: the header line and the rows exactly as they were read, with an ``import_error``
    column in front. JSON lines (and ``.json`` arrays): each record with ``"import_error"`` as
    its first key; a line that is not a JSON object becomes ``{"import_error": ..., "raw":
    "<the line>"}``. The file is written in the input's encoding (JSON without a BOM),
    readable by its owner only (it holds the same personal data as the input). Returns the
    number of records written.

    Raises:
        ConfigError: the file cannot be written, or ``source`` cannot be read again.
    """
    lines: list[str] = []
    count = 0
    for record in source:
        reason = reasons.get(record.index)
        if reason is None:
            continue
        count += 1
        if source.kind == "csv":
            raw = record.raw
            if source.header[:1] == (REASON_COLUMN,):
                raw = _drop_first_cell(raw)
            ending = _ending(raw) or _ending(source.header_raw) or "\r\n"
            lines.append(f"{_csv_cell(reason)},{raw.rstrip(chr(13) + chr(10))}{ending}")
        else:
            lines.append(_with_reason_json(record, reason))
    if source.kind == "csv":
        header = source.header_raw
        if source.header[:1] == (REASON_COLUMN,):
            header = _drop_first_cell(header)
        if not _ending(header):
            header += "\r\n"
        text = f"{REASON_COLUMN},{header}" + "".join(lines)
    elif source.kind == "jsonl":
        text = "".join(line + "\n" for line in lines)
    else:
        text = "[\n" + ",\n".join(lines) + ("\n]\n" if lines else "]\n")
    encoding = source.encoding
    if encoding == "utf-8-sig" and source.kind != "csv":
        encoding = "utf-8"  # a BOM helps Excel open a CSV; JSON tools choke on one
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding=encoding, errors="replace", newline="") as out:
            out.write(text)
    except OSError as err:
        raise ConfigError(f"{path}: cannot write the rejects file: {err.strerror}") from None
    return count

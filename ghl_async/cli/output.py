"""What the CLI prints: JSON (default) or an aligned table, and what its exit codes mean."""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from typing import Literal, TextIO

import msgspec

__all__ = ["ExitCode", "OutputFormat", "emit", "render_table"]

OutputFormat = Literal["json", "table"]


class ExitCode(enum.IntEnum):
    """The process exit status of ``ghl-async``.

    ====  ========================================================================
    0     success
    1     partial failure: the command ran, some records failed (import, bulk)
    2     usage: bad arguments, bad mapping file, missing settings
    3     authentication: no credentials, token refused (401/403), login failed
    4     API error: HighLevel answered with another error (400, 404, 422, 5xx)
    5     quota: rate limit (429) after retries, or stopped near the daily quota
    6     network: no answer (connection refused, reset, timeout)
    70    internal error: a bug in ghl-async; please report it (-vv shows the traceback)
    130   interrupted (Ctrl-C)
    ====  ========================================================================
    """

    OK = 0
    PARTIAL = 1
    USAGE = 2
    AUTH = 3
    API = 4
    QUOTA = 5
    NETWORK = 6
    INTERNAL = 70
    INTERRUPTED = 130


_MAX_CELL = 40


def _plain(value: object) -> object:
    return msgspec.to_builtins(value)


def _cell(value: object, full: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
        text = ", ".join(str(v) for v in value)
    elif isinstance(value, (list, dict)):
        text = msgspec.json.encode(value).decode()
    else:
        text = str(value)
    return text if full or len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def render_table(
    rows: Sequence[Mapping[str, object]],
    columns: Sequence[str] | None = None,
    *,
    full: Collection[str] = (),
) -> str:
    """Align ``rows`` under ``columns`` (default: every key, in order of first appearance).

    Cells are cut at 40 characters, except in the ``full`` columns (a failure's reason).
    """
    if columns is None:
        seen: dict[str, None] = {}
        for row in rows:
            seen.update(dict.fromkeys(row))
        columns = list(seen)
    if not rows or not columns:
        return "(none)"
    cells = [[_cell(row.get(column), column in full) for column in columns] for row in rows]
    widths = [max(len(column), *(len(r[i]) for r in cells)) for i, column in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(line.rstrip() for line in lines)


def emit(
    data: object,
    stream: TextIO,
    *,
    output: OutputFormat = "json",
    columns: Sequence[str] | None = None,
    full: Collection[str] = (),
) -> None:
    """Print ``data`` (Structs, lists of them, dicts) as indented JSON or as a table.

    A table of one object is a two-column field/value listing; of a list, one row per item.
    """
    plain = _plain(data)
    if output == "json":
        stream.write(msgspec.json.format(msgspec.json.encode(plain), indent=2).decode() + "\n")
        return
    if isinstance(plain, list):
        rows = [r if isinstance(r, dict) else {"value": r} for r in plain]
        stream.write(render_table(rows, columns, full=full) + "\n")
    elif isinstance(plain, dict):
        pairs = [
            {"field": k, "value": v} for k, v in plain.items() if columns is None or k in columns
        ]
        stream.write(render_table(pairs, ["field", "value"]) + "\n")
    else:
        stream.write(f"{plain}\n")

"""Turning command-line input into request bodies and record streams."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import msgspec

from ghl_async.errors import ConfigError
from ghl_async.mapping import Record
from ghl_async.mapping import transforms as t
from ghl_async.mapping._rules import suggest
from ghl_async.models import Body

__all__ = ["body_from", "count_records", "parse_rate", "read_records"]

B = TypeVar("B", bound=Body)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip()).lower()


def body_from(kind: type[B], fields: Sequence[str], json_file: str | None, **fixed: object) -> B:
    """Build ``kind`` from ``--json`` (a file or ``-``) and ``--set FIELD=VALUE`` pairs.

    Field names may be snake_case or HighLevel's camelCase; ``tags=a,b`` makes a list;
    ``cf.KEY=VALUE`` sets a custom field by key. ``fixed`` (e.g. the location) fills gaps.

    Raises:
        ConfigError: unknown field, bad value, or unreadable JSON.
    """
    infos = {f.name: f for f in msgspec.structs.fields(kind)}
    wire: dict[str, object] = {}
    if json_file is not None:
        try:
            text = sys.stdin.read() if json_file == "-" else Path(json_file).read_text()
            loaded = json.loads(text)
        except OSError as err:
            raise ConfigError(f"{json_file}: {err.strerror}") from None
        except json.JSONDecodeError as err:
            raise ConfigError(f"{json_file}:{err.lineno}: invalid JSON: {err.msg}") from None
        if not isinstance(loaded, dict):
            raise ConfigError(f"{json_file}: expected a JSON object")
        wire.update(loaded)
    custom: list[dict[str, object]] = []
    for pair in fields:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--set expects FIELD=VALUE, not {pair!r}")
        if name.startswith(("cf.", "customFields.")):
            custom.append({"key": name.split(".", 1)[1], "field_value": value})
            continue
        info = infos.get(_snake(name))
        if info is None:
            raise ConfigError(f"unknown field {name!r}{suggest(_snake(name), infos)}")
        kind_text = str(info.type)
        parsed: object = value
        if "list[str]" in kind_text:
            parsed = [part.strip() for part in value.split(",") if part.strip()]
        elif "bool" in kind_text:
            try:
                parsed = t.boolean()(value)
            except ValueError as err:
                raise ConfigError(f"{name}: {err}") from None
        wire[info.encode_name] = parsed
    if custom:
        existing = wire.get("customFields")
        wire["customFields"] = (list(existing) if isinstance(existing, list) else []) + custom
    for field_name, fixed_value in fixed.items():
        wire_name = infos[field_name].encode_name
        if fixed_value is not None and wire_name not in wire:
            wire[wire_name] = fixed_value
    try:
        return msgspec.convert(wire, kind)
    except msgspec.ValidationError as err:
        raise ConfigError(f"bad body: {err}") from None


def _suffix(path: str) -> str:
    return "csv" if path == "-" else Path(path).suffix.lower().lstrip(".")


def read_records(path: str) -> Iterator[Record]:
    """Yield records from a CSV, JSON-lines (``.jsonl``/``.ndjson``) or JSON-array file.

    CSV and JSON lines are read lazily, one record at a time.

    Raises:
        ConfigError: unreadable file, unknown suffix, or a line that is not a JSON object.
    """
    kind = _suffix(path)
    if kind not in ("csv", "jsonl", "ndjson", "json"):
        raise ConfigError(f"{path}: records come from .csv, .jsonl, .ndjson or .json files")
    try:
        handle = sys.stdin if path == "-" else open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed below
    except OSError as err:
        raise ConfigError(f"{path}: {err.strerror}") from None
    try:
        if kind == "csv":
            yield from csv.DictReader(handle)
        elif kind == "json":
            data = json.load(handle)
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise ConfigError(f"{path}: a .json records file holds a list of objects")
            yield from data
        else:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise ConfigError(f"{path}:{number}: invalid JSON: {err.msg}") from None
                if not isinstance(record, dict):
                    raise ConfigError(f"{path}:{number}: expected a JSON object per line")
                yield record
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}:{err.lineno}: invalid JSON: {err.msg}") from None
    finally:
        if handle is not sys.stdin:
            handle.close()


def count_records(path: str) -> int | None:
    """How many records a file holds (for the progress bar's ETA); ``None`` for stdin."""
    if path == "-":
        return None
    try:
        return sum(1 for _ in read_records(path))
    except ConfigError:
        return None  # the real read reports the problem


def parse_rate(text: str) -> tuple[int, float]:
    """``"100/10"`` -> ``(100, 10.0)``: requests per seconds.

    Raises:
        ConfigError: not ``N/SECONDS`` with positive numbers.
    """
    count, sep, period = text.partition("/")
    try:
        requests, seconds = int(count), float(period)
    except ValueError:
        raise ConfigError(f"rate must look like 100/10 (requests/seconds), not {text!r}") from None
    if not sep or requests < 1 or seconds <= 0:
        raise ConfigError(f"rate must look like 100/10 (requests/seconds), not {text!r}")
    return requests, seconds

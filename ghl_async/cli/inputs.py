"""Turning command-line input into request bodies, and rates into numbers."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

import msgspec

from ghl_async.errors import ConfigError
from ghl_async.mapping import transforms as t
from ghl_async.mapping._rules import suggest
from ghl_async.models import Body

__all__ = ["body_from", "parse_rate"]

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

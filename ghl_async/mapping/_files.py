"""Mapping files: the no-code path. TOML (or JSON) in, a checked :class:`ContactMapping` out.

Every mistake is a :class:`~ghl_async.errors.ConfigError` raised at load time, naming the file,
the line it is on (found by searching the text for the offending key, so "line-ish") and the
key path, with a suggestion when a name is misspelt.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final, NoReturn, TypeVar, cast

from ghl_async.errors import ConfigError
from ghl_async.mapping import transforms as t
from ghl_async.mapping._dates import DateOrder
from ghl_async.mapping._rules import (
    ContactMapping,
    CustomFieldRule,
    FieldRule,
    TagRule,
    suggest,
)

__all__ = ["from_dict", "load"]

_TOP: Final = frozenset(
    [
        "version",
        "location_id",
        "default_country",
        "date_order",
        "full_name",
        "custom_field_prefix",
        "known_custom_fields",
        "require_one_of",
        "match_columns",
        "fields",
        "custom_fields",
        "tags",
    ]
)
_FIELD: Final = frozenset(
    {
        "from",
        "value",
        "default",
        "transforms",
        "required",
        "default_country",
        "country_from",
        "secret",
    }
)
_CUSTOM: Final = _FIELD | {"key", "id"}
_TAG: Final = frozenset({"from", "value", "split", "transforms"})
_TOML_MISSING: Final = (
    "reading a TOML mapping needs Python 3.11+ or the 'tomli' package: "
    "pip install 'ghl-async[toml]' (or write the mapping as JSON)"
)
Path_ = tuple[str | int, ...]
_R = TypeVar("_R", FieldRule, CustomFieldRule, TagRule)


def _toml_loads(text: str) -> dict[str, object]:
    # tomllib is 3.11+; 3.10 needs tomli (the [toml] extra). Imported by name so the module
    # imports everywhere and the error only appears for TOML files.
    for name in ("tomllib", "tomli"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        return cast("dict[str, object]", module.loads(text))
    raise ConfigError(_TOML_MISSING)


class _Reader:
    """Walks a decoded mapping document, failing with file, line and key path."""

    def __init__(self, origin: str, text: str | None) -> None:
        self.origin = origin
        self.lines = text.splitlines() if text is not None else []

    def line_of(self, path: Path_) -> int | None:
        line = 0
        found: int | None = None
        for part in path:
            if isinstance(part, int):
                continue
            pattern = re.compile(rf"(^|[^\w]){re.escape(part)}([^\w]|$)")
            for number in range(line, len(self.lines)):
                if pattern.search(self.lines[number]):
                    line = number
                    found = number + 1
                    break
        return found

    def fail(self, path: Path_, message: str) -> NoReturn:
        line = self.line_of(path)
        where = f"{self.origin}:{line}" if line else self.origin
        keys = ".".join(f"[{p}]" if isinstance(p, int) else p for p in path).replace(".[", "[")
        if not keys or message.startswith(f"{keys}:"):
            raise ConfigError(f"{where}: {message}")
        raise ConfigError(f"{where}: {keys}: {message}")

    # -- typed getters ---------------------------------------------------------------------

    def table(self, value: object, path: Path_) -> Mapping[str, object]:
        if not isinstance(value, Mapping):
            self.fail(path, f"expected a table, got {_kind(value)}")
        return cast("Mapping[str, object]", value)

    def keys(self, table: Mapping[str, object], allowed: frozenset[str], path: Path_) -> None:
        for key in table:
            if key not in allowed:
                self.fail((*path, key), f"unknown key{suggest(key, allowed)}")

    def text(self, value: object, path: Path_) -> str:
        if not isinstance(value, str):
            self.fail(path, f"expected a string, got {_kind(value)}")
        return value

    def texts(self, value: object, path: Path_) -> str | list[str]:
        if isinstance(value, str):
            return value
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return cast("list[str]", value)
        self.fail(path, f"expected a column name or a list of them, got {_kind(value)}")

    def value(self, value: object, path: Path_) -> t.Value:
        if isinstance(value, (str, int, float, bool)):
            return value
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return cast("list[str]", value)
        self.fail(
            path, f"expected a string, number, boolean or list of strings, got {_kind(value)}"
        )

    def boolean(self, value: object, path: Path_) -> bool:
        if not isinstance(value, bool):
            self.fail(path, f"expected true or false, got {_kind(value)}")
        return value


def _kind(value: object) -> str:
    names = {
        dict: "a table",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }
    return names.get(type(value), type(value).__name__)


def _transforms(
    reader: _Reader, value: object, path: Path_, country: str | None, order: DateOrder
) -> list[t.Transform]:
    if not isinstance(value, list):
        reader.fail(path, f"expected a list of transforms, got {_kind(value)}")
    built: list[t.Transform] = []
    for i, spec in enumerate(value):
        if not isinstance(spec, (str, Mapping)):
            reader.fail((*path, i), f"expected a transform name or table, got {_kind(spec)}")
        try:
            built.append(
                t.from_spec(
                    cast("str | Mapping[str, object]", spec),
                    default_country=country,
                    date_order=order,
                )
            )
        except ValueError as err:
            name = spec if isinstance(spec, str) else next(iter(spec), "")
            reader.fail((*path, str(name).partition(":")[0]), str(err))
    return built


def _rule_parts(
    reader: _Reader,
    spec: Mapping[str, object],
    path: Path_,
    country: str | None,
    order: DateOrder,
) -> dict[str, object]:
    parts: dict[str, object] = {}
    if "from" in spec:
        parts["source"] = reader.texts(spec["from"], (*path, "from"))
    for key in ("value", "default"):
        if key in spec:
            parts[key] = reader.value(spec[key], (*path, key))
    if "default_country" in spec:
        country = reader.text(spec["default_country"], (*path, "default_country"))
        parts["default_country"] = country
    if "country_from" in spec:
        parts["country_from"] = reader.texts(spec["country_from"], (*path, "country_from"))
    if "transforms" in spec:
        parts["transforms"] = _transforms(
            reader, spec["transforms"], (*path, "transforms"), country, order
        )
    for key in ("required", "secret"):
        if key in spec:
            parts[key] = reader.boolean(spec[key], (*path, key))
    return parts


def from_dict(
    data: Mapping[str, object], *, origin: str = "<mapping>", text: str | None = None
) -> ContactMapping:
    """Build a mapping from its decoded file form (see ``ghl_async/data/demo_mapping.toml``).

    Raises:
        ConfigError: any mistake, with the key path (and the line, when ``text`` is given).
    """
    r = _Reader(origin, text)
    r.keys(data, _TOP, ())
    version = data.get("version", 1)
    if version != 1:
        r.fail(("version",), f"unsupported mapping version {version!r} (this SDK reads 1)")
    country = (
        r.text(data["default_country"], ("default_country",))
        if ("default_country" in data)
        else None
    )
    order_raw = r.text(data.get("date_order", "MDY"), ("date_order",)).upper()
    if order_raw not in ("MDY", "DMY"):
        r.fail(("date_order",), f"expected 'MDY' or 'DMY', not {order_raw!r}")
    order: DateOrder = "MDY" if order_raw == "MDY" else "DMY"
    match_raw = r.text(data.get("match_columns", "exact"), ("match_columns",)).lower()
    if match_raw not in ("exact", "loose"):
        r.fail(("match_columns",), f"expected 'exact' or 'loose', not {match_raw!r}")

    fields: dict[str, FieldRule | str] = {}
    for name, spec in r.table(data.get("fields", {}), ("fields",)).items():
        path: Path_ = ("fields", name)
        if isinstance(spec, str):
            fields[name] = spec
            continue
        table = r.table(spec, path)
        r.keys(table, _FIELD, path)
        fields[name] = _build(r, path, FieldRule, _rule_parts(r, table, path, country, order))

    custom: list[CustomFieldRule] = []
    raw_custom = data.get("custom_fields", [])
    if isinstance(raw_custom, Mapping):
        # Table form: `[custom_fields] budget = "Budget"` names fields by key.
        for key, spec in raw_custom.items():
            path = ("custom_fields", key)
            table = {"from": spec} if isinstance(spec, str) else r.table(spec, path)
            r.keys(table, _FIELD, path)
            parts = _rule_parts(r, table, path, country, order)
            custom.append(_build(r, path, CustomFieldRule, {**parts, "key": key}))
    elif isinstance(raw_custom, list):
        for i, spec in enumerate(raw_custom):
            path = ("custom_fields", i)
            table = r.table(spec, path)
            r.keys(table, _CUSTOM, path)
            parts = _rule_parts(r, table, path, country, order)
            for key in ("key", "id"):
                if key in table:
                    parts[key] = r.text(table[key], (*path, key))
            custom.append(_build(r, path, CustomFieldRule, parts))
    else:
        r.fail(("custom_fields",), f"expected a table or a list of tables, got {_kind(raw_custom)}")

    tags: list[TagRule | str] = []
    raw_tags = data.get("tags", [])
    if not isinstance(raw_tags, list):
        r.fail(("tags",), f"expected a list, got {_kind(raw_tags)}")
    for i, spec in enumerate(raw_tags):
        path = ("tags", i)
        if isinstance(spec, str):
            tags.append(spec)
            continue
        table = r.table(spec, path)
        r.keys(table, _TAG, path)
        parts = {}
        if "from" in table:
            parts["source"] = r.texts(table["from"], (*path, "from"))
        if "value" in table:
            parts["value"] = r.text(table["value"], (*path, "value"))
        if "split" in table:
            parts["split"] = r.text(table["split"], (*path, "split"))
        if "transforms" in table:
            parts["transforms"] = _transforms(
                r, table["transforms"], (*path, "transforms"), country, order
            )
        tags.append(_build(r, path, TagRule, parts))

    known = data.get("known_custom_fields")
    if known is not None and not (
        isinstance(known, Mapping)
        or (isinstance(known, list) and all(isinstance(k, str) for k in known))
    ):
        r.fail(("known_custom_fields",), "expected a table of key = id, or a list of keys")
    require = data.get("require_one_of", ["email", "phone"])
    if not isinstance(require, list) or not all(isinstance(x, str) for x in require):
        r.fail(("require_one_of",), "expected a list of contact field names")
    prefix = data.get("custom_field_prefix")
    location = data.get("location_id")
    full_name = _full_name(r, data.get("full_name"), country, order)
    try:
        mapping = ContactMapping(
            fields=fields,
            custom_fields=custom,
            tags=tags,
            full_name=full_name,
            custom_field_prefix=r.text(prefix, ("custom_field_prefix",)) if prefix else None,
            known_custom_fields=cast("Mapping[str, str] | list[str] | None", known),
            default_country=country,
            date_order=order,
            require_one_of=cast("list[str]", require),
            location_id=r.text(location, ("location_id",)) if location else None,
            match_columns="loose" if match_raw == "loose" else "exact",
        )
    except ConfigError as err:
        r.fail(_guess_path(str(err), data), str(err))
    mapping.fingerprint = fingerprint(data)
    return mapping


def fingerprint(data: Mapping[str, object]) -> str:
    """A hash of a decoded mapping file: the same rules give the same hash, whatever the
    comments, spacing, key order or format (TOML or JSON)."""
    canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


def _full_name(
    reader: _Reader, spec: object, country: str | None, order: DateOrder
) -> FieldRule | None:
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        return FieldRule(reader.texts(spec, ("full_name",)))
    table = reader.table(spec, ("full_name",))
    reader.keys(table, _FIELD, ("full_name",))
    return _build(
        reader,
        ("full_name",),
        FieldRule,
        _rule_parts(reader, table, ("full_name",), country, order),
    )


def _build(reader: _Reader, path: Path_, kind: type[_R], parts: dict[str, object]) -> _R:
    try:
        return kind(**parts)  # type: ignore[arg-type]  # parts were type-checked one by one
    except TypeError as err:  # pragma: no cover - guarded by the key checks above
        reader.fail(path, str(err))


def _guess_path(message: str, data: Mapping[str, object]) -> Path_:
    """Point a rule-level error at the key it mentions, for the line number."""
    quoted = re.findall(r"'([^']+)'", message)
    for word in quoted:
        for section in ("fields", "custom_fields"):
            block = data.get(section)
            if isinstance(block, Mapping) and word in block:
                return (section, word)
        if word in data:
            return (word,)
    head = message.split(":", 1)[0]
    return (head,) if head in data else ()


def load(path: str | os.PathLike[str]) -> ContactMapping:
    """Load a mapping file: ``.toml`` or ``.json``.

    Raises:
        ConfigError: unreadable file, bad syntax (with its line), or a bad rule.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{file}: cannot read mapping file: {err.strerror}") from None
    suffix = file.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError(f"{file}:{err.lineno}: invalid JSON: {err.msg}") from None
    elif suffix == ".toml":
        try:
            data = _toml_loads(text)
        except ValueError as err:  # TOMLDecodeError says "(at line N, column M)"
            if isinstance(err, ConfigError):
                raise
            raise ConfigError(f"{file}: invalid TOML: {err}") from None
    else:
        raise ConfigError(f"{file}: a mapping file ends in .toml or .json")
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the mapping must be a table/object at the top level")
    return from_dict(data, origin=str(file), text=text)

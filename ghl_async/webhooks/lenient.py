"""The slow path of webhook parsing: make a verified body fit its event class, recording changes.

HighLevel treats every answer but 429 as final, so refusing a verified event because one value
has the wrong shape loses it. :func:`parse <ghl_async.webhooks.events.parse>` tries the strict
decoder first and comes here only when it fails:

* :func:`decode_tree` reads the body as plain JSON values: msgspec first, then the standard
  library for what JSON allows but msgspec refuses (numbers beyond float range or beyond 4,300
  digits; unpaired UTF-16 surrogate escapes, which JavaScript's ``JSON.stringify`` writes for a
  string cut through an emoji). Those values are replaced (recorded). What is not JSON at all
  (syntax, invalid UTF-8, nesting deeper than the interpreter's recursion limit, ``NaN``) raises
  :class:`PayloadError`.
* :func:`fit` builds the struct. A value that fits is kept as is; one that does not is coerced
  where the meaning survives (a number where text is declared becomes its decimal text,
  ``"true"``/``"false"`` and 1/0 become booleans, a numeric string a number, epoch seconds or
  milliseconds a datetime), else dropped (a list item, a map entry) or left at the field's
  default (``None``, ``""``, ``[]``, ``{}``). Each change is a :class:`Repair`.
"""

from __future__ import annotations

import functools
import json
import math
import re
import types
from datetime import datetime, timezone
from typing import Final, Literal, TypeAlias, TypeVar, Union, get_args, get_origin

import msgspec

from ghl_async.models import Wire
from ghl_async.webhooks.errors import PayloadError

__all__ = ["Repair", "RepairAction", "decode_tree", "fit"]

S = TypeVar("S", bound=msgspec.Struct)

RepairAction: TypeAlias = Literal["coerced", "defaulted", "dropped"]


class Repair(Wire, kw_only=True, frozen=True):
    """One change the lenient decoder made so that a verified event fits its class."""

    path: str
    """Where, as a JSON path of wire names: ``$.tags[1]``, ``$.dndSettings.SMS.status``."""
    found: str
    """What arrived there: ``null``, ``string``, ``number``, ``boolean``, ``array``, ``object``,
    ``number out of range`` or ``string with unpaired surrogates`` (never the value itself)."""
    action: RepairAction
    """``coerced``: converted to the declared type. ``dropped``: a list item or map entry
    removed. ``defaulted``: the field left at its default (or, in a raw payload, set to null)."""

    def __str__(self) -> str:
        return f"{self.path}: {self.found} {self.action}"


class _OutOfRange:
    """Stands for a number no float or int can hold, until :func:`_clean` replaces it."""


_OUT_OF_RANGE: Final = _OutOfRange()
_MAX_INT_DIGITS: Final = 4300  # CPython's default int/str limit (3.11+); older ones have none
_SURROGATE: Final = re.compile("[\ud800-\udfff]")
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INTEGER: Final = re.compile(r"-?[0-9]{1,20}")
_EPOCH_MS_FROM: Final = 1e11  # larger epoch numbers are milliseconds (1e11 s is year 5138)


def decode_tree(body: bytes | str) -> tuple[object, list[Repair]]:
    """The body as plain JSON values, plus the repairs made to read it.

    Raises:
        PayloadError: not JSON, not UTF-8, or nested too deeply.
    """
    try:
        return msgspec.json.decode(body), []
    except RecursionError as err:
        raise PayloadError("webhook body is nested too deeply") from err
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        pass  # maybe JSON that msgspec cannot represent: the standard library can
    if isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as err:
            raise PayloadError("webhook body is not valid UTF-8") from err
    else:
        text = body
    try:
        tree = json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except RecursionError as err:
        raise PayloadError("webhook body is nested too deeply") from err
    except ValueError as err:
        raise PayloadError("webhook body is not valid JSON") from err
    repairs: list[Repair] = []
    return _clean(tree, repairs), repairs


def _parse_int(text: str) -> object:
    return _OUT_OF_RANGE if len(text) > _MAX_INT_DIGITS else int(text)


def _parse_float(text: str) -> object:
    value = float(text)
    return value if math.isfinite(value) else _OUT_OF_RANGE


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _clean(tree: object, repairs: list[Repair]) -> object:
    """Replace out-of-range numbers by null and unpaired surrogates by U+FFFD, in place.

    Iterative, so a tree the parser managed to build never overflows the stack here.
    """
    root = _clean_scalar(tree, "$", repairs)
    stack: list[tuple[object, str]] = [(root, "$")]
    while stack:
        container, path = stack.pop()
        if isinstance(container, list):
            for index, item in enumerate(container):
                where = f"{path}[{index}]"
                container[index] = _clean_scalar(item, where, repairs)
                if isinstance(item, (list, dict)):
                    stack.append((item, where))
        elif isinstance(container, dict):
            if any(_SURROGATE.search(key) for key in container):
                fixed = {_SURROGATE.sub("\ufffd", k): v for k, v in container.items()}
                repairs.append(
                    Repair(path=path, found="key with unpaired surrogates", action="coerced")
                )
                container.clear()
                container.update(fixed)
            for key, item in container.items():
                where = _child(path, key)
                container[key] = _clean_scalar(item, where, repairs)
                if isinstance(item, (list, dict)):
                    stack.append((item, where))
    return root


def _clean_scalar(value: object, path: str, repairs: list[Repair]) -> object:
    if value is _OUT_OF_RANGE:
        repairs.append(Repair(path=path, found="number out of range", action="defaulted"))
        return None
    if isinstance(value, str) and _SURROGATE.search(value):
        repairs.append(Repair(path=path, found="string with unpaired surrogates", action="coerced"))
        return _SURROGATE.sub("\ufffd", value)
    return value


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if _IDENTIFIER.fullmatch(key) else f"{path}[{json.dumps(key)}]"


def _kind(value: object) -> str:
    """The JSON kind of a decoded value, for repair records and messages (never the value)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__  # pragma: no cover - decoded JSON has no other kinds


# --- fitting a tree to a struct ------------------------------------------------------------


class _Unfit:
    """Returned when a value cannot be made to fit; the caller drops it or uses the default."""


_UNFIT: Final = _Unfit()
_NONE_TYPE: Final = type(None)
_REPAIRS_WIRE_NAME: Final = "ghlAsyncRepairs"  # WebhookEvent.repairs: set here, never read


@functools.cache
def _fields(cls: type[msgspec.Struct]) -> tuple[msgspec.structs.FieldInfo, ...]:
    return tuple(f for f in msgspec.structs.fields(cls) if f.encode_name != _REPAIRS_WIRE_NAME)


def fit(tree: dict[str, object], cls: type[S], repairs: list[Repair]) -> S:
    """Build ``cls`` from ``tree``, repairing what does not fit; append each repair.

    Raises:
        msgspec.ValidationError: only if a repair was wrong (a bug), never for the payload.
    """
    fixed = _fit_struct(tree, cls, "$", repairs)
    config = cls.__struct_config__
    if isinstance(config.tag_field, str):
        fixed[config.tag_field] = config.tag
    return msgspec.convert(fixed, cls)


def _fit_struct(
    value: dict[str, object], cls: type[msgspec.Struct], path: str, repairs: list[Repair]
) -> dict[str, object]:
    fixed: dict[str, object] = {}
    for field in _fields(cls):
        if field.encode_name not in value:
            continue
        item = value[field.encode_name]
        where = _child(path, field.encode_name)
        fitted = _fit(item, field.type, where, repairs)
        if fitted is _UNFIT:
            repairs.append(Repair(path=where, found=_kind(item), action="defaulted"))
        else:
            fixed[field.encode_name] = fitted
    return fixed


def _fit(value: object, annotation: object, path: str, repairs: list[Repair]) -> object:
    try:
        msgspec.convert(value, annotation)
    except msgspec.ValidationError:
        return _repair(value, annotation, path, repairs)
    return value


def _repair(value: object, annotation: object, path: str, repairs: list[Repair]) -> object:
    origin = get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        for member in get_args(annotation):
            if member is _NONE_TYPE:
                continue
            attempt: list[Repair] = []
            fitted = _repair(value, member, path, attempt)
            if fitted is not _UNFIT:
                repairs.extend(attempt)
                return fitted
        return _UNFIT
    if origin is list:
        return _repair_list(value, get_args(annotation)[0], path, repairs)
    if origin is dict:
        return _repair_dict(value, get_args(annotation)[1], path, repairs)
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        if isinstance(value, dict):
            return _fit_struct(value, annotation, path, repairs)
        return _UNFIT
    coerced = _coerce_scalar(value, annotation)
    if coerced is not _UNFIT:
        repairs.append(Repair(path=path, found=_kind(value), action="coerced"))
    return coerced


def _repair_list(value: object, item_type: object, path: str, repairs: list[Repair]) -> object:
    if not isinstance(value, list):
        return _UNFIT
    kept: list[object] = []
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        fitted = _fit(item, item_type, where, repairs)
        if fitted is _UNFIT:
            repairs.append(Repair(path=where, found=_kind(item), action="dropped"))
        else:
            kept.append(fitted)
    return kept


def _repair_dict(value: object, item_type: object, path: str, repairs: list[Repair]) -> object:
    if not isinstance(value, dict):
        return _UNFIT
    kept: dict[str, object] = {}
    for key, item in value.items():
        where = _child(path, key)
        fitted = _fit(item, item_type, where, repairs)
        if fitted is _UNFIT:
            repairs.append(Repair(path=where, found=_kind(item), action="dropped"))
        else:
            kept[key] = fitted
    return kept


def _coerce_scalar(value: object, annotation: object) -> object:
    """``value`` converted to the scalar type ``annotation`` where its meaning survives."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        if isinstance(value, int) and number:
            return str(value)
        if isinstance(value, float):
            return repr(value)
    elif annotation is bool:
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if number and value in (0, 1):
            return value == 1
    elif annotation is int:
        if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
            return int(value)
    elif annotation is float:
        if isinstance(value, str):
            try:
                parsed = float(value)
            except ValueError:
                return _UNFIT
            return parsed if math.isfinite(parsed) else _UNFIT
    elif annotation is datetime and isinstance(value, (int, float)) and number:
        seconds = float(value)
        if abs(seconds) >= _EPOCH_MS_FROM:
            seconds /= 1000
        try:
            return datetime.fromtimestamp(seconds, tz=timezone.utc).isoformat()
        except (OverflowError, OSError, ValueError):
            return _UNFIT
    return _UNFIT

"""Fields HighLevel requires although our request models give them a default.

The client's request models may give a field a default (``SearchSort.direction = "asc"``) and
then always send it. HighLevel assumes no such default: a body without the key is refused, e.g.
``422 ["sort.0.direction should not be empty"]``. The fake decodes bodies with the same models,
so without this check a missing key would be silently filled in by the model's default and a
client that forgot to send it would pass against the fake and fail against HighLevel.

:func:`missing_defaults` walks the raw JSON beside the model and names the first such key that
is absent, in class-validator's wording. Defaults HighLevel is known to assume are listed in
:data:`ghl_async.models.SERVER_ASSUMED_DEFAULTS` and may be left out.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import msgspec
from msgspec import inspect as mi

from ghl_async.models import SERVER_ASSUMED_DEFAULTS

__all__ = ["missing_defaults", "needs_check"]


def _structs(tp: mi.Type) -> Iterator[tuple[mi.StructType, bool]]:
    """The Struct types a field of type ``tp`` may hold, and whether inside a list."""
    if isinstance(tp, mi.StructType):
        yield tp, False
    elif isinstance(tp, mi.UnionType):
        for member in tp.types:
            yield from _structs(member)
    elif isinstance(tp, (mi.ListType, mi.TupleType, mi.VarTupleType)):
        item = tp.item_type if not isinstance(tp, mi.TupleType) else None
        if item is not None:
            for struct, _ in _structs(item):
                yield struct, True


def _defaulted(struct: mi.StructType) -> tuple[str, ...]:
    """Wire names of ``struct``'s fields with an ordinary default HighLevel does not assume."""
    return tuple(
        f.encode_name
        for f in struct.fields
        if f.default is not msgspec.NODEFAULT
        and f.default is not msgspec.UNSET
        and (struct.cls.__name__, f.name) not in SERVER_ASSUMED_DEFAULTS
    )


@functools.cache
def needs_check(body: type[msgspec.Struct]) -> bool:
    """Whether ``body`` (or a Struct inside it) has a default HighLevel would not assume."""
    seen: set[type] = set()
    pending = [mi.type_info(body)]
    while pending:
        struct = pending.pop()
        if not isinstance(struct, mi.StructType) or struct.cls in seen:
            continue
        seen.add(struct.cls)
        if _defaulted(struct):
            return True
        for f in struct.fields:
            pending.extend(inner for inner, _ in _structs(f.type))
    return False


def missing_defaults(body: type[msgspec.Struct], raw: object, path: str = "") -> str | None:
    """The first key of ``raw`` (decoded JSON) that ``body`` defaults but HighLevel requires.

    Returns class-validator's message for it (``"sort.0.direction should not be empty"``), or
    ``None`` when every such key is present. ``raw`` is assumed to have decoded as ``body``.
    """
    info = mi.type_info(body)
    assert isinstance(info, mi.StructType)
    return _walk(info, raw, path)


def _walk(struct: mi.StructType, raw: object, path: str) -> str | None:
    if not isinstance(raw, dict):
        return None
    for name in _defaulted(struct):
        if name not in raw:
            return f"{path}{name} should not be empty"
    for f in struct.fields:
        value = raw.get(f.encode_name)
        for inner, in_list in _structs(f.type):
            if in_list and isinstance(value, list):
                for index, item in enumerate(value):
                    found = _walk(inner, item, f"{path}{f.encode_name}.{index}.")
                    if found:
                        return found
            elif not in_list:
                found = _walk(inner, value, f"{path}{f.encode_name}.")
                if found:
                    return found
    return None

"""Stray ``null``\\ s in 2xx answers: read as "absent", where the model has no room for them.

Live HighLevel answers drift from the spec: ``null`` turns up where a string, a list or an
object is promised, list items included (``"customFields": null``, ``"tags": ["a", null]``).
The strict decoder of a route refuses such a body; failing a call (or a bulk record) whose
write was applied because one field came back ``null`` helps nobody. So when the strict decode
fails, the pipeline calls :func:`tolerant`'s second pass: the body is read as plain JSON, every
``null`` the model does not accept is removed (a struct field: left at its default; a list item
or a map entry: dropped), and the result is converted with the same model. Anything else that
does not fit (a missing required field, a string where a number is declared) is still a
``DecodeError``: that is schema drift, and guessing would hide it.

Only ``null``\\ s the model refuses are touched: a field declared ``str | None`` keeps its
``None``, so nothing that decoded before decodes differently now.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Final, TypeVar

import msgspec
import msgspec.inspect as mi

__all__ = ["prune_nulls", "tolerant"]

log = logging.getLogger("ghl_async")

T = TypeVar("T")

_DROP: Final = object()
_SEQUENCES = (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)
_ANY = (mi.AnyType, mi.CustomType)


def _accepts_null(info: mi.Type) -> bool:
    if isinstance(info, (mi.NoneType, *_ANY)):
        return True
    return isinstance(info, mi.UnionType) and any(_accepts_null(t) for t in info.types)


def _container(info: mi.Type, value: object) -> mi.Type | None:
    """The type in ``info`` that describes a JSON object or array ``value``, if any."""
    candidates = info.types if isinstance(info, mi.UnionType) else (info,)
    for candidate in candidates:
        if isinstance(value, dict) and isinstance(candidate, (mi.StructType, mi.DictType)):
            return candidate
        if isinstance(value, list) and isinstance(candidate, _SEQUENCES):
            return candidate
    return None


def _prune(value: object, info: mi.Type) -> object:
    if value is None:
        return None if _accepts_null(info) else _DROP
    container = _container(info, value)
    if isinstance(container, mi.StructType) and isinstance(value, dict):
        fields = {field.encode_name: field.type for field in container.fields}
        pruned: dict[str, object] = {}
        for key, item in value.items():
            kind = fields.get(key)
            kept = item if kind is None else _prune(item, kind)
            if kept is not _DROP:
                pruned[key] = kept
        return pruned
    if isinstance(container, mi.DictType) and isinstance(value, dict):
        entries = ((key, _prune(item, container.value_type)) for key, item in value.items())
        return {key: item for key, item in entries if item is not _DROP}
    if isinstance(container, _SEQUENCES) and isinstance(value, list):
        items = (_prune(item, container.item_type) for item in value)
        return [item for item in items if item is not _DROP]
    return value


def prune_nulls(value: object, target: object) -> object:
    """``value`` (plain JSON) without the ``null``\\ s that type ``target`` has no room for.

    A refused ``null`` in a struct field removes the field (its default applies); in a list or
    a map it removes the item. ``null``\\ s the type accepts, and everything else, stay.
    """
    kept = _prune(value, _info(target))
    return None if kept is _DROP else kept


@functools.lru_cache(maxsize=256)
def _info(target: object) -> mi.Type:
    return mi.type_info(target)


def tolerant(strict: Callable[[bytes], T], target: type[T], name: str) -> Callable[[bytes], T]:
    """``strict``, with a second pass over a body it refused that :func:`prune_nulls` repairs.

    The second pass raises the strict decoder's own ``msgspec.ValidationError`` when pruning
    did not help, so the caller sees the real mismatch.
    """

    def decode(data: bytes) -> T:
        try:
            return strict(data)
        except msgspec.ValidationError as err:
            tree = msgspec.json.decode(data)
            pruned = prune_nulls(tree, target)
            if pruned == tree:
                raise
            try:
                result = msgspec.convert(pruned, target)
            except msgspec.ValidationError:
                raise err from None
            # The field path only: its value could be personal data.
            log.debug("%s: read a null the model has no room for as absent (%s)", name, err)
            return result

    return decode

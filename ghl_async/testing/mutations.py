"""Response mutations: 2xx bodies with fields missing, extra or ``null``, and odd rate headers.

Live HighLevel responses drift from the spec: undocumented fields appear, documented ones are
absent when a record lacks them, and ``null`` turns up where the spec promises a string, list
items included. A client that decodes strictly, or trusts ``int(header)``, breaks on them.

Everything here is pure: the caller passes a seeded :class:`random.Random`, so the same seed and
request order give the same mutations.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping
from typing import Final

import msgspec

__all__ = ["ODD_RATE_LIMIT_VALUES", "mutate_body", "odd_rate_limit_headers"]

ODD_RATE_LIMIT_VALUES: Final = (
    "1e400",  # float() gives inf; int(float()) raises OverflowError
    "Infinity",
    "-Infinity",
    "NaN",  # int(float("NaN")) raises ValueError
    "-5",
    "2.5",
    "\u0661\u0660\u0660",  # Arabic-Indic "100": int() accepts it, a byte parser does not
    "\uff11\uff10\uff10",  # fullwidth "100"
    "1_000",  # int() accepts underscores too
    "",
    "99999999999999999999999999999999",
    "0x64",
)
"""Values a client must survive in ``X-RateLimit-*`` headers (ignore them, never raise)."""
# Names HighLevel's models do not declare, some of them plausible undocumented fields.
_EXTRA_NAMES: Final = (
    "opportunities",
    "profilePhoto",
    "additionalEmails",
    "createdBy",
    "dndReason",
    "validEmail",
    "_internal",
    "fakeUnknownField",
)
_EXTRA_VALUES: Final[tuple[object, ...]] = (
    "surprise",
    42,
    3.5,
    True,
    None,
    [1, "two", None],
    {"nested": {"deeper": [None]}},
    [],
    {},
)

Path = str
_Slot = tuple[dict[str, object] | list[object], str | int, Path]


def _walk(
    node: object,
    path: Path,
    depth: int,
    protect: Collection[str],
    keys: list[_Slot],
    items: list[_Slot],
    objects: list[tuple[dict[str, object], Path]],
) -> None:
    if isinstance(node, dict):
        objects.append((node, path))
        for key, value in node.items():
            child = f"{path}.{key}" if path else key
            if depth > 0 and key not in protect:
                keys.append((node, key, child))
            _walk(value, child, depth + 1, protect, keys, items, objects)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            child = f"{path}[{index}]"
            items.append((node, index, child))
            _walk(value, child, depth + 1, protect, keys, items, objects)


def _inside(path: Path, chosen: Collection[Path]) -> bool:
    return any(path == c or path.startswith((f"{c}.", f"{c}[")) for c in chosen)


def mutate_body(
    body: bytes,
    rng: random.Random,
    *,
    missing: int = 1,
    extra: int = 1,
    nulls: int = 1,
    protect: Collection[str] = ("id",),
) -> tuple[bytes, list[str]]:
    """Apply up to ``missing`` deletions, ``nulls`` nulls and ``extra`` additions to a JSON body.

    Deleted and nulled fields are chosen among the keys of nested objects (the top-level
    envelope keys such as ``contact`` or ``count`` stay, and so do keys named in ``protect``);
    nulls may also replace list items (``"tags": ["a", null]``). Extra fields with values of
    any JSON type go into any object, the top level included. Returns the new body and what
    changed (``"null contact.tags[1]"``, ...). A body that is not JSON is returned unchanged.
    """
    try:
        tree = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body, []
    keys: list[_Slot] = []
    items: list[_Slot] = []
    objects: list[tuple[dict[str, object], Path]] = []
    _walk(tree, "", 0, frozenset(protect), keys, items, objects)
    changes: list[str] = []
    chosen: list[Path] = []
    for count, pool, verb in ((nulls, keys + items, "null"), (missing, keys, "missing")):
        candidates = [slot for slot in pool if not _inside(slot[2], chosen)]
        for container, where, path in rng.sample(candidates, min(count, len(candidates))):
            if _inside(path, chosen):  # under something picked in this same round
                continue
            if verb == "null":
                container[where] = None  # type: ignore[index]  # str key for dicts, int for lists
            else:
                del container[where]  # type: ignore[arg-type]  # only dict slots are in `keys`
            chosen.append(path)
            changes.append(f"{verb} {path}")
    live = [(obj, path) for obj, path in objects if not _inside(path, chosen)]
    for number in range(extra if live else 0):
        target, path = rng.choice(live)
        name = rng.choice(_EXTRA_NAMES)
        while name in target:
            name = f"{name}{number}"
        target[name] = rng.choice(_EXTRA_VALUES)
        changes.append(f"extra {path + '.' if path else ''}{name}")
    return msgspec.json.encode(tree), changes


def odd_rate_limit_headers(headers: Mapping[str, str], rng: random.Random) -> dict[str, str]:
    """``headers`` with every ``X-RateLimit-*`` value replaced by one of the odd values."""
    return {
        name: rng.choice(ODD_RATE_LIMIT_VALUES)
        if name.lower().startswith("x-ratelimit-")
        else value
        for name, value in headers.items()
    }

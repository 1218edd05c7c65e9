"""``POST /contacts/search``: filters, groups, sort and the ``searchAfter`` cursor.

HighLevel documents the body only outside the spec (CONTACTS-API.md §4.3): filters
``{field, operator, value}`` or groups ``{group: AND|OR, filters}``, top-level filters ANDed,
operators ``eq``/``not_eq``/``contains``/``not_contains``/``exists``/``not_exists``/``range``,
values of at most 75 characters, ``sort`` ``[{field, direction}]``, free-text ``query``.
String comparisons are case-insensitive, like the lower-cased fields HighLevel searches on.
Results are cut into pages by ``page``/``pageLimit`` (at most 10,000 records deep) or by the
``searchAfter`` cursor each result carries: its sort values followed by the contact id.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from msgspec import UNSET

from ghl_async import models as m
from ghl_async.testing.edits import parse_iso_datetime
from ghl_async.testing.replies import ApiFailure
from ghl_async.testing.shapes import dob_epoch_ms
from ghl_async.testing.store import ContactRecord

__all__ = ["VALUE_LIMIT", "Predicate", "SearchPlan", "SortKey", "compile_filters", "compile_sort"]

VALUE_LIMIT: Final = 75
Value = str | int | float | bool | list[str] | None
Getter = Callable[[ContactRecord], Value]
Predicate = Callable[[ContactRecord], bool]
SortValue = str | int


def _dob(contact: ContactRecord) -> int | None:
    return dob_epoch_ms(contact.date_of_birth) if contact.date_of_birth else None


_FIELDS: Final[dict[str, Getter]] = {
    "id": lambda c: c.id,
    "firstName": lambda c: c.first_name,
    "firstNameLowerCase": lambda c: c.first_name,
    "lastName": lambda c: c.last_name,
    "lastNameLowerCase": lambda c: c.last_name,
    "contactName": lambda c: c.name,
    "fullNameLowerCase": lambda c: c.name,
    "email": lambda c: c.email,
    "phone": lambda c: c.phone,
    "companyName": lambda c: c.company_name,
    "businessName": lambda c: c.company_name,
    "address": lambda c: c.address1,
    "address1": lambda c: c.address1,
    "city": lambda c: c.city,
    "state": lambda c: c.state,
    "country": lambda c: c.country,
    "postalCode": lambda c: c.postal_code,
    "timezone": lambda c: c.timezone,
    "website": lambda c: c.website,
    "source": lambda c: c.source,
    "type": lambda c: c.contact_type,
    "dnd": lambda c: c.dnd,
    "tags": lambda c: c.tags,
    "followers": lambda c: c.followers,
    "assignedTo": lambda c: c.assigned_to,
    "businessId": lambda c: c.business_id,
    "dateAdded": lambda c: c.added_ms,
    "dateUpdated": lambda c: c.updated_ms,
    "dateOfBirth": _dob,
}
_BY_ID: Final = operator.attrgetter("id")
_DATES: Final = frozenset({"dateAdded", "dateUpdated", "dateOfBirth"})
_NUMERIC: Final = _DATES | {"dnd"}


def _getter(name: str, where: str) -> Getter:
    getter = _FIELDS.get(name)
    if getter is not None:
        return getter
    for prefix in ("customFields.", "customField."):
        if name.startswith(prefix) and len(name) > len(prefix):
            field_id = name[len(prefix) :]
            return lambda c: c.custom_fields.get(field_id)
    raise ApiFailure(422, [f"{where} {name!r} is not a searchable field"])


def _fold(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _as_number(value: object, field: str, where: str) -> float:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, str) and field in _DATES:
        parse_iso_datetime(value, where)
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=dt.timezone.utc)
        return stamp.timestamp() * 1000
    raise ApiFailure(422, [f"{where} must be a number or, for dates, an ISO 8601 string"])


def _check_length(value: object, where: str) -> None:
    values = value if isinstance(value, list) else [value]
    for item in values:
        if isinstance(item, str) and len(item) > VALUE_LIMIT:
            raise ApiFailure(422, [f"{where} must be shorter than or equal to 75 characters"])


def _leaf(item: m.SearchFilter, where: str) -> Predicate:
    if not isinstance(item.field, str) or item.operator is UNSET:
        raise ApiFailure(422, [f"{where} needs field and operator, or group and filters"])
    field = item.field
    get = _getter(field, f"{where}.field")
    operator = item.operator
    value = item.value
    if operator in ("exists", "not_exists"):
        wanted = operator == "exists"
        return lambda c: (get(c) not in (None, "", [])) is wanted
    if value is UNSET:
        raise ApiFailure(422, [f"{where}.value should not be empty"])
    _check_length(value, f"{where}.value")
    if operator == "range":
        if not isinstance(value, dict) or not value or set(value) - {"gt", "gte", "lt", "lte"}:
            raise ApiFailure(422, [f"{where}.value must be an object of gt, gte, lt, lte"])
        bounds = {k: _as_number(v, field, f"{where}.value.{k}") for k, v in value.items()}
        return functools.partial(_in_range, get, bounds)
    if isinstance(value, dict):
        raise ApiFailure(422, [f"{where}.value must be a string, number, boolean or list"])
    if operator in ("eq", "not_eq"):
        wanted_values = {_fold(v) for v in value} if isinstance(value, list) else {_fold(value)}
        match = functools.partial(_equals, get, wanted_values)
    else:
        needle = str(value).lower()
        match = functools.partial(_contains, get, needle)
    if operator.startswith("not_"):
        return lambda c: not match(c)
    return match


def _equals(get: Getter, wanted: set[object], contact: ContactRecord) -> bool:
    value = get(contact)
    if isinstance(value, list):
        return any(_fold(item) in wanted for item in value)
    return _fold(value) in wanted


def _contains(get: Getter, needle: str, contact: ContactRecord) -> bool:
    value = get(contact)
    if isinstance(value, list):
        return any(needle in item.lower() for item in value)
    return value is not None and needle in str(value).lower()


def _in_range(get: Getter, bounds: dict[str, float], contact: ContactRecord) -> bool:
    value = get(contact)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return (
        value > bounds.get("gt", float("-inf"))
        and value >= bounds.get("gte", float("-inf"))
        and value < bounds.get("lt", float("inf"))
        and value <= bounds.get("lte", float("inf"))
    )


def _compile(item: m.SearchFilter, where: str) -> Predicate:
    if item.group is UNSET:
        return _leaf(item, where)
    if not isinstance(item.filters, list) or item.field is not UNSET:
        raise ApiFailure(422, [f"{where}: a group needs filters and no field"])
    parts = [_compile(sub, f"{where}.filters.{i}") for i, sub in enumerate(item.filters)]
    if item.group == "AND":
        return lambda c: all(p(c) for p in parts)
    return lambda c: any(p(c) for p in parts)


def compile_filters(filters: Sequence[m.SearchFilter], query: str | None) -> Predicate | None:
    """One predicate for every filter (ANDed) and the free-text query; None when no filter."""
    parts = [_compile(item, f"filters.{i}") for i, item in enumerate(filters)]
    if query:
        if len(query) > VALUE_LIMIT:
            raise ApiFailure(422, ["query must be shorter than or equal to 75 characters"])
        needle = query.lower()
        parts.append(lambda c: needle in c.text())
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return lambda c: all(p(c) for p in parts)


@dataclass(frozen=True, slots=True)
class SortKey:
    """One sort criterion; numeric keys (dates, dnd) sort missing values as 0, text as ""."""

    get: Getter
    numeric: bool
    descending: bool

    def value(self, contact: ContactRecord) -> SortValue:
        """The contact's value for this key, normalised for comparison."""
        value = self.get(contact)
        if self.numeric:
            return int(value) if isinstance(value, int | float) else 0
        if isinstance(value, list):
            return ",".join(value).lower()
        return str(value).lower() if value is not None else ""


def _cmp(left: SortValue, right: SortValue) -> int:
    if isinstance(left, int) and isinstance(right, int):
        return (left > right) - (left < right)
    return (str(left) > str(right)) - (str(left) < str(right))


class SearchPlan:
    """A sort order over contacts and the cursor arithmetic that goes with it."""

    def __init__(self, keys: list[SortKey]) -> None:
        self._keys = keys  # the contact id breaks ties, ascending

    def cursor(self, contact: ContactRecord) -> list[SortValue]:
        """The ``searchAfter`` value of a contact: its sort values, then its id."""
        values = [key.value(contact) for key in self._keys]
        values.append(contact.id)
        return values

    def sort(self, contacts: list[ContactRecord]) -> list[ContactRecord]:
        """Sort in place by the plan (stable passes, least significant key first)."""
        contacts.sort(key=_BY_ID)
        for key in reversed(self._keys):
            contacts.sort(key=key.value, reverse=key.descending)
        return contacts

    def after(self, contacts: list[ContactRecord], cursor: Sequence[str | int | float]) -> int:
        """Index of the first contact that sorts after ``cursor`` in the sorted ``contacts``."""
        if len(cursor) != len(self._keys) + 1:
            raise ApiFailure(
                422, [f"searchAfter must hold {len(self._keys) + 1} values for this sort"]
            )
        wanted: list[SortValue] = []
        for index, (key, value) in enumerate(zip(self._keys, cursor, strict=False)):
            if key.numeric and isinstance(value, int | float) and not isinstance(value, bool):
                wanted.append(int(value))
            elif not key.numeric and isinstance(value, str):
                wanted.append(value.lower())
            else:
                raise ApiFailure(422, [f"searchAfter.{index} has the wrong type for this sort"])
        wanted.append(str(cursor[-1]))
        order = functools.cmp_to_key(self._compare)
        target = order(wanted)
        return bisect.bisect_right(contacts, target, key=lambda c: order(self.cursor(c)))

    def _compare(self, left: list[SortValue], right: list[SortValue]) -> int:
        for key, a, b in zip(self._keys, left, right, strict=False):
            result = _cmp(a, b)
            if result:
                return -result if key.descending else result
        return _cmp(left[-1], right[-1])


def compile_sort(sort: Sequence[m.SearchSort]) -> SearchPlan:
    """The plan for ``sort``; without one, newest first."""
    if not sort:
        return SearchPlan([SortKey(_FIELDS["dateAdded"], numeric=True, descending=True)])
    keys = [
        SortKey(
            _getter(item.field, f"sort.{i}.field"),
            numeric=item.field in _NUMERIC,
            descending=item.direction == "desc",
        )
        for i, item in enumerate(sort)
    ]
    return SearchPlan(keys)

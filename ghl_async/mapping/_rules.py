"""The declarative description (field, custom-field and tag rules) and how a record is mapped."""

from __future__ import annotations

import datetime as dt
import difflib
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Final

import msgspec

from ghl_async.errors import ConfigError, GHLError
from ghl_async.mapping import transforms as t
from ghl_async.mapping._dates import DateOrder
from ghl_async.mapping._phone import resolve_country
from ghl_async.models import UpsertContact

__all__ = [
    "TARGETS",
    "ContactMapping",
    "CustomFieldRule",
    "FieldRule",
    "MapResult",
    "MappingError",
    "Record",
    "TagRule",
]

Record = Mapping[str, object]
"""One external record: a CSV row, a decoded JSON object, a form submission."""

TransformLike = t.Transform | Callable[[t.Value], t.Value]

# Fields of the upsert body a rule may target; the structured ones have their own rules
# (tags, custom fields) or are not per-record data (location, duplicate policy, DND objects).
_NOT_TARGETS: Final = frozenset(
    {
        "location_id",
        "tags",
        "custom_fields",
        "dnd_settings",
        "inbound_dnd_settings",
        "create_new_if_duplicate_allowed",
    }
)
TARGETS: Final[dict[str, str]] = {
    info.name: info.encode_name
    for info in msgspec.structs.fields(UpsertContact)
    if info.name not in _NOT_TARGETS
}
"""Contact fields a rule can fill: snake_case name -> HighLevel's wire name."""
_BOOL_TARGETS: Final = frozenset({"dnd"})
_E164: Final = re.compile(r"^\+[1-9]\d{6,14}$")
_ISO_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COUNTRY: Final = re.compile(r"^[A-Z]{2}$")
_HONORIFICS: Final = frozenset({"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "rev"})


class MappingError(GHLError, ValueError):
    """A record's value could not be mapped: which record, which contact field, and why.

    ``field`` is the contact field (``"phone"``, ``"customFields.budget"``, ``"tags"``);
    ``column`` the record's column it came from, when there is one. When
    :meth:`ContactMapping.apply` raises, ``errors`` lists every problem of that record.
    """

    def __init__(
        self, record_index: int, field: str, reason: str, *, column: str | None = None
    ) -> None:
        where = f"{field} (column {column!r})" if column and column != field else field
        super().__init__(f"record {record_index}: {where}: {reason}")
        self.record_index = record_index
        self.field = field
        self.reason = reason
        self.column = column
        self.errors: tuple[MappingError, ...] = (self,)


@dataclass(frozen=True, slots=True)
class MapResult:
    """The outcome of mapping one record: an upsert body, or the reasons there is none."""

    index: int
    contact: UpsertContact | None
    errors: tuple[MappingError, ...] = ()

    @property
    def ok(self) -> bool:
        """Whether the record mapped without errors."""
        return self.contact is not None


@dataclass(frozen=True, slots=True)
class FieldRule:
    """Fill one contact field from a column (``source``) or a constant (``value``).

    ``source`` may list several columns: the first non-blank one is used. ``default`` stands in
    for a blank value. ``transforms=None`` means the target's usual chain (``email``: trim and
    check; ``phone``: E.164 in the mapping's default country; ``date_of_birth``: date; others:
    trim). Blank results leave the field out, unless ``required``.
    """

    source: str | Sequence[str] | None = None
    _: KW_ONLY
    value: t.Value | None = None
    default: t.Value | None = None
    transforms: Sequence[TransformLike] | None = None
    required: bool = False


@dataclass(frozen=True, slots=True)
class CustomFieldRule:
    """Fill one custom field, named by its ``key`` (``"favorite_color"``) or its ``id``.

    Values are text unless a transform makes them a number (``number``) or a list (``split``,
    for checkbox and multi-select fields).
    """

    source: str | Sequence[str] | None = None
    _: KW_ONLY
    key: str | None = None
    id: str | None = None
    value: t.Value | None = None
    default: t.Value | None = None
    transforms: Sequence[TransformLike] | None = None
    required: bool = False


@dataclass(frozen=True, slots=True)
class TagRule:
    """Add tags: a constant (``value``), a column's values (``source``, split on ``split``),
    or ``value`` when the ``source`` column says yes (``TagRule("Newsletter", value="news")``).
    """

    source: str | Sequence[str] | None = None
    _: KW_ONLY
    value: str | None = None
    split: str = ","
    transforms: Sequence[TransformLike] | None = None


def normalise_target(name: str) -> str:
    """Accept HighLevel's camelCase names (``dateOfBirth``) as well as snake_case."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip()).lower()


def suggest(name: str, known: Collection[str]) -> str:
    """``" (did you mean 'x'?)"`` when something close is known, else ``""``."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _columns(source: str | Sequence[str] | None) -> tuple[str, ...]:
    if source is None:
        return ()
    return (source,) if isinstance(source, str) else tuple(source)


def _blank(value: object) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or (isinstance(value, str) and not value.strip())
    )


def _lookup(record: Record, column: str) -> object:
    if column in record:
        return record[column]
    # JSON records: "address.city" reaches into nested objects.
    node: object = record
    for part in column.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _as_value(raw: object) -> t.Value:
    if isinstance(raw, (str, int, float, bool)):
        return raw
    if isinstance(raw, (list, tuple)) and all(isinstance(x, (str, int, float)) for x in raw):
        return [str(x) for x in raw]
    raise ValueError(f"unsupported value of type {type(raw).__name__}")


@dataclass(frozen=True, slots=True)
class _Plan:
    """A rule with its columns and transform chain resolved."""

    label: str  # the field name used in errors
    columns: tuple[str, ...]
    value: t.Value | None
    default: t.Value | None
    chain: tuple[TransformLike, ...]
    required: bool

    def run(self, record: Record, index: int) -> tuple[t.Value | None, MappingError | None]:
        column: str | None = None
        raw: object = self.value
        if raw is None:
            for column in self.columns:  # the last one tried names the error
                raw = _lookup(record, column)
                if not _blank(raw):
                    break
        if _blank(raw):
            raw = self.default
        if _blank(raw):
            if self.required:
                what = f"column {column!r}" if column else "value"
                return None, MappingError(index, self.label, f"missing required {what}")
            return None, None
        try:
            value = _as_value(raw)
            for step in self.chain:
                value = step(value)
        except (ValueError, TypeError) as err:
            return None, MappingError(index, self.label, str(err), column=column)
        if _blank(value):
            if self.required:
                return None, MappingError(
                    index, self.label, "blank after transforms", column=column
                )
            return None, None
        return value, None


class ContactMapping:
    """How an external record becomes a contact: field, custom-field and tag rules.

    Build one in Python, or load one with :meth:`from_file` (TOML or JSON, see
    ``ghl_async/data/demo_mapping.toml``). :meth:`map` never raises for bad data: it returns
    the upsert body or the per-field errors; :meth:`apply` raises :class:`MappingError`.

    Args:
        fields: contact field (snake_case or HighLevel's camelCase) -> rule, or just the
            column name.
        custom_fields: custom field rules, by key or id.
        tags: constant tags (strings) and tag rules; tags are deduplicated, in order. On an
            existing contact, HighLevel's upsert *replaces* its tags with these.
        full_name: a column (or rule) split into first and last name when neither is mapped.
        custom_field_prefix: columns named ``<prefix><key>`` fill custom field ``<key>``.
        known_custom_fields: the location's custom field keys (a ``key -> id`` mapping is
            accepted; only the keys are checked): rules naming another key fail at once,
            prefixed columns naming one fail per record.
        default_country: for national phone numbers (ISO code like ``"US"`` or ``"+44"``).
        date_order: how to read numeric dates with the year last (``"MDY"`` or ``"DMY"``).
        require_one_of: a record needs at least one of these (upsert matches on them).
        location_id: the location, unless given to :meth:`map`/:meth:`apply`.

    Raises:
        ConfigError: a rule targets an unknown field, names no source, or is contradictory.
    """

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> ContactMapping:
        """Load a ``.toml`` or ``.json`` mapping file (see :func:`ghl_async.mapping.load`).

        Raises:
            ConfigError: unreadable file, bad syntax, or a bad rule (with file and line).
        """
        from ghl_async.mapping._files import load

        return load(path)

    def __init__(
        self,
        *,
        fields: Mapping[str, FieldRule | str],
        custom_fields: Sequence[CustomFieldRule] = (),
        tags: Sequence[TagRule | str] = (),
        full_name: str | Sequence[str] | FieldRule | None = None,
        custom_field_prefix: str | None = None,
        known_custom_fields: Mapping[str, str] | Collection[str] | None = None,
        default_country: str | None = None,
        date_order: DateOrder = "MDY",
        require_one_of: Sequence[str] = ("email", "phone"),
        location_id: str | None = None,
    ) -> None:
        if default_country is not None:
            try:
                resolve_country(default_country)
            except ValueError as err:
                raise ConfigError(f"default_country: {err}") from None
        if date_order not in ("MDY", "DMY"):
            raise ConfigError(f"date_order must be 'MDY' or 'DMY', not {date_order!r}")
        self.default_country = default_country
        self.date_order: DateOrder = date_order
        self.location_id = location_id
        self.custom_field_prefix = custom_field_prefix or None
        self.known_custom_fields: frozenset[str] | None = (
            None if known_custom_fields is None else frozenset(known_custom_fields)
        )
        self._fields: dict[str, _Plan] = {}
        for name, rule in fields.items():
            target = normalise_target(name)
            if target not in TARGETS:
                raise ConfigError(f"unknown contact field {name!r}{suggest(target, TARGETS)}")
            if target in self._fields:
                raise ConfigError(f"contact field {target!r} is mapped twice")
            field_rule = FieldRule(rule) if isinstance(rule, str) else rule
            self._fields[target] = self._plan(target, field_rule, self._default_chain(target))
        self._custom: list[tuple[dict[str, str], _Plan]] = []
        for custom_rule in custom_fields:
            self._custom.append(self._custom_plan(custom_rule))
        self._tags: list[tuple[TagRule, tuple[TransformLike, ...]]] = []
        for tag in tags:
            tag_rule = TagRule(value=tag) if isinstance(tag, str) else tag
            if tag_rule.value is None and tag_rule.source is None:
                raise ConfigError("a tag rule needs a constant 'value', a 'from' column, or both")
            self._tags.append((tag_rule, tuple(tag_rule.transforms or (t.trim(),))))
        if full_name is None:
            self._full_name: _Plan | None = None
        else:
            name_rule = full_name if isinstance(full_name, FieldRule) else FieldRule(full_name)
            self._full_name = self._plan("name", name_rule, (t.collapse(),))
        unknown = [n for n in require_one_of if normalise_target(n) not in TARGETS]
        if unknown:
            raise ConfigError(f"require_one_of names unknown fields: {', '.join(unknown)}")
        self.require_one_of = tuple(normalise_target(n) for n in require_one_of)

    # -- building --------------------------------------------------------------------------

    def _default_chain(self, target: str) -> tuple[TransformLike, ...]:
        if target == "email":
            return (t.email(),)
        if target == "phone":
            return (t.phone(self.default_country),)
        if target == "date_of_birth":
            return (t.date(order=self.date_order),)
        if target == "country":
            return (t.trim(), t.upper())
        if target in _BOOL_TARGETS:
            return (t.boolean(),)
        return (t.trim(),)

    @staticmethod
    def _plan(
        label: str, rule: FieldRule | CustomFieldRule, chain: tuple[TransformLike, ...]
    ) -> _Plan:
        columns = _columns(rule.source)
        if (rule.value is None) == (not columns):
            raise ConfigError(f"{label}: give either a source column ('from') or a 'value'")
        return _Plan(
            label=label,
            columns=columns,
            value=rule.value,
            default=rule.default,
            chain=chain if rule.transforms is None else tuple(rule.transforms),
            required=rule.required,
        )

    def _custom_plan(self, rule: CustomFieldRule) -> tuple[dict[str, str], _Plan]:
        if (rule.key is None) == (rule.id is None):
            raise ConfigError("a custom field rule names its field by 'key' or by 'id' (one)")
        name = rule.key if rule.key is not None else rule.id
        assert name is not None
        if (
            rule.key is not None
            and self.known_custom_fields is not None
            and rule.key not in self.known_custom_fields
        ):
            hint = suggest(rule.key, self.known_custom_fields)
            raise ConfigError(f"unknown custom field key {rule.key!r}{hint}")
        ident = {"key": rule.key} if rule.key is not None else {"id": name}
        # Numbers and lists from JSON records stay what they are; only text is trimmed.
        return ident, self._plan(f"customFields.{name}", rule, (_TRIM_TEXT,))

    # -- mapping ---------------------------------------------------------------------------

    def map(self, record: Record, *, index: int = 0, location_id: str | None = None) -> MapResult:
        """Map one record; bad values become :class:`MappingError` entries, not exceptions.

        Raises:
            ConfigError: no location id here nor on the mapping.
        """
        location = location_id or self.location_id
        if not location:
            raise ConfigError("no location id: pass location_id= or set it on the mapping")
        errors: list[MappingError] = []
        wire: dict[str, object] = {"locationId": location}
        values: dict[str, t.Value] = {}
        for target, plan in self._fields.items():
            value, error = plan.run(record, index)
            if error is None and value is not None:
                try:
                    values[target] = _finish(target, value)
                except ValueError as err:
                    error = MappingError(index, target, str(err), column=_first(plan.columns))
            if error is not None:
                errors.append(error)
        self._split_name(record, index, values, errors)
        for target, value in values.items():
            wire[TARGETS[target]] = value
        custom = self._map_custom(record, index, errors)
        if custom:
            wire["customFields"] = custom
        tags = self._map_tags(record, index, errors)
        if tags:
            wire["tags"] = tags
        if self.require_one_of and not any(name in values for name in self.require_one_of):
            failed = {e.field for e in errors}
            if not failed.intersection(self.require_one_of):
                names = " or ".join(self.require_one_of)
                reason = f"needs {names} to match the contact on"
                errors.append(MappingError(index, "|".join(self.require_one_of), reason))
        if errors:
            return MapResult(index, None, tuple(errors))
        return MapResult(index, msgspec.convert(wire, UpsertContact))

    def apply(
        self, record: Record, *, index: int = 0, location_id: str | None = None
    ) -> UpsertContact:
        """Map one record into an upsert body.

        Raises:
            MappingError: the first problem; ``.errors`` lists all of the record's problems.
            ConfigError: no location id here nor on the mapping.
        """
        result = self.map(record, index=index, location_id=location_id)
        if result.contact is None:
            first = result.errors[0]
            first.errors = result.errors
            raise first
        return result.contact

    def _split_name(
        self, record: Record, index: int, values: dict[str, t.Value], errors: list[MappingError]
    ) -> None:
        if self._full_name is None or "first_name" in values or "last_name" in values:
            return
        value, error = self._full_name.run(record, index)
        if error is not None:
            errors.append(error)
        elif isinstance(value, str):
            first, last = split_name(value)
            if first:
                values["first_name"] = first
            if last:
                values["last_name"] = last

    def _map_custom(
        self, record: Record, index: int, errors: list[MappingError]
    ) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for ident, plan in self._custom:
            value, error = plan.run(record, index)
            if error is not None:
                errors.append(error)
            elif value is not None:
                out.append({**ident, "field_value": value})
        prefix = self.custom_field_prefix
        if prefix:
            for column, raw in record.items():
                if not column.startswith(prefix) or _blank(raw):
                    continue
                key = column[len(prefix) :]
                label = f"customFields.{key}"
                if self.known_custom_fields is not None and key not in self.known_custom_fields:
                    reason = f"unknown custom field key {key!r}"
                    reason += suggest(key, self.known_custom_fields)
                    errors.append(MappingError(index, label, reason, column=column))
                    continue
                try:
                    value = _as_value(raw)
                    out.append(
                        {
                            "key": key,
                            "field_value": value.strip() if isinstance(value, str) else value,
                        }
                    )
                except ValueError as err:
                    errors.append(MappingError(index, label, str(err), column=column))
        return out

    def _map_tags(self, record: Record, index: int, errors: list[MappingError]) -> list[str]:
        tags: dict[str, None] = {}  # ordered set
        for rule, chain in self._tags:
            columns = _columns(rule.source)
            raw: object = None
            column = None
            for column in columns:  # the last one tried names the error
                raw = _lookup(record, column)
                if not _blank(raw):
                    break
            try:
                if not columns:
                    found: list[str] = [rule.value] if rule.value else []
                elif _blank(raw):
                    found = []
                elif rule.value is not None:
                    found = [rule.value] if t.boolean()(_as_value(raw)) else []
                else:
                    found = []
                    for part in _parts(_as_value(raw), rule.split):
                        value: t.Value = part
                        for step in chain:
                            value = step(value)
                        if isinstance(value, str) and value:
                            found.append(value)
            except ValueError as err:
                errors.append(MappingError(index, "tags", str(err), column=column))
                continue
            for tag in found:
                tags[tag] = None
        return list(tags)


_TRIM_TEXT: Final = t.Transform("trim", lambda v: v.strip() if isinstance(v, str) else v)


def _parts(value: t.Value, separator: str) -> list[str]:
    items = value if isinstance(value, list) else str(value).split(separator)
    return [item.strip() for item in items if item.strip()]


def _first(columns: tuple[str, ...]) -> str | None:
    return columns[0] if columns else None


def _finish(target: str, value: t.Value) -> t.Value:
    """Coerce to the field's type and check the values HighLevel is strict about."""
    if target in _BOOL_TARGETS:
        return t.boolean()(value)
    if isinstance(value, list):
        raise ValueError("expected one value, got a list")
    if isinstance(value, bool):
        text = "true" if value else "false"
    else:
        text = value if isinstance(value, str) else str(value)
    if target == "email":
        t.email()(text)
    elif target == "phone" and not _E164.match(text):
        raise ValueError(f"{text!r} is not an E.164 number (use the 'phone' transform)")
    elif target == "date_of_birth":
        if not _ISO_DATE.match(text):
            raise ValueError(f"{text!r} is not YYYY-MM-DD (use the 'date' transform)")
        born = dt.date.fromisoformat(text)
        if born > dt.date.today():
            raise ValueError(f"date of birth {text} is in the future")
        if born.year < 1900:
            raise ValueError(f"date of birth {text} is before 1900")
    elif target == "country" and not _COUNTRY.match(text):
        raise ValueError(f"{text!r} is not a two-letter country code")
    return text


def split_name(full: str) -> tuple[str, str]:
    """Split a full name into (first, last).

    ``"Last, First"`` is understood; honorifics (``Dr``, ``Mrs``) are dropped; surname particles
    (``van``, ``de``) and suffixes (``Jr``, ``III``) stay with the last name; a single word is
    a first name.
    """
    text = " ".join(full.split())
    if "," in text:
        last, _, first = text.partition(",")
        if first.strip() and not re.fullmatch(r"\s*(jr|sr|[iv]+)\.?\s*", first, re.I):
            return first.strip(), last.strip()
    words = text.replace(",", " ").split()
    while words and words[0].lower().rstrip(".") in _HONORIFICS and len(words) > 1:
        words.pop(0)
    if not words:
        return "", ""
    if len(words) == 1:
        return words[0], ""
    suffix: list[str] = []
    if len(words) > 2 and re.fullmatch(r"(jr|sr|[iv]+)\.?", words[-1], re.I):
        suffix = [words.pop()]
    cut = len(words) - 1
    while cut > 1 and words[cut - 1].lower() in t.PARTICLES:
        cut -= 1
    return " ".join(words[:cut]), " ".join(words[cut:] + suffix)

"""The declarative description (field, custom-field and tag rules) and how a record is mapped."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import difflib
import math
import os
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Final

import msgspec

from ghl_async.errors import ConfigError, GHLError
from ghl_async.mapping import transforms as t
from ghl_async.mapping._columns import ColumnCheck, ColumnMatch, check_columns
from ghl_async.mapping._countries import country_code
from ghl_async.mapping._dates import DateOrder
from ghl_async.mapping._sources import SourceRecord
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
# Columns whose values are kept out of failure reports: secrets, not mere personal data.
_SECRET_NAME: Final = re.compile(
    r"pass(word|wd|code)|secret|token|api[\s_-]?key|\bssn\b|social[\s_-]?security|"
    r"card[\s_-]?(number|no)|\bcvv\b|\bcvc\b|\biban\b",
    re.IGNORECASE,
)
REDACTED: Final = "<redacted>"
_SHOWN: Final = 200  # characters of a value shown in a failure


def looks_secret(name: str) -> bool:
    """Whether a column or field name says its values are secrets (``password``, ``api_key``)."""
    return bool(_SECRET_NAME.search(name))


def _show(raw: object) -> str:
    """A bounded, printable rendering of an input value, for failure reports."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw.bit_length() > 256:
        return f"<an integer of {raw.bit_length()} bits>"
    text = ", ".join(_show(item) for item in raw) if isinstance(raw, (list, tuple)) else str(raw)
    if len(text) > _SHOWN:
        return f"{text[:_SHOWN]}... ({len(text):,} characters)"
    return text


class MappingError(GHLError, ValueError):
    """A record's value could not be mapped: which record, which contact field, and why.

    ``field`` is the contact field (``"phone"``, ``"customFields.budget"``, ``"tags"``, or
    ``"input"`` when the record itself could not be read); ``column`` the record's column it
    came from, when there is one; ``value`` the value as read (shortened, ``<redacted>`` for
    secrets); ``line`` the physical line the record starts on, for records read from a file
    (:class:`~ghl_async.mapping.SourceRecord`). When :meth:`ContactMapping.apply` raises,
    ``errors`` lists every problem of that record.
    """

    def __init__(
        self,
        record_index: int,
        field: str,
        reason: str,
        *,
        column: str | None = None,
        value: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.record_index = record_index
        self.field = field
        self.reason = reason
        self.column = column
        self.value = value
        self.line = line
        self.errors: tuple[MappingError, ...] = (self,)

    def describe(self) -> str:
        """``field (column 'X'): reason``, without where the record is."""
        column = self.column
        where = (
            f"{self.field} (column {column!r})" if column and column != self.field else self.field
        )
        return f"{where}: {self.reason}"

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else f"record {self.record_index}"
        return f"{where}: {self.describe()}"


@dataclass(frozen=True, slots=True)
class MapResult:
    """The outcome of mapping one record: an upsert body, or the reasons there is none.

    ``line`` is where the record starts in its file, when it came from one.
    """

    index: int
    contact: UpsertContact | None
    errors: tuple[MappingError, ...] = ()
    line: int | None = None

    @property
    def ok(self) -> bool:
        """Whether the record mapped without errors."""
        return self.contact is not None


@dataclass(frozen=True, slots=True)
class FieldRule:
    """Fill one contact field from a column (``source``) or a constant (``value``).

    ``source`` may list several columns: the first non-blank one is used. ``default`` stands in
    for a blank value. ``transforms=None`` means the target's usual chain (``email``: trim and
    check; ``phone``: E.164; ``date_of_birth``: date; others: trim). Blank results leave the
    field out, unless ``required``.

    Phone numbers without a country code are read in the record's ``country_from`` column
    (a code, a name or ``+44``) when it is not blank, else in ``default_country``, else in the
    mapping's. ``secret`` keeps the values out of failure reports (automatic for columns named
    like ``password`` or ``api_key``).
    """

    source: str | Sequence[str] | None = None
    _: KW_ONLY
    value: t.Value | None = None
    default: t.Value | None = None
    transforms: Sequence[TransformLike] | None = None
    required: bool = False
    default_country: str | None = None
    country_from: str | Sequence[str] | None = None
    secret: bool = False


@dataclass(frozen=True, slots=True)
class CustomFieldRule:
    """Fill one custom field, named by its ``key`` (``"favorite_color"``) or its ``id``.

    Values are text unless a transform makes them a number (``number``) or a list (``split``,
    for checkbox and multi-select fields). ``default_country``, ``country_from`` and
    ``secret`` work as in :class:`FieldRule`.
    """

    source: str | Sequence[str] | None = None
    _: KW_ONLY
    key: str | None = None
    id: str | None = None
    value: t.Value | None = None
    default: t.Value | None = None
    transforms: Sequence[TransformLike] | None = None
    required: bool = False
    default_country: str | None = None
    country_from: str | Sequence[str] | None = None
    secret: bool = False


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
    if isinstance(raw, float) and not math.isfinite(raw):
        raise ValueError(f"not a finite number: {raw}")
    if isinstance(raw, int) and not isinstance(raw, bool) and raw.bit_length() > 256:
        raise ValueError(f"an integer of {raw.bit_length()} bits is not a value to import")
    if isinstance(raw, (str, int, float, bool)):
        return raw
    if isinstance(raw, (list, tuple)) and all(isinstance(x, (str, int, float)) for x in raw):
        return [str(x) for x in raw]
    raise ValueError(f"unsupported value of type {type(raw).__name__}")


def _step_name(step: TransformLike) -> str:
    name = getattr(step, "name", None) or getattr(step, "__name__", None)
    return str(name) if name else type(step).__name__


def _failure_reason(step: TransformLike, err: Exception) -> str:
    if isinstance(err, (ValueError, TypeError)) and isinstance(step, t.Transform):
        return str(err)  # our transforms say what is wrong with the value
    if isinstance(err, ValueError):
        return str(err) or f"transform {_step_name(step)!r} refused the value"
    # A custom transform's bug or surprise: that record fails, and says how.
    return f"transform {_step_name(step)!r} raised {type(err).__name__}: {err}"


@dataclass(frozen=True, slots=True)
class _Plan:
    """A rule with its columns and transform chain resolved."""

    label: str  # the field name used in errors
    path: str  # where the rule is in a mapping file ("fields.email"), for column checks
    columns: tuple[str, ...]
    value: t.Value | None
    default: t.Value | None
    chain: tuple[TransformLike, ...]
    required: bool
    country_columns: tuple[str, ...] = ()
    secret: bool = False

    def error(
        self, index: int, reason: str, column: str | None, raw: object = None
    ) -> MappingError:
        shown = None if raw is None else _show(raw)
        if self.secret and shown is not None:
            reason = reason.replace(str(raw), REDACTED) if str(raw) else reason
            shown = REDACTED
        return MappingError(index, self.label, reason, column=column, value=shown)

    def _chain_for(self, record: Record) -> tuple[TransformLike, ...]:
        if not self.country_columns:
            return self.chain
        country: object = None
        for column in self.country_columns:
            country = _lookup(record, column)
            if not _blank(country):
                break
        if _blank(country):
            return self.chain
        text = str(country)
        return tuple(
            step.in_country(text) if isinstance(step, t.PhoneTransform) else step
            for step in self.chain
        )

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
                return None, self.error(index, f"missing required {what}", None)
            return None, None
        step: TransformLike = _TRIM_TEXT
        try:
            value = _as_value(raw)
            for step in self._chain_for(record):
                value = step(value)
        except Exception as err:  # whatever a (custom) transform raises fails one record
            return None, self.error(index, _failure_reason(step, err), column, raw)
        if _blank(value):
            if self.required:
                return None, self.error(index, "blank after transforms", column, raw)
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
        default_country: for national phone numbers (ISO code like ``"US"``, a country name,
            or a calling code like ``"+44"``); rules may set their own.
        date_order: how to read numeric dates with the year last (``"MDY"`` or ``"DMY"``).
        require_one_of: a record needs at least one of these (upsert matches on them).
        location_id: the location, unless given to :meth:`map`/:meth:`apply`.
        match_columns: how :meth:`check_columns` compares column names: ``"exact"``, or
            ``"loose"`` (case and whitespace do not count).

    Raises:
        ConfigError: a rule targets an unknown field, names no source, or is contradictory;
            or it normalises phones and the ``phonenumbers`` package is not installed.
    """

    fingerprint: str | None = None
    """Identifies a mapping loaded from a file (a hash of its rules; comments and spacing do
    not count), so a journal can tell that a rerun uses the same one. None when built in code."""

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
        match_columns: ColumnMatch = "exact",
    ) -> None:
        if default_country is not None:
            _check_country("default_country", default_country)
        if date_order not in ("MDY", "DMY"):
            raise ConfigError(f"date_order must be 'MDY' or 'DMY', not {date_order!r}")
        if match_columns not in ("exact", "loose"):
            raise ConfigError(f"match_columns must be 'exact' or 'loose', not {match_columns!r}")
        self.match_columns: ColumnMatch = match_columns
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
            chain = self._default_chain(target, field_rule.default_country)
            self._fields[target] = self._plan(target, f"fields.{name}", field_rule, chain)
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
            self._full_name = self._plan("name", "full_name", name_rule, (t.collapse(),))
        unknown = [n for n in require_one_of if normalise_target(n) not in TARGETS]
        if unknown:
            raise ConfigError(f"require_one_of names unknown fields: {', '.join(unknown)}")
        self.require_one_of = tuple(normalise_target(n) for n in require_one_of)

    # -- building --------------------------------------------------------------------------

    def _default_chain(self, target: str, country: str | None) -> tuple[TransformLike, ...]:
        if target == "email":
            return (t.email(),)
        if target == "phone":
            return (self._phone(country or self.default_country, "fields.phone"),)
        if target == "date_of_birth":
            return (t.date(order=self.date_order),)
        if target == "country":
            return (t.trim(), t.upper())
        if target in _BOOL_TARGETS:
            return (t.boolean(),)
        return (t.trim(),)

    @staticmethod
    def _phone(country: str | None, where: str) -> t.PhoneTransform:
        try:
            return t.phone(country)
        except ConfigError:
            raise  # the phones extra is missing: its message says what to install
        except ValueError as err:
            raise ConfigError(f"{where}: default_country: {err}") from None

    def _plan(
        self,
        label: str,
        path: str,
        rule: FieldRule | CustomFieldRule,
        chain: tuple[TransformLike, ...],
    ) -> _Plan:
        columns = _columns(rule.source)
        if (rule.value is None) == (not columns):
            raise ConfigError(f"{label}: give either a source column ('from') or a 'value'")
        if rule.transforms is not None:
            chain = tuple(rule.transforms)
        if rule.default_country is not None:
            _check_country(f"{path}: default_country", rule.default_country)
        phones = [step for step in chain if isinstance(step, t.PhoneTransform)]
        if (rule.country_from is not None or rule.default_country is not None) and not phones:
            raise ConfigError(
                f"{path}: 'default_country' and 'country_from' apply to phone numbers, and "
                "this rule does not read one (add the 'phone' transform)"
            )
        country = rule.default_country or self.default_country
        if country is not None:
            # A `phone` step without a country of its own reads numbers in the rule's.
            chain = tuple(
                self._phone(country, path)
                if isinstance(step, t.PhoneTransform) and step.country is None
                else step
                for step in chain
            )
        secret = rule.secret or any(looks_secret(c) for c in (*columns, label))
        return _Plan(
            label=label,
            path=path,
            columns=columns,
            value=rule.value,
            default=rule.default,
            chain=chain,
            required=rule.required,
            country_columns=_columns(rule.country_from),
            secret=secret,
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
        plan = self._plan(f"customFields.{name}", f"custom_fields.{name}", rule, (_TRIM_TEXT,))
        return ident, plan

    # -- columns ---------------------------------------------------------------------------

    def _plans(self) -> list[_Plan]:
        plans = [*self._fields.values(), *(plan for _, plan in self._custom)]
        return plans if self._full_name is None else [*plans, self._full_name]

    @property
    def columns(self) -> dict[str, tuple[str, ...]]:
        """Every column the rules read, each with the rules that read it (``fields.email``)."""
        wanted: dict[str, list[str]] = {}
        for plan in self._plans():
            for column in plan.columns:
                wanted.setdefault(column, []).append(plan.path)
            for column in plan.country_columns:
                wanted.setdefault(column, []).append(f"{plan.path}.country_from")
        for i, (rule, _) in enumerate(self._tags):
            for column in _columns(rule.source):
                wanted.setdefault(column, []).append(f"tags[{i}]")
        return {column: tuple(paths) for column, paths in wanted.items()}

    def check_columns(
        self, available: Sequence[str], *, match: ColumnMatch | None = None
    ) -> ColumnCheck:
        """Compare the columns the rules read with an input's (a CSV header, JSON keys).

        ``match`` overrides the mapping's ``match_columns``. Nothing is raised: see
        :meth:`bind_columns` for the checked mapping.
        """
        return check_columns(
            self.columns,
            available,
            match=match or self.match_columns,
            prefix=self.custom_field_prefix,
        )

    def bind_columns(
        self,
        available: Sequence[str],
        *,
        match: ColumnMatch | None = None,
        origin: str = "the input",
    ) -> ContactMapping:
        """This mapping, checked against an input's columns and reading them as spelt there.

        Returns ``self`` when every name matches exactly; under loose matching, a copy whose
        rules read the input's spellings.

        Raises:
            ConfigError: a column the rules read is missing or matches several; the message
                lists the input's columns, closest first.
        """
        check = self.check_columns(available, match=match)
        if not check.ok:
            raise ConfigError(check.explain(origin))
        renames = {c: f for c, f in check.found.items() if c != f}
        if not renames:
            return self

        def moved(columns: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(renames.get(c, c) for c in columns)

        def replan(plan: _Plan) -> _Plan:
            return dataclasses.replace(
                plan, columns=moved(plan.columns), country_columns=moved(plan.country_columns)
            )

        bound = copy.copy(self)
        bound._fields = {target: replan(plan) for target, plan in self._fields.items()}
        bound._custom = [(ident, replan(plan)) for ident, plan in self._custom]
        bound._full_name = None if self._full_name is None else replan(self._full_name)
        bound._tags = [
            (
                rule
                if rule.source is None
                else dataclasses.replace(rule, source=list(moved(_columns(rule.source)))),
                chain,
            )
            for rule, chain in self._tags
        ]
        return bound

    # -- mapping ---------------------------------------------------------------------------

    def map(self, record: Record, *, index: int = 0, location_id: str | None = None) -> MapResult:
        """Map one record; bad values become :class:`MappingError` entries, not exceptions.

        Nothing a record holds, and nothing a custom transform raises, escapes as an
        exception: it becomes that record's errors. A :class:`SourceRecord` that could not be
        read (``problem``) maps to that problem, and its line is on the result and errors.

        Raises:
            ConfigError: no location id here nor on the mapping.
        """
        location = location_id or self.location_id
        if not location:
            raise ConfigError("no location id: pass location_id= or set it on the mapping")
        line = record.line if isinstance(record, SourceRecord) else None
        if isinstance(record, SourceRecord) and record.problem is not None:
            column = record.problem_column
            raw = record.get(column) if column is not None else None
            secret = column is not None and looks_secret(column)
            shown = REDACTED if secret else (None if raw is None else _show(raw))
            error = MappingError(index, "input", record.problem, column=column, value=shown)
            errors: list[MappingError] = [error]
            contact = None
        else:
            errors = []
            try:
                contact = self._map(record, index, location, errors)
            except Exception as err:
                # A record shaped like nothing we expected (a key that is not a string...).
                reason = f"unexpected {type(err).__name__}: {err}"
                errors = [MappingError(index, "input", reason)]
                contact = None
        for error in errors:
            error.line = line
        if contact is None:
            return MapResult(index, None, tuple(errors), line)
        return MapResult(index, contact, (), line)

    def _map(
        self, record: Record, index: int, location: str, errors: list[MappingError]
    ) -> UpsertContact | None:
        wire: dict[str, object] = {"locationId": location}
        values: dict[str, t.Value] = {}
        for target, plan in self._fields.items():
            value, error = plan.run(record, index)
            if error is None and value is not None:
                try:
                    values[target] = _finish(target, value)
                except ValueError as err:
                    error = plan.error(index, str(err), _first(plan.columns), value)
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
            return None
        try:
            return msgspec.convert(wire, UpsertContact)
        except msgspec.ValidationError as err:
            # Only a custom transform can get here (a value of a type no field holds).
            errors.append(MappingError(index, "input", f"not a contact HighLevel takes: {err}"))
            return None

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
            if error is None and isinstance(value, (int, float)) and not isinstance(value, bool):
                try:
                    t.check_number(value)
                except ValueError as err:
                    error = plan.error(index, str(err), _first(plan.columns), value)
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
                    if isinstance(value, (int, float)) and not isinstance(value, bool):
                        t.check_number(value)
                    out.append(
                        {
                            "key": key,
                            "field_value": value.strip() if isinstance(value, str) else value,
                        }
                    )
                except ValueError as err:
                    shown = REDACTED if looks_secret(column) else _show(raw)
                    errors.append(MappingError(index, label, str(err), column=column, value=shown))
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
            except Exception as err:  # a custom transform fails one record only
                reason = (
                    str(err)
                    if isinstance(err, ValueError)
                    else f"a tag transform raised {type(err).__name__}: {err}"
                )
                errors.append(MappingError(index, "tags", reason, column=column, value=_show(raw)))
                continue
            for tag in found:
                tags[tag] = None
        return list(tags)


_TRIM_TEXT: Final = t.Transform("trim", lambda v: v.strip() if isinstance(v, str) else v)


def _check_country(where: str, country: str) -> None:
    """Refuse a country no phone number could be read in (the phone step checks further)."""
    text = country.strip()
    if text.startswith("+") and text[1:].isdigit():
        return
    if country_code(text) is None and not (len(text) == 2 and text.isalpha()):
        raise ConfigError(
            f"{where}: unknown country {country!r}: use an ISO code (US, GB, DE, ...), a "
            "country name or a calling code like '+44'"
        )


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

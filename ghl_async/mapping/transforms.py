"""Transforms: the named steps a mapped value goes through (``trim``, ``phone``, ``date``, ...).

A transform takes a value and returns the new one, or raises ``ValueError`` whose text is the
reason the record's value is unusable; the mapping turns that into a per-record
:class:`~ghl_async.mapping.MappingError` (any other exception of a custom transform fails that
record too, naming the exception). In mapping files a transform is named by a string,
``"name"`` or ``"name:argument"`` (``"phone:GB"``, ``"split:;"``, ``"date:%d.%m.%Y"``), or by a
one-key table for arguments that are tables (``{ map = { M = "male", F = "female" } }``,
``{ phone = { country = "GB", extension = "reject" } }``). Any ``Callable[[Value], Value]``
works as a transform in Python.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from typing import Final

from ghl_async.mapping._dates import DateOrder, parse_date
from ghl_async.mapping._phone import (
    ExtensionPolicy,
    normalise,
    require_phonenumbers,
    resolve_country,
)

__all__ = [
    "MAX_EXACT",
    "NAMES",
    "PARTICLES",
    "PhoneTransform",
    "Transform",
    "Value",
    "boolean",
    "check_number",
    "collapse",
    "date",
    "digits",
    "email",
    "from_spec",
    "integer",
    "lower",
    "map_values",
    "name_case",
    "number",
    "phone",
    "split",
    "title",
    "trim",
    "upper",
]

Value = str | int | float | bool | list[str]
"""What flows through a mapping: text from CSV, or JSON scalars and string lists."""


class Transform:
    """A named step: ``value -> value``, raising ``ValueError`` with the reason it refuses."""

    __slots__ = ("_fn", "name")

    def __init__(self, name: str, fn: Callable[[Value], Value]) -> None:
        self.name = name
        self._fn = fn

    def __call__(self, value: Value) -> Value:
        return self._fn(value)

    def __repr__(self) -> str:
        return f"Transform({self.name!r})"


def _text(value: Value) -> str:
    if isinstance(value, list):
        raise ValueError("expected one value, got a list")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _on_text(name: str, fn: Callable[[str], Value]) -> Transform:
    return Transform(name, lambda value: fn(_text(value)))


def trim() -> Transform:
    """Strip surrounding whitespace."""
    return _on_text("trim", str.strip)


def lower() -> Transform:
    """Lower-case."""
    return _on_text("lower", str.lower)


def upper() -> Transform:
    """Upper-case."""
    return _on_text("upper", str.upper)


def title() -> Transform:
    """Title-case (``"ada LOVELACE"`` -> ``"Ada Lovelace"``)."""
    return _on_text("title", str.title)


PARTICLES: Final = frozenset(
    "van von de der den da di del della du la le st bin al ter ten".split()  # noqa: SIM905
)
"""Surname particles: kept lower-case and kept with the last name."""


def _word_case(word: str, first: bool) -> str:
    if word != word.lower() and word != word.upper():
        return word  # mixed case was typed on purpose: "McCarthy", "DeVito"
    if not first and word.lower() in PARTICLES:
        return word.lower()
    # Every letter run capitalised: "mary-jane" -> "Mary-Jane", "o'neil" -> "O'Neil".
    return re.sub(r"[^\W\d_]+", lambda m: m[0][:1].upper() + m[0][1:].lower(), word)


def _name_case(text: str) -> str:
    return " ".join(_word_case(w, i == 0) for i, w in enumerate(text.split()))


def name_case() -> Transform:
    """Title-case each word typed all in lower or upper case ("ADA de LA cruz" -> "Ada de la
    Cruz"); words in mixed case stay as typed, surname particles stay lower-case."""
    return _on_text("name_case", _name_case)


def collapse() -> Transform:
    """Strip and squeeze runs of whitespace to one space."""
    return _on_text("collapse", lambda text: " ".join(text.split()))


def digits() -> Transform:
    """Keep only the digits."""
    return _on_text("digits", lambda text: re.sub(r"\D", "", text))


# Deliberately simple: one @, no spaces, a dot in the domain, a 2+ letter top-level domain.
# HighLevel validates further; this catches the typos forms are full of.
_EMAIL: Final = re.compile(r"^[^@\s]+@([A-Za-z0-9-]+\.)+[A-Za-z]{2,}$")


def _email(text: str) -> str:
    address = text.strip().lower()
    if not _EMAIL.match(address) or ".." in address or address.startswith("."):
        raise ValueError(f"not an email address: {text.strip()!r}")
    return address


def email() -> Transform:
    """Trim, lower-case and check an email address."""
    return _on_text("email", _email)


class PhoneTransform(Transform):
    """The ``phone`` step: E.164 by libphonenumber's rules, national numbers read in a country.

    A rule with a country column swaps the country per record (:meth:`in_country`).
    """

    __slots__ = ("_by_country", "country", "extension", "region")

    def __init__(self, country: str | None = None, *, extension: ExtensionPolicy = "drop") -> None:
        require_phonenumbers()
        self.country = country
        self.region = resolve_country(country) if country else None
        self.extension: ExtensionPolicy = extension
        self._by_country: dict[str, Transform] = {}
        region = self.region

        def convert(text: str) -> str:
            try:
                return normalise(text, region, extension)
            except ValueError as err:
                raise ValueError(f"bad phone {text.strip()!r}: {err}") from None

        super().__init__("phone", lambda value: convert(_text(value)))

    def in_country(self, country: str) -> Transform:
        """This step with national numbers read in ``country`` (a code, a name or ``+44``).

        An unknown country is an error only for numbers that need one (no ``+``).
        """
        found = self._by_country.get(country)
        if found is None:
            found = self._by_country[country] = self._in_country(country)
            if len(self._by_country) > 1000:  # a column of junk must not grow this forever
                self._by_country.clear()
        return found

    def _in_country(self, country: str) -> Transform:
        try:
            return PhoneTransform(country, extension=self.extension)
        except ValueError as err:
            problem = str(err)
        international = PhoneTransform(None, extension=self.extension)

        def convert(value: Value) -> Value:
            try:
                return international(value)
            except ValueError:
                raise ValueError(f"bad phone {_text(value).strip()!r}: {problem}") from None

        return Transform("phone", convert)

    def __repr__(self) -> str:
        return f"PhoneTransform({self.country!r})"


def phone(
    default_country: str | None = None, *, extension: ExtensionPolicy = "drop"
) -> PhoneTransform:
    """Normalise a phone number to E.164; national numbers are read in ``default_country``.

    The rules are libphonenumber's (the ``phones`` extra); see ``ghl_async/mapping/_phone.py``
    for how text is read. An extension is dropped, or refused with ``extension="reject"``.

    Raises:
        ValueError: ``default_country`` is unknown (when the transform is built).
        ConfigError: the ``phonenumbers`` package is not installed.
    """
    return PhoneTransform(default_country, extension=extension)


def date(*formats: str, order: DateOrder = "MDY") -> Transform:
    """Parse a date into ``YYYY-MM-DD``.

    ``formats`` (``strptime`` patterns) are tried first; then the spellings
    :func:`~ghl_async.mapping._dates.parse_date` knows, with numeric dates read in ``order``.
    """

    def convert(text: str) -> str:
        stripped = text.strip()
        for pattern in formats:
            try:
                return dt.datetime.strptime(stripped, pattern).date().isoformat()
            except ValueError:
                continue
        try:
            return parse_date(stripped, order=order).isoformat()
        except ValueError as err:
            raise ValueError(f"bad date {stripped!r}: {err}") from None

    return _on_text("date", convert)


# Beyond 2**53 a JSON number is not exact in JavaScript, and HighLevel's API is JavaScript
# (its NestJS-style errors show it): a bigger number would be stored as a different one.
MAX_EXACT: Final = 2**53


def _number(text: str) -> int | float:
    # Forms write money and counts with symbols and thousands separators: "$1,200.50".
    cleaned = re.sub(r"[\s$€£¥,_]", "", text)
    if len(cleaned) > 40:
        raise ValueError(f"not a number HighLevel can store: {len(cleaned)} characters")
    try:
        value: int | float = int(cleaned)
    except ValueError:
        try:
            value = float(cleaned)
        except ValueError:
            raise ValueError(f"not a number: {text.strip()!r}") from None
    check_number(value)
    return value


def check_number(value: int | float) -> None:
    """Refuse what JSON cannot carry exactly: NaN, infinities, integers beyond 2**53.

    Raises:
        ValueError: with the reason.
    """
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    if isinstance(value, int) and abs(value) > MAX_EXACT:
        raise ValueError("a number beyond 2**53, which HighLevel cannot store exactly")


def number() -> Transform:
    """Parse a number (``"$1,200.50"`` -> ``1200.5``, ``"42"`` -> ``42``)."""
    return _on_text("number", _number)


def integer() -> Transform:
    """Parse a whole number."""

    def convert(text: str) -> int:
        value = _number(text)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"not a whole number: {text.strip()!r}")
        return int(value)

    return _on_text("integer", convert)


_TRUE: Final = frozenset({"true", "yes", "y", "1", "on", "x", "checked"})
_FALSE: Final = frozenset({"false", "no", "n", "0", "off", ""})


def _boolean(value: Value) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a yes/no value: {text!r}")


def boolean() -> Transform:
    """Parse yes/no, true/false, 1/0, on/off, x/"" into a bool."""
    return Transform("bool", _boolean)


def split(separator: str = ",") -> Transform:
    """Split text into a list of trimmed, non-empty parts (a list passes through, trimmed)."""

    def convert(value: Value) -> list[str]:
        parts = value if isinstance(value, list) else _text(value).split(separator)
        return [part.strip() for part in parts if part.strip()]

    return Transform("split", convert)


def map_values(table: Mapping[str, Value], *, strict: bool = True) -> Transform:
    """Replace values through ``table`` (keys compared case-insensitively after trimming).

    A value missing from the table is an error when ``strict``, else it passes through.
    """
    folded = {key.strip().lower(): mapped for key, mapped in table.items()}

    def convert(value: Value) -> Value:
        key = _text(value).strip().lower()
        if key in folded:
            return folded[key]
        if strict:
            raise ValueError(f"unexpected value {_text(value).strip()!r}")
        return value

    return Transform("map", convert)


_SIMPLE: Final[dict[str, Callable[[], Transform]]] = {
    "trim": trim,
    "lower": lower,
    "upper": upper,
    "title": title,
    "collapse": collapse,
    "name_case": name_case,
    "digits": digits,
    "email": email,
    "number": number,
    "integer": integer,
    "bool": boolean,
}
NAMES: Final = (*sorted(_SIMPLE), "date", "map", "phone", "split")
"""Every transform name a mapping file may use."""


def from_spec(
    spec: str | Mapping[str, object],
    *,
    default_country: str | None = None,
    date_order: DateOrder = "MDY",
) -> Transform:
    """Build a transform from its mapping-file spelling.

    Raises:
        ValueError: unknown name or bad argument; the text says which.
    """
    if isinstance(spec, str):
        name, _, argument = spec.partition(":")
        name = name.strip()
        if name in _SIMPLE:
            if argument:
                raise ValueError(f"transform {name!r} takes no argument")
            return _SIMPLE[name]()
        if name == "phone":
            return phone(argument.strip() or default_country)
        if name == "date":
            if argument.strip().upper() in ("MDY", "DMY"):
                order: DateOrder = "MDY" if argument.strip().upper() == "MDY" else "DMY"
                return date(order=order)
            return date(argument, order=date_order) if argument else date(order=date_order)
        if name == "split":
            return split(argument or ",")
        raise ValueError(f"unknown transform {name!r} (known: {', '.join(NAMES)})")
    if len(spec) != 1:
        raise ValueError("a transform table has exactly one key, the transform's name")
    ((table_name, table_arg),) = spec.items()
    name = str(table_name)
    if name == "map":
        if not isinstance(table_arg, Mapping) or not all(
            isinstance(v, (str, int, float, bool)) for v in table_arg.values()
        ):
            raise ValueError("'map' takes a table of value = replacement")
        return map_values({str(k): v for k, v in table_arg.items()})
    if name == "phone" and isinstance(table_arg, Mapping):
        unknown = set(table_arg) - {"country", "extension"}
        if unknown:
            raise ValueError(f"'phone' takes 'country' and 'extension', not {sorted(unknown)}")
        country = table_arg.get("country", default_country)
        extension = table_arg.get("extension", "drop")
        if country is not None and not isinstance(country, str):
            raise ValueError("'phone' country is a code, a name or a calling code like '+44'")
        if extension not in ("drop", "reject"):
            raise ValueError("'phone' extension is 'drop' or 'reject'")
        return phone(country, extension="drop" if extension == "drop" else "reject")
    if isinstance(table_arg, str):
        return from_spec(
            f"{name}:{table_arg}", default_country=default_country, date_order=date_order
        )
    raise ValueError(f"unknown transform table {name!r}")

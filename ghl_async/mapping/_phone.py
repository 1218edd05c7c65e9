"""Phone numbers to E.164 through libphonenumber's rules (the optional ``phonenumbers`` package).

Numbering plans differ per country and change every year; Google's libphonenumber keeps them
for every country, so we use its Python port rather than rules of our own. It is an optional
extra (``pip install 'ghl-async[phones]'``, included in ``[cli]``): without it the package
imports and works, and a mapping that normalises phones fails when it is built, with a
:class:`~ghl_async.errors.ConfigError` that names the extra.

How text is read (first valid reading wins; "valid" is libphonenumber's ``is_valid_number``:
a real number range of that country, not just a plausible length):

1. Text starting with ``+`` is international, and nothing else is tried.
2. Otherwise, the national reading in the default country (per row, per rule or per mapping):
   trunk prefixes (``0151 ...`` in Germany), the country's own exit code (``011`` in the US,
   ``00`` in most others) and ``(0)`` after a country code are understood.
3. Text starting with ``00`` or ``011`` is read as an exit code followed by a country code, in
   any default country (a spreadsheet of US contacts still holds ``0044 20 7946 0958``).
4. Text starting with another digit is read as a country code written without its ``+``
   (``44 20 7946 0958``), but only when there is a default country whose reading failed: a
   bare national number with no default country stays an error rather than a guess.

An extension (``x45``, ``ext. 45``, ``#45``) is not part of an E.164 number, and HighLevel's
``phone`` holds one number: by default it is dropped (the number is kept); with
``extension="reject"`` the value is refused instead.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final, Literal

from ghl_async.errors import ConfigError
from ghl_async.mapping._countries import country_code

try:
    import phonenumbers as _pn

    HAVE_PHONENUMBERS = True
except ImportError:  # pragma: no cover - the tests run with the extra; a subprocess test without
    HAVE_PHONENUMBERS = False

if TYPE_CHECKING:
    from phonenumbers import PhoneNumber

__all__ = [
    "HAVE_PHONENUMBERS",
    "PHONES_MISSING",
    "ExtensionPolicy",
    "require_phonenumbers",
    "resolve_country",
    "to_e164",
]

ExtensionPolicy = Literal["drop", "reject"]
"""What to do with ``x45``: keep the number and ``"drop"`` the extension, or ``"reject"``."""

PHONES_MISSING: Final = (
    "normalising phone numbers needs the 'phonenumbers' package (libphonenumber's rules): "
    "pip install 'ghl-async[phones]' (or 'ghl-async[cli]' for the command line)"
)
_EXIT_CODE: Final = re.compile(r"^\(?(?:00|011)\)?[\s.\-/]*(?=\d)")
_REASONS: Final = {
    0: "unknown country calling code",  # INVALID_COUNTRY_CODE
    1: "not a phone number",  # NOT_A_NUMBER
    2: "too short after the exit code",  # TOO_SHORT_AFTER_IDD
    3: "too short",  # TOO_SHORT_NSN
    4: "too long",  # TOO_LONG
}


def require_phonenumbers() -> None:
    """Check that the ``phonenumbers`` package is installed.

    Raises:
        ConfigError: it is not; the message names the extra to install.
    """
    if not HAVE_PHONENUMBERS:  # pragma: no cover - covered in a subprocess without the package
        raise ConfigError(PHONES_MISSING)


def resolve_country(country: str) -> str:
    """The region (ISO code) of a country given as ``"GB"``, ``"gb"``, ``"+44"`` or a name.

    Raises:
        ConfigError: ``phonenumbers`` is not installed.
        ValueError: no such country, or one without a numbering plan of its own.
    """
    require_phonenumbers()
    text = country.strip()
    if text.startswith("+") and text[1:].isdigit():
        region = _pn.region_code_for_country_code(int(text[1:]))
        if region in ("ZZ", "001"):  # unassigned, or non-geographic (+800, +882, ...)
            raise ValueError(f"{text!r} is not the calling code of a country")
        return region
    code = country_code(text)
    if code is None and len(text) == 2 and text.upper() in _pn.SUPPORTED_REGIONS:
        code = text.upper()  # a region libphonenumber knows beyond HighLevel's list (SS, XK)
    if code is None:
        raise ValueError(
            f"unknown country {country!r}: use an ISO code (US, GB, DE, ...), a country name "
            "or a calling code like '+44'"
        )
    if code not in _pn.SUPPORTED_REGIONS:
        raise ValueError(f"{code} has no telephone numbering plan of its own")
    return code


def _parse(text: str, region: str | None) -> PhoneNumber | str:
    """A parsed number, or the reason it does not parse."""
    try:
        return _pn.parse(text, region)
    except _pn.NumberParseException as err:
        return _REASONS.get(int(err.error_type), "not a phone number")


def _lengths(region: str) -> str:
    meta = _pn.PhoneMetadata.metadata_for_region(region)
    lengths = sorted(meta.general_desc.possible_length) if meta and meta.general_desc else []
    if not lengths:
        return ""
    if lengths == list(range(lengths[0], lengths[-1] + 1)) and len(lengths) > 2:
        return f"{lengths[0]}-{lengths[-1]}"
    if len(lengths) == 1:
        return str(lengths[0])
    return ", ".join(map(str, lengths[:-1])) + f" or {lengths[-1]}"


def _invalid(number: PhoneNumber) -> str:
    """Why a parsed number is not valid, in words."""
    code = number.country_code or 0
    regions = _pn.region_codes_for_country_code(code)
    region = regions[0] if regions else None
    where = f"+{code}"
    if region and region != "001":
        where += f" ({region})"
    digits = len(_pn.national_significant_number(number))
    possible = _pn.is_possible_number_with_reason(number)
    usual = _lengths(region) if region and region != "001" else ""
    expected = f"; {where} numbers have {usual} digits after the country code" if usual else ""
    if possible == _pn.ValidationResult.INVALID_COUNTRY_CODE:
        return f"unknown country calling code +{code}"
    if possible == _pn.ValidationResult.TOO_SHORT:
        return f"too short for {where}: {digits} digits{expected}"
    if possible == _pn.ValidationResult.TOO_LONG:
        return f"too long for {where}: {digits} digits{expected}"
    if possible == _pn.ValidationResult.INVALID_LENGTH:
        return f"{digits} digits is not a length {where} uses{expected}"
    if possible == _pn.ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        local = "a local number without its area code?"
        return f"too short for {where}: {digits} digits, {local}{expected}"
    return f"not a number in the numbering plan of {where} (no such area code or range)"


def _readings(text: str, region: str | None) -> list[tuple[str, str | None]]:
    """The texts to try, in order, each with the region to read it in."""
    if text.startswith("+"):
        return [(text, None)]
    readings: list[tuple[str, str | None]] = []
    if region is not None:
        readings.append((text, region))
    exit_code = _EXIT_CODE.match(text)
    if exit_code:
        readings.append(("+" + text[exit_code.end() :], None))
    elif region is not None and text[:1].isdigit() and text[0] != "0":
        readings.append(("+" + text, None))
    return readings


def normalise(text: str, region: str | None, extension: ExtensionPolicy = "drop") -> str:
    """Read ``text`` as a phone number (see the module docstring) and return it in E.164.

    ``region`` is an ISO code from :func:`resolve_country`.

    Raises:
        ValueError: no reading is a valid number; the text says why.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("empty phone number")
    readings = _readings(raw, region)
    if not readings:
        raise ValueError("no country code: write it with '+', or set a default country")
    reasons: list[str] = []
    for candidate, where in readings:
        parsed = _parse(candidate, where)
        if isinstance(parsed, str):
            reasons.append(parsed)
            continue
        if not _pn.is_valid_number(parsed):
            reasons.append(_invalid(parsed))
            continue
        if parsed.extension and extension == "reject":
            raise ValueError(
                f"has an extension ({parsed.extension}), and HighLevel's phone holds one number"
            )
        return _pn.format_number(parsed, _pn.PhoneNumberFormat.E164)
    # One reason, from the reading the writer most likely meant: the international one when
    # the text starts with an exit code, else the default country's. A bare-country-code
    # reading is a guess; its reason would only confuse.
    raise ValueError(reasons[-1] if _EXIT_CODE.match(raw) else reasons[0])


def to_e164(
    text: str, default_country: str | None = None, *, extension: ExtensionPolicy = "drop"
) -> str:
    """Normalise a phone number to E.164 (``+14155550123``) by libphonenumber's rules.

    ``default_country`` (``"US"``, ``"+44"``, ``"Germany"``) is how numbers without a country
    code are read. The readings tried are listed in ``ghl_async/mapping/_phone.py``.

    Raises:
        ValueError: with the reason the text is not a valid phone number, or the country is
            unknown.
        ConfigError: the ``phonenumbers`` package is not installed.
    """
    region = resolve_country(default_country) if default_country else None
    return normalise(text, region, extension)

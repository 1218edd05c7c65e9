"""A small, honest E.164 normaliser: NANP in full, other countries by calling code and length.

This is not libphonenumber. It knows every assigned country calling code (so an international
number with a bogus code is refused), checks the North American Numbering Plan properly (area
code and exchange rules), strips national trunk prefixes for the countries in ``COUNTRIES`` and
checks their national number lengths as ranges. It cannot tell whether a number in a range is
actually allocated; HighLevel will still accept or refuse it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["COUNTRIES", "Country", "resolve_country", "to_e164"]


@dataclass(frozen=True, slots=True)
class Country:
    """Dialling facts for one country."""

    code: str  # calling code without "+"
    trunk: str = "0"  # national trunk prefix dropped after the country code ("" = none)
    lengths: tuple[int, int] = (4, 13)  # national significant number, min..max digits
    keep_trunk: bool = False  # Italy & co.: the leading 0 is part of the number


_NANP = Country("1", trunk="1", lengths=(10, 10))
_NANP_MEMBERS = "US CA PR GU VI AS MP BS BB AI AG VG KY BM GD TC MS SX LC DM VC DO TT KN JM"

# ISO 3166 alpha-2 -> dialling facts. NANP members share +1 and the same rules.
COUNTRIES: Final[dict[str, Country]] = {
    **dict.fromkeys(_NANP_MEMBERS.split(), _NANP),
    "GB": Country("44", lengths=(9, 10)),
    "IE": Country("353", lengths=(7, 9)),
    "FR": Country("33", lengths=(9, 9)),
    "DE": Country("49", lengths=(6, 13)),
    "ES": Country("34", trunk="", lengths=(9, 9)),
    "IT": Country("39", lengths=(6, 11), keep_trunk=True),
    "SM": Country("378", lengths=(6, 10), keep_trunk=True),
    "VA": Country("39", lengths=(6, 11), keep_trunk=True),
    "PT": Country("351", trunk="", lengths=(9, 9)),
    "NL": Country("31", lengths=(9, 9)),
    "BE": Country("32", lengths=(8, 9)),
    "LU": Country("352", trunk="", lengths=(4, 11)),
    "CH": Country("41", lengths=(9, 9)),
    "AT": Country("43", lengths=(4, 13)),
    "DK": Country("45", trunk="", lengths=(8, 8)),
    "SE": Country("46", lengths=(6, 9)),
    "NO": Country("47", trunk="", lengths=(8, 8)),
    "FI": Country("358", lengths=(5, 12)),
    "IS": Country("354", trunk="", lengths=(7, 7)),
    "EE": Country("372", trunk="", lengths=(7, 8)),
    "LV": Country("371", trunk="", lengths=(8, 8)),
    "LT": Country("370", trunk="8", lengths=(8, 8)),
    "PL": Country("48", trunk="", lengths=(9, 9)),
    "CZ": Country("420", trunk="", lengths=(9, 9)),
    "SK": Country("421", lengths=(9, 9)),
    "HU": Country("36", trunk="06", lengths=(8, 9)),
    "SI": Country("386", lengths=(8, 8)),
    "HR": Country("385", lengths=(8, 9)),
    "RS": Country("381", lengths=(8, 9)),
    "RO": Country("40", lengths=(9, 9)),
    "GR": Country("30", trunk="", lengths=(10, 10)),
    "TR": Country("90", lengths=(10, 10)),
    "RU": Country("7", trunk="8", lengths=(10, 10)),
    "KZ": Country("7", trunk="8", lengths=(10, 10)),
    "UA": Country("380", lengths=(9, 9)),
    "IL": Country("972", lengths=(8, 9)),
    "AE": Country("971", lengths=(8, 9)),
    "SA": Country("966", lengths=(9, 9)),
    "EG": Country("20", lengths=(8, 10)),
    "MA": Country("212", lengths=(9, 9)),
    "NG": Country("234", lengths=(8, 10)),
    "KE": Country("254", lengths=(9, 9)),
    "ZA": Country("27", lengths=(9, 9)),
    "IN": Country("91", lengths=(10, 10)),
    "PK": Country("92", lengths=(9, 10)),
    "BD": Country("880", lengths=(8, 10)),
    "CN": Country("86", lengths=(9, 11)),
    "HK": Country("852", trunk="", lengths=(8, 8)),
    "TW": Country("886", lengths=(8, 9)),
    "JP": Country("81", lengths=(9, 10)),
    "KR": Country("82", lengths=(8, 10)),
    "SG": Country("65", trunk="", lengths=(8, 8)),
    "MY": Country("60", lengths=(9, 10)),
    "TH": Country("66", lengths=(8, 9)),
    "VN": Country("84", lengths=(9, 10)),
    "PH": Country("63", lengths=(8, 10)),
    "ID": Country("62", lengths=(8, 12)),
    "AU": Country("61", lengths=(9, 9)),
    "NZ": Country("64", lengths=(8, 10)),
    "MX": Country("52", trunk="", lengths=(10, 10)),
    "BR": Country("55", lengths=(10, 11)),
    "AR": Country("54", lengths=(10, 11)),
    "CL": Country("56", trunk="", lengths=(9, 9)),
    "CO": Country("57", trunk="", lengths=(10, 10)),
    "PE": Country("51", lengths=(8, 9)),
    "VE": Country("58", lengths=(10, 10)),
}

# Every assigned ITU-T E.164 country calling code. The codes are prefix-free, so a number's
# code is the one prefix of its digits found here.
_CALLING_CODES: Final = frozenset(
    """
    1 7 20 27 30 31 32 33 34 36 39 40 41 43 44 45 46 47 48 49 51 52 53 54 55 56 57 58
    60 61 62 63 64 65 66 81 82 84 86 90 91 92 93 94 95 98
    211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235
    236 237 238 239 240 241 242 243 244 245 246 247 248 249 250 251 252 253 254 255 256
    257 258 260 261 262 263 264 265 266 267 268 269 290 291 297 298 299
    350 351 352 353 354 355 356 357 358 359 370 371 372 373 374 375 376 377 378 379 380
    381 382 383 385 386 387 389 420 421 423
    500 501 502 503 504 505 506 507 508 509 590 591 592 593 594 595 596 597 598 599
    670 672 673 674 675 676 677 678 679 680 681 682 683 685 686 687 688 689 690 691 692
    850 852 853 855 856 880 886
    960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977
    992 993 994 995 996 998
    """.split()  # noqa: SIM905 - a table of 200 codes reads better as text
)
_BY_CODE: Final[dict[str, Country]] = {}
for _country in COUNTRIES.values():
    _BY_CODE.setdefault(_country.code, _country)

# Extensions have no place in E.164; HighLevel's phone field cannot hold them, so they are cut.
_EXTENSION = re.compile(r"\s*(?:#|x|ext\.?|extension)\s*\d+\s*$", re.IGNORECASE)
_ALLOWED = re.compile(r"^\+?[\d\s().\-/]+$")


def resolve_country(country: str) -> Country:
    """Look up a default country given as ISO alpha-2 (``"US"``) or calling code (``"+44"``).

    Raises:
        ValueError: the country is not in the table.
    """
    text = country.strip()
    if text.startswith("+"):
        code = text[1:]
        if code in _BY_CODE:
            return _BY_CODE[code]
        if code in _CALLING_CODES:
            return Country(code)
        raise ValueError(f"unknown calling code {text!r}")
    found = COUNTRIES.get(text.upper())
    if found is None:
        raise ValueError(
            f"unknown country {country!r}: use an ISO code from the table "
            "(US, GB, DE, ...) or a calling code like '+44'"
        )
    return found


def _split_code(digits: str) -> tuple[str, str] | None:
    for size in (1, 2, 3):
        if digits[:size] in _CALLING_CODES:
            return digits[:size], digits[size:]
    return None


def _check_nanp(national: str) -> None:
    if len(national) != 10:
        raise ValueError(f"a North American number has 10 digits, this one has {len(national)}")
    area, exchange = national[:3], national[3:6]
    if area[0] in "01":
        raise ValueError(f"area code {area} cannot start with {area[0]}")
    if area[1:] == "11":
        raise ValueError(f"{area} is a service code, not an area code")
    if exchange[0] in "01":
        raise ValueError(f"exchange {exchange} cannot start with {exchange[0]}")


def _check_national(code: str, national: str) -> None:
    if code == "1":
        _check_nanp(national)
        return
    country = _BY_CODE.get(code)
    low, high = country.lengths if country else (4, 14)
    if not low <= len(national) <= high:
        span = f"{low}" if low == high else f"{low}-{high}"
        raise ValueError(f"+{code} numbers have {span} digits after the code, not {len(national)}")
    if len(code) + len(national) > 15:
        raise ValueError("longer than the 15 digits E.164 allows")


def _international(digits: str) -> str:
    split = _split_code(digits)
    if split is None:
        raise ValueError(f"unknown country calling code in +{digits[:3]}…")
    code, national = split
    _check_national(code, national)
    return f"+{code}{national}"


def to_e164(text: str, default_country: str | Country | None = None) -> str:
    """Normalise a phone number to E.164 (``+14155550123``).

    Numbers written with ``+`` or an international prefix (``00``, and ``011`` in North America)
    are read as international; others are national numbers of ``default_country``.

    Raises:
        ValueError: with the reason the text is not a usable phone number.
    """
    raw = _EXTENSION.sub("", text.strip())
    if not raw:
        raise ValueError("empty phone number")
    if not _ALLOWED.match(raw) or raw.count("+") > 1:
        raise ValueError("not a phone number (unexpected characters)")
    digits = re.sub(r"\D", "", raw)
    if not digits:
        raise ValueError("not a phone number (no digits)")
    if raw.startswith("+"):
        return _international(digits)
    country = (
        resolve_country(default_country) if isinstance(default_country, str) else default_country
    )
    if digits.startswith("00") and (country is None or country.code != "1"):
        return _international(digits[2:])
    if country is None:
        raise ValueError("no country code (start with '+', or set a default country)")
    if country.code == "1":
        if digits.startswith("011"):
            return _international(digits[3:])
        if len(digits) == 11 and digits.startswith("1"):
            digits = digits[1:]
        _check_nanp(digits)
        return f"+1{digits}"
    national = digits
    if len(national) > country.lengths[1] + len(country.trunk) and national.startswith(
        country.code
    ):
        # "44 20 7946 0958" typed without the "+": the code is already there.
        return _international(national)
    if country.trunk and not country.keep_trunk and national.startswith(country.trunk):
        national = national[len(country.trunk) :]
    _check_national(country.code, national)
    return f"+{country.code}{national}"

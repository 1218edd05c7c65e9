"""Phone (E.164), date and name normalisers: table tests."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from ghl_async.mapping import parse_date, split_name, to_e164
from ghl_async.mapping._phone import resolve_country

# Expected values written by hand from each country's numbering plan: drop the national trunk
# prefix (0 in most countries, 8 in Russia, none in Spain), keep Italy's leading 0, prepend the
# country code. None of them is computed with phonenumbers.
ACCEPTED: list[tuple[str, str | None, str]] = [
        # North America: area code + exchange + line; a leading 1 is the trunk prefix
        ("(415) 555-0123", "US", "+14155550123"),
        ("415.555.0123", "US", "+14155550123"),
        ("1-415-555-0123", "US", "+14155550123"),
        ("+1 415 555 0123", None, "+14155550123"),
        ("(604) 555-0199", "CA", "+16045550199"),
        ("212 555 0123", "US", "+12125550123"),  # valid in the US: not read as +212 (Morocco)
        # extensions are not part of E.164: dropped
        ("415-555-0123 x45", "US", "+14155550123"),
        ("+1 415 555 0123 ext. 45", None, "+14155550123"),
        ("020 7946 0958 x12", "GB", "+442079460958"),
        # the "(0)" trunk written after the country code
        ("+49 (0)151 87064754", None, "+4915187064754"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("+44(0)2079460958", None, "+442079460958"),
        ("+91 (0)98765 43210", None, "+919876543210"),
        ("+61 (0)412 345 678", None, "+61412345678"),
        ("+33 (0)6 12 34 56 78", None, "+33612345678"),
        ("+31 (0)20 123 4567", None, "+31201234567"),
        ("+353 (0)1 234 5678", None, "+35312345678"),
        ("+81 (0)90 1234 5678", None, "+819012345678"),
        ("+27 (0)21 123 4567", None, "+27211234567"),
        # exit codes: 011 (North America) and 00, whatever the default country
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("011 49 151 87064754", "US", "+4915187064754"),
        ("0044 20 7946 0958", "US", "+442079460958"),
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("0049 151 87064754", "US", "+4915187064754"),
        ("0033 1 23 45 67 89", "US", "+33123456789"),
        ("0039 06 1234 5678", "US", "+390612345678"),
        ("0049 (0)151 87064754", "US", "+4915187064754"),
        # a country code written without "+", when the default country's reading is invalid
        ("44 20 7946 0958", "US", "+442079460958"),
        ("49 151 87064754", "US", "+4915187064754"),
        # national formats, trunk prefix dropped
        ("020 7946 0958", "GB", "+442079460958"),
        ("0113 496 0123", "GB", "+441134960123"),
        ("(030) 1234 5678", "DE", "+493012345678"),
        ("0151 87064754", "Germany", "+4915187064754"),
        ("0151 87064754", "+49", "+4915187064754"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("01 23 45 67 89", "fr", "+33123456789"),
        ("098765 43210", "IN", "+919876543210"),
        ("+91-22-2345-6789", None, "+912223456789"),
        ("0412 345 678", "AU", "+61412345678"),
        ("(02) 9876 5432", "Australia", "+61298765432"),
        ("03-1234-5678", "JP", "+81312345678"),
        ("090-1234-5678", "JP", "+819012345678"),
        ("(11) 91234-5678", "BR", "+5511912345678"),
        ("+55 11 3123-4567", None, "+551131234567"),
        ("+52 55 1234 5678", None, "+525512345678"),
        ("+86 138 0013 8000", None, "+8613800138000"),
        ("010 6552 9988", "CN", "+861065529988"),
        ("06 12345678", "NL", "+31612345678"),
        ("087 123 4567", "IE", "+353871234567"),
        ("044 668 18 00", "CH", "+41446681800"),
        ("082 123 4567", "ZA", "+27821234567"),
        ("010-1234-5678", "KR", "+821012345678"),
        ("021 123 4567", "NZ", "+64211234567"),
        ("050-123-4567", "AE", "+971501234567"),
        ("8 (912) 345-67-89", "RU", "+79123456789"),  # Russia's trunk prefix is 8
        ("+7 495 123-45-67", None, "+74951234567"),
        # no trunk prefix: Spain, Singapore, Hong Kong
        ("612 34 56 78", "ES", "+34612345678"),
        ("+34 91 123 45 67", None, "+34911234567"),
        ("+65 6123 4567", None, "+6561234567"),
        ("+852 2123 4567", None, "+85221234567"),
        # Italy keeps the 0 of its area codes after the country code
        ("06 1234 5678", "IT", "+390612345678"),
        ("+39 333 123 4567", None, "+393331234567"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "country", "expected"), ACCEPTED)
def test_to_e164_accepts(text: str, country: str | None, expected: str) -> None:
    assert to_e164(text, country) == expected


def test_the_corpus_spans_the_countries_asked_for() -> None:
    # Keeps the table above honest: at least 30 international formats, 10+ countries.
    international = [e for t, c, e in ACCEPTED if t.lstrip().startswith(("+", "00", "011"))]
    assert len(international) >= 30
    assert len({e[:3] for _, _, e in ACCEPTED}) >= 10


@pytest.mark.parametrize(
    ("text", "country", "reason"),
    [
        ("", "US", "empty"),
        ("call me", "US", "not a phone number"),
        ("()", "US", "not a phone number"),
        ("555-0123", "US", "too short for +1 (US): 7 digits"),
        ("(115) 555-0123", "US", "numbering plan of +1 (US)"),
        ("(911) 555-0123", "US", "numbering plan of +1 (US)"),
        ("+999 1234567", None, "unknown country calling code"),
        ("4155550123", None, "no country code"),
        ("+44 20 7946 09", None, "too short for +44 (GB)"),
        ("+49 1234567890123456", None, "too long"),
        ("0044 20 7946 09", "US", "too short for +44 (GB)"),  # the exit code's reading
        ("07700 900123", "GB", "numbering plan of +44 (GB)"),  # Ofcom's drama range
        ("1" * 300, "US", "too long"),
    ],
)
def test_to_e164_refuses(text: str, country: str | None, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        to_e164(text, country)


def test_extensions_can_be_refused() -> None:
    assert to_e164("415-555-0123", "US", extension="reject") == "+14155550123"
    with pytest.raises(ValueError, match="has an extension"):
        to_e164("415-555-0123 x45", "US", extension="reject")


@pytest.mark.parametrize("country", ["XX", "+999", "+", "+800", "Narnia", "AQ"])
def test_unknown_default_country(country: str) -> None:
    with pytest.raises(ValueError, match=r"country|numbering plan"):
        resolve_country(country)


@pytest.mark.parametrize(
    ("given", "region"),
    [("+355", "AL"), ("+1", "US"), ("+44", "GB"), ("gb", "GB"), ("United States", "US"),
     ("Côte d'Ivoire", "CI"), ("SS", "SS"), ("Korea (Republic of)", "KR"), ("UK", "GB")],
)  # fmt: skip
def test_countries_by_code_calling_code_or_name(given: str, region: str) -> None:
    assert resolve_country(given) == region


TODAY = dt.date(2024, 6, 1)


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("1990-03-05", "MDY", "1990-03-05"),
        ("1990/3/5", "MDY", "1990-03-05"),
        ("1990.03.05", "DMY", "1990-03-05"),
        ("1990_03_05", "MDY", "1990-03-05"),
        ("19900305", "MDY", "1990-03-05"),
        ("1990-03-05T13:45:00Z", "MDY", "1990-03-05"),
        ("1990-03-05 13:45", "MDY", "1990-03-05"),
        ("03/05/1990", "MDY", "1990-03-05"),
        ("03/05/1990", "DMY", "1990-05-03"),
        ("25/12/1990", "MDY", "1990-12-25"),  # only one reading is a date
        ("12/25/1990", "DMY", "1990-12-25"),
        ("3-5-90", "MDY", "1990-03-05"),
        ("3/5/24", "MDY", "2024-03-05"),
        ("3/5/25", "MDY", "1925-03-05"),  # two-digit years are in the past
        ("March 5, 1990", "MDY", "1990-03-05"),
        ("5 March 1990", "MDY", "1990-03-05"),
        ("05-Mar-90", "DMY", "1990-03-05"),
        ("Sept 5 1990", "MDY", "1990-09-05"),
        ("1990 Mar 5", "MDY", "1990-03-05"),
    ],
)
def test_parse_date(text: str, order: str, expected: str) -> None:
    assert parse_date(text, order=order, today=TODAY).isoformat() == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("1990-02-30", "no such date"),
        ("13/13/1990", "no such date"),
        ("someday", "not a date"),
        ("Smarch 5 1990", "not a date"),
        ("March 1990", "not a date"),
    ],
)
def test_parse_date_refuses(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_date(text, today=TODAY)


def test_parse_date_defaults_to_today() -> None:
    assert parse_date("1/2/00").year in (1900, 2000)


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Ada Lovelace", "Ada", "Lovelace"),
        ("  Ada   Lovelace ", "Ada", "Lovelace"),
        ("Lovelace, Ada", "Ada", "Lovelace"),
        ("Cher", "Cher", ""),
        ("Dr. Martin Luther King Jr.", "Martin Luther", "King Jr."),
        ("Mrs Grace Hopper", "Grace", "Hopper"),
        ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
        ("Maria de la Cruz", "Maria", "de la Cruz"),
        ("King, Jr.", "King", "Jr."),
        ("Dr", "Dr", ""),
        ("", "", ""),
    ],
)
def test_split_name(full: str, first: str, last: str) -> None:
    assert split_name(full) == (first, last)

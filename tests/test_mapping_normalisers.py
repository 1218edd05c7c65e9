"""Phone (E.164), date and name normalisers: table tests."""

from __future__ import annotations

import datetime as dt

import pytest

from ghl_async.mapping import parse_date, split_name, to_e164
from ghl_async.mapping._phone import resolve_country


@pytest.mark.parametrize(
    ("text", "country", "expected"),
    [
        ("(415) 555-0123", "US", "+14155550123"),
        ("415.555.0123", "US", "+14155550123"),
        ("1-415-555-0123", "US", "+14155550123"),
        ("+1 415 555 0123", None, "+14155550123"),
        ("415-555-0123 x45", "US", "+14155550123"),
        ("415 555 0123 ext. 9", "CA", "+14155550123"),
        ("011 44 20 7946 0958", "US", "+442079460958"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("0044 20 7946 0958", "GB", "+442079460958"),
        ("44 20 7946 0958", "GB", "+442079460958"),
        ("06 1234 5678", "IT", "+390612345678"),
        ("06 1 234 5678", "HU", "+3612345678"),
        ("8 912 345 67 89", "RU", "+79123456789"),
        ("612 345 678", "ES", "+34612345678"),
        ("0412 345 678", "AU", "+61412345678"),
        ("0412 345 678", "+61", "+61412345678"),
        ("12345678", "+372", "+37212345678"),
        ("+355 4 222 3333", None, "+35542223333"),
    ],
)
def test_to_e164_accepts(text: str, country: str | None, expected: str) -> None:
    assert to_e164(text, country) == expected


@pytest.mark.parametrize(
    ("text", "country", "reason"),
    [
        ("", "US", "empty"),
        ("  x12", "US", "empty"),
        ("call me", "US", "unexpected characters"),
        ("+1 +1 415", None, "unexpected characters"),
        ("()", "US", "no digits"),
        ("555-0123", "US", "10 digits"),
        ("(115) 555-0123", "US", "area code 115 cannot start with 1"),
        ("(911) 555-0123", "US", "service code"),
        ("(415) 055-0123", "US", "exchange 055"),
        ("+999 1234567", None, "unknown country calling code"),
        ("4155550123", None, "no country code"),
        ("020 7946 09", "GB", "9-10 digits"),
        ("+33 1 23", None, "9 digits"),
        ("+49 1234567890123456", None, "6-13 digits"),
        ("+355 12345678901234", None, "15 digits"),
    ],
)
def test_to_e164_refuses(text: str, country: str | None, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        to_e164(text, country)


@pytest.mark.parametrize("country", ["XX", "+999", "+"])
def test_unknown_default_country(country: str) -> None:
    with pytest.raises(ValueError, match="unknown"):
        resolve_country(country)


def test_calling_code_outside_the_table_still_resolves() -> None:
    assert resolve_country("+355").code == "355"


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

"""The natural-key logic of exactly-once creates, by table: pure functions, no server."""

from __future__ import annotations

import email.utils
from datetime import datetime, timezone

import pytest

from ghl_async import models as m
from ghl_async.reconcile import (
    CLOCK_MARGIN,
    NO_DATE_MARGIN,
    Claimed,
    clock_offset,
    contact_key,
    contact_matches,
    created_id,
    newcomers,
    parse_time,
    same_text,
    same_time,
    since,
)

UTC = timezone.utc
NOON = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-01T12:00:00.000Z", NOON),
        ("2026-01-01T12:00:00Z", NOON),
        ("2026-01-01T13:00:00+01:00", NOON),
        ("2026-01-01T12:00:00", NOON),  # no zone: UTC
        (1767268800000, NOON),  # epoch milliseconds
        (" 2026-01-01T12:00:00z ", NOON),
        ("yesterday", None),
        ("", None),
        (None, None),
        (10**20, None),
    ],
)
def test_parse_time(value: str | int | None, expected: datetime | None) -> None:
    assert parse_time(value) == expected


def test_clock_offset_is_a_lower_bound_from_the_date_header() -> None:
    date = email.utils.formatdate(NOON.timestamp(), usegmt=True)
    # Received 0.4 s after the server stamped noon (the header truncates to the second).
    assert clock_offset(date, NOON.timestamp() + 0.4) == pytest.approx(-0.4)
    # A server clock an hour ahead of ours.
    assert clock_offset(date, NOON.timestamp() - 3600) == pytest.approx(3600)
    assert clock_offset(None, 0.0) is None
    assert clock_offset("", 0.0) is None
    assert clock_offset("not a date", 0.0) is None
    assert clock_offset("Wed, 01 Jan 2026 12:00:00", NOON.timestamp()) == 0.0  # no zone: UTC


def test_since() -> None:
    started = NOON.timestamp()
    assert since(started, 0.0).timestamp() == pytest.approx(started - CLOCK_MARGIN)
    assert since(started, -3600.0).timestamp() == pytest.approx(started - 3600 - CLOCK_MARGIN)
    assert since(started, None).timestamp() == pytest.approx(started - NO_DATE_MARGIN)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (m.CreateContact(location_id="l", email=" Ann@Example.COM "), ("ann@example.com", None)),
        (m.CreateContact(location_id="l", phone="+1 555"), (None, "+1 555")),
        (m.CreateContact(location_id="l", email="", phone="  "), (None, None)),
        (m.CreateContact(location_id="l", email=None), (None, None)),
        (m.UpsertContact(location_id="l", email="a@b.c", phone="1"), ("a@b.c", "1")),
        (None, (None, None)),
    ],
)
def test_contact_key(body: object, expected: tuple[str | None, str | None]) -> None:
    assert contact_key(body) == expected


@pytest.mark.parametrize(
    ("contact", "email", "phone", "expected"),
    [
        (m.Contact(email="Ann@example.com"), "ann@example.com", None, True),
        (m.Contact(email="bob@example.com"), "ann@example.com", None, False),
        (m.Contact(phone="+15551234567"), None, "(555) 123-4567", True),  # national form
        (m.Contact(phone="+15551234567"), None, "+1 555 123 4567", True),
        (m.Contact(phone="+15551234567"), None, "+15551234568", False),
        (m.Contact(phone="+15551234567"), None, "4567", False),  # too short to tell
        (m.Contact(), "ann@example.com", "+15551234567", False),
        (m.Contact(email="x@y.z", phone="+15551234567"), "ann@example.com", "5551234567", True),
    ],
)
def test_contact_matches(
    contact: m.Contact, email: str | None, phone: str | None, expected: bool
) -> None:
    assert contact_matches(contact, email, phone) is expected


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        ("2026-03-01T09:00:00Z", "2026-03-01T09:00:00.000Z", True),
        ("2026-03-01T09:00:00Z", "2026-03-01T10:00:00+01:00", True),
        ("2026-03-01T09:00:00Z", "2026-03-01T09:00:01Z", False),
        ("soon", "soon", True),
        ("soon", "later", False),
        (None, "2026-03-01T09:00:00Z", False),
    ],
)
def test_same_time(left: str | None, right: str | None, expected: bool) -> None:
    assert same_time(left, right) is expected


def test_same_text() -> None:
    assert same_text("  Spoke  on\nthe phone ", "Spoke on the phone")
    assert not same_text("Spoke on the phone", "spoke on the phone")
    assert same_text(None, "")


def test_newcomers() -> None:
    notes = [
        m.Note(id="old", body="x", date_added="2026-01-01T11:00:00Z"),  # before the attempt
        m.Note(id="new", body="x", date_added="2026-01-01T12:00:01Z"),
        m.Note(id="mine", body="x", date_added="2026-01-01T12:00:02Z"),  # handed out already
        m.Note(id="other", body="y", date_added="2026-01-01T12:00:03Z"),  # another key
        m.Note(id="undated", body="x"),  # cannot be excluded
    ]
    found = newcomers(
        notes,
        matches=lambda n: n.body == "x",
        ident=lambda n: n.id,
        added=lambda n: n.date_added,
        after=NOON,
        claimed={"mine"},
    )
    assert [n.id for n in found] == ["new", "undated"]


def test_claimed_keeps_the_most_recent() -> None:
    claimed = Claimed(size=3)
    for ident in ("a", "b", "c", "d", ""):
        claimed.add(ident)
    assert [i for i in "abcd" if i in claimed] == ["b", "c", "d"]
    assert "" not in claimed


def test_created_id() -> None:
    assert created_id(m.Contact(id="c1")) == "c1"
    assert created_id(m.Task(id="t1")) == "t1"
    assert created_id(m.UpsertResult(contact=m.Contact(id="c2"))) == "c2"
    assert created_id(m.UpsertResult()) is None
    assert created_id(m.Ack()) is None

"""Deterministic, realistic seed data: business contacts with tasks, notes and appointments.

Names, US addresses with matching area codes and time zones, E.164 phones and e-mails on the
reserved ``example.*`` domains (RFC 2606, so nothing real is ever addressed). The same seed and
the same call order give the same data; e-mails and phones stay unique across calls because
they carry the store's running count of seeded contacts.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Final, TypeVar

from ghl_async.testing.store import (
    AppointmentRecord,
    ContactRecord,
    LocationRecord,
    NoteRecord,
    Store,
    TaskRecord,
    iso_ms,
)

__all__ = ["SEED_EPOCH_MS", "seed_contacts"]

T = TypeVar("T")

# 2024-01-01T00:00:00Z: seeded contacts were "added" one minute apart from here on, so they
# sort before anything created through the API.
SEED_EPOCH_MS: Final = 1_704_067_200_000
_MINUTE: Final = 60_000
_DAY: Final = 86_400_000

_FIRST: Final = (
    "Emma", "Liam", "Olivia", "Noah", "Ava", "Elijah", "Sophia", "James", "Isabella", "Lucas",
    "Mia", "Mason", "Amelia", "Ethan", "Harper", "Logan", "Evelyn", "Aiden", "Abigail", "Jackson",
    "Emily", "Sebastian", "Ella", "Mateo", "Scarlett", "Henry", "Grace", "Owen", "Chloe", "Wyatt",
    "Zoe", "Julian", "Lily", "Levi", "Hannah", "Isaac", "Nora", "Gabriel", "Riley", "Carter",
    "Aria", "Jayden", "Layla", "Luke", "Penelope", "Anthony", "Camila", "Dylan", "Ruby", "Leo",
)  # fmt: skip
_LAST: Final = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright",
    "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall",
    "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
)  # fmt: skip
# city, state, ZIP prefix, area code, IANA time zone
_CITIES: Final = (
    ("Austin", "TX", "787", "512", "America/Chicago"),
    ("Denver", "CO", "802", "303", "America/Denver"),
    ("Portland", "OR", "972", "503", "America/Los_Angeles"),
    ("Seattle", "WA", "981", "206", "America/Los_Angeles"),
    ("Phoenix", "AZ", "850", "602", "America/Phoenix"),
    ("Chicago", "IL", "606", "312", "America/Chicago"),
    ("Atlanta", "GA", "303", "404", "America/New_York"),
    ("Boston", "MA", "021", "617", "America/New_York"),
    ("Miami", "FL", "331", "305", "America/New_York"),
    ("Nashville", "TN", "372", "615", "America/Chicago"),
    ("San Diego", "CA", "921", "619", "America/Los_Angeles"),
    ("Columbus", "OH", "432", "614", "America/New_York"),
    ("Minneapolis", "MN", "554", "612", "America/Chicago"),
    ("Raleigh", "NC", "276", "919", "America/New_York"),
    ("Salt Lake City", "UT", "841", "801", "America/Denver"),
    ("Kansas City", "MO", "641", "816", "America/Chicago"),
)
_STREETS: Final = (
    "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Pine St", "Elm St", "Washington Ave",
    "Lake Rd", "Hillcrest Dr", "Park Blvd", "Sunset Blvd", "River Rd", "Highland Ave",
)  # fmt: skip
_COMPANIES: Final = (
    "Acme Roofing", "Bluebird Dental", "Summit Fitness", "Harbor Realty", "Pioneer Plumbing",
    "Evergreen Landscaping", "Northstar Insurance", "Brightside Pediatrics", "Copper Kettle Cafe",
    "Granite Legal Group", "Lighthouse Marketing", "Redwood Auto Care",
)  # fmt: skip
_DOMAINS: Final = ("example.com", "example.org", "example.net")
_USERS: Final = ("user0000000000000001", "user0000000000000002", "user0000000000000003")
_SOURCES: Final = ("website form", "facebook lead ad", "referral", "public api", "walk-in")
_TAGS: Final = ("customer", "lead", "vip", "newsletter", "webinar-2024", "trial", "churn-risk")
_PLANS: Final = ("Bronze", "Silver", "Gold", "Platinum")
_TASK_TITLES: Final = (
    "Call back about the quote", "Send the onboarding pack", "Follow up on the invoice",
    "Book a product demo", "Confirm the appointment", "Ask for a review",
)  # fmt: skip
_NOTE_BODIES: Final = (
    "Prefers e-mail over phone calls.", "Asked about annual pricing.",
    "Met at the spring trade show.", "Wants a callback after 3 pm.",
    "Referred by an existing customer.",
)  # fmt: skip


def _clock(ms: int) -> str:
    # Appointment times look like "2021-07-16 11:00:00" in HighLevel's examples.
    return iso_ms(ms)[:19].replace("T", " ")


def _pick(bits: int, options: Sequence[T]) -> tuple[T, int]:
    bits, index = divmod(bits, len(options))
    return options[index], bits


def seed_contacts(
    store: Store,
    location: LocationRecord,
    count: int,
    *,
    business_id: str | None,
    seed: int,
    tasks: int,
    notes: int,
    appointments: int,
    tags: Sequence[str] | None,
    custom_fields: bool,
) -> list[str]:
    """Create ``count`` contacts in ``location`` and return their ids, in creation order."""
    start = store.seeded
    rng = random.Random(f"{seed}/{location.id}/{business_id}/{start}")
    plan_field = store.field_id(location, "plan") if custom_fields else ""
    since_field = store.field_id(location, "customer_since") if custom_fields else ""
    fixed_tags = list(tags) if tags is not None else None
    per_contact = 1 + tasks + notes + appointments
    # One batch of ids and one big random number per contact: seeding 20,000 contacts is on
    # the hot path of many tests, and per-field random calls dominated it.
    fresh = iter(store.new_ids(count * per_contact))
    ids: list[str] = []
    for offset in range(count):
        k = start + offset
        bits = rng.getrandbits(160)
        first, bits = _pick(bits, _FIRST)
        last, bits = _pick(bits, _LAST)
        (city, state, zip_prefix, area, zone), bits = _pick(bits, _CITIES)
        company, bits = _pick(bits, _COMPANIES)
        domain, bits = _pick(bits, _DOMAINS)
        source, bits = _pick(bits, _SOURCES)
        street, bits = _pick(bits, _STREETS)
        user, bits = _pick(bits, _USERS)
        plan, bits = _pick(bits, _PLANS)
        bits, jitter = divmod(bits, _MINUTE)
        bits, updated = divmod(bits, 30 * _DAY)
        bits, house = divmod(bits, 9900)
        bits, zip_suffix = divmod(bits, 100)
        bits, birth = divmod(bits, 54 * 12 * 28)
        added = SEED_EPOCH_MS + k * _MINUTE + jitter
        contact_id = next(fresh)
        if fixed_tags is not None:
            contact_tags = list(fixed_tags)
        else:
            bits, how_many = divmod(bits, 4)
            contact_tags = []
            for _ in range(how_many):
                tag, bits = _pick(bits, _TAGS)
                if tag not in contact_tags:
                    contact_tags.append(tag)
        contact = ContactRecord(
            id=contact_id,
            location_id=location.id,
            added_ms=added,
            updated_ms=added + updated,
            first_name=first,
            last_name=last,
            email=f"{first}.{last}{k}@{domain}".lower(),
            # Unique per seeded contact: exchange and line come from the running count.
            phone=f"+1{area}{200 + (k // 10_000) % 800}{k % 10_000:04d}",
            company_name=company,
            timezone=zone,
            source=source,
            assigned_to=user,
            address1=f"{100 + house} {street}",
            city=city,
            state=state,
            country="US",
            postal_code=f"{zip_prefix}{zip_suffix:02d}",
            date_of_birth=(
                f"{1950 + birth // 336}-{1 + birth // 28 % 12:02d}-{1 + birth % 28:02d}"
            ),
            tags=contact_tags,
            business_id=business_id,
            attribution_url="https://www.example.com/landing",
        )
        if custom_fields:
            contact.custom_fields = {plan_field: plan, since_field: str(2015 + k % 10)}
        for number in range(tasks):
            task_id = next(fresh)
            contact.tasks[task_id] = TaskRecord(
                id=task_id,
                contact_id=contact_id,
                title=_TASK_TITLES[(k + number) % len(_TASK_TITLES)],
                body=f"Task {number + 1} for {first} {last}",
                due_date=iso_ms(added + (number + 1) * 7 * _DAY),
                completed=(bits >> number) & 3 == 0,
                assigned_to=user,
                added_ms=added,
            )
        for number in range(notes):
            note_id = next(fresh)
            contact.notes[note_id] = NoteRecord(
                id=note_id,
                contact_id=contact_id,
                body=_NOTE_BODIES[(k + number) % len(_NOTE_BODIES)],
                user_id=user,
                added_ms=added,
            )
        for number in range(appointments):
            begins = added + (number + 2) * _DAY + 9 * 3_600_000
            contact.appointments.append(
                AppointmentRecord(
                    id=next(fresh),
                    contact_id=contact_id,
                    location_id=location.id,
                    calendar_id="calendar0000000000001",
                    title=f"Consultation with {first} {last}",
                    start_time=_clock(begins),
                    end_time=_clock(begins + 1_800_000),
                    assigned_user_id=user,
                    address="Zoom",
                    users=[user],
                    date_added=_clock(added),
                    date_updated=_clock(added),
                )
            )
        store.insert(contact)
        ids.append(contact_id)
    store.seeded = start + count
    return ids

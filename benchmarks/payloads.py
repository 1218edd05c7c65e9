"""Deterministic, realistic HighLevel contact payloads shared by the server and the runner.

Contacts follow `GetContectByIdSchema` (contacts.json) plus one undeclared field, as live
responses carry extras. Both processes build the same pool from the same seed, so the runner
knows which ids exist without asking the server.
"""

from __future__ import annotations

import random
import string
from functools import lru_cache
from typing import Any

SEED = 20210728
POOL_SIZE = 1000
LOCATION_ID = "ve9EPM428h8vShlRW1KT"
USER_ID = "y0BeYjuRIlDwsDcOHOJo"
# The business endpoint has no state here: the business's size is encoded in the last 16 hex
# digits of its ObjectId-shaped id, so the server stays stateless and any N can be walked.
_BUSINESS_PREFIX = "641c0940"

_FIRST = ("Rubika", "Rosan", "Amelia", "Noah", "Priya", "Mateo", "Chloe", "Kenji", "Fatima",
          "Lucas", "Ingrid", "Omar", "Sofia", "Diego", "Hannah", "Arjun", "Zoe", "Tomasz")
_LAST = ("Deo", "Okafor", "Lindqvist", "Martinez", "Nakamura", "Haddad", "Smith", "Kowalski",
         "Rossi", "Fernandes", "Nguyen", "Schmidt", "Dubois", "Khan", "Olsen", "Moreau")
_CITIES = (("Dolomite", "AL", "35061"), ("Austin", "TX", "73301"), ("Denver", "CO", "80202"),
           ("Portland", "OR", "97201"), ("Miami", "FL", "33101"), ("Boston", "MA", "02108"))
_COMPANIES = ("DGS VolMAX", "Northwind Traders", "Acme Dental", "Blue Fern Realty",
              "Summit Roofing", "Brightside Fitness")
_TAGS = ("lead", "newsletter", "webinar-2026", "vip", "facebook-ad", "trial", "customer",
         "referral", "cold", "follow-up")
_TIMEZONES = ("America/Chicago", "America/New_York", "America/Denver", "America/Los_Angeles")


def _ghl_id(rng: random.Random) -> str:
    return "".join(rng.choices(string.ascii_letters + string.digits, k=20))


def _iso(rng: random.Random, year: int) -> str:
    return (f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T"
            f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}."
            f"{rng.randint(0, 999):03d}Z")


def _attribution(rng: random.Random) -> dict[str, Any]:
    return {
        "url": "https://www.example.com/landing/spring?utm_source=google&utm_medium=cpc",
        "campaign": "spring-sale",
        "utmSource": "google",
        "utmMedium": "cpc",
        "utmContent": f"ad-{rng.randint(1, 9)}",
        "referrer": "https://www.google.com/",
        "campaignId": None,
        "fbclid": None,
        "gclid": "CjOKCQjwnNyUBhCZARISAI9AYIFtNnIcWcYGIOQINz_ZoFI5SSLRRugSoPZoiEu27IZBY",
        "userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36",
        "ip": f"203.0.113.{rng.randint(1, 254)}",
        "medium": "form",
        "mediumId": _ghl_id(rng),
        "sessionSource": "Paid Search",
    }


def make_contact(index: int, business_id: str = "641c094001436dbc2081e642") -> dict[str, Any]:
    """Return contact number `index` of the deterministic pool as a wire-shaped dict."""
    rng = random.Random(SEED * 1_000_003 + index)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    city, state, postal = rng.choice(_CITIES)
    email = f"{first}.{last}{index}@example.com"
    dnd = {"status": "inactive", "message": "", "code": ""}
    return {
        "id": _ghl_id(rng),
        "name": f"{first} {last}",
        "locationId": LOCATION_ID,
        "firstName": first,
        "lastName": last,
        "email": email,
        "emailLowerCase": email.lower(),
        "timezone": rng.choice(_TIMEZONES),
        "companyName": rng.choice(_COMPANIES),
        "phone": f"+1{rng.randint(2000000000, 9899999999)}",
        "dnd": False,
        "dndSettings": {"Call": dict(dnd), "Email": dict(dnd), "SMS": dict(dnd)},
        "type": "lead",
        "source": "public api",
        "assignedTo": USER_ID,
        "address1": f"{rng.randint(1, 9999)} {rng.choice(('1st St N', 'Main St', 'Oak Ave'))}",
        "city": city,
        "state": state,
        "country": "US",
        "postalCode": postal,
        "website": "https://www.example.com",
        "tags": rng.sample(_TAGS, 3),
        "dateOfBirth": f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "dateAdded": _iso(rng, 2024),
        "dateUpdated": _iso(rng, 2025),
        "firstNameLowerCase": first.lower(),
        "fullNameLowerCase": f"{first} {last}".lower(),
        "lastNameLowerCase": last.lower(),
        "lastActivity": _iso(rng, 2026),
        "customFields": [
            {"id": "MgobCB14YMVKuE4Ka8p1", "value": rng.choice(("Gold", "Silver", "Bronze"))},
            {"id": "k2Q9xWb7sPz0LrT4nV8e", "value": str(rng.randint(1, 500))},
            {"id": "Hc3uYf6JmA1oDq9ZsX2w", "value": "Prefers e-mail in the morning"},
        ],
        "businessId": business_id,
        "attributionSource": _attribution(rng),
        "lastAttributionSource": _attribution(rng),
        "visitorId": _ghl_id(rng),
    }


# The wide contact (scenario decode_page_wide): the 37 fields of `GetContectByIdSchema` but the
# three no live contact carries (`ssn`, `keyword`, `attachments`), plus the two list fields the
# business listing's `ContactsSearchSchema` adds (`attributions`, `followers`): 36 in all, in
# the spec's order. As in live pages, list fields are often absent and optional strings null.
WIDE_FIELDS = (
    "id", "name", "locationId", "firstName", "lastName", "email", "emailLowerCase", "timezone",
    "companyName", "phone", "dnd", "dndSettings", "type", "source", "assignedTo", "address1",
    "city", "state", "country", "postalCode", "website", "tags", "dateOfBirth", "dateAdded",
    "dateUpdated", "firstNameLowerCase", "fullNameLowerCase", "lastNameLowerCase",
    "lastActivity", "customFields", "businessId", "attributionSource", "lastAttributionSource",
    "visitorId", "attributions", "followers",
)
_CHANNELS = ("Call", "Email", "SMS", "WhatsApp", "GMB", "FB")


def make_wide_contact(index: int) -> dict[str, Any]:
    """Return wide contact number `index`: `WIDE_FIELDS` in wire order, some absent or null."""
    base = make_contact(index)
    rng = random.Random(SEED * 7_000_003 + index)
    dnd = {"status": "inactive", "message": "", "code": ""}
    extra: dict[str, Any] = {
        "dndSettings": {channel: dict(dnd) for channel in _CHANNELS},
        "companyName": None if index % 3 == 0 else base["companyName"],
        "assignedTo": None if index % 4 == 1 else base["assignedTo"],
        "website": None if index % 2 else base["website"],
        "dateOfBirth": None if index % 2 == 0 else base["dateOfBirth"],
        "lastActivity": None if index % 5 == 2 else base["lastActivity"],
        "attributions": [_attribution(rng)],
        "followers": [USER_ID, _ghl_id(rng)],
    }
    # Absent, as live pages leave them: tags on a quarter of the contacts, attributions on
    # three quarters, followers on four fifths.
    absent = {"tags"} if index % 4 == 3 else set()
    if index % 4:
        absent.add("attributions")
    if index % 5:
        absent.add("followers")
    merged = {**base, **extra}
    return {key: merged[key] for key in WIDE_FIELDS if key not in absent}


def make_created_contact(index: int) -> dict[str, Any]:
    """Return a `CreateContactSchema`-shaped contact, as `POST /contacts/` answers."""
    full = make_contact(index)
    created = {key: full[key] for key in (
        "id", "dateAdded", "dateUpdated", "tags", "type", "customFields", "locationId",
        "firstName", "firstNameLowerCase", "fullNameLowerCase", "lastName", "lastNameLowerCase",
        "email", "emailLowerCase", "dnd", "dndSettings", "phone", "address1", "city", "state",
        "country", "postalCode", "website", "source", "companyName", "businessId", "assignedTo")}
    created.update(deleted=False, bounceEmail=False, unsubscribeEmail=False,
                   dateOfBirth="1990-09-25T00:00:00.000Z", birthMonth=8, birthDay=25,
                   lastSessionActivityAt=full["lastActivity"], offers=[], products=[])
    return created


@lru_cache(maxsize=1)
def wide_page(size: int) -> tuple[dict[str, Any], ...]:
    """The `size` wide contacts of a `decode_page_wide` page."""
    return tuple(make_wide_contact(i) for i in range(size))


@lru_cache(maxsize=1)
def pool() -> tuple[dict[str, Any], ...]:
    """The shared pool of `POOL_SIZE` contacts (ids are unique)."""
    return tuple(make_contact(i) for i in range(POOL_SIZE))


def contact_ids() -> list[str]:
    """Ids the server knows, in pool order."""
    return [c["id"] for c in pool()]


def business_id(size: int) -> str:
    """Return the id of a benchmark business holding `size` contacts."""
    return f"{_BUSINESS_PREFIX}{size:016x}"


def business_size(business: str) -> int | None:
    """Inverse of `business_id`; None for ids the benchmark did not make."""
    if len(business) != 24 or not business.startswith(_BUSINESS_PREFIX):
        return None
    try:
        return int(business[8:], 16)
    except ValueError:
        return None


def create_fields(index: int) -> dict[str, str]:
    """Snake_case fields of the `index`-th contact a POST scenario creates."""
    return {
        "first_name": f"Bench{index}",
        "last_name": "Create",
        "email": f"bench{index}@example.com",
        "phone": f"+1555{index % 10_000_000:07d}",
        "source": "benchmark",
    }


def create_body(index: int) -> dict[str, Any]:
    """Wire-shaped (camelCase) `CreateContactDto` for `create_fields(index)`."""
    fields = create_fields(index)
    return {
        "locationId": LOCATION_ID,
        "firstName": fields["first_name"],
        "lastName": fields["last_name"],
        "email": fields["email"],
        "phone": fields["phone"],
        "source": fields["source"],
    }

"""The fake's state: locations, contacts and what hangs off them (tasks, notes, appointments,
campaign and workflow memberships), with the indexes the endpoints need.

Everything here is plain data mutated on the server's event loop; the server marshals calls
from other threads onto that loop. Records keep timestamps as epoch milliseconds and format ISO
strings only when a response needs them.
"""

from __future__ import annotations

import base64
import bisect
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

__all__ = [
    "CHANGES",
    "AppointmentRecord",
    "ChangeClock",
    "ContactRecord",
    "LocationRecord",
    "NoteRecord",
    "Store",
    "TaskRecord",
    "iso_ms",
    "normalize_email",
    "normalize_phone",
    "now_ms",
]

EventSink = Callable[[str, Mapping[str, object]], None]


class ChangeClock:
    """Counts contact changes, so derived results (sorted searches) know when they are stale."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0

    def tick(self) -> None:
        """Record that some contact changed."""
        self.value += 1


CHANGES = ChangeClock()
"""Shared by every store: a change anywhere only makes other fakes' caches rebuild early."""
_ALNUM = bytes.maketrans(b"+/", b"xQ")


def now_ms() -> int:
    """Wall-clock time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


_DAY_MS = 86_400_000
_DAY_PREFIXES: dict[int, str] = {}


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as HighLevel's ISO form, ``2021-11-26T12:41:02.193Z``."""
    # Hot in seeding and list responses: format the date once per day, the time by arithmetic.
    day, rest = divmod(ms, _DAY_MS)
    prefix = _DAY_PREFIXES.get(day)
    if prefix is None:
        prefix = time.strftime("%Y-%m-%dT", time.gmtime(day * 86_400))
        if len(_DAY_PREFIXES) < 100_000:
            _DAY_PREFIXES[day] = prefix
    seconds, frac = divmod(rest, 1000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{prefix}{hours:02d}:{minutes:02d}:{seconds:02d}.{frac:03d}Z"


def normalize_email(email: str | None) -> str | None:
    """The duplicate-matching key of an e-mail address (case-insensitive)."""
    if not email:
        return None
    return email.strip().lower() or None


def normalize_phone(phone: str | None) -> str | None:
    """The duplicate-matching key of a phone number: digits, with a leading ``+`` kept."""
    if not phone:
        return None
    if phone[0] == "+" and phone[1:].isdigit():  # already E.164: the common case
        return phone
    digits = "".join(ch for ch in phone if ch.isdigit())
    if not digits:
        return None
    return ("+" if phone.strip().startswith("+") else "") + digits


@dataclass(slots=True, eq=False)
class TaskRecord:
    """A task on a contact."""

    id: str
    contact_id: str
    title: str
    due_date: str
    completed: bool = False
    body: str | None = None
    assigned_to: str | None = None
    added_ms: int = 0


@dataclass(slots=True, eq=False)
class NoteRecord:
    """A note on a contact."""

    id: str
    contact_id: str
    body: str
    user_id: str | None = None
    title: str | None = None
    color: str | None = None
    pinned: bool | None = None
    added_ms: int = 0


@dataclass(slots=True, eq=False)
class AppointmentRecord:
    """An appointment of a contact (seeded only: the Calendars API creates them for real)."""

    id: str
    contact_id: str
    location_id: str
    calendar_id: str
    title: str
    start_time: str  # "YYYY-MM-DD HH:MM:SS", as HighLevel's examples show
    end_time: str
    status: str = "booked"
    appointment_status: str = "confirmed"
    assigned_user_id: str | None = None
    notes: str | None = None
    address: str | None = None
    group_id: str | None = None
    users: list[str] = field(default_factory=list)
    date_added: str = ""
    date_updated: str = ""


@dataclass(slots=True, eq=False)
class ContactRecord:
    """One contact. Attribute names match the request Structs' field names.

    Whoever changes a field the list endpoints show must call :meth:`touch`, which also drops
    the cached wire shapes.
    """

    id: str
    location_id: str
    added_ms: int
    updated_ms: int
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    company_name: str | None = None
    timezone: str | None = None
    source: str | None = None
    assigned_to: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    postal_code: str | None = None
    website: str | None = None
    gender: str | None = None
    date_of_birth: str | None = None  # YYYY-MM-DD
    dnd: bool = False
    dnd_settings: dict[str, dict[str, str]] = field(default_factory=dict)
    inbound_dnd_settings: dict[str, dict[str, str]] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    custom_fields: dict[str, str] = field(default_factory=dict)  # field id -> value
    followers: list[str] = field(default_factory=list)
    business_id: str | None = None
    contact_type: str = "lead"
    attribution_url: str | None = None
    campaigns: dict[str, None] = field(default_factory=dict)
    workflows: dict[str, str | None] = field(default_factory=dict)  # id -> eventStartTime
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    notes: dict[str, NoteRecord] = field(default_factory=dict)
    appointments: list[AppointmentRecord] = field(default_factory=list)
    text_cache: str | None = None  # lower-cased haystack for free-text queries
    # Wire shapes already built (see shapes.py); cleared by touch().
    wire_cache: dict[str, object] = field(default_factory=dict)

    @property
    def name(self) -> str | None:
        """First and last name joined, as HighLevel's ``name``/``contactName``."""
        joined = " ".join(part for part in (self.first_name, self.last_name) if part)
        return joined or None

    @property
    def key(self) -> tuple[int, str]:
        """Position in the location's stable order (oldest first)."""
        return (self.added_ms, self.id)

    def text(self) -> str:
        """Lower-cased name, e-mail, phone and company, for ``query`` matching."""
        if self.text_cache is None:
            parts = (self.first_name, self.last_name, self.email, self.phone, self.company_name)
            self.text_cache = " ".join(p for p in parts if p).lower()
        return self.text_cache

    def touch(self, ms: int | None = None) -> None:
        """Record a change: bump ``dateUpdated`` and drop cached derived values."""
        self.updated_ms = max(self.added_ms, now_ms() if ms is None else ms)
        self.text_cache = None
        self.wire_cache.clear()
        CHANGES.tick()


@dataclass(slots=True, eq=False)
class LocationRecord:
    """A sub-account: its settings and the indexes over its contacts."""

    id: str
    company_id: str
    name: str
    allow_duplicates: bool = False
    order: list[tuple[int, str]] = field(default_factory=list)  # sorted contact keys
    by_email: dict[str, list[str]] = field(default_factory=dict)
    by_phone: dict[str, list[str]] = field(default_factory=dict)
    businesses: dict[str, dict[str, None]] = field(default_factory=dict)
    business_lists: dict[str, list[str]] = field(default_factory=dict)  # cache of the above
    field_ids: dict[str, str] = field(default_factory=dict)  # custom field key -> id


def _add_to_index(index: dict[str, list[str]], key: str | None, contact_id: str) -> None:
    if key is not None:
        index.setdefault(key, []).append(contact_id)


def _drop_from_index(index: dict[str, list[str]], key: str | None, contact_id: str) -> None:
    if key is None:
        return
    ids = index.get(key)
    if ids and contact_id in ids:
        ids.remove(contact_id)
        if not ids:
            del index[key]


class Store:
    """Every location and contact of one fake server."""

    def __init__(self, *, seed: int = 0) -> None:
        self._rng = random.Random(seed)
        self.locations: dict[str, LocationRecord] = {}
        self.contacts: dict[str, ContactRecord] = {}
        self._last_stamp = 0
        self.seeded = 0  # contacts made by the seeder, so seeded e-mails/phones stay unique
        # Sorted search results by (location, filters, sort, query): paging through one search
        # sorts once. Each entry remembers CHANGES.value at the time it was built.
        self.search_cache: dict[tuple[str, bytes], tuple[int, list[ContactRecord]]] = {}
        self.on_event: EventSink | None = None

    # --- ids and events -----------------------------------------------------------------

    def new_id(self) -> str:
        """A HighLevel-looking id (20 letters and digits), deterministic per store seed."""
        # base64 of 15 random bytes is 20 characters; two of its 64 symbols are not
        # alphanumeric, so map them onto letters (cheaper than choosing 20 characters).
        return base64.b64encode(self._rng.randbytes(15)).translate(_ALNUM).decode()

    def stamp(self) -> int:
        """Now in epoch ms, strictly after the previous stamp.

        Contacts created in the same millisecond would otherwise sort by id, not by creation,
        in the oldest-first listing and the newest-first search.
        """
        self._last_stamp = max(now_ms(), self._last_stamp + 1)
        return self._last_stamp

    def new_ids(self, count: int) -> list[str]:
        """``count`` ids at once (what :meth:`new_id` would give, in one step)."""
        # 15 random bytes encode to exactly 20 base64 characters, so blocks stay aligned.
        text = base64.b64encode(self._rng.randbytes(15 * count)).translate(_ALNUM).decode()
        return [text[start : start + 20] for start in range(0, 20 * count, 20)]

    def emit(self, event_type: str, build: Callable[[], Mapping[str, object]]) -> None:
        """Send a webhook event, building its payload only when someone listens."""
        if self.on_event is not None:
            self.on_event(event_type, build())

    # --- locations ------------------------------------------------------------------------

    def add_location(
        self,
        location_id: str,
        company_id: str,
        *,
        allow_duplicates: bool = False,
        name: str | None = None,
    ) -> LocationRecord:
        """Create a location (sub-account); an existing one is returned unchanged."""
        existing = self.locations.get(location_id)
        if existing is not None:
            return existing
        location = LocationRecord(
            id=location_id,
            company_id=company_id,
            name=name or f"Fake Sub-Account {len(self.locations) + 1}",
            allow_duplicates=allow_duplicates,
        )
        self.locations[location_id] = location
        return location

    def field_id(self, location: LocationRecord, key: str) -> str:
        """The id of the custom field ``key`` (``contact.`` prefix optional), made on first use."""
        bare = key.removeprefix("contact.")
        found = location.field_ids.get(bare)
        if found is None:
            found = location.field_ids[bare] = self.new_id()
        return found

    # --- contacts -------------------------------------------------------------------------

    def contacts_in(self, location_id: str) -> list[ContactRecord]:
        """The contacts of a location, oldest first (the fake's stable order)."""
        location = self.locations[location_id]
        contacts = self.contacts
        return [contacts[contact_id] for _, contact_id in location.order]

    def iter_all(self) -> Iterator[ContactRecord]:
        """Every contact of every location."""
        return iter(self.contacts.values())

    def insert(self, contact: ContactRecord) -> None:
        """Add a new contact and index it."""
        location = self.locations[contact.location_id]
        self.contacts[contact.id] = contact
        CHANGES.tick()
        key = contact.key
        order = location.order
        if not order or key >= order[-1]:
            order.append(key)
        else:
            bisect.insort(order, key)
        _add_to_index(location.by_email, normalize_email(contact.email), contact.id)
        _add_to_index(location.by_phone, normalize_phone(contact.phone), contact.id)
        if contact.business_id is not None:
            self._join_business(location, contact.business_id, contact.id)

    def remove(self, contact: ContactRecord) -> None:
        """Delete a contact with everything attached to it."""
        location = self.locations[contact.location_id]
        del self.contacts[contact.id]
        CHANGES.tick()
        index = bisect.bisect_left(location.order, contact.key)
        if index < len(location.order) and location.order[index] == contact.key:
            del location.order[index]
        _drop_from_index(location.by_email, normalize_email(contact.email), contact.id)
        _drop_from_index(location.by_phone, normalize_phone(contact.phone), contact.id)
        if contact.business_id is not None:
            self._leave_business(location, contact.business_id, contact.id)

    def reindex(self, contact: ContactRecord, old_email: str | None, old_phone: str | None) -> None:
        """Move a contact in the e-mail/phone indexes after those fields changed."""
        location = self.locations[contact.location_id]
        if normalize_email(old_email) != normalize_email(contact.email):
            _drop_from_index(location.by_email, normalize_email(old_email), contact.id)
            _add_to_index(location.by_email, normalize_email(contact.email), contact.id)
        if normalize_phone(old_phone) != normalize_phone(contact.phone):
            _drop_from_index(location.by_phone, normalize_phone(old_phone), contact.id)
            _add_to_index(location.by_phone, normalize_phone(contact.phone), contact.id)

    def find_match(
        self,
        location: LocationRecord,
        email: str | None,
        phone: str | None,
        *,
        exclude: str | None = None,
    ) -> tuple[ContactRecord, str] | None:
        """The oldest contact sharing the e-mail (checked first) or the phone, and which matched."""
        for value, index, label in (
            (normalize_email(email), location.by_email, "email"),
            (normalize_phone(phone), location.by_phone, "phone"),
        ):
            if value is None:
                continue
            for contact_id in index.get(value, ()):
                if contact_id != exclude:
                    return self.contacts[contact_id], label
        return None

    # --- businesses -----------------------------------------------------------------------

    def set_business(self, contact: ContactRecord, business_id: str | None) -> bool:
        """Attach a contact to a business (``None`` detaches); True when it changed."""
        if contact.business_id == business_id:
            return False
        CHANGES.tick()
        location = self.locations[contact.location_id]
        if contact.business_id is not None:
            self._leave_business(location, contact.business_id, contact.id)
        contact.business_id = business_id
        if business_id is not None:
            self._join_business(location, business_id, contact.id)
        return True

    def business_members(self, location_id: str, business_id: str) -> list[str]:
        """Ids of a business's contacts in a stable order (the order they joined)."""
        location = self.locations[location_id]
        cached = location.business_lists.get(business_id)
        if cached is None:
            cached = list(location.businesses.get(business_id, ()))
            location.business_lists[business_id] = cached
        return cached

    def _join_business(self, location: LocationRecord, business_id: str, contact_id: str) -> None:
        location.businesses.setdefault(business_id, {})[contact_id] = None
        cached = location.business_lists.get(business_id)
        if cached is not None:
            cached.append(contact_id)

    def _leave_business(self, location: LocationRecord, business_id: str, contact_id: str) -> None:
        members = location.businesses.get(business_id)
        if members is not None:
            members.pop(contact_id, None)
        location.business_lists.pop(business_id, None)

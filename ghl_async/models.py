"""Wire models of the Contacts API: responses (shared by v2 and v3), v2 bodies and query strings.

Two families with opposite rules:

* Responses subclass :class:`Wire`. They tolerate unknown and missing fields, because HighLevel's
  live responses drift from its spec (list endpoints return ~35 fields where 12 are declared,
  ``succeded`` next to ``succeeded``, ``address`` in search vs ``address1`` elsewhere).
* Request bodies subclass :class:`Body` and query strings :class:`Query`. They forbid unknown
  fields: HighLevel rejects undeclared properties with 422 ``property X should not exist``, so the
  same Structs are what the fake server decodes with, and a body that would be rejected by the real
  API fails the same way against the fake.

``UNSET`` means "leave the field out of the request"; ``None`` on a nullable field means "clear it".
Every other value is always sent, defaults included: a request model never relies on HighLevel
assuming the same default as we do (it often requires the field instead: ``sort[].direction``).
A default may be left off the wire only if it is listed in :data:`SERVER_ASSUMED_DEFAULTS`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Final, Literal

import msgspec
from msgspec import UNSET, UnsetType, field

from ghl_async.errors import ConfigError

__all__ = [
    "SERVER_ASSUMED_DEFAULTS",
    "UNSET",
    "Ack",
    "Appointment",
    "AttributionSource",
    "Body",
    "BulkBusinessResult",
    "BulkBusinessUpdate",
    "BulkTagResponse",
    "BulkTagsResult",
    "BulkTagsUpdate",
    "BusinessContactsQuery",
    "CampaignBody",
    "Contact",
    "ContactBundle",
    "ContactsMeta",
    "ContactsPage",
    "CreateContact",
    "CreateNote",
    "CreateTask",
    "CustomField",
    "CustomFieldInput",
    "CustomFieldValue",
    "DndSetting",
    "DndSettingInput",
    "DndSettingsInput",
    "DuplicateQuery",
    "DuplicateResult",
    "Followers",
    "FollowersResult",
    "InboundDndSetting",
    "InboundDndSettingsInput",
    "ListContactsQuery",
    "Note",
    "Query",
    "SearchBody",
    "SearchFilter",
    "SearchSort",
    "Tags",
    "Task",
    "TaskStatus",
    "UnsetType",
    "UpdateContact",
    "UpdateNote",
    "UpdateTask",
    "UpsertContact",
    "UpsertResult",
    "Wire",
    "WorkflowBody",
    "epoch_ms",
]

def epoch_ms(stamp: str | None) -> int | None:
    """An ISO-8601 ``dateAdded`` as epoch milliseconds (the unit ``startAfter`` takes)."""
    if not stamp:
        return None
    text = stamp[:-1] + "+00:00" if stamp.endswith("Z") else stamp  # 3.10 rejects "Z"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1000)


# A custom field's value in responses: the spec says string, live data carries numbers, lists of
# options and file objects. ``object`` keeps whatever JSON arrived.
CustomFieldValue = str | int | float | bool | list[object] | dict[str, object] | None
# Search cursors are arrays mixing sort values (numbers, strings) and the contact id.
SearchCursor = list[str | int | float]


class Wire(
    msgspec.Struct, rename="camel", kw_only=True, frozen=True, omit_defaults=True, gc=False
):
    """Base of every response model: camelCase on the wire, tolerant of unknown fields.

    ``gc=False``: instances are decoded JSON trees and frozen, so they can never sit in a
    reference cycle; leaving them out of the cyclic GC makes decoding a page of contacts
    markedly cheaper (fewer tracked objects for every collection to walk).
    """


# omit_defaults=False: msgspec never encodes UNSET, so UNSET fields stay off the wire anyway, while
# a field at an ordinary default (``SearchSort.direction="asc"``) is sent. With omit_defaults=True
# it was dropped and HighLevel answered 422 "sort.0.direction should not be empty".
class Body(
    msgspec.Struct, rename="camel", kw_only=True, omit_defaults=False, forbid_unknown_fields=True
):
    """Base of every request body: strict; fields left ``UNSET`` are not sent, all others are."""


class Query(
    msgspec.Struct, rename="camel", kw_only=True, omit_defaults=False, forbid_unknown_fields=True
):
    """Base of every query string: strict; fields left ``UNSET`` are not sent, all others are."""


# (model class name, Python field name) pairs whose default HighLevel itself assumes when the
# field is absent, so a model may leave it off the wire (by opting into omit_defaults=True).
# Add a pair only with the evidence for it (spec text, a recorded request) in a comment.
# tests/test_models_wire.py fails for any other default that does not reach the wire.
SERVER_ASSUMED_DEFAULTS: Final[frozenset[tuple[str, str]]] = frozenset()


# --------------------------------------------------------------------------------------------
# Responses
# --------------------------------------------------------------------------------------------


class DndSetting(Wire, kw_only=True, frozen=True):
    """Do-not-disturb state of one channel."""

    status: str | None = None
    message: str | None = None
    code: str | None = None


class CustomField(Wire, kw_only=True, frozen=True):
    """A custom field value on a contact (``{"id", "value"}`` in responses)."""

    id: str = ""
    value: CustomFieldValue = None


class AttributionSource(Wire, kw_only=True, frozen=True):
    """Where a contact came from (read-only)."""

    url: str | None = None
    campaign: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_content: str | None = None
    referrer: str | None = None
    campaign_id: str | None = None
    fbclid: str | None = None
    gclid: str | None = None
    msclikid: str | None = None
    dclid: str | None = None
    fbc: str | None = None
    fbp: str | None = None
    fb_event_id: str | None = None
    user_agent: str | None = None
    ip: str | None = None
    medium: str | None = None
    medium_id: str | None = None


class Contact(Wire, kw_only=True, frozen=True):
    """A contact, as returned by every contacts endpoint.

    One model for the get/update/upsert shape, the create shape and the list/search summary: the
    fields each endpoint lacks are simply ``None``/empty.
    """

    # Declared in the order HighLevel sends them (``GetContectByIdSchema``, which the get and
    # business-listing answers follow), then the fields only other endpoints carry. msgspec
    # looks a key up from just past the previous match, so wire order makes every lookup hit
    # at the first try; out of order, a page of contacts cost 13–15% more instructions.
    id: str = ""
    name: str | None = None
    location_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    email_lower_case: str | None = None
    timezone: str | None = None
    company_name: str | None = None
    phone: str | None = None
    dnd: bool | None = None
    # Open mapping: v2 keys are ``SMS``/``Email``/..., v3 ``sms``/``email``, live data adds ``RCS``.
    dnd_settings: dict[str, DndSetting] | None = None
    type: str | None = None
    source: str | None = None
    assigned_to: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    postal_code: str | None = None
    website: str | None = None
    tags: list[str] = []
    # Search results have been seen carrying an epoch number here.
    date_of_birth: str | int | None = None
    date_added: str | None = None
    date_updated: str | None = None
    attachments: str | list[object] | None = None
    ssn: str | None = None
    keyword: str | None = None
    first_name_lower_case: str | None = None
    full_name_lower_case: str | None = None
    last_name_lower_case: str | None = None
    last_activity: str | None = None
    custom_fields: list[CustomField] = []
    business_id: str | None = None
    attribution_source: AttributionSource | None = None
    last_attribution_source: AttributionSource | None = None
    visitor_id: str | None = None
    # Fields of the listing and search summaries (``ContactsSearchSchema`` and live data).
    attributions: list[AttributionSource] = []
    followers: list[str] = []
    contact_name: str | None = None
    # Search results say ``address`` where every other endpoint says ``address1``.
    address: str | None = None
    # Fields only the create response carries.
    deleted: bool | None = None
    bounce_email: bool | None = None
    unsubscribe_email: bool | None = None
    birth_month: int | None = None
    birth_day: int | None = None
    last_session_activity_at: str | None = None
    offers: list[str] = []
    products: list[str] = []
    # Search results: the cursor to pass as ``searchAfter`` to get the page after this contact.
    search_after: SearchCursor | None = None


class Task(Wire, kw_only=True, frozen=True):
    """A task on a contact."""

    id: str = ""
    title: str | None = None
    body: str | None = None
    assigned_to: str | None = None
    due_date: str | None = None
    completed: bool | None = None
    contact_id: str | None = None
    # Not in the v2 spec's TaskSchema (webhooks carry it); kept when a server sends it.
    date_added: str | None = None


class Note(Wire, kw_only=True, frozen=True):
    """A note on a contact."""

    id: str = ""
    body: str | None = None
    user_id: str | None = None
    date_added: str | None = None
    contact_id: str | None = None
    title: str | None = None
    color: str | None = None
    pinned: bool | None = None


class Appointment(Wire, kw_only=True, frozen=True):
    """An appointment ("event") of a contact. Times are ``YYYY-MM-DD HH:MM:SS`` strings."""

    id: str = ""
    calendar_id: str | None = None
    status: str | None = None
    title: str | None = None
    assigned_user_id: str | None = None
    notes: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    address: str | None = None
    location_id: str | None = None
    contact_id: str | None = None
    group_id: str | None = None
    appointment_status: str | None = None
    users: list[str] = []
    date_added: str | None = None
    date_updated: str | None = None
    assigned_resources: list[str] = []


class Ack(Wire, kw_only=True, frozen=True):
    """A bare success flag. HighLevel spells it ``succeded``; v3 adds ``succeeded``."""

    succeded: bool | None = None
    succeeded: bool | None = None

    @property
    def ok(self) -> bool:
        """Whether the server reported success under either spelling."""
        return bool(self.succeeded or self.succeded)


class UpsertResult(Wire, kw_only=True, frozen=True):
    """The outcome of an upsert: the contact and whether it was created."""

    new: bool = False
    contact: Contact = Contact()
    trace_id: str | None = None


class FollowersResult(Wire, kw_only=True, frozen=True):
    """Followers of a contact after adding or removing some."""

    followers: list[str] = []
    followers_added: list[str] = []
    followers_removed: list[str] = []


class BulkTagResponse(Wire, kw_only=True, frozen=True):
    """Per-contact outcome of a bulk tag update."""

    contact_id: str | None = None
    message: str | None = None
    type: str | None = None
    old_tags: list[str] = []
    tags_added: list[str] = []
    tags_removed: list[str] = []


class BulkTagsResult(Wire, kw_only=True, frozen=True):
    """Outcome of a bulk tag update.

    The spec declares ``responses`` as strings while its own example shows objects: both decode.
    """

    succeded: bool | None = None
    succeeded: bool | None = None
    error_count: int = 0
    responses: list[BulkTagResponse | str] = []

    @property
    def ok(self) -> bool:
        """Whether the server reported success under either spelling."""
        return bool(self.succeeded or self.succeded)


class BulkBusinessResult(Wire, kw_only=True, frozen=True):
    """Outcome of attaching contacts to (or detaching them from) a business."""

    success: bool | None = None
    ids: list[str] = []


class ContactsMeta(Wire, kw_only=True, frozen=True):
    """Paging metadata of ``GET /contacts/`` (live responses; the spec declares ``count``)."""

    total: int | None = None
    next_page_url: str | None = None
    start_after_id: str | None = None
    start_after: int | None = None
    current_page: int | None = None
    next_page: int | None = None
    prev_page: int | None = None


class ContactsPage(Wire, kw_only=True, frozen=True):
    """One page of contacts: business listing (``count``), list (``meta``), search (``total``)."""

    contacts: list[Contact] = []
    count: int | None = None
    total: int | None = None
    meta: ContactsMeta | None = None

    @property
    def items(self) -> list[Contact]:
        """The contacts of this page (the :class:`~ghl_async.pagination.Page` protocol)."""
        return self.contacts

    @property
    def total_count(self) -> int | None:
        """The total number of matches, wherever this endpoint put it."""
        if self.count is not None:
            return self.count
        if self.total is not None:
            return self.total
        return self.meta.total if self.meta is not None else None

    def cursor_after(self) -> tuple[str | None, int | None]:
        """``startAfterId``/``startAfter`` of the next page: from ``meta``, else the last contact.

        ``(None, None)`` on an empty page.
        """
        meta = self.meta
        if meta is not None and meta.start_after_id:
            return meta.start_after_id, meta.start_after
        if not self.contacts:
            return None, None
        last = self.contacts[-1]
        return last.id or None, epoch_ms(last.date_added)

    def search_after_cursor(self) -> SearchCursor | None:
        """The last contact's ``searchAfter`` cursor (search results carry one per contact)."""
        return self.contacts[-1].search_after if self.contacts else None

    def start_after_key(self) -> list[str] | None:
        """v3 business listing: ``startAfter`` of the next page, ``[name, id]`` of the last one.

        The name is the contact's name lower-cased, the order the listing is sorted by.
        """
        if not self.contacts:
            return None
        last = self.contacts[-1]
        if not last.id:
            return None
        name = last.contact_name or last.name or " ".join(
            part for part in (last.first_name, last.last_name) if part
        )
        return [name.lower(), last.id]


class DuplicateResult(Wire, kw_only=True, frozen=True):
    """``GET /contacts/search/duplicate``: the matching contact, or ``None``."""

    contact: Contact | None = None


class ContactBundle(Wire, kw_only=True, frozen=True):
    """A contact with its tasks, notes and appointments (``ghl.contacts.get_bundle``)."""

    contact: Contact
    tasks: list[Task] = []
    notes: list[Note] = []
    appointments: list[Appointment] = []


# --------------------------------------------------------------------------------------------
# Request bodies
# --------------------------------------------------------------------------------------------


class CustomFieldInput(Body, kw_only=True):
    """A custom field to write: pass ``id`` or ``key``, and the value.

    v2 spells the value key ``field_value`` (snake_case, unlike everything else); v3 spells it
    ``fieldValue``, which v2 is reported to accept too (CONTACTS-API.md §3.4). ``field_value=``
    sends the first spelling, ``value=`` the second; pass one of them, not both.

    Raises:
        ConfigError: both ``field_value`` and ``value`` were given.
    """

    id: str | UnsetType = UNSET
    key: str | UnsetType = UNSET
    field_value: str | int | float | bool | list[str] | dict[str, object] | UnsetType = field(
        default=UNSET, name="field_value"
    )
    value: str | int | float | bool | list[str] | dict[str, object] | UnsetType = field(
        default=UNSET, name="fieldValue"
    )

    def __post_init__(self) -> None:
        # A ValueError here becomes a msgspec.ValidationError when a body is decoded.
        if self.field_value is not UNSET and self.value is not UNSET:
            raise ConfigError(
                "pass field_value (sent as field_value) or value (sent as fieldValue), not both"
            )


class DndSettingInput(Body, kw_only=True):
    """Do-not-disturb state to set on one channel."""

    status: Literal["active", "inactive", "permanent"]
    message: str | UnsetType = UNSET
    code: str | UnsetType = UNSET


class DndSettingsInput(Body, kw_only=True):
    """Per-channel do-not-disturb settings (v2 key spelling)."""

    call: DndSettingInput | UnsetType = field(default=UNSET, name="Call")
    email: DndSettingInput | UnsetType = field(default=UNSET, name="Email")
    sms: DndSettingInput | UnsetType = field(default=UNSET, name="SMS")
    whatsapp: DndSettingInput | UnsetType = field(default=UNSET, name="WhatsApp")
    gmb: DndSettingInput | UnsetType = field(default=UNSET, name="GMB")
    fb: DndSettingInput | UnsetType = field(default=UNSET, name="FB")


class InboundDndSetting(Body, kw_only=True):
    """Inbound do-not-disturb state."""

    status: Literal["active", "inactive"]
    message: str | UnsetType = UNSET


class InboundDndSettingsInput(Body, kw_only=True):
    """Inbound do-not-disturb settings (one switch for all channels)."""

    all: InboundDndSetting | UnsetType = UNSET


class _ContactCore(Body, kw_only=True):
    """Fields that create, update and upsert accept in every API version (DND keys differ)."""

    first_name: str | None | UnsetType = UNSET
    last_name: str | None | UnsetType = UNSET
    name: str | None | UnsetType = UNSET
    email: str | None | UnsetType = UNSET
    phone: str | None | UnsetType = UNSET
    address1: str | None | UnsetType = UNSET
    city: str | None | UnsetType = UNSET
    state: str | None | UnsetType = UNSET
    postal_code: str | UnsetType = UNSET
    website: str | None | UnsetType = UNSET
    timezone: str | None | UnsetType = UNSET
    dnd: bool | UnsetType = UNSET
    inbound_dnd_settings: InboundDndSettingsInput | UnsetType = UNSET
    # On update and upsert, ``tags`` replaces every tag: use add_tags/remove_tags to edit.
    tags: list[str] | UnsetType = UNSET
    custom_fields: list[CustomFieldInput] | UnsetType = UNSET
    # A string in one of YYYY/MM/DD, MM/DD/YYYY, YYYY-MM-DD, MM-DD-YYYY (and . or _ separators).
    date_of_birth: str | None | UnsetType = UNSET
    country: str | UnsetType = UNSET


class _ContactFields(_ContactCore, kw_only=True):
    """Fields that create, update and upsert all accept (v2: ``Call``, ``Email``, ... DND keys)."""

    dnd_settings: DndSettingsInput | UnsetType = UNSET


class CreateContact(_ContactFields, kw_only=True):
    """Body of ``POST /contacts/``."""

    location_id: str
    gender: str | UnsetType = UNSET
    company_name: str | None | UnsetType = UNSET
    source: str | UnsetType = UNSET
    assigned_to: str | UnsetType = UNSET


class UpsertContact(CreateContact, kw_only=True):
    """Body of ``POST /contacts/upsert``. Needs an email or a phone to match on, in practice."""

    create_new_if_duplicate_allowed: bool | UnsetType = UNSET


class UpdateContact(_ContactFields, kw_only=True):
    """Body of ``PUT /contacts/{contactId}``: no ``locationId``, ``gender`` or ``companyName``.

    HighLevel answers 422 to any of those, so they are not fields here.
    """

    source: str | None | UnsetType = UNSET
    assigned_to: str | None | UnsetType = UNSET


class CreateTask(Body, kw_only=True):
    """Body of ``POST /contacts/{contactId}/tasks``. ``due_date`` is an ISO-8601 datetime."""

    title: str
    due_date: str
    # Required by the API, so it has no default here: a caller must decide.
    completed: bool
    body: str | UnsetType = UNSET
    assigned_to: str | UnsetType = UNSET


class UpdateTask(Body, kw_only=True):
    """Body of ``PUT /contacts/{contactId}/tasks/{taskId}``."""

    title: str | UnsetType = UNSET
    body: str | UnsetType = UNSET
    due_date: str | UnsetType = UNSET
    completed: bool | UnsetType = UNSET
    assigned_to: str | UnsetType = UNSET


class TaskStatus(Body, kw_only=True):
    """Body of ``PUT /contacts/{contactId}/tasks/{taskId}/completed``."""

    completed: bool


class CreateNote(Body, kw_only=True):
    """Body of ``POST /contacts/{contactId}/notes``."""

    body: str
    user_id: str | UnsetType = UNSET
    title: str | UnsetType = UNSET
    color: str | UnsetType = UNSET
    pinned: bool | UnsetType = UNSET


class UpdateNote(Body, kw_only=True):
    """Body of ``PUT /contacts/{contactId}/notes/{id}``."""

    body: str | UnsetType = UNSET
    user_id: str | UnsetType = UNSET
    title: str | UnsetType = UNSET
    color: str | UnsetType = UNSET
    pinned: bool | UnsetType = UNSET


class Tags(Body, kw_only=True):
    """Body of add/remove tags."""

    tags: list[str]


class Followers(Body, kw_only=True):
    """Body of add/remove followers (user ids)."""

    followers: list[str]


class BulkTagsUpdate(Body, kw_only=True):
    """Body of ``POST /contacts/bulk/tags/update/{type}``."""

    contacts: list[str]
    tags: list[str]
    location_id: str
    remove_all_tags: bool | UnsetType = UNSET


class BulkBusinessUpdate(Body, kw_only=True):
    """Body of ``POST /contacts/bulk/business``; ``business_id=None`` detaches the contacts."""

    location_id: str
    ids: list[str]
    business_id: str | None


class CampaignBody(Body, kw_only=True):
    """Body of add-to-campaign: an empty object."""


class WorkflowBody(Body, kw_only=True):
    """Body of add-to/remove-from workflow."""

    event_start_time: str | UnsetType = UNSET


class SearchFilter(Body, kw_only=True):
    """A search filter ``{field, operator, value}`` or a group ``{group, filters}``."""

    field: str | UnsetType = UNSET
    operator: (
        Literal["eq", "not_eq", "contains", "not_contains", "exists", "not_exists", "range"]
        | UnsetType
    ) = UNSET
    value: str | int | float | bool | list[str] | dict[str, object] | UnsetType = UNSET
    group: Literal["AND", "OR"] | UnsetType = UNSET
    filters: list[SearchFilter] | UnsetType = UNSET


class SearchSort(Body, kw_only=True):
    """A search sort key; ``direction`` is always sent (HighLevel requires it)."""

    field: str
    direction: Literal["asc", "desc"] = "asc"


class SearchBody(Body, kw_only=True):
    """Body of ``POST /contacts/search`` (undocumented in the spec; see CONTACTS-API.md §4.3)."""

    location_id: str
    page_limit: int
    page: int | UnsetType = UNSET
    search_after: SearchCursor | UnsetType = UNSET
    filters: list[SearchFilter] | UnsetType = UNSET
    sort: list[SearchSort] | UnsetType = UNSET
    query: str | UnsetType = UNSET


# --------------------------------------------------------------------------------------------
# Query strings
# --------------------------------------------------------------------------------------------


class BusinessContactsQuery(Query, kw_only=True):
    """Query of ``GET /contacts/business/{businessId}``: ``limit``/``skip`` are strings (spec)."""

    location_id: str
    limit: str | UnsetType = UNSET
    skip: str | UnsetType = UNSET
    query: str | UnsetType = UNSET


class ListContactsQuery(Query, kw_only=True):
    """Query of the deprecated ``GET /contacts/``."""

    location_id: str
    start_after_id: str | UnsetType = UNSET
    start_after: int | UnsetType = UNSET
    query: str | UnsetType = UNSET
    limit: int | UnsetType = UNSET


class DuplicateQuery(Query, kw_only=True):
    """Query of ``GET /contacts/search/duplicate``; the phone parameter is named ``number``."""

    location_id: str
    number: str | UnsetType = UNSET
    email: str | UnsetType = UNSET

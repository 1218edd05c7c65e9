"""Typed webhook events: msgspec Structs decoded as one tagged union on the ``type`` field.

Every field is optional and unknown fields are ignored, because live deliveries drift from the
docs (``TaskCreate`` arrives without ``contactId``/``body``; deliveries carry ``appId`` and
``versionId`` the docs never mention). An event ``type`` this module does not know becomes an
:class:`UnknownEvent` holding the raw mapping, so new HighLevel events reach catch-all handlers
instead of being dropped.

A known event with values of the wrong shape (``"tags": null``, ``"tags": ["a", null]``, a number
where text is declared) is decoded leniently (:mod:`.lenient`): it arrives as its own class with
:attr:`WebhookEvent.repairs` saying what was changed. Only the fast strict decoder runs for
well-formed bodies.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final, TypeAlias, TypedDict, get_args

import msgspec

from ghl_async.models import Appointment, CustomField, DndSetting, Wire
from ghl_async.webhooks.errors import PayloadError
from ghl_async.webhooks.lenient import Repair, decode_tree, fit

__all__ = [
    "EVENT_TYPES",
    "AppInstall",
    "AppUninstall",
    "AppointmentCreate",
    "AppointmentDelete",
    "AppointmentEvent",
    "AppointmentUpdate",
    "ContactCreate",
    "ContactDelete",
    "ContactDndUpdate",
    "ContactEvent",
    "ContactTagUpdate",
    "ContactUpdate",
    "Event",
    "InstallTrial",
    "KnownEvent",
    "MalformedEvent",
    "NoteCreate",
    "NoteDelete",
    "NoteEvent",
    "NoteUpdate",
    "Repair",
    "TaskComplete",
    "TaskCreate",
    "TaskDelete",
    "TaskEvent",
    "UnknownEvent",
    "WebhookAppointment",
    "WebhookEvent",
    "WhitelabelDetails",
    "parse",
]


class WebhookEvent(Wire, kw_only=True, frozen=True):
    """Fields every delivery carries besides its event data."""

    location_id: str | None = None
    timestamp: datetime | None = None
    """When HighLevel sent the event; checked against the replay window."""
    webhook_id: str | None = None
    """Unique per event; redeliveries of one event repeat it."""
    app_id: str | None = None
    version_id: str | None = None
    repairs: tuple[Repair, ...] = msgspec.field(default=(), name="ghlAsyncRepairs")
    """What the lenient decoder changed to make this verified event fit its class; empty when
    the body decoded strictly. Set by :func:`parse`, never read from the wire (its wire name
    only shows when a repaired event is encoded again)."""

    @property
    def type(self) -> str:
        """The wire ``type``: ``"ContactCreate"``, ``"INSTALL"``, ..."""
        tag = self.__struct_config__.tag
        return tag if isinstance(tag, str) else self.__class__.__name__

    @property
    def repaired(self) -> bool:
        """True when some value did not fit and was coerced, dropped or defaulted (see
        :attr:`repairs`): check it before trusting an absent or empty field."""
        return bool(self.repairs)


class _TaggedEvent(WebhookEvent, kw_only=True, frozen=True, tag_field="type"):
    """Base of the events in the union; ``type`` is the tag, not a field."""


class UnknownEvent(WebhookEvent, kw_only=True, frozen=True):
    """An event whose ``type`` this version does not model; ``raw`` is the whole body.

    A body without a string ``type`` arrives as an ``UnknownEvent`` with ``type`` ``""``.
    """

    event_type: str = ""
    raw: dict[str, object] = msgspec.field(default_factory=dict)

    @property
    def type(self) -> str:
        """The wire ``type`` as received."""
        return self.event_type


class MalformedEvent(WebhookEvent, kw_only=True, frozen=True):
    """An event of a modelled ``type`` that even the lenient decoder could not build.

    A safety net: the lenient decoder fits any JSON object, so this means a bug in it; the
    event is still delivered rather than lost. Only catch-all handlers and handlers registered
    for ``MalformedEvent`` (or ``WebhookEvent``) receive it, never the handlers of its type.
    """

    event_type: str = ""
    raw: dict[str, object] = msgspec.field(default_factory=dict)
    error: str = ""
    """Why decoding failed."""

    @property
    def type(self) -> str:
        """The wire ``type`` as received (a modelled one, e.g. ``"ContactCreate"``)."""
        return self.event_type


# --- contacts ---------------------------------------------------------------------------------


class ContactEvent(_TaggedEvent, kw_only=True, frozen=True):
    """The flat contact object HighLevel sends with every contact event."""

    id: str = ""
    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    company_name: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None
    website: str | None = None
    source: str | None = None
    date_added: str | None = None
    date_of_birth: str | None = None
    assigned_to: str | None = None
    dnd: bool | None = None
    # Keyed by channel ("SMS", "Email", "GMB", "FB", "WhatsApp", "Call"; live also "RCS"):
    # an open mapping so a new channel does not break decoding.
    dnd_settings: dict[str, DndSetting] = msgspec.field(default_factory=dict)
    tags: list[str] = msgspec.field(default_factory=list)
    attachments: list[object] = msgspec.field(default_factory=list)
    custom_fields: list[CustomField] = msgspec.field(default_factory=list)


class ContactCreate(ContactEvent, kw_only=True, frozen=True, tag="ContactCreate"):
    """A contact was created."""


class ContactUpdate(ContactEvent, kw_only=True, frozen=True, tag="ContactUpdate"):
    """Some of a contact's fields changed."""


class ContactDelete(ContactEvent, kw_only=True, frozen=True, tag="ContactDelete"):
    """A contact was deleted."""


class ContactTagUpdate(ContactEvent, kw_only=True, frozen=True, tag="ContactTagUpdate"):
    """A contact's tags changed; ``tags`` is the new full list."""


class ContactDndUpdate(ContactEvent, kw_only=True, frozen=True, tag="ContactDndUpdate"):
    """A contact's do-not-disturb settings changed; see ``dnd`` and ``dnd_settings``."""


# --- tasks ------------------------------------------------------------------------------------


class TaskEvent(_TaggedEvent, kw_only=True, frozen=True):
    """A task. There is no ``completed`` flag: the event type says it."""

    id: str = ""
    title: str | None = None
    body: str | None = None
    contact_id: str | None = None
    assigned_to: str | None = None
    date_added: str | None = None
    due_date: str | None = None


class TaskCreate(TaskEvent, kw_only=True, frozen=True, tag="TaskCreate"):
    """A task was created. Live deliveries may lack ``contact_id`` and ``body``."""


class TaskComplete(TaskEvent, kw_only=True, frozen=True, tag="TaskComplete"):
    """A task was marked completed."""


class TaskDelete(TaskEvent, kw_only=True, frozen=True, tag="TaskDelete"):
    """A task was deleted."""


# --- notes ------------------------------------------------------------------------------------


class NoteEvent(_TaggedEvent, kw_only=True, frozen=True):
    """A note on a contact."""

    id: str = ""
    body: str | None = None
    contact_id: str | None = None
    date_added: str | None = None


class NoteCreate(NoteEvent, kw_only=True, frozen=True, tag="NoteCreate"):
    """A note was added to a contact."""


class NoteUpdate(NoteEvent, kw_only=True, frozen=True, tag="NoteUpdate"):
    """A note was edited."""


class NoteDelete(NoteEvent, kw_only=True, frozen=True, tag="NoteDelete"):
    """A note was deleted."""


# --- appointments -----------------------------------------------------------------------------


class WebhookAppointment(Appointment, kw_only=True, frozen=True):
    """The ``appointment`` object of appointment events (times are ISO-8601 with offset)."""

    source: str | None = None


class AppointmentEvent(_TaggedEvent, kw_only=True, frozen=True):
    """An appointment; unlike other events its data is nested under ``appointment``."""

    appointment: WebhookAppointment | None = None


class AppointmentCreate(AppointmentEvent, kw_only=True, frozen=True, tag="AppointmentCreate"):
    """An appointment was booked."""


class AppointmentUpdate(AppointmentEvent, kw_only=True, frozen=True, tag="AppointmentUpdate"):
    """An appointment changed (time, status, assignee, ...)."""


class AppointmentDelete(AppointmentEvent, kw_only=True, frozen=True, tag="AppointmentDelete"):
    """An appointment was deleted."""


# --- app lifecycle ----------------------------------------------------------------------------


class InstallTrial(Wire, kw_only=True, frozen=True):
    """The trial an app was installed with."""

    on_trial: bool | None = None
    trial_duration: int | float | None = None
    trial_start_date: str | None = None


class WhitelabelDetails(Wire, kw_only=True, frozen=True):
    """Branding of a white-labelled agency."""

    domain: str | None = None
    logo_url: str | None = None


class AppInstall(_TaggedEvent, kw_only=True, frozen=True, tag="INSTALL"):
    """The app was installed (``location_id`` is absent for agency-level installs).

    ``user_id`` and ``company_id`` may be missing when the install comes from a "future
    locations" grant.
    """

    company_id: str | None = None
    user_id: str | None = None
    plan_id: str | None = None
    install_type: str | None = None
    company_name: str | None = None
    trial: InstallTrial | None = None
    is_whitelabel_company: bool | None = None
    whitelabel_details: WhitelabelDetails | None = None


class AppUninstall(_TaggedEvent, kw_only=True, frozen=True, tag="UNINSTALL"):
    """The app was uninstalled from a location (``location_id``) or an agency (``company_id``)."""

    company_id: str | None = None
    user_id: str | None = None


KnownEvent: TypeAlias = (
    ContactCreate
    | ContactUpdate
    | ContactDelete
    | ContactTagUpdate
    | ContactDndUpdate
    | TaskCreate
    | TaskComplete
    | TaskDelete
    | NoteCreate
    | NoteUpdate
    | NoteDelete
    | AppointmentCreate
    | AppointmentUpdate
    | AppointmentDelete
    | AppInstall
    | AppUninstall
)
"""Every event type modelled here."""

Event: TypeAlias = KnownEvent | UnknownEvent | MalformedEvent
"""What :func:`parse` returns: a modelled event, an :class:`UnknownEvent` or (never in practice)
a :class:`MalformedEvent`."""

EVENT_TYPES: Final[dict[str, type[WebhookEvent]]] = {
    str(cls.__struct_config__.tag): cls for cls in get_args(KnownEvent)
}
"""Wire ``type`` -> event class, for every modelled event."""

_KNOWN: Final[dict[str, type[KnownEvent]]] = {
    str(cls.__struct_config__.tag): cls for cls in get_args(KnownEvent)
}
_DECODER: Final[msgspec.json.Decoder[KnownEvent]] = msgspec.json.Decoder(KnownEvent)


def parse(body: bytes | str) -> Event:
    """Decode a webhook body into its event class, without checking any signature.

    Well-formed bodies take one strict decode. A body the strict decoder refuses is decoded
    leniently: a known ``type`` still becomes its class, with every coerced, dropped or defaulted
    value listed in :attr:`~WebhookEvent.repairs`; any other JSON object becomes an
    :class:`UnknownEvent`.

    Raises:
        PayloadError: the body is not JSON (including invalid UTF-8 and nesting deeper than the
            recursion limit) or not a JSON object.
    """
    try:
        return _DECODER.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, ValueError):
        pass  # the slow path below decides, and keeps what can be kept
    try:
        tree, repairs = decode_tree(body)
    except PayloadError as err:
        err.webhook_id = _sniff_webhook_id(body)
        raise
    if not isinstance(tree, dict):
        raise PayloadError("webhook body is not a JSON object", webhook_id=_sniff_webhook_id(body))
    wire_type = tree.get("type")
    event_type = wire_type if isinstance(wire_type, str) else ""
    known = _KNOWN.get(event_type)
    if known is None:
        return UnknownEvent(event_type=event_type, raw=tree, **_envelope(tree, repairs))
    event_repairs = list(repairs)
    try:
        event = fit(tree, known, event_repairs)
    except Exception as err:  # pragma: no cover - a bug in the repairs must not lose an event
        return MalformedEvent(
            event_type=event_type,
            raw=tree,
            error=f"{type(err).__name__}: {err}",
            **_envelope(tree, repairs),
        )
    return msgspec.structs.replace(event, repairs=tuple(event_repairs))


class _Envelope(TypedDict):
    location_id: str | None
    timestamp: datetime | None
    webhook_id: str | None
    app_id: str | None
    version_id: str | None
    repairs: tuple[Repair, ...]


def _envelope(tree: dict[str, object], repairs: list[Repair]) -> _Envelope:
    """The delivery fields every event has, read leniently from a raw body."""
    found = list(repairs)
    try:
        base = fit(tree, WebhookEvent, found)
    except Exception:  # pragma: no cover - the same safety net as in parse
        base, found = WebhookEvent(), list(repairs)
    return _Envelope(
        location_id=base.location_id,
        timestamp=base.timestamp,
        webhook_id=base.webhook_id,
        app_id=base.app_id,
        version_id=base.version_id,
        repairs=tuple(found),
    )


_WEBHOOK_ID: Final = re.compile(rb'"webhookId"\s*:\s*"([A-Za-z0-9._:-]{1,128})"')


def _sniff_webhook_id(body: bytes | str) -> str | None:
    """The ``webhookId`` of a body that does not parse, if it can be spotted, for the log."""
    raw = body.encode("utf-8", "replace") if isinstance(body, str) else body
    match = _WEBHOOK_ID.search(raw)
    return match.group(1).decode("ascii") if match else None

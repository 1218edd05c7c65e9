"""Records as HighLevel puts them on the wire: each endpoint has its own contact shape.

* :func:`contact_full` — get, update, upsert, duplicate (``GetContectByIdSchema``);
* :func:`contact_created` — create (``CreateContactSchema``: no ``name``, adds ``deleted``,
  ``birthMonth``/``birthDay``, an ISO ``dateOfBirth``);
* :func:`contact_summary` — the business listing and ``GET /contacts/`` (the 12 declared
  ``ContactsSearchSchema`` fields plus the undeclared ones live responses carry);
* :func:`contact_searched` — search results: ``address`` instead of ``address1``, ``dateOfBirth``
  as epoch milliseconds and a ``searchAfter`` cursor (CONTACTS-API.md §3.3, §4.3);
* :func:`contact_webhook` — the flat object of Contact* webhook events;
* :func:`contact_v3` — any of the above as ``Version: v3`` writes it: the DND channels keyed
  ``call``/``email``/``sms``/``whatsApp``/``gmb``/``fb`` (``DndSettingsSchemaV3``). v3 answers a
  create with the full contact (``GetContactByIdSchemaV3``), i.e. :func:`contact_full`.

Absent values are left out rather than sent as ``null``: the spec types these fields as plain
strings, and live responses omit what a contact lacks.
"""

from __future__ import annotations

import calendar

import msgspec

from ghl_async.testing.replies import ENCODER
from ghl_async.testing.store import (
    AppointmentRecord,
    ContactRecord,
    NoteRecord,
    TaskRecord,
    iso_ms,
)

__all__ = [
    "appointment_wire",
    "contact_created",
    "contact_full",
    "contact_full_v3",
    "contact_searched",
    "contact_summary",
    "contact_v3",
    "contact_webhook",
    "dob_epoch_ms",
    "note_webhook",
    "note_wire",
    "summary_raw",
    "task_webhook",
    "task_wire",
]

Json = dict[str, object]


def _custom_fields(contact: ContactRecord) -> list[Json]:
    return [{"id": field_id, "value": value} for field_id, value in contact.custom_fields.items()]


def _lower(value: str | None) -> str | None:
    return value.lower() if value else None


def dob_epoch_ms(dob: str) -> int:
    """``YYYY-MM-DD`` as epoch milliseconds at UTC midnight."""
    year, month, day = (int(part) for part in dob.split("-"))
    return calendar.timegm((year, month, day, 0, 0, 0, 0, 0, 0)) * 1000


def _drop_none(data: Json) -> Json:
    return {key: value for key, value in data.items() if value is not None}


def contact_full(contact: ContactRecord) -> Json:
    """The contact as ``GET /contacts/{contactId}`` returns it (cached: copy before changing)."""
    cached = contact.wire_cache.get("full")
    if cached is None:
        cached = contact.wire_cache["full"] = _full(contact)
    return cached  # type: ignore[return-value]  # only this function fills the "full" slot


def _full(contact: ContactRecord) -> Json:
    name = contact.name
    return _drop_none(
        {
            "id": contact.id,
            "name": name,
            "locationId": contact.location_id,
            "firstName": contact.first_name,
            "lastName": contact.last_name,
            "email": contact.email,
            "emailLowerCase": _lower(contact.email),
            "timezone": contact.timezone,
            "companyName": contact.company_name,
            "phone": contact.phone,
            "dnd": contact.dnd,
            "dndSettings": dict(contact.dnd_settings) if contact.dnd_settings else None,
            "inboundDndSettings": (
                dict(contact.inbound_dnd_settings) if contact.inbound_dnd_settings else None
            ),
            "type": contact.contact_type,
            "source": contact.source,
            "assignedTo": contact.assigned_to,
            "address1": contact.address1,
            "city": contact.city,
            "state": contact.state,
            "country": contact.country,
            "postalCode": contact.postal_code,
            "website": contact.website,
            "tags": list(contact.tags),
            "dateOfBirth": contact.date_of_birth,
            "dateAdded": iso_ms(contact.added_ms),
            "dateUpdated": iso_ms(contact.updated_ms),
            "firstNameLowerCase": _lower(contact.first_name),
            "fullNameLowerCase": _lower(name),
            "lastNameLowerCase": _lower(contact.last_name),
            "customFields": _custom_fields(contact),
            "businessId": contact.business_id,
            "followers": list(contact.followers),
            "attributionSource": (
                {"url": contact.attribution_url, "medium": "form"}
                if contact.attribution_url
                else None
            ),
        }
    )


def contact_created(contact: ContactRecord) -> Json:
    """The contact as ``POST /contacts/`` returns it (``CreateContactSchema``)."""
    birth_month = birth_day = None
    dob = None
    if contact.date_of_birth:
        _, month, day = (int(part) for part in contact.date_of_birth.split("-"))
        # The spec's example pairs 1990-09-25 with birthMonth 8: a zero-based (JavaScript) month.
        birth_month, birth_day = month - 1, day
        dob = f"{contact.date_of_birth}T00:00:00.000Z"
    return _drop_none(
        {
            "id": contact.id,
            "dateAdded": iso_ms(contact.added_ms),
            "dateUpdated": iso_ms(contact.updated_ms),
            "deleted": False,
            "tags": list(contact.tags),
            "type": contact.contact_type,
            "customFields": _custom_fields(contact),
            "locationId": contact.location_id,
            "firstName": contact.first_name,
            "firstNameLowerCase": _lower(contact.first_name),
            "fullNameLowerCase": _lower(contact.name),
            "lastName": contact.last_name,
            "lastNameLowerCase": _lower(contact.last_name),
            "email": contact.email,
            "emailLowerCase": _lower(contact.email),
            "bounceEmail": False,
            "unsubscribeEmail": False,
            "dnd": contact.dnd,
            "dndSettings": dict(contact.dnd_settings) if contact.dnd_settings else None,
            "phone": contact.phone,
            "address1": contact.address1,
            "city": contact.city,
            "state": contact.state,
            "country": contact.country,
            "postalCode": contact.postal_code,
            "website": contact.website,
            "source": contact.source,
            "companyName": contact.company_name,
            "dateOfBirth": dob,
            "birthMonth": birth_month,
            "birthDay": birth_day,
            "offers": [],
            "products": [],
            "businessId": contact.business_id,
            "assignedTo": contact.assigned_to,
        }
    )


def contact_summary(contact: ContactRecord) -> Json:
    """The contact as list endpoints return it (a cached dict: copy it before changing it)."""
    cached = contact.wire_cache.get("summary")
    if cached is None:
        cached = contact.wire_cache["summary"] = _summary(contact)
    return cached  # type: ignore[return-value]  # only this function fills the "summary" slot


def summary_raw(contact: ContactRecord) -> msgspec.Raw:
    """:func:`contact_summary`, encoded once and reused until the contact changes."""
    cached = contact.wire_cache.get("summary_raw")
    if cached is None:
        cached = contact.wire_cache["summary_raw"] = msgspec.Raw(
            ENCODER.encode(contact_summary(contact))
        )
    return cached  # type: ignore[return-value]  # only this function fills the slot


def _summary(contact: ContactRecord) -> Json:
    return _drop_none(
        {
            "id": contact.id,
            "locationId": contact.location_id,
            "contactName": contact.name,
            "firstName": contact.first_name,
            "lastName": contact.last_name,
            "companyName": contact.company_name,
            "email": contact.email,
            "phone": contact.phone,
            "dnd": contact.dnd,
            "type": contact.contact_type,
            "source": contact.source,
            "assignedTo": contact.assigned_to,
            "address1": contact.address1,
            "city": contact.city,
            "state": contact.state,
            "postalCode": contact.postal_code,
            "country": contact.country,
            "website": contact.website,
            "timezone": contact.timezone,
            "dateOfBirth": contact.date_of_birth,
            "dateAdded": iso_ms(contact.added_ms),
            "dateUpdated": iso_ms(contact.updated_ms),
            "tags": list(contact.tags),
            "customFields": _custom_fields(contact),
            "businessId": contact.business_id,
            "followers": list(contact.followers),
            "attributions": (
                [{"url": contact.attribution_url, "medium": "form"}]
                if contact.attribution_url
                else []
            ),
        }
    )


def contact_searched(contact: ContactRecord, cursor: list[str | int]) -> Json:
    """The contact as ``POST /contacts/search`` returns it, with its ``searchAfter`` cursor."""
    data = dict(contact_summary(contact))
    address = data.pop("address1", None)
    if address is not None:
        data["address"] = address
    if contact.date_of_birth:
        data["dateOfBirth"] = dob_epoch_ms(contact.date_of_birth)
    if contact.dnd_settings:
        data["dndSettings"] = dict(contact.dnd_settings)
    data["searchAfter"] = cursor
    return data


# v2 DND channel keys (how the store keeps them) -> v3's (contacts-v3.json DndSettingsSchemaV3).
V3_DND_KEYS = {"Call": "call", "Email": "email", "SMS": "sms", "WhatsApp": "whatsApp",
               "GMB": "gmb", "FB": "fb"}  # fmt: skip


def contact_v3(data: Json) -> Json:
    """A contact object of any endpoint, with its DND channels keyed the v3 way.

    Returns ``data`` itself when it has no DND settings (nothing to rename), else a copy.
    """
    dnd = data.get("dndSettings")
    if not isinstance(dnd, dict) or not dnd:
        return data
    renamed = {V3_DND_KEYS.get(key, key): value for key, value in dnd.items()}
    return {**data, "dndSettings": renamed}


def contact_full_v3(contact: ContactRecord) -> Json:
    """:func:`contact_full` as ``Version: v3`` writes it (cached like it)."""
    cached = contact.wire_cache.get("full_v3")
    if cached is None:
        cached = contact.wire_cache["full_v3"] = contact_v3(contact_full(contact))
    return cached  # type: ignore[return-value]  # only this function fills the "full_v3" slot


def contact_webhook(contact: ContactRecord) -> Json:
    """The flat contact object of ContactCreate/Update/Delete/TagUpdate/DndUpdate events."""
    return _drop_none(
        {
            "id": contact.id,
            "locationId": contact.location_id,
            "address1": contact.address1,
            "city": contact.city,
            "state": contact.state,
            "postalCode": contact.postal_code,
            "country": contact.country,
            "companyName": contact.company_name,
            "source": contact.source,
            "dateAdded": iso_ms(contact.added_ms),
            "dateOfBirth": (
                f"{contact.date_of_birth}T00:00:00.000Z" if contact.date_of_birth else None
            ),
            "dnd": contact.dnd,
            "dndSettings": dict(contact.dnd_settings) if contact.dnd_settings else None,
            "email": contact.email,
            "name": contact.name,
            "firstName": contact.first_name,
            "lastName": contact.last_name,
            "phone": contact.phone,
            "tags": list(contact.tags),
            "website": contact.website,
            "attachments": [],
            "assignedTo": contact.assigned_to,
            "customFields": _custom_fields(contact),
        }
    )


def task_wire(task: TaskRecord) -> Json:
    """A task as the task endpoints return it (``TaskSchema``)."""
    return _drop_none(
        {
            "id": task.id,
            "title": task.title,
            "body": task.body,
            "assignedTo": task.assigned_to,
            "dueDate": task.due_date,
            "completed": task.completed,
            "contactId": task.contact_id,
        }
    )


def task_webhook(task: TaskRecord, location_id: str) -> Json:
    """The flat object of Task* webhook events (no ``completed`` flag, per the docs)."""
    return _drop_none(
        {
            "id": task.id,
            "locationId": location_id,
            "assignedTo": task.assigned_to,
            "body": task.body,
            "contactId": task.contact_id,
            "title": task.title,
            "dateAdded": iso_ms(task.added_ms),
            "dueDate": task.due_date,
        }
    )


def note_wire(note: NoteRecord) -> Json:
    """A note as the note endpoints return it (``GetNoteSchema``)."""
    return _drop_none(
        {
            "id": note.id,
            "body": note.body,
            "userId": note.user_id,
            "dateAdded": iso_ms(note.added_ms),
            "contactId": note.contact_id,
            "title": note.title,
            "color": note.color,
            "pinned": note.pinned,
        }
    )


def note_webhook(note: NoteRecord, location_id: str) -> Json:
    """The flat object of Note* webhook events."""
    return {
        "id": note.id,
        "locationId": location_id,
        "body": note.body,
        "contactId": note.contact_id,
        "dateAdded": iso_ms(note.added_ms),
    }


def appointment_wire(appointment: AppointmentRecord) -> Json:
    """An appointment as ``GET /contacts/{contactId}/appointments`` returns it."""
    return _drop_none(
        {
            "id": appointment.id,
            "calendarId": appointment.calendar_id,
            "status": appointment.status,
            "title": appointment.title,
            "assignedUserId": appointment.assigned_user_id,
            "notes": appointment.notes,
            "startTime": appointment.start_time,
            "endTime": appointment.end_time,
            "address": appointment.address,
            "locationId": appointment.location_id,
            "contactId": appointment.contact_id,
            "groupId": appointment.group_id,
            "appointmentStatus": appointment.appointment_status,
            "users": list(appointment.users),
            "dateAdded": appointment.date_added,
            "dateUpdated": appointment.date_updated,
            "assignedResources": [],
        }
    )

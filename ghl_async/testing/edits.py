"""Applying a create/update/upsert body to a contact, with HighLevel's semantic checks.

The Structs in ``ghl_async.models`` already refused unknown fields and wrong types; what is left
is what class-validator checks beyond types (e-mail format, date-of-birth formats, custom field
references). Every check runs before anything changes, so a 422 never half-applies a body.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final

import msgspec
from msgspec import UNSET

from ghl_async import models as m
from ghl_async import models_v3 as m3
from ghl_async.testing.replies import ENCODER, ApiFailure
from ghl_async.testing.store import ContactRecord, Store

__all__ = [
    "ContactChanges",
    "apply_contact_fields",
    "check_email",
    "clean_tags",
    "parse_date_of_birth",
    "parse_iso_datetime",
]

ContactBody = m.CreateContact | m.UpdateContact | m3.CreateContactV3 | m3.UpdateContactV3

# Fields copied onto the record as they are (the record's attribute names match the Structs').
_PLAIN: Final = frozenset(
    {
        "first_name",
        "last_name",
        "phone",
        "address1",
        "city",
        "state",
        "postal_code",
        "website",
        "timezone",
        "country",
        "gender",
        "company_name",
        "source",
        "assigned_to",
    }
)
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
# The eight dateOfBirth formats the spec lists: year first or last, one separator of - / . _
_DOB_YMD: Final = re.compile(r"^(\d{4})([-/._])(\d{1,2})\2(\d{1,2})$")
_DOB_MDY: Final = re.compile(r"^(\d{1,2})([-/._])(\d{1,2})\2(\d{4})$")
_ISO_DATE_TIME: Final = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$"
)
_DND_CHANNELS: Final = {
    info.name: info.encode_name for info in msgspec.structs.fields(m.DndSettingsInput)
}


@dataclass(slots=True)
class ContactChanges:
    """What an edit changed, to decide which webhook events to send."""

    changed: bool = False
    tags: bool = False
    dnd: bool = False


def check_email(email: str, field: str = "email") -> str:
    """Return the trimmed address, or raise 422 ``email must be an email``."""
    email = email.strip()
    if not _EMAIL.match(email):
        raise ApiFailure(422, [f"{field} must be an email"])
    return email


def parse_date_of_birth(value: str) -> str:
    """Normalise one of the spec's date-of-birth formats to ``YYYY-MM-DD`` (422 otherwise)."""
    text = value.strip()
    year = month = day = 0
    if match := _DOB_YMD.match(text):
        year, month, day = int(match[1]), int(match[3]), int(match[4])
    elif match := _DOB_MDY.match(text):
        month, day, year = int(match[1]), int(match[3]), int(match[4])
    elif match := _ISO_DATE_TIME.match(text):
        year, month, day = int(match[1]), int(match[2]), int(match[3])
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        raise ApiFailure(
            422,
            [
                "dateOfBirth must be a date in one of the formats YYYY/MM/DD, MM/DD/YYYY, "
                "YYYY-MM-DD, MM-DD-YYYY, YYYY.MM.DD, MM.DD.YYYY, YYYY_MM_DD, MM_DD_YYYY"
            ],
        ) from None


def parse_iso_datetime(value: str, field: str) -> str:
    """Check an ISO-8601 datetime string (``dueDate``, ``eventStartTime``); 422 otherwise."""
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiFailure(422, [f"{field} must be a valid ISO 8601 date string"]) from None
    return value


def clean_tags(tags: list[str]) -> list[str]:
    """Trim, drop empties and duplicates, keep the first spelling and the order."""
    seen: dict[str, None] = {}
    for tag in tags:
        tag = tag.strip()
        if tag:
            seen.setdefault(tag, None)
    return list(seen)


def _field_value(value: object) -> str:
    # The spec types every custom field value in responses as a string.
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return ENCODER.encode(value).decode()


def _custom_field_updates(
    store: Store, contact: ContactRecord, inputs: list[m.CustomFieldInput]
) -> dict[str, str | None]:
    location = store.locations[contact.location_id]
    updates: dict[str, str | None] = {}
    for index, item in enumerate(inputs):
        if isinstance(item.id, str) and item.id:
            field_id = item.id
        elif isinstance(item.key, str) and item.key:
            field_id = store.field_id(location, item.key)
        else:
            raise ApiFailure(422, [f"customFields.{index}.id or key should not be empty"])
        # `fieldValue` (v3's spelling, accepted by v2 too) or `field_value`, never both.
        value = item.field_value if item.value is UNSET else item.value
        updates[field_id] = None if value is UNSET else _field_value(value)
    return updates


def _dnd_channels(
    settings: m.DndSettingsInput | m3.DndSettingsInputV3,
) -> dict[str, dict[str, str]]:
    # Kept under the v2 keys whatever the version (v3's Structs use the same attribute names);
    # the v3 shapes rename them on the way out.
    channels: dict[str, dict[str, str]] = {}
    for attribute, wire_name in _DND_CHANNELS.items():
        setting = getattr(settings, attribute)
        if isinstance(setting, m.DndSettingInput):
            entry: dict[str, str] = {"status": setting.status}
            if isinstance(setting.message, str):
                entry["message"] = setting.message
            if isinstance(setting.code, str):
                entry["code"] = setting.code
            channels[wire_name] = entry
    return channels


def apply_contact_fields(store: Store, contact: ContactRecord, body: ContactBody) -> ContactChanges:
    """Validate ``body`` fully, then write its set fields onto ``contact``.

    ``tags`` replaces every tag (HighLevel's update/upsert semantics); ``customFields`` and
    ``dndSettings`` merge by field id / channel; ``name`` is split into first and last name
    unless those are given too.

    Raises:
        ApiFailure: 422 for an invalid e-mail, date of birth or custom field reference.
    """
    updates: dict[str, object] = {}
    for name in body.__struct_fields__:
        value = getattr(body, name)
        if value is UNSET or name in ("location_id", "create_new_if_duplicate_allowed"):
            continue
        if name == "email" and isinstance(value, str):
            value = check_email(value) if value.strip() else None
        elif name == "date_of_birth" and isinstance(value, str):
            value = parse_date_of_birth(value) if value.strip() else None
        elif name == "custom_fields" and isinstance(value, list):
            value = _custom_field_updates(store, contact, value)
        updates[name] = value

    changes = ContactChanges()
    old_email, old_phone = contact.email, contact.phone
    if "name" in updates and "first_name" not in updates and "last_name" not in updates:
        full = updates["name"]
        first, _, last = full.strip().partition(" ") if isinstance(full, str) else ("", "", "")
        updates["first_name"], updates["last_name"] = first or None, last.strip() or None
    for name, value in updates.items():
        if name in _PLAIN or name in ("email", "date_of_birth"):
            if getattr(contact, name) != value:
                setattr(contact, name, value)
                changes.changed = True
        elif name == "tags" and isinstance(value, list):
            tags = clean_tags(value)
            if tags != contact.tags:
                contact.tags = tags
                changes.changed = changes.tags = True
        elif name == "custom_fields" and isinstance(value, dict):
            for field_id, field_value in value.items():
                if field_value is None:
                    changes.changed |= contact.custom_fields.pop(field_id, None) is not None
                elif contact.custom_fields.get(field_id) != field_value:
                    contact.custom_fields[field_id] = field_value
                    changes.changed = True
        elif name == "dnd" and isinstance(value, bool):
            if value != contact.dnd:
                contact.dnd = value
                changes.changed = changes.dnd = True
        elif name == "dnd_settings" and isinstance(
            value, m.DndSettingsInput | m3.DndSettingsInputV3
        ):
            merged = {**contact.dnd_settings, **_dnd_channels(value)}
            if merged != contact.dnd_settings:
                contact.dnd_settings = merged
                changes.changed = changes.dnd = True
        elif (
            name == "inbound_dnd_settings"
            and isinstance(value, m.InboundDndSettingsInput)
            and isinstance(value.all, m.InboundDndSetting)
        ):
            inbound: dict[str, str] = {"status": value.all.status}
            if isinstance(value.all.message, str):
                inbound["message"] = value.all.message
            if contact.inbound_dnd_settings.get("all") != inbound:
                contact.inbound_dnd_settings = {"all": inbound}
                changes.changed = changes.dnd = True
    if changes.changed:
        contact.touch()
        if contact.id in store.contacts:
            store.reindex(contact, old_email, old_phone)
    return changes

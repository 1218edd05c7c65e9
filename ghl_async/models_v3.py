"""Request models of the Contacts API v3 (``contacts-v3.json``) where they differ from v2.

v3 keeps v2's paths and most shapes (CONTACTS-API.md §5), so everything else is shared with
:mod:`ghl_async.models`: the response models already read both spellings of ``succeded``/
``succeeded``, both DND key spellings (an open mapping) and the create response's full contact,
and :class:`~ghl_async.models.CustomFieldInput` sends ``fieldValue`` (v3's spelling) or the
deprecated ``field_value``. What differs is here:

* DND settings in request bodies use lower-camel keys (``call``, ``email``, ``sms``,
  ``whatsApp``, ``gmb``, ``fb``), so create, update and upsert have v3 bodies;
* the business listing takes a ``startAfter`` cursor (``[name, id]`` of the last contact).

The Structs are as strict as v2's: HighLevel answers 422 to a v2 DND key under v3.
"""

from __future__ import annotations

from msgspec import UNSET, UnsetType, field

from ghl_async.models import Body, DndSettingInput, Query, _ContactCore

__all__ = [
    "BusinessContactsQueryV3",
    "CreateContactV3",
    "DndSettingsInputV3",
    "UpdateContactV3",
    "UpsertContactV3",
]


class DndSettingsInputV3(Body, kw_only=True):
    """Per-channel do-not-disturb settings (v3 key spelling: ``call``, ``whatsApp``, ...)."""

    call: DndSettingInput | UnsetType = UNSET
    email: DndSettingInput | UnsetType = UNSET
    sms: DndSettingInput | UnsetType = UNSET
    whatsapp: DndSettingInput | UnsetType = field(default=UNSET, name="whatsApp")
    gmb: DndSettingInput | UnsetType = UNSET
    fb: DndSettingInput | UnsetType = UNSET


class _ContactFieldsV3(_ContactCore, kw_only=True):
    """Fields that v3 create, update and upsert all accept."""

    dnd_settings: DndSettingsInputV3 | UnsetType = UNSET


class CreateContactV3(_ContactFieldsV3, kw_only=True):
    """Body of ``POST /contacts/`` under ``Version: v3`` (``CreateContactDtoV3``)."""

    location_id: str
    gender: str | UnsetType = UNSET
    company_name: str | None | UnsetType = UNSET
    source: str | UnsetType = UNSET
    assigned_to: str | UnsetType = UNSET


class UpsertContactV3(CreateContactV3, kw_only=True):
    """Body of ``POST /contacts/upsert`` under ``Version: v3`` (``UpsertContactDtoV3``)."""

    create_new_if_duplicate_allowed: bool | UnsetType = UNSET


class UpdateContactV3(_ContactFieldsV3, kw_only=True):
    """Body of ``PUT /contacts/{contactId}`` under ``Version: v3``: no ``locationId``,
    ``gender`` or ``companyName``, as in v2."""

    source: str | None | UnsetType = UNSET
    assigned_to: str | None | UnsetType = UNSET


class BusinessContactsQueryV3(Query, kw_only=True):
    """Query of ``GET /contacts/business/{businessId}`` under ``Version: v3``.

    ``limit``/``skip`` are strings as in v2; ``start_after`` is the ``[name, id]`` pair of the
    last contact of the previous page (sent as two ``startAfter`` parameters).
    """

    location_id: str
    limit: str | UnsetType = UNSET
    skip: str | UnsetType = UNSET
    query: str | UnsetType = UNSET
    start_after: list[str] | UnsetType = UNSET

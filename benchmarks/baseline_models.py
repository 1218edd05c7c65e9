"""The baseline's hand-written msgspec Structs, typed from `GetContectByIdSchema` (contacts.json).

What a careful developer writes in an afternoon from the spec: every declared field, optional,
camelCase on the wire. Deliberately independent of ghl_async.models so the baseline measures
the practical limit rather than our own model choices.
"""

from __future__ import annotations

import msgspec


class DndSetting(msgspec.Struct, rename="camel"):
    status: str | None = None
    message: str | None = None
    code: str | None = None


class CustomField(msgspec.Struct, rename="camel"):
    id: str | None = None
    value: str | int | float | bool | list[object] | dict[str, object] | None = None


class AttributionSource(msgspec.Struct, rename="camel"):
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


class Contact(msgspec.Struct, rename="camel"):
    id: str
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
    tags: list[str] | None = None
    date_of_birth: str | None = None
    date_added: str | None = None
    date_updated: str | None = None
    attachments: str | None = None
    ssn: str | None = None
    keyword: str | None = None
    first_name_lower_case: str | None = None
    full_name_lower_case: str | None = None
    last_name_lower_case: str | None = None
    last_activity: str | None = None
    custom_fields: list[CustomField] | None = None
    business_id: str | None = None
    attribution_source: AttributionSource | None = None
    last_attribution_source: AttributionSource | None = None
    visitor_id: str | None = None


class WideContact(msgspec.Struct, rename="camel"):
    """The 36 fields of `payloads.WIDE_FIELDS`, in the spec's order, each optional."""

    id: str
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
    tags: list[str] | None = None
    date_of_birth: str | None = None
    date_added: str | None = None
    date_updated: str | None = None
    first_name_lower_case: str | None = None
    full_name_lower_case: str | None = None
    last_name_lower_case: str | None = None
    last_activity: str | None = None
    custom_fields: list[CustomField] | None = None
    business_id: str | None = None
    attribution_source: AttributionSource | None = None
    last_attribution_source: AttributionSource | None = None
    visitor_id: str | None = None
    attributions: list[AttributionSource] | None = None
    followers: list[str] | None = None


class CreatedContact(msgspec.Struct, rename="camel"):
    """`CreateContactSchema`: the create response's selection of fields."""

    id: str
    date_added: str | None = None
    date_updated: str | None = None
    deleted: bool | None = None
    tags: list[str] | None = None
    type: str | None = None
    custom_fields: list[CustomField] | None = None
    location_id: str | None = None
    first_name: str | None = None
    first_name_lower_case: str | None = None
    full_name_lower_case: str | None = None
    last_name: str | None = None
    last_name_lower_case: str | None = None
    email: str | None = None
    email_lower_case: str | None = None
    bounce_email: bool | None = None
    unsubscribe_email: bool | None = None
    dnd: bool | None = None
    dnd_settings: dict[str, DndSetting] | None = None
    phone: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    country: str | None = None
    postal_code: str | None = None
    website: str | None = None
    source: str | None = None
    company_name: str | None = None
    date_of_birth: str | None = None
    birth_month: int | None = None
    birth_day: int | None = None
    last_session_activity_at: str | None = None
    offers: list[str] | None = None
    products: list[str] | None = None
    business_id: str | None = None
    assigned_to: str | None = None


class ContactEnvelope(msgspec.Struct):
    contact: Contact


class CreatedEnvelope(msgspec.Struct):
    contact: CreatedContact


class ContactsPage(msgspec.Struct):
    contacts: list[Contact]
    count: int


class WideContactsPage(msgspec.Struct):
    contacts: list[WideContact]
    count: int


class CreateContactBody(msgspec.Struct, rename="camel", omit_defaults=True):
    location_id: str
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    source: str | None = None

"""Typed events: every documented example decodes losslessly; drift and unknown types survive."""

from __future__ import annotations

import msgspec
import pytest
from webhook_helpers import doc_example_params, doc_examples, require_docs

from ghl_async import webhooks
from ghl_async.webhooks import (
    EVENT_TYPES,
    AppInstall,
    AppointmentEvent,
    AppointmentUpdate,
    AppUninstall,
    ContactDndUpdate,
    ContactEvent,
    NoteCreate,
    PayloadError,
    TaskCreate,
    UnknownEvent,
    parse,
)

EXPECTED_TYPES = {
    "ContactCreate", "ContactUpdate", "ContactDelete", "ContactTagUpdate", "ContactDndUpdate",
    "TaskCreate", "TaskComplete", "TaskDelete", "NoteCreate", "NoteUpdate", "NoteDelete",
    "AppointmentCreate", "AppointmentUpdate", "AppointmentDelete", "INSTALL", "UNINSTALL",
}


def _prune(value: object) -> object:
    """Drop empty containers and nulls, which the models encode as omitted defaults."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def test_the_union_covers_exactly_the_documented_events() -> None:
    assert set(EVENT_TYPES) == EXPECTED_TYPES
    assert EVENT_TYPES["INSTALL"] is AppInstall
    assert EVENT_TYPES["UNINSTALL"] is AppUninstall


@pytest.mark.parametrize(
    ("stem", "payload"), doc_example_params(), ids=[stem for stem, _ in doc_example_params()]
)
def test_every_doc_example_decodes_without_losing_a_field(
    stem: str, payload: dict[str, object]
) -> None:
    require_docs()
    wire_type = {"AppInstall": "INSTALL", "AppUninstall": "UNINSTALL"}.get(stem, stem)
    event = parse(msgspec.json.encode(payload))
    assert type(event) is EVENT_TYPES[wire_type]
    assert event.type == wire_type == payload["type"]
    # Re-encoding gives back every documented field: none was dropped or mistyped.
    assert _prune(msgspec.to_builtins(event)) == _prune(payload)


def test_doc_examples_expose_snake_case_attributes() -> None:
    require_docs()
    examples = dict(doc_examples())
    dnd = parse(msgspec.json.encode(examples["ContactDndUpdate"]))
    assert isinstance(dnd, ContactDndUpdate)
    assert dnd.dnd_settings["WhatsApp"].status == "active"
    assert dnd.custom_fields[0].value == "XYZ Corp"
    assert dnd.postal_code == "452001"
    assert dnd.first_name == "John"
    update = parse(msgspec.json.encode(examples["AppointmentUpdate"]))
    assert isinstance(update, AppointmentUpdate)
    assert isinstance(update, AppointmentEvent)
    assert update.appointment is not None
    assert update.appointment.calendar_id == "BqTwX8QFwXzpegMve9EQ"
    assert update.appointment.source == "booking_widget"
    assert update.appointment.users == ["YlWd2wuCAZQzh2cH1fVZ", "9NkT25Vor1v4aQatFsv2"]


def test_install_variants_decode() -> None:
    require_docs()
    location, _, agency = (
        parse(msgspec.json.encode(p)) for stem, p in doc_examples() if stem == "AppInstall"
    )
    assert isinstance(location, AppInstall)
    assert isinstance(agency, AppInstall)
    assert location.trial is not None
    assert location.trial.trial_duration == 10
    assert location.whitelabel_details is not None
    assert location.whitelabel_details.logo_url == "https://example.com/logo.png"
    assert agency.location_id is None
    assert agency.user_id is None
    assert agency.company_id == "otg8dTQqGLh3Q6iQI55w"


def test_fields_highlevel_omits_in_practice_default_to_none() -> None:
    # Live TaskCreate deliveries lack contactId and body (HighLevel docs issue #332).
    event = parse(b'{"type": "TaskCreate", "id": "t1", "title": "Call back"}')
    assert isinstance(event, TaskCreate)
    assert (event.contact_id, event.body, event.title) == (None, None, "Call back")
    bare = parse(b'{"type": "ContactCreate"}')
    assert isinstance(bare, ContactEvent)
    assert (bare.id, bare.tags, bare.dnd, bare.dnd_settings) == ("", [], None, {})


def test_delivery_envelope_and_unknown_fields() -> None:
    event = parse(
        b'{"type": "NoteCreate", "id": "n1", "body": "hi", "timestamp": "2025-01-28T14:35:00Z",'
        b' "webhookId": "w1", "appId": "a1", "versionId": "v1", "brandNewField": {"x": 1}}'
    )
    assert isinstance(event, NoteCreate)
    assert (event.webhook_id, event.app_id, event.version_id) == ("w1", "a1", "v1")
    assert event.timestamp is not None
    assert event.timestamp.isoformat() == "2025-01-28T14:35:00+00:00"


def test_an_unknown_type_is_kept_with_its_raw_mapping() -> None:
    body = (
        b'{"type": "OpportunityCreate", "id": "o1", "locationId": "L", "webhookId": "w",'
        b' "timestamp": "2025-01-28T14:35:00Z", "appId": "a", "versionId": 7}'
    )
    event = parse(body)
    assert isinstance(event, UnknownEvent)
    assert event.type == "OpportunityCreate"
    assert event.raw["id"] == "o1"
    assert (event.location_id, event.webhook_id, event.app_id) == ("L", "w", "a")
    assert event.version_id is None  # not a string: not guessed at
    assert event.timestamp is not None
    odd = parse(b'{"type": "Other", "timestamp": 12}')
    assert isinstance(odd, UnknownEvent)
    assert odd.timestamp is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not valid JSON"),
        (b"{", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'"ContactCreate"', "not a JSON object"),
        (b"{}", "no string 'type'"),
        (b'{"type": ""}', "no string 'type'"),
        (b'{"type": 5}', "no string 'type'"),
        (b'{"type": "ContactCreate", "dnd": "yes"}', r"malformed ContactCreate event.*\$\.dnd"),
        (b'{"type": "TaskCreate", "timestamp": "soon"}', "malformed TaskCreate"),
    ],
)
def test_malformed_bodies_raise_payload_error(body: bytes, message: str) -> None:
    with pytest.raises(PayloadError, match=message):
        parse(body)


def test_parse_accepts_str_and_events_are_immutable() -> None:
    event = parse('{"type": "NoteCreate", "id": "n1"}')
    with pytest.raises(AttributeError):
        event.id = "other"  # type: ignore[misc]
    assert isinstance(event, webhooks.NoteEvent)

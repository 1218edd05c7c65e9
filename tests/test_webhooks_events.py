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
    assert event.raw["versionId"] == 7  # the raw mapping is exactly what arrived
    assert (event.location_id, event.webhook_id, event.app_id) == ("L", "w", "a")
    # The envelope is read as leniently as a known event's, and says so.
    assert event.version_id == "7"
    assert [str(r) for r in event.repairs] == ["$.versionId: number coerced"]
    assert event.timestamp is not None
    odd = parse(b'{"type": "Other", "timestamp": true, "webhookId": ["w"]}')
    assert isinstance(odd, UnknownEvent)
    assert (odd.timestamp, odd.webhook_id) == (None, None)
    assert {str(r) for r in odd.repairs} == {
        "$.timestamp: boolean defaulted",
        "$.webhookId: array defaulted",
    }


@pytest.mark.parametrize("body", [b"{}", b'{"type": ""}', b'{"type": 5}', b'{"type": null}'])
def test_an_object_without_a_string_type_is_kept_as_an_unknown_event(body: bytes) -> None:
    event = parse(body)
    assert isinstance(event, UnknownEvent)
    assert event.type == ""
    assert event.raw == msgspec.json.decode(body)


# Deep enough for a RecursionError on every supported Python (3.12+ allow far more C recursion).
DEPTH = 100_000
DEEP = b'{"type": "ContactCreate", "webhookId": "w-deep", "x": %s}' % (b"[" * DEPTH + b"]" * DEPTH)


@pytest.mark.parametrize(
    ("body", "message", "webhook_id"),
    [
        (b"", "not valid JSON", None),
        (b"{", "not valid JSON", None),
        (b'{"type": "ContactCreate", "webhookId": "w-1", ', "not valid JSON", "w-1"),
        (b"[1, 2]", "not a JSON object", None),
        (b'[{"type": "ContactCreate", "webhookId": "w-2"}]', "not a JSON object", "w-2"),
        (b'"ContactCreate"', "not a JSON object", None),
        (b"null", "not a JSON object", None),
        (b'{"type": "NoteCreate", "n": NaN}', "not valid JSON", None),
        (b'{"type": "NoteCreate", "n": Infinity}', "not valid JSON", None),
        (b'\xef\xbb\xbf{"type": "NoteCreate"}', "not valid JSON", None),
        (b'{"type": "NoteCreate", "webhookId": "w-3", "body": "\xff"}', "not valid UTF-8", "w-3"),
        (b'{"type": "X", "body": "\xc3"}', "not valid UTF-8", None),
        (DEEP, "nested too deeply", "w-deep"),
        # msgspec stops at the surrogate; the standard library then meets the nesting.
        (b'{"a": "\\ud800", "x": %s}' % (b"[" * DEPTH + b"]" * DEPTH), "nested too deeply", None),
        (b"[" * 100_000, "not valid JSON|nested too deeply", None),
    ],
    ids=[
        "empty", "truncated", "truncated-with-id", "array", "array-of-events", "string", "null",
        "nan", "infinity", "bom", "invalid-utf8", "truncated-utf8", "deep", "deep-after-surrogate",
        "deep-unclosed",
    ],
)
def test_bodies_that_are_not_json_objects_raise_payload_error(
    body: bytes, message: str, webhook_id: str | None
) -> None:
    with pytest.raises(PayloadError, match=message) as caught:
        parse(body)
    assert caught.value.webhook_id == webhook_id


def test_str_bodies_and_unpaired_surrogates_in_keys_are_read_leniently_too() -> None:
    event = parse('{"type": "NoteCreate", "body": "cut \\ud83d", "\\udc00k": 1}')
    assert isinstance(event, NoteCreate)
    assert event.body == "cut \ufffd"
    assert {str(r) for r in event.repairs} == {
        "$: key with unpaired surrogates coerced",
        "$.body: string with unpaired surrogates coerced",
    }
    unknown = parse('{"type": "Other", "\\udc00k": {"\\ud800": [1e999]}}')
    assert isinstance(unknown, UnknownEvent)
    assert unknown.raw == {"type": "Other", "\ufffdk": {"\ufffd": [None]}}
    assert [str(r) for r in unknown.repairs] == [
        "$: key with unpaired surrogates coerced",
        '$["\\ufffdk"]: key with unpaired surrogates coerced',
        '$["\\ufffdk"]["\\ufffd"][0]: number out of range defaulted',
    ]


def test_parse_accepts_str_and_events_are_immutable() -> None:
    event = parse('{"type": "NoteCreate", "id": "n1"}')
    with pytest.raises(AttributeError):
        event.id = "other"  # type: ignore[misc]
    assert isinstance(event, webhooks.NoteEvent)

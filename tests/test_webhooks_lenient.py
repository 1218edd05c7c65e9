"""Verified events are never lost to their shape: odd values are repaired, not refused.

The table test takes every example in HighLevel's webhook docs and injects, into every field
(and every list), nulls and values of every other JSON kind, plus the two kinds of JSON msgspec
cannot read (a number beyond float range, an unpaired surrogate escape). Each must still decode
as its own class, with every attribute of its declared type, every change recorded at the path
that was tampered with, and nothing else changed. The receiver tests send such bodies, signed,
over a real socket.
"""

from __future__ import annotations

import logging
import typing
from collections.abc import AsyncIterator, Iterator

import aiohttp
import msgspec
import pytest
from webhook_helpers import (
    doc_example_params,
    ed25519_headers,
    event_body,
    make_verifier,
    now_iso,
    post,
    receiving,
    require_docs,
)

from ghl_async.webhooks import (
    EVENT_TYPES,
    AppointmentCreate,
    ContactCreate,
    ContactEvent,
    ContactTagUpdate,
    Dispatcher,
    InstallTrial,
    MalformedEvent,
    NoteCreate,
    Repair,
    TaskCreate,
    UnknownEvent,
    WebhookEvent,
    WebhookReceiver,
    parse,
)

Path = tuple[str | int, ...]

HUGE = "__huge_number__"  # replaced by the literal 1e400 in the encoded body
SURROGATE = "__lone_surrogate__"  # replaced by the escape \ud83d (half an emoji)

INJECTED: dict[str, object] = {
    "null": None,
    "integer": 12345,
    "float": 1.5,
    "boolean": True,
    "string": "text",
    "numeric-string": "10",
    "object": {"k": "v"},
    "array": ["a", None, 7],
    "huge": HUGE,
    "surrogate": SURROGATE,
}

ENVELOPE = {
    "timestamp": "2025-01-28T14:35:00.000Z",
    "webhookId": "w-table",
    "appId": "app-1",
    "versionId": "v-1",
    "locationId": "loc-1",
}


def encode(payload: dict[str, object]) -> bytes:
    body = msgspec.json.encode(payload)
    return body.replace(f'"{HUGE}"'.encode(), b"1e400").replace(
        f'"{SURROGATE}"'.encode(), b'"\\ud83d"'
    )


def paths(value: object, prefix: Path = ()) -> Iterator[Path]:
    """Every key and first list item in a payload, objects and arrays included."""
    if isinstance(value, dict):
        for key, item in value.items():
            if prefix == () and key == "type":
                continue
            yield (*prefix, key)
            yield from paths(item, (*prefix, key))
    elif isinstance(value, list) and value:
        yield (*prefix, 0)
        yield from paths(value[0], (*prefix, 0))


def declared(cls: type[msgspec.Struct], prefix: Path = ()) -> Iterator[Path]:
    """Every field the model declares, nested models included (list items as index 0, map
    values under the key ``SMS``), whether or not the doc example has it."""
    for field in msgspec.structs.fields(cls):
        if field.name == "repairs":
            continue
        path = (*prefix, field.encode_name)
        yield path
        annotation = field.type
        for member in typing.get_args(annotation) or (annotation,):
            origin = typing.get_origin(member)
            inner = typing.get_args(member)
            if origin is list and _is_struct(inner[0]):
                yield (*path, 0)
                yield from declared(inner[0], (*path, 0))
            elif origin is dict and _is_struct(inner[1]):
                yield (*path, "SMS")
                yield from declared(inner[1], (*path, "SMS"))
            elif _is_struct(member):
                yield from declared(member, path)


def _is_struct(value: object) -> bool:
    return isinstance(value, type) and issubclass(value, msgspec.Struct)


def injectable(payload: dict[str, object], cls: type[msgspec.Struct]) -> list[Path]:
    """The payload's own paths, then each declared one whose parent the payload has."""
    found = list(paths(payload))
    for path in declared(cls):
        parent = get(payload, path[:-1])
        fits = isinstance(parent, dict) or (
            isinstance(parent, list) and isinstance(path[-1], int) and path[-1] < len(parent)
        )
        if fits and path not in found:
            found.append(path)
    return found


def lists(value: object, prefix: Path = ()) -> Iterator[tuple[Path, int]]:
    """(path, length) of every array in a payload."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from lists(item, (*prefix, key))
    elif isinstance(value, list):
        yield prefix, len(value)
        for index, item in enumerate(value):
            yield from lists(item, (*prefix, index))


def json_path(path: Path) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def get(tree: object, path: Path) -> object:
    for part in path:
        if isinstance(part, int):
            if not isinstance(tree, list) or part >= len(tree):
                return None
        elif not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]  # type: ignore[index]  # checked just above
    return tree


def put(tree: object, path: Path, value: object) -> None:
    parent = get(tree, path[:-1])
    last = path[-1]
    if isinstance(parent, list) and isinstance(last, int) and last == len(parent):
        parent.append(value)
    else:
        parent[last] = value  # type: ignore[index]  # a dict key or list index from paths()


def without(tree: object, path: Path) -> object:
    """A copy of ``tree`` with the value at ``path`` removed (if there), empties pruned."""
    copy = msgspec.json.decode(msgspec.json.encode(tree))
    parent = get(copy, path[:-1])
    last = path[-1]
    if isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        del parent[last]
    return prune(copy)


def prune(value: object) -> object:
    """Drop nulls and empty containers, which the models encode as omitted defaults."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items() if k != "ghlAsyncRepairs"}
        return {k: v for k, v in pruned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def check(label: str, payload: dict[str, object], path: Path, baseline: WebhookEvent) -> None:
    event = parse(encode(payload))
    assert type(event) is type(baseline), label
    # Every attribute has its declared type: the event survives a strict round trip.
    assert msgspec.convert(msgspec.to_builtins(event), type(event)) == event, label
    where = json_path(path)
    for repair in event.repairs:
        assert repair.path == where or repair.path.startswith((f"{where}.", f"{where}[")), (
            label,
            repair,
        )
    wire = msgspec.to_builtins(event)
    expected = without(msgspec.to_builtins(baseline), path)
    if any(r.path == where and r.action == "dropped" for r in event.repairs):
        # A dropped list item is gone, and the rest of its list is intact.
        assert prune(wire) == expected, label
    else:
        # Nothing outside the tampered path changed.
        assert without(wire, path) == expected, label
    if not event.repaired:
        # No repair recorded means the body fit the class as sent: the strict decoder agrees.
        assert event == msgspec.json.decode(encode(payload), type=type(event)), label


@pytest.mark.parametrize(
    ("stem", "example"), doc_example_params(), ids=[stem for stem, _ in doc_example_params()]
)
def test_every_field_of_every_event_survives_nulls_and_off_type_values(
    stem: str, example: dict[str, object]
) -> None:
    require_docs()
    payload = {**example, **ENVELOPE}
    baseline = parse(encode(payload))
    wire_type = payload["type"]
    assert isinstance(wire_type, str)
    assert type(baseline) is EVENT_TYPES[wire_type]
    assert not baseline.repaired  # well-formed: the strict fast path
    cases = 0
    for path in injectable(payload, type(baseline)):
        for name, value in INJECTED.items():
            tampered = msgspec.json.decode(msgspec.json.encode(payload))
            put(tampered, path, value)
            check(f"{stem} {json_path(path)} = {name}", tampered, path, baseline)
            cases += 1
    for path, length in lists(payload):
        for name, value in INJECTED.items():
            tampered = msgspec.json.decode(msgspec.json.encode(payload))
            put(tampered, (*path, length), value)
            check(f"{stem} {json_path(path)} + {name}", tampered, (*path, length), baseline)
            cases += 1
    assert cases >= 5 * len(INJECTED)  # the envelope alone has five fields


@pytest.mark.parametrize(
    ("body", "expected", "repairs"),
    [
        (
            b'{"type": "ContactTagUpdate", "id": "c1", "tags": null}',
            {"tags": []},
            ["$.tags: null defaulted"],
        ),
        (
            b'{"type": "ContactTagUpdate", "id": "c1", "tags": ["a", null, "b", 7]}',
            {"tags": ["a", "b", "7"]},
            ["$.tags[1]: null dropped", "$.tags[3]: number coerced"],
        ),
        (
            b'{"type": "ContactCreate", "id": 42, "postalCode": 452001, "dnd": "false",'
            b' "phone": 1.5}',
            {"id": "42", "postal_code": "452001", "dnd": False, "phone": "1.5"},
            [
                "$.id: number coerced",
                "$.postalCode: number coerced",
                "$.dnd: string coerced",
                "$.phone: number coerced",
            ],
        ),
        (
            b'{"type": "ContactCreate", "dnd": 1, "email": {"a": 1}, "customFields": {"id": "x"}}',
            {"dnd": True, "email": None, "custom_fields": []},
            [
                "$.dnd: number coerced",
                "$.email: object defaulted",
                "$.customFields: object defaulted",
            ],
        ),
        (
            b'{"type": "ContactDndUpdate", "dndSettings": {"SMS": null, "Email": {"status": 1},'
            b' "FB": "on"}}',
            {"dnd_settings": {"Email": {"status": "1"}}},
            [
                "$.dndSettings.SMS: null dropped",
                "$.dndSettings.Email.status: number coerced",
                "$.dndSettings.FB: string dropped",
            ],
        ),
        (
            b'{"type": "INSTALL", "trial": {"onTrial": "TRUE", "trialDuration": "10.5"},'
            b' "isWhitelabelCompany": "maybe"}',
            {"trial": {"onTrial": True, "trialDuration": 10.5}, "is_whitelabel_company": None},
            [
                "$.trial.onTrial: string coerced",
                "$.trial.trialDuration: string coerced",
                "$.isWhitelabelCompany: string defaulted",
            ],
        ),
        (
            b'{"type": "AppointmentCreate", "appointment": {"users": [null, "u1"], "title": []}}',
            {"appointment": {"users": ["u1"], "title": None}},
            ["$.appointment.title: array defaulted", "$.appointment.users[0]: null dropped"],
        ),
        (
            b'{"type": "TaskCreate", "timestamp": 1738075200000, "dueDate": 1738075200}',
            {"due_date": "1738075200"},
            ["$.timestamp: number coerced", "$.dueDate: number coerced"],
        ),
        (
            b'{"type": "NoteCreate", "body": "cut \\ud83d", "id": 1e400}',
            {"body": "cut \ufffd", "id": ""},
            [
                "$.body: string with unpaired surrogates coerced",
                "$.id: number out of range defaulted",
                "$.id: null defaulted",
            ],
        ),
        (
            b'{"type": "ContactCreate", "city": ' + b"9" * 5000 + b"}",
            {"city": None},
            ["$.city: number out of range defaulted"],
        ),
    ],
    ids=[
        "tags-null", "null-in-tags", "numbers-as-text", "off-type-defaults", "dnd-settings",
        "install-trial", "appointment", "epoch-numbers", "msgspec-unreadable", "long-integer",
    ],
)
def test_lenient_decoding_by_example(
    body: bytes, expected: dict[str, object], repairs: list[str]
) -> None:
    event = parse(body)
    assert type(event) is EVENT_TYPES[body.split(b'"')[3].decode()]
    assert event.repaired
    assert sorted(str(r) for r in event.repairs) == sorted(repairs)
    for name, value in expected.items():
        actual = msgspec.to_builtins(getattr(event, name))
        assert actual == (prune(value) if isinstance(value, dict) else value), name


def test_epoch_timestamps_become_datetimes() -> None:
    for number in (1738075200, 1738075200000, 1738075200.5):
        event = parse(msgspec.json.encode({"type": "NoteCreate", "timestamp": number}))
        assert event.timestamp is not None
        assert event.timestamp.isoformat().startswith("2025-01-28T14:40:00")
    far = parse(b'{"type": "NoteCreate", "timestamp": 1e300}')
    assert far.timestamp is None
    assert [str(r) for r in far.repairs] == ["$.timestamp: number defaulted"]


def test_repairs_are_typed_and_encodable() -> None:
    event = parse(b'{"type": "ContactTagUpdate", "tags": [null]}')
    assert event.repairs == (Repair(path="$.tags[0]", found="null", action="dropped"),)
    # A repaired event encodes with its repairs under a name no HighLevel field uses.
    wire = msgspec.json.decode(msgspec.json.encode(event))
    assert wire["ghlAsyncRepairs"] == [{"path": "$.tags[0]", "found": "null", "action": "dropped"}]
    assert "repairs" not in wire
    # A clean event is unchanged on the wire.
    assert "ghlAsyncRepairs" not in msgspec.json.decode(
        msgspec.json.encode(parse(b'{"type": "ContactTagUpdate", "tags": ["a"]}'))
    )
    assert InstallTrial().on_trial is None  # nested models keep their plain defaults


def test_the_wire_cannot_claim_repairs_it_did_not_need() -> None:
    # Only the lenient decoder sets repairs: a body carrying the field name gets it ignored
    # there, and a well-formed one never takes that path.
    forged = b'{"type": "NoteCreate", "ghlAsyncRepairs": 5, "id": 7}'
    event = parse(forged)
    assert [str(r) for r in event.repairs] == ["$.id: number coerced"]


# --- over a real socket -----------------------------------------------------------------------


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def signed_raw(template: bytes) -> bytes:
    """A body with a fresh envelope spliced into raw JSON text (which may not round-trip)."""
    envelope = msgspec.json.encode({"timestamp": now_iso(), "appId": "app-1"})[1:-1]
    return template.replace(b"{", b"{" + envelope + b", ", 1)


async def test_verified_events_with_odd_values_reach_their_typed_handlers(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    dispatcher = Dispatcher()
    typed: list[WebhookEvent] = []
    everything: list[WebhookEvent] = []
    dispatcher.on(ContactEvent)(typed.append)
    dispatcher.on(AppointmentCreate)(typed.append)
    dispatcher.on(TaskCreate)(typed.append)
    dispatcher.on(NoteCreate)(typed.append)
    dispatcher.on_any(everything.append)
    receiver = WebhookReceiver(dispatcher, verifier=make_verifier())
    bodies = [
        event_body("ContactTagUpdate", webhookId="l-1", tags=["well-formed"]),
        event_body("ContactTagUpdate", webhookId="l-2", tags=["a", None]),
        event_body("ContactCreate", webhookId="l-3", postalCode=452001, dnd="yes"),
        event_body("ContactCreate", webhookId="l-4", customFields={"id": "x"}),
        event_body("AppointmentCreate", webhookId="l-5", appointment="soon"),
        event_body("TaskCreate", webhookId="l-6", dueDate=["tomorrow"]),
        signed_raw(b'{"type": "NoteCreate", "webhookId": "l-7", "body": "\\ud83d", "n": 1e400}'),
        signed_raw(b'{"type": "ContactCreate", "webhookId": "l-8", "tags": null}'),
    ]
    async with receiving(receiver) as url:
        for body in bodies:
            status, answer = await post(http, url, body)
            assert (status, answer["status"]) == (200, "accepted"), body
        await receiver.join()
    ids = [f"l-{i}" for i in range(1, 9)]
    assert [e.webhook_id for e in typed] == ids
    assert [e.webhook_id for e in everything] == ids
    assert [e.repaired for e in typed] == [False] + [True] * 7
    tags = typed[1]
    assert isinstance(tags, ContactTagUpdate)
    assert tags.tags == ["a"]
    contact = typed[2]
    assert isinstance(contact, ContactCreate)
    assert (contact.postal_code, contact.dnd) == ("452001", None)
    stats = receiver.stats
    assert (stats.accepted, stats.handled, stats.lenient, stats.rejected) == (8, 8, 7, 0)
    assert "ContactCreate l-3 decoded leniently" in caplog.text


async def test_lenient_events_are_still_deduplicated_and_checked_for_age(
    http: aiohttp.ClientSession,
) -> None:
    dispatcher = Dispatcher()
    seen: list[WebhookEvent] = []
    dispatcher.on_any(seen.append)
    receiver = WebhookReceiver(dispatcher, verifier=make_verifier())
    body = event_body("ContactTagUpdate", tags=[None])
    async with receiving(receiver) as url:
        assert (await post(http, url, body))[1]["status"] == "accepted"
        assert (await post(http, url, body))[1]["status"] == "duplicate"
        stale = event_body("ContactTagUpdate", tags=[None], timestamp=now_iso(-3600))
        status, answer = await post(http, url, stale)
        assert (status, answer["error"]) == (400, "StaleEventError")
        await receiver.join()
    assert len(seen) == 1


DEPTH = 100_000  # a RecursionError on every supported Python (3.12+ allow far deeper C calls)
NESTED = b"[" * DEPTH + b"]" * DEPTH
DEEP_BODY = b'{"type": "ContactCreate", "webhookId": "w-deep", "x": %s}' % NESTED


@pytest.mark.parametrize(
    ("body", "message", "webhook_id"),
    [
        (DEEP_BODY, "nested too deeply", "w-deep"),
        (b'{"type": "NoteCreate", "webhookId": "w-utf8", "body": "\xff"}', "not valid UTF-8",
         "w-utf8"),
        (b'{"type": "NoteCreate", "webhookId": "w-cut", "bo', "not valid JSON", "w-cut"),
        (b'[{"type": "NoteCreate", "webhookId": "w-list"}]', "not a JSON object", "w-list"),
        (b'{"type": "NoteCreate", "n": NaN}', "not valid JSON", None),
        (b"", "not valid JSON", None),
    ],
    ids=["deep", "invalid-utf8", "truncated", "array", "nan", "empty"],
)
async def test_verified_bodies_that_are_not_events_get_a_final_400_logged_as_errors(
    http: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    message: str,
    webhook_id: str | None,
) -> None:
    dispatcher = Dispatcher()
    seen: list[WebhookEvent] = []
    dispatcher.on_any(seen.append)
    receiver = WebhookReceiver(dispatcher, verifier=make_verifier())
    async with receiving(receiver) as url:
        with caplog.at_level(logging.ERROR, logger="ghl_async.webhooks"):
            status, answer = await post(http, url, body)
    assert (status, answer["error"]) == (400, "PayloadError")
    assert message in str(answer["message"])
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert f"verified webhook (type unknown) {webhook_id or '(webhookId unknown)'}" in (
        errors[0].getMessage()
    )
    assert seen == []
    assert receiver.stats.rejected == 1


async def test_an_unverified_body_is_refused_before_any_parsing(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = WebhookReceiver(Dispatcher(), verifier=make_verifier())
    async with receiving(receiver) as url:
        status, answer = await post(http, url, DEEP_BODY, ed25519_headers(b"something else"))
        assert (status, answer["error"]) == (401, "SignatureError")
        status, answer = await post(http, url, DEEP_BODY, {})
        assert (status, answer["error"]) == (401, "SignatureError")
    assert "verified webhook" not in caplog.text


async def test_a_missing_timestamp_is_refused_with_the_webhook_id_in_the_log(
    http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    # A timestamp of no readable shape cannot prove the event is fresh: replay protection wins,
    # and the refusal is an ERROR naming the event so it can be recovered from HighLevel.
    receiver = WebhookReceiver(Dispatcher(), verifier=make_verifier())
    async with receiving(receiver) as url:
        body = event_body("NoteCreate", webhookId="w-when", timestamp={"at": "now"})
        status, answer = await post(http, url, body)
    assert (status, answer["error"]) == (400, "PayloadError")
    assert "verified webhook NoteCreate w-when rejected (400)" in caplog.text


def test_unknown_and_malformed_events_keep_the_raw_body() -> None:
    unknown = parse(b'{"type": "OpportunityCreate", "tags": null}')
    assert isinstance(unknown, UnknownEvent)
    assert unknown.raw == {"type": "OpportunityCreate", "tags": None}
    assert not unknown.repaired  # nothing to fit: the raw mapping is the payload
    malformed = MalformedEvent(event_type="ContactCreate", raw={"id": 1}, error="x")
    assert (malformed.type, malformed.raw) == ("ContactCreate", {"id": 1})
    assert not malformed.repaired

"""Dispatcher: registration forms, order, sync/async handlers, errors reported not raised."""

from __future__ import annotations

import asyncio
import logging

import pytest

from ghl_async.errors import ConfigError
from ghl_async.webhooks import (
    ContactCreate,
    ContactEvent,
    ContactUpdate,
    Dispatcher,
    HandlerFailure,
    NoteCreate,
    UnknownEvent,
    WebhookEvent,
    parse,
)

CREATE = ContactCreate(id="c1", webhook_id="w1")
UPDATE = ContactUpdate(id="c1", webhook_id="w2")
NOTE = NoteCreate(id="n1", webhook_id="w3")


async def test_handlers_run_for_their_type_in_registration_order() -> None:
    dispatcher = Dispatcher()
    calls: list[str] = []

    @dispatcher.on(ContactCreate)
    async def first(event: ContactCreate) -> None:
        await asyncio.sleep(0)
        calls.append(f"first:{event.id}")

    @dispatcher.on("ContactCreate")
    def second(event: WebhookEvent) -> None:
        calls.append(f"second:{event.type}")

    def third(event: ContactCreate) -> None:
        calls.append("third")

    dispatcher.add_handler(ContactCreate, third)
    result = await dispatcher.dispatch(CREATE)
    assert calls == ["first:c1", "second:ContactCreate", "third"]
    assert result.ok
    assert result.handled
    assert result.succeeded == 3
    assert await dispatcher.dispatch(NOTE) is not None
    assert calls == ["first:c1", "second:ContactCreate", "third"]  # nothing for notes


async def test_decorated_functions_stay_callable() -> None:
    dispatcher = Dispatcher()

    @dispatcher.on(NoteCreate)
    async def handler(event: NoteCreate) -> str:
        return event.id

    assert await handler(NOTE) == "n1"


async def test_base_classes_and_catch_all_match_widely() -> None:
    dispatcher = Dispatcher()
    contacts: list[str] = []
    everything: list[str] = []
    dispatcher.add_handler(ContactEvent, lambda e: contacts.append(e.type))
    dispatcher.on_any(lambda e: everything.append(e.type))
    dispatcher.add_handler(None, lambda e: everything.append("none-key"))
    for event in (CREATE, UPDATE, NOTE):
        await dispatcher.dispatch(event)
    assert contacts == ["ContactCreate", "ContactUpdate"]
    assert everything == [
        "ContactCreate", "none-key", "ContactUpdate", "none-key", "NoteCreate", "none-key"
    ]
    assert len(dispatcher.handlers_for(CREATE)) == 3


async def test_unknown_event_types_reach_string_and_catch_all_handlers() -> None:
    dispatcher = Dispatcher()
    got: list[UnknownEvent] = []
    dispatcher.on("OpportunityCreate")(got.append)
    event = parse(b'{"type": "OpportunityCreate", "id": "o1"}')
    result = await dispatcher.dispatch(event)
    assert got == [event]
    assert result.succeeded == 1
    assert got[0].raw["id"] == "o1"


async def test_a_failing_handler_is_logged_reported_and_does_not_stop_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    reported: list[HandlerFailure] = []

    async def on_error(failure: HandlerFailure) -> None:
        reported.append(failure)

    dispatcher = Dispatcher(on_error=on_error)
    ran: list[str] = []

    @dispatcher.on(ContactCreate)
    async def broken(event: ContactCreate) -> None:
        raise RuntimeError("boom")

    @dispatcher.on(ContactCreate)
    def also_broken(event: ContactCreate) -> None:
        raise KeyError("missing")

    dispatcher.on_any(lambda e: ran.append(e.type))
    with caplog.at_level(logging.ERROR, logger="ghl_async.webhooks"):
        result = await dispatcher.dispatch(CREATE)
    assert ran == ["ContactCreate"]
    assert not result.ok
    assert result.succeeded == 1
    assert [type(f.error) for f in result.failures] == [RuntimeError, KeyError]
    assert reported == result.failures
    assert reported[0].handler_name.endswith("broken")
    assert reported[0].event is CREATE
    records = [r for r in caplog.records if r.name == "ghl_async.webhooks"]
    assert len(records) == 2
    assert "broken failed on ContactCreate w1" in records[0].getMessage()
    assert records[0].exc_info is not None


async def test_a_sync_or_failing_on_error_callback_is_contained(
    caplog: pytest.LogCaptureFixture,
) -> None:
    seen: list[str] = []
    dispatcher = Dispatcher(on_error=lambda failure: seen.append(str(failure.error)))
    dispatcher.on_any(lambda e: 1 / 0)
    await dispatcher.dispatch(NOTE)
    assert seen == ["division by zero"]

    def bad_callback(failure: HandlerFailure) -> None:
        raise ValueError("callback broke")

    dispatcher.on_error = bad_callback
    result = await dispatcher.dispatch(NOTE)
    assert len(result.failures) == 1
    assert "on_error callback failed" in caplog.text


async def test_an_event_without_handlers_is_not_an_error() -> None:
    result = await Dispatcher().dispatch(NOTE)
    assert result.ok
    assert not result.handled


def test_bad_registrations_are_refused() -> None:
    dispatcher = Dispatcher()
    with pytest.raises(ConfigError):
        dispatcher.add_handler("", print)
    with pytest.raises(TypeError, match="event class"):
        dispatcher.add_handler(dict, print)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not callable"):
        dispatcher.add_handler(ContactCreate, "print")  # type: ignore[arg-type]

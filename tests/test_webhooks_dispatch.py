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
    MalformedEvent,
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


async def test_a_handlers_cancellation_is_its_failure_not_the_dispatchers() -> None:
    reported: list[HandlerFailure] = []

    async def on_error(failure: HandlerFailure) -> None:
        reported.append(failure)
        raise asyncio.CancelledError  # a cancelled error callback is contained too

    dispatcher = Dispatcher(on_error=on_error)
    ran: list[str] = []

    @dispatcher.on(ContactCreate)
    async def cancelled(event: ContactCreate) -> None:
        raise asyncio.CancelledError("handler gave up")

    dispatcher.on_any(lambda e: ran.append(e.type))
    result = await dispatcher.dispatch(CREATE)
    assert ran == ["ContactCreate"]
    assert [type(f.error) for f in result.failures] == [asyncio.CancelledError]
    assert reported == result.failures
    # The dispatching task itself was not cancelled: it can go on awaiting.
    await asyncio.sleep(0)


async def test_cancelling_dispatch_cancels_the_running_handler_and_propagates() -> None:
    dispatcher = Dispatcher()
    started = asyncio.Event()
    unwound: list[str] = []
    later: list[str] = []

    @dispatcher.on_any
    async def slow(event: WebhookEvent) -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        finally:
            unwound.append("slow")

    dispatcher.on_any(lambda e: later.append("later"))
    task = asyncio.create_task(dispatcher.dispatch(CREATE))
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert unwound == ["slow"]  # its cleanup ran before dispatch gave up
    assert later == []


async def test_malformed_events_reach_only_catch_all_and_their_own_handlers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dispatcher = Dispatcher()
    got: list[str] = []
    dispatcher.on(ContactCreate)(lambda e: got.append("typed"))
    dispatcher.on("ContactCreate")(lambda e: got.append("by-name"))
    dispatcher.on(MalformedEvent)(lambda e: got.append(f"malformed:{e.error}"))
    dispatcher.on(WebhookEvent)(lambda e: got.append("base"))
    dispatcher.on_any(lambda e: got.append(f"any:{e.type}"))
    event = MalformedEvent(
        event_type="ContactCreate", raw={"type": "ContactCreate"}, error="boom", webhook_id="w9"
    )
    with caplog.at_level(logging.ERROR, logger="ghl_async.webhooks"):
        result = await dispatcher.dispatch(event)
    assert got == ["malformed:boom", "base", "any:ContactCreate"]
    assert result.succeeded == 3
    assert "ContactCreate w9 could not be decoded even leniently (boom)" in caplog.text


async def test_a_repaired_event_reaches_its_typed_handlers_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    dispatcher = Dispatcher()
    got: list[ContactCreate] = []
    dispatcher.on(ContactCreate)(got.append)
    tags = ", ".join(["null"] * 7)
    event = parse(b'{"type": "ContactCreate", "webhookId": "w8", "tags": ["a", ' + tags.encode()
                  + b"]}")
    assert isinstance(event, ContactCreate)
    with caplog.at_level(logging.WARNING, logger="ghl_async.webhooks"):
        await dispatcher.dispatch(event)
    assert got == [event]
    assert got[0].repaired
    assert got[0].tags == ["a"]
    assert (
        "ContactCreate w8 decoded leniently: $.tags[1]: null dropped; $.tags[2]: null dropped; "
        "$.tags[3]: null dropped; $.tags[4]: null dropped; $.tags[5]: null dropped (and 2 more)"
    ) in caplog.text

"""Raise an alert whenever a note is added to a contact.

Run it: ``python examples/webhook_note_alert.py``. A FakeHighLevel sends signed NoteCreate
webhooks to a receiver on 127.0.0.1; the handler logs an alert (louder for urgent-sounding notes)
and a failing alert channel shows that a handler error is logged and reported, never fatal.
"""

from __future__ import annotations

import asyncio
import logging

from _demo import demo

from ghl_async.webhooks import Dispatcher, HandlerFailure, NoteCreate

alerts = logging.getLogger("examples.alerts")
URGENT_WORDS = ("urgent", "asap", "complaint", "cancel")


async def report(failure: HandlerFailure) -> None:
    # In production: page someone, or push to an error tracker.
    print(f"on_error: {failure.handler_name} failed on {failure.event.type}: {failure.error!r}")


def register(dispatcher: Dispatcher, alerted: list[str]) -> None:
    @dispatcher.on(NoteCreate)
    def alert(event: NoteCreate) -> None:
        text = event.body or ""
        urgent = any(word in text.lower() for word in URGENT_WORDS)
        level = logging.ERROR if urgent else logging.WARNING
        alerts.log(level, "%s note on contact %s: %s", "URGENT" if urgent else "new",
                   event.contact_id, text)
        alerted.append(text)

    @dispatcher.on(NoteCreate)
    async def sms_pager(event: NoteCreate) -> None:
        raise ConnectionError("the SMS gateway is down")  # the first handler still ran


async def main() -> None:
    dispatcher = Dispatcher(on_error=report)
    alerted: list[str] = []
    register(dispatcher, alerted)
    async with demo(dispatcher) as env:
        contact = await env.ghl.contacts.create(first_name="Linus", email="linus@example.com")
        await env.ghl.contacts.notes.create(contact.id, body="Asked for the pricing sheet.")
        await env.ghl.contacts.notes.create(contact.id, body="URGENT: wants to cancel today")
        await env.settle()
        print(f"alerts raised: {len(alerted)}; receiver stats: {env.receiver.stats}")
        assert alerted == ["Asked for the pricing sheet.", "URGENT: wants to cancel today"]


if __name__ == "__main__":
    asyncio.run(main())

"""Enrich each new contact with its tasks, notes and appointments (``get_bundle``).

Run it: ``python examples/webhook_enrich_new_contact.py``. A FakeHighLevel sends signed webhooks
to a receiver on 127.0.0.1. On ``ContactCreate`` the handler fetches the contact's bundle (the
contact plus its tasks, notes and appointments, fetched concurrently) into a local mirror, e.g.
to sync a data warehouse or a CRM; later task and note events refresh that contact's entry.
"""

from __future__ import annotations

import asyncio

from _demo import demo

import ghl_async
from ghl_async.models import ContactBundle
from ghl_async.webhooks import ContactCreate, Dispatcher, NoteEvent, TaskEvent


def register(
    dispatcher: Dispatcher, ghl: ghl_async.Client, mirror: dict[str, ContactBundle]
) -> None:
    async def refresh(contact_id: str, why: str) -> None:
        bundle = await ghl.contacts.get_bundle(contact_id)
        mirror[contact_id] = bundle
        print(
            f"handler: {why} -> {bundle.contact.first_name} <{bundle.contact.email}>: "
            f"{len(bundle.tasks)} tasks, {len(bundle.notes)} notes, "
            f"{len(bundle.appointments)} appointments"
        )

    @dispatcher.on(ContactCreate)
    async def enrich(event: ContactCreate) -> None:
        await refresh(event.id, f"{event.type} {event.id}")

    async def changed(event: TaskEvent | NoteEvent) -> None:
        if event.contact_id in mirror:
            await refresh(event.contact_id, f"{event.type} {event.id}")

    # TaskEvent and NoteEvent are base classes: they match Create, Update/Complete and Delete.
    dispatcher.add_handler(TaskEvent, changed)
    dispatcher.add_handler(NoteEvent, changed)


async def main() -> None:
    dispatcher = Dispatcher()
    mirror: dict[str, ContactBundle] = {}
    # One handler at a time, so refreshes of a contact land in event order.
    async with demo(dispatcher, max_concurrency=1) as env:
        register(dispatcher, env.ghl, mirror)
        contact = await env.ghl.contacts.create(
            first_name="Katherine", email="katherine@example.com", tags=["lead"]
        )
        await env.settle()  # only to make the printed story easy to follow
        await env.ghl.contacts.notes.create(contact.id, body="Met at the trade fair.")
        await env.settle()
        await env.ghl.contacts.tasks.create(
            contact.id, title="Send the brochure", due_date="2030-01-15T09:00:00Z"
        )
        await env.settle()

        bundle = mirror[contact.id]
        print(f"mirror of {contact.id}: tags={bundle.contact.tags}, "
              f"notes={[n.body for n in bundle.notes]}, tasks={[t.title for t in bundle.tasks]}")
        assert [n.body for n in bundle.notes] == ["Met at the trade fair."]
        assert [t.title for t in bundle.tasks] == ["Send the brochure"]


if __name__ == "__main__":
    asyncio.run(main())

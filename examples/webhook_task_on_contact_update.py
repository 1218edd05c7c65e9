"""When a contact is updated, create a follow-up task on it.

Run it: ``python examples/webhook_task_on_contact_update.py``. It starts a FakeHighLevel (which
sends signed webhooks the way HighLevel does), a webhook receiver on 127.0.0.1, creates and
updates a contact through the client, and prints what the handler did.

Against the real HighLevel, the handler is the same; wire it like this::

    dispatcher = Dispatcher()
    ...register handlers...
    app = web.Application()
    WebhookReceiver(dispatcher).attach(app, "/webhooks")   # HighLevel's public keys by default
    web.run_app(app, port=8080)
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from _demo import demo

import ghl_async
from ghl_async.webhooks import ContactUpdate, Dispatcher


def register(dispatcher: Dispatcher, ghl: ghl_async.Client) -> None:
    @dispatcher.on(ContactUpdate)
    async def follow_up(event: ContactUpdate) -> None:
        due = datetime.now(timezone.utc) + timedelta(days=1)
        task = await ghl.contacts.tasks.create(
            event.id,
            title=f"Review the changes to {event.name or event.email or event.id}",
            due_date=due.strftime("%Y-%m-%dT%H:%M:%SZ"),
            completed=False,
        )
        print(f"handler: {event.type} for {event.id} -> created task {task.id} {task.title!r}")


async def main() -> None:
    dispatcher = Dispatcher()
    async with demo(dispatcher) as env:
        register(dispatcher, env.ghl)
        contact = await env.ghl.contacts.create(
            first_name="Grace", last_name="Hopper", email="grace@example.com"
        )
        print(f"created contact {contact.id} (its ContactCreate has no handler here)")
        await env.ghl.contacts.update(contact.id, phone="+14155550123")
        print(f"updated contact {contact.id}: phone set")
        await env.settle()

        tasks = await env.ghl.contacts.tasks.list(contact.id)
        print(f"tasks on {contact.id} now: {[task.title for task in tasks]}")
        for delivery in env.webhooks.deliveries:
            print(f"  webhook {delivery.event_type:<14} -> HTTP {delivery.status}")
        assert [task.title for task in tasks] == ["Review the changes to Grace Hopper"]


if __name__ == "__main__":
    asyncio.run(main())

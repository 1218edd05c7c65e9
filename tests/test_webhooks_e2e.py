"""End to end: the fake creates a contact, signs the ContactCreate webhook, the receiver verifies
it and a handler creates a task through the client, which the fake then holds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp.test_utils import TestServer
from webhook_helpers import serve

import ghl_async
from ghl_async.testing import FakeHighLevel
from ghl_async.webhooks import (
    RECEIVER_KEY,
    ContactCreate,
    Dispatcher,
    TaskCreate,
    WebhookEvent,
    WebhookReceiver,
    WebhookVerifier,
    create_app,
)


@asynccontextmanager
async def receiver_and_fake(
    dispatcher: Dispatcher,
) -> AsyncIterator[tuple[WebhookReceiver, FakeHighLevel, TestServer]]:
    app = create_app(dispatcher)
    async with serve(app) as server, FakeHighLevel(
        webhook_url=str(server.make_url("/webhooks"))
    ) as fake:
        yield app[RECEIVER_KEY], fake, server


async def test_contact_created_in_the_fake_gets_a_task_from_a_webhook_handler() -> None:
    dispatcher = Dispatcher()
    seen: list[WebhookEvent] = []
    dispatcher.on_any(seen.append)
    async with receiver_and_fake(dispatcher) as (receiver, fake, _):
        assert fake.webhooks is not None
        receiver.verifier = WebhookVerifier(
            ed25519_public_key=fake.webhooks.public_key_pem, app_id=fake.app_id
        )
        async with ghl_async.Client(
            auth=ghl_async.StaticToken(fake.private_token),
            location_id=fake.location_id,
            base_url=fake.base_url,
        ) as ghl:

            @dispatcher.on(ContactCreate)
            async def follow_up(event: ContactCreate) -> None:
                await ghl.contacts.tasks.create(
                    event.id,
                    title=f"Welcome call: {event.first_name}",
                    due_date="2030-01-01T09:00:00Z",
                    completed=False,
                )

            contact = await ghl.contacts.create(first_name="Ada", email="ada@example.com")
            await fake.webhooks.drain()
            await receiver.join()
            # The handler's task emitted a TaskCreate of its own; let it arrive too.
            await fake.webhooks.drain()
            await receiver.join()
            tasks = await ghl.contacts.tasks.list(contact.id)

        deliveries = [(d.event_type, d.status, d.attempts) for d in fake.webhooks.deliveries]
    assert deliveries == [("ContactCreate", 200, 1), ("TaskCreate", 200, 1)]
    assert [t.title for t in tasks] == ["Welcome call: Ada"]
    assert [t.title for t in fake.tasks_of(contact.id)] == ["Welcome call: Ada"]
    created, task_event = seen
    assert isinstance(created, ContactCreate)
    assert (created.id, created.email, created.location_id) == (
        contact.id,
        "ada@example.com",
        fake.location_id,
    )
    assert isinstance(task_event, TaskCreate)
    assert task_event.contact_id == contact.id
    assert receiver.stats.handled == 2


async def test_the_fakes_webhooks_fail_highlevels_real_key() -> None:
    # A receiver left on HighLevel's published key refuses the fake's (differently signed)
    # deliveries: verification is not a formality on the end-to-end path.
    handled: list[WebhookEvent] = []
    dispatcher = Dispatcher()
    dispatcher.on_any(handled.append)
    async with receiver_and_fake(dispatcher) as (receiver, fake, _):
        assert fake.webhooks is not None
        async with ghl_async.Client(
            auth=ghl_async.StaticToken(fake.private_token),
            location_id=fake.location_id,
            base_url=fake.base_url,
        ) as ghl:
            await ghl.contacts.create(first_name="Eve")
            await fake.webhooks.drain()
        assert [(d.event_type, d.status) for d in fake.webhooks.deliveries] == [
            ("ContactCreate", 401)
        ]
    assert handled == []
    assert receiver.stats.rejected == 1

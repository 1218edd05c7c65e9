"""Plumbing shared by the webhook examples: a receiver, a FakeHighLevel that sends it signed
webhooks, and a client pointed at the fake. Not needed against the real HighLevel, where you
mount the receiver in your own server (see each example's docstring) and keep its default keys.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

import ghl_async
from ghl_async.testing import FakeHighLevel
from ghl_async.webhooks import Dispatcher, WebhookEmitter, WebhookReceiver, WebhookVerifier


@dataclass
class Demo:
    fake: FakeHighLevel
    ghl: ghl_async.Client
    receiver: WebhookReceiver

    @property
    def webhooks(self) -> WebhookEmitter:
        assert self.fake.webhooks is not None, "the fake was started without webhook_url"
        return self.fake.webhooks

    async def settle(self) -> None:
        """Wait until every webhook sent so far, and every one its handlers caused, is handled."""
        while True:
            sent = len(self.webhooks.deliveries)
            await self.webhooks.drain()
            await self.receiver.join()
            if len(self.webhooks.deliveries) == sent:
                return


@asynccontextmanager
async def demo(dispatcher: Dispatcher, *, max_concurrency: int = 8) -> AsyncIterator[Demo]:
    """Start a receiver on 127.0.0.1, a FakeHighLevel delivering to it, and a client."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)-7s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    receiver = WebhookReceiver(dispatcher, max_concurrency=max_concurrency)
    app = web.Application()
    receiver.attach(app, "/webhooks")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with FakeHighLevel(webhook_url=f"http://127.0.0.1:{port}/webhooks") as fake:
            # The fake signs with its own Ed25519 key, not HighLevel's: trust that one here.
            receiver.verifier = WebhookVerifier(
                ed25519_public_key=fake.webhook_public_key, app_id=fake.app_id
            )
            async with ghl_async.Client(
                auth=ghl_async.StaticToken(fake.private_token),
                location_id=fake.location_id,
                base_url=fake.base_url,
            ) as ghl:
                yield Demo(fake, ghl, receiver)
    finally:
        await runner.cleanup()  # also closes the receiver, letting running handlers finish

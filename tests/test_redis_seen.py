"""RedisSeenStore against a real Redis, and two webhook receivers sharing it."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import msgspec
import pytest
import redis.asyncio
from aiohttp import web
from redis_plugin import free_port
from webhook_helpers import ed25519_headers, event_body, make_verifier, serve

from ghl_async.errors import ConfigError
from ghl_async.redis import RedisSeenStore
from ghl_async.webhooks import (
    Dispatcher,
    Event,
    SeenStore,
    WebhookEmitter,
    WebhookReceiver,
    WebhookVerifier,
)


@pytest.fixture
def seen(redis_client: redis.asyncio.Redis, redis_prefix: str) -> RedisSeenStore:
    return RedisSeenStore(redis_client, prefix=redis_prefix)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        yield session


# --- the store ----------------------------------------------------------------------------


async def test_add_is_true_once_then_false_until_discarded(
    seen: RedisSeenStore, redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    store: SeenStore = seen  # the protocol the verifier takes
    assert await store.add("w-1", 60) is True
    assert await store.add("w-1", 60) is False
    assert await store.add("w-2", 60) is True
    assert 0 < await redis_client.pttl(f"{redis_prefix}seen:w-1") <= 60_000
    await store.discard("w-1")
    await store.discard("w-1")
    await store.discard("never-added")
    assert await store.add("w-1", 60) is True


async def test_ids_expire_after_their_ttl(
    seen: RedisSeenStore, redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    assert await seen.add("w-short", 0.0001)  # rounded up to Redis's 1 ms, never to "no expiry"
    assert await seen.add("w-ttl", 0.05)
    assert 0 < await redis_client.pttl(f"{redis_prefix}seen:w-ttl") <= 50
    for _ in range(500):
        if await seen.add("w-ttl", 0.05):
            break
        await asyncio.sleep(0.01)
    else:
        pytest.fail("the id never expired")


async def test_concurrent_adds_through_separate_clients_admit_one(
    redis_url: str, redis_prefix: str
) -> None:
    async with (
        RedisSeenStore.from_url(redis_url, prefix=redis_prefix) as one,
        RedisSeenStore.from_url(redis_url, prefix=redis_prefix) as two,
    ):
        for n in range(20):
            results = await asyncio.gather(
                *((one, two)[i % 2].add(f"race-{n}", 60) for i in range(10))
            )
            assert results.count(True) == 1


async def test_a_burst_beyond_the_pool_waits_for_connections(
    redis_url: str, redis_prefix: str
) -> None:
    # redis-py's default pool raises MaxConnectionsError past 100; from_url's pool makes callers
    # queue instead, so a burst of deliveries is not answered 429 for want of a socket.
    async with RedisSeenStore.from_url(redis_url, prefix=redis_prefix, max_connections=4) as s:
        results = await asyncio.gather(*(s.add(f"burst-{i % 250}", 60) for i in range(500)))
    assert results.count(True) == 250


@pytest.mark.parametrize("ttl", [0, -1, float("nan")])
async def test_a_bad_ttl_raises_config_error(seen: RedisSeenStore, ttl: float) -> None:
    with pytest.raises(ConfigError, match="ttl"):
        await seen.add("w", ttl)


def test_bad_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="non-empty"):
        RedisSeenStore.from_url("redis://127.0.0.1:1/0", prefix="")
    with pytest.raises(ConfigError):
        RedisSeenStore.from_url("memcached://127.0.0.1")
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ConfigError, match="max_connections"):
            RedisSeenStore.from_url("redis://127.0.0.1:1/0", max_connections=bad)  # type: ignore[arg-type]
    assert repr(RedisSeenStore.from_url("redis://:pw@127.0.0.1:1/0")) == (
        "RedisSeenStore(prefix='ghl:')"
    )


# --- receivers ----------------------------------------------------------------------------


def recorder(
    handled: list[str], gate: asyncio.Event | None = None
) -> Callable[[Event], Awaitable[None]]:
    async def handle(event: Event) -> None:
        if gate is not None:
            await gate.wait()
        handled.append(event.webhook_id or "")

    return handle


async def test_two_receivers_sharing_redis_handle_each_redelivery_once(
    http: aiohttp.ClientSession, redis_url: str, redis_prefix: str
) -> None:
    handled: list[str] = []
    receivers = []
    urls = []
    async with (
        RedisSeenStore.from_url(redis_url, prefix=redis_prefix) as seen_a,
        RedisSeenStore.from_url(redis_url, prefix=redis_prefix) as seen_b,
    ):
        apps = []
        for seen in (seen_a, seen_b):
            dispatcher = Dispatcher()
            dispatcher.on_any(recorder(handled))
            receiver = WebhookReceiver(dispatcher, verifier=make_verifier(seen_store=seen))
            app = web.Application()
            receiver.attach(app)
            receivers.append(receiver)
            apps.append(app)
        async with serve(apps[0]) as a, serve(apps[1]) as b:
            urls = [str(a.make_url("/webhooks")), str(b.make_url("/webhooks"))]
            bodies = [event_body() for _ in range(30)]

            async def deliver(url: str, body: bytes) -> int:
                async with http.post(url, data=body, headers=ed25519_headers(body)) as response:
                    await response.read()
                    return response.status

            # Each webhook arrives at both receivers at once, then once more at the first.
            first = await asyncio.gather(*(deliver(url, body) for body in bodies for url in urls))
            again = await asyncio.gather(*(deliver(urls[0], body) for body in bodies))
            for receiver in receivers:
                await receiver.join()
    assert set(first) == set(again) == {200}
    ids = [str(msgspec.json.decode(body)["webhookId"]) for body in bodies]
    assert sorted(handled) == sorted(ids)  # every webhook handled, each exactly once
    assert sum(r.stats.accepted for r in receivers) == 30
    assert sum(r.stats.duplicates for r in receivers) == 60


async def test_a_delivery_answered_429_is_accepted_by_the_other_receiver(
    http: aiohttp.ClientSession, redis_url: str, redis_prefix: str
) -> None:
    """HighLevel redelivers after a 429; a load balancer sends the retry to the other receiver."""
    handled: list[str] = []
    gate = asyncio.Event()  # receiver A's only handler is stuck until the end
    backends: list[str] = []
    turn = itertools.cycle(range(2))

    async def balance(request: web.Request) -> web.Response:
        body = await request.read()
        url = backends[next(turn)]
        async with http.post(url, data=body, headers=dict(request.headers)) as response:
            return web.Response(
                status=response.status,
                body=await response.read(),
                headers={k: v for k, v in response.headers.items() if k == "Retry-After"},
            )

    balancer = web.Application()
    balancer.router.add_post("/webhooks", balance)
    async with (
        RedisSeenStore.from_url(redis_url, prefix=redis_prefix) as seen_a,
        RedisSeenStore.from_url(redis_url, prefix=redis_prefix) as seen_b,
        serve(balancer) as front,
    ):
        emitter = WebhookEmitter(
            str(front.make_url("/webhooks")),
            location_id="loc-1",
            app_id="app-1",
            retry_delays=(0.01,) * 5,
        )
        dispatcher_a, dispatcher_b = Dispatcher(), Dispatcher()
        dispatcher_a.on_any(recorder(handled, gate))
        dispatcher_b.on_any(recorder(handled))
        pem = emitter.public_key_pem
        receiver_a = WebhookReceiver(
            dispatcher_a,
            verifier=WebhookVerifier(ed25519_public_key=pem, seen_store=seen_a),
            max_concurrency=1,
            max_pending=1,
        )
        receiver_b = WebhookReceiver(
            dispatcher_b, verifier=WebhookVerifier(ed25519_public_key=pem, seen_store=seen_b)
        )
        app_a, app_b = web.Application(), web.Application()
        receiver_a.attach(app_a)
        receiver_b.attach(app_b)
        async with serve(app_a) as a, serve(app_b) as b:
            backends.extend([str(a.make_url("/webhooks")), str(b.make_url("/webhooks"))])
            for n in range(8):
                emitter.emit("ContactCreate", {"id": f"contact-{n}"})
            first_id = emitter.deliveries[0].webhook_id
            emitter.emit("ContactUpdate", {"id": "contact-0", "webhookId": first_id})
            await emitter.drain()
            gate.set()
            await receiver_a.join()
            await receiver_b.join()
        await emitter.aclose()
    assert all(d.ok for d in emitter.deliveries)
    unique = {d.webhook_id for d in emitter.deliveries}
    assert Counter(handled) == dict.fromkeys(unique, 1)  # each once, none lost
    assert receiver_a.stats.overloaded >= 1  # A answered 429 at least once...
    assert any(d.attempts > 1 for d in emitter.deliveries)  # ...and that delivery came again
    assert receiver_a.stats.duplicates + receiver_b.stats.duplicates == 1


async def test_an_unreachable_redis_makes_the_receiver_answer_429(
    http: aiohttp.ClientSession,
) -> None:
    handled: list[str] = []
    dispatcher = Dispatcher()
    dispatcher.on_any(recorder(handled))
    async with RedisSeenStore.from_url(f"redis://127.0.0.1:{free_port()}/0") as down:
        receiver = WebhookReceiver(dispatcher, verifier=make_verifier(seen_store=down))
        app = web.Application()
        receiver.attach(app)
        async with serve(app) as server:
            body = event_body()
            url = str(server.make_url("/webhooks"))
            async with http.post(url, data=body, headers=ed25519_headers(body)) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
    assert status == 429  # HighLevel will deliver it again: nothing lost
    assert retry_after is not None
    assert handled == []
    assert receiver.stats.overloaded == 1

"""Static typing contract of the public API, checked by ``mypy --strict`` (``make typecheck``).

Never run: each ``assert_type`` fails the type check if the facade's types drift (e.g. if
``ghl.contacts.get`` stopped returning ``Contact``). Not collected by pytest (no ``test_``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping
from typing import TYPE_CHECKING

import ghl_async
from ghl_async import routes
from ghl_async.models import Contact, ContactsPage, Note, SearchFilter, Task
from ghl_async.models_oauth import InstalledLocation

if TYPE_CHECKING:
    from typing_extensions import assert_type


async def check_public_api() -> None:
    auth = ghl_async.StaticToken("pit-token", location_id="loc")
    async with ghl_async.Client(auth=auth, location_id="loc", timeout=5.0) as ghl:
        assert_type(ghl, ghl_async.Client)
        contact = await ghl.contacts.get("abc")
        assert_type(contact, ghl_async.Contact)
        first_name: str | None = contact.first_name
        assert_type(first_name, str | None)

        assert_type(await ghl.contacts.create(first_name="A", email="a@b.c"), ghl_async.Contact)
        assert_type(await ghl.contacts.update("abc", tags=["x"]), ghl_async.Contact)
        assert_type(await ghl.contacts.delete("abc"), ghl_async.Ack)
        upserted = await ghl.contacts.upsert(email="a@b.c")
        assert_type(upserted, ghl_async.UpsertResult)
        assert_type(upserted.new, bool)
        assert_type(await ghl.contacts.find_duplicate(phone="+15550100"), ghl_async.Contact | None)

        assert_type(ghl.contacts.iter_by_business("biz", limit=50), AsyncGenerator[Contact, None])
        assert_type(await ghl.contacts.list_by_business("biz", page=2), ContactsPage)
        assert_type(ghl.contacts.iter(query="x"), AsyncGenerator[ghl_async.Contact, None])
        vip = SearchFilter(field="tags", operator="eq", value="vip")
        search = ghl.contacts.iter_search(filters=[vip])
        assert_type(search, AsyncGenerator[ghl_async.Contact, None])
        async for item in ghl.contacts.iter_by_business("biz"):
            assert_type(item, ghl_async.Contact)

        assert_type(await ghl.contacts.add_tags("abc", ["vip"]), list[str])
        assert_type(await ghl.contacts.tasks.list("abc"), list[Task])
        assert_type(await ghl.contacts.tasks.complete("abc", "t1"), Task)
        assert_type(await ghl.contacts.notes.get("abc", "n1"), Note)
        assert_type(await ghl.contacts.get_bundle("abc"), ghl_async.ContactBundle)

        assert_type(await ghl.call(routes.GET_CONTACT, path={"contact_id": "abc"}), Contact)

        # API v3 beside v2 on the same client, every namespace statically typed.
        assert_type(await ghl.v3.contacts.get("abc"), Contact)
        assert_type(await ghl.v3.contacts.update("abc", last_name="K"), Contact)
        assert_type(await ghl.v3.contacts.get_bundle("abc"), ghl_async.ContactBundle)
        assert_type(ghl.v3.contacts.iter_by_business("biz"), AsyncGenerator[Contact, None])
        assert_type(await ghl.v3.contacts.tasks.list("abc"), list[Task])
        installed = ghl.v3.oauth.iter_installed_locations(company_id="c", app_id="a")
        assert_type(installed, AsyncGenerator[InstalledLocation, None])
        legacy = ghl.oauth.iter_installed_locations(company_id="c", app_id="a", limit=50)
        assert_type(legacy, AsyncGenerator[InstalledLocation, None])
        assert_type(await ghl.call(routes.V3_GET_CONTACT, path={"contact_id": "a"}), Contact)
        assert_type(ghl.rate_limits, Mapping[str, ghl_async.RateLimitInfo])
        assert_type(ghl.with_options(timeout=1.0, max_retries=0), ghl_async.Client)

    try:
        await ghl.contacts.get("abc")
    except ghl_async.PermissionDeniedError as err:
        assert_type(err.scope, str | None)
        assert_type(err.status, int)
    except ghl_async.RateLimitError as err:
        assert_type(err.retry_after, float | None)
        assert_type(err.rate_limit, ghl_async.RateLimitInfo | None)


async def check_webhooks(body: bytes, headers: dict[str, str]) -> None:
    from ghl_async import webhooks

    verifier = webhooks.WebhookVerifier(tolerance=300, app_id="app")
    event = await verifier.verify(body, headers)
    assert_type(event, webhooks.Event)
    dispatcher = webhooks.Dispatcher()

    @dispatcher.on(webhooks.ContactCreate)
    async def on_create(event: webhooks.ContactCreate) -> int:
        return 1

    assert_type(await on_create(webhooks.ContactCreate()), int)
    assert_type(event.repairs, tuple[webhooks.Repair, ...])
    assert_type(event.repaired, bool)
    if isinstance(event, webhooks.MalformedEvent):
        assert_type(event.raw, dict[str, object])
        assert_type(event.error, str)
    result = await dispatcher.dispatch(event)
    assert_type(result.ok, bool)
    assert_type(result.failures[0].error, BaseException)
    assert_type(webhooks.ReceiverStats().lenient, int)
    assert_type(webhooks.create_app(dispatcher)[webhooks.RECEIVER_KEY], webhooks.WebhookReceiver)


async def check_redis_stores() -> None:
    from ghl_async.redis import RedisLease, RedisSeenStore, RedisTokenStore
    from ghl_async.tokenstore import TokenStore
    from ghl_async.webhooks import SeenStore, WebhookVerifier

    redis_tokens = RedisTokenStore.from_url("redis://127.0.0.1:6379/0", prefix="app:")
    tokens: TokenStore = redis_tokens  # the protocol, structurally
    seen: SeenStore = RedisSeenStore.from_url("redis://127.0.0.1:6379/0")
    WebhookVerifier(seen_store=seen)
    assert_type(await tokens.load("location:x"), ghl_async.Token | None)
    async with RedisLease(redis_tokens.client, "app:lock:job", ttl=5.0) as lease:
        assert_type(lease.lost, bool)
    assert_type(await seen.add("webhook-id", 60.0), bool)


async def check_redis_scale_out() -> None:
    from ghl_async.bulk import SyncReport
    from ghl_async.mapping import ContactMapping
    from ghl_async.ratelimit import RateBucket, RateBudget
    from ghl_async.redis import RedisImport, RedisRateBudget
    from ghl_async.redis.jobs import JobState, Submitted

    budget = RedisRateBudget.from_url("redis://127.0.0.1:6379/0", ghl_async.RateLimit(100, 10))
    shared: RateBudget = budget  # the protocol, structurally
    bucket: RateBucket = shared.bucket("location-id")
    assert_type(await budget.bucket("location-id").acquire(1.0), float | None)
    bucket.release(None)
    async with ghl_async.Client(auth=ghl_async.StaticToken("t"), rate_limit=budget) as ghl:
        job = RedisImport.from_url("redis://127.0.0.1:6379/0", "leads")
        mapping = ContactMapping(fields={"email": "Email"})
        assert_type(await job.submit([{"Email": "a@b.c"}], mapping, location_id="x"), Submitted)
        assert_type(await job.work(ghl, concurrency=4), SyncReport)
        assert_type(await job.state(), JobState)
        assert_type(await job.wait(), SyncReport)

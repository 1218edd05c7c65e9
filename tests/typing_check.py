"""Static typing contract of the public API, checked by ``mypy --strict`` (``make typecheck``).

Never run: each ``assert_type`` fails the type check if the facade's types drift (e.g. if
``ghl.contacts.get`` stopped returning ``Contact``). Not collected by pytest (no ``test_``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Mapping, Sequence
from typing import TYPE_CHECKING

import aiohttp

import ghl_async
from ghl_async import routes
from ghl_async.hooks import Hooks, RequestEvent, RetryEvent
from ghl_async.models import Contact, ContactsPage, Note, SearchFilter, Task
from ghl_async.models_oauth import InstalledLocation, InstalledLocationsPageV3
from ghl_async.pagination import PageState
from ghl_async.responses import PageResponse, RawResponse

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

        # Per-call options, typed on every method; extra_body only where there is a body.
        assert_type(
            await ghl.contacts.get(
                "abc", extra_headers={"X-Id": "1"}, extra_query={"a": [1, "b", True]},
                timeout=aiohttp.ClientTimeout(total=3),
            ),
            Contact,
        )  # fmt: skip
        assert_type(await ghl.contacts.update("abc", extra_body={"x": {"y": [1, None]}}), Contact)
        await ghl.contacts.get("abc", extra_body={})  # type: ignore[call-arg]  # a GET has no body
        await ghl.contacts.get("abc", extra_headers={"X": 1})  # type: ignore[dict-item]  # str only

        # Raw responses: the same methods, the answer around the result.
        raw = await ghl.contacts.with_raw_response.get("abc")
        assert_type(raw, RawResponse[Contact])
        assert_type(raw.data, Contact)
        assert_type(raw.parse(), Contact)
        assert_type(raw.status, int)
        assert_type(raw.headers, Mapping[str, str])
        assert_type(raw.rate_limit, ghl_async.RateLimitInfo | None)
        assert_type(raw.trace_id, str | None)
        assert_type(raw.elapsed, float)
        assert_type(raw.attempts, int)
        assert_type(raw.content, bytes)
        assert_type(raw.reconciled, bool)
        duplicate = await ghl.contacts.with_raw_response.find_duplicate(email="a@b.c")
        assert_type(duplicate, RawResponse[Contact | None])
        assert_type(
            await ghl.v3.contacts.with_raw_response.list_by_business("biz", skip=5),
            RawResponse[ContactsPage],
        )
        assert_type(await ghl.with_raw_response.contacts.tasks.list("abc"), RawResponse[list[Task]])
        assert_type(
            await ghl.call_raw(routes.GET_CONTACT, path={"contact_id": "abc"}), RawResponse[Contact]
        )

        # Pages, for every paged route.
        pages = ghl.contacts.iter_by_business_pages("biz", skip=10)
        assert_type(pages, AsyncGenerator[PageResponse[ContactsPage], None])
        async for page in pages:
            assert_type(page.items, Sequence[Contact])
            assert_type(page.total_count, int | None)
            assert_type(page.data, ContactsPage)
            assert_type(page.state, PageState)
            assert_type(page.next_state, PageState | None)
            assert_type(page.number, int)
        located = ghl.v3.oauth.iter_installed_locations_pages(company_id="c", app_id="a")
        async for found in located:
            assert_type(found, PageResponse[InstalledLocationsPageV3])
            assert_type(found.items, Sequence[InstalledLocation])
        assert_type(
            ghl.v3.contacts.iter_search_pages(page_limit=500),
            AsyncGenerator[PageResponse[ContactsPage], None],
        )

    try:
        await ghl.contacts.get("abc")
    except ghl_async.PermissionDeniedError as err:
        assert_type(err.scope, str | None)
        assert_type(err.status, int)
    except ghl_async.RateLimitError as err:
        assert_type(err.retry_after, float | None)
        assert_type(err.rate_limit, ghl_async.RateLimitInfo | None)


async def on_retry(event: RetryEvent) -> None:
    assert_type(event.delay, float)


def check_hooks() -> None:
    def on_request(event: RequestEvent) -> None:
        assert_type(event.headers, Mapping[str, str])
        assert_type(event.body, bytes | None)

    hooks = Hooks(on_request=on_request, on_retry=on_retry)
    client = ghl_async.Client(auth=ghl_async.StaticToken("pit"), hooks=hooks)
    assert_type(client.hooks, Hooks | None)
    assert_type(client.with_options(hooks=None), ghl_async.Client)
    Hooks(on_retry=on_request)  # type: ignore[arg-type]  # a hook takes its own event


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

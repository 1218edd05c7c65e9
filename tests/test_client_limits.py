"""The limiter can never be poisoned; the daily quota stops calls at once; the rate budget is
pluggable. Over real sockets: the fake, or the mangling proxy in front of it for the answers
the fake cannot give (an HTTP-date Retry-After, malformed or huge X-RateLimit-* values).
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timezone

import pytest
from client_helpers import make_client
from hostile_helpers import Proxy, client_via, status, with_headers

from ghl_async import Client, RateLimit, StaticToken
from ghl_async.errors import DailyQuotaExceeded, RateLimitError
from ghl_async.ratelimit import RateLimiter
from ghl_async.testing import FakeHighLevel

# A hang guard, not a speed check: a poisoned bucket would wait an hour or a year.
NOT_PARKED = 10.0


@pytest.fixture
async def proxy(fake: FakeHighLevel) -> AsyncIterator[Proxy]:
    async with Proxy(fake).running() as running:
        yield running


async def _gets(ghl: Client, cid: str, n: int) -> None:
    got = await asyncio.wait_for(
        asyncio.gather(*(ghl.contacts.get(cid) for _ in range(n))), NOT_PARKED
    )
    assert {c.id for c in got} == {cid}


# --- no server header parks a bucket -----------------------------------------------------------


@pytest.mark.parametrize(
    "retry_after",
    [
        "3600",
        email.utils.formatdate(time.time() + 366 * 86_400, usegmt=True),  # next year
    ],
)
async def test_a_huge_retry_after_fails_that_call_and_leaves_the_bucket_usable(
    fake: FakeHighLevel, proxy: Proxy, retry_after: str
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    proxy.on("GET", rf"/contacts/{cid}", status(429, retry_after=retry_after))
    async with client_via(proxy) as ghl:
        with pytest.raises(RateLimitError) as caught:
            await ghl.contacts.get(cid)
        assert caught.value.retry_after is not None
        assert caught.value.retry_after > 3000
        assert proxy.forwarded == [f"GET /contacts/{cid}"]  # raised at once: no retry
        await _gets(ghl, cid, 20)  # the same location, served at once
    assert fake.count(operation="contacts.get") == 21


async def test_a_huge_interval_header_parks_nothing(fake: FakeHighLevel, proxy: Proxy) -> None:
    # Without Retry-After, a 429 waits one X-RateLimit-Interval-Milliseconds: here 31 years.
    (cid,) = fake.seed_contacts(1, business_id=None)
    huge = {"X-RateLimit-Interval-Milliseconds": "999999999999", "X-RateLimit-Max": "1"}
    proxy.on("GET", rf"/contacts/{cid}", status(429, headers=huge))
    proxy.on("GET", rf"/contacts/{cid}", with_headers(huge))
    async with client_via(proxy) as ghl:
        with pytest.raises(RateLimitError) as caught:
            await ghl.contacts.get(cid)
        assert caught.value.retry_after == 999_999_999.999
        await _gets(ghl, cid, 10)  # a server "rule" of 1 per 31 years is not followed either
    assert fake.count(operation="contacts.get") == 11


async def test_a_429_within_the_cap_pauses_the_location_for_everyone(
    fake: FakeHighLevel,
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    async with make_client(fake, max_retries=0) as ghl:
        fake.fail("contacts.get", 429, retry_after=30)
        with pytest.raises(RateLimitError):
            await ghl.contacts.get(cid)
        # A sibling that will not wait 30 s is refused at once, without sending anything.
        impatient = ghl.with_options(retry_after_cap=5)
        with pytest.raises(RateLimitError) as caught:
            await impatient.contacts.get(cid)
        assert caught.value.retry_after is not None
        assert 25 < caught.value.retry_after <= 30
        assert "retry_after_cap" in str(caught.value)
    assert fake.count(operation="contacts.get") == 1


@pytest.mark.parametrize(
    "value",
    ["1e400", "Infinity", "NaN", "-5", "١٠٠", "9" * 400, "", "12abc", "0x10", " "],
)
async def test_malformed_rate_headers_after_a_write_return_the_write(
    fake: FakeHighLevel, proxy: Proxy, value: str
) -> None:
    names = (
        "X-RateLimit-Remaining", "X-RateLimit-Max", "X-RateLimit-Interval-Milliseconds",
        "X-RateLimit-Limit-Daily", "X-RateLimit-Daily-Remaining",
    )  # fmt: skip
    proxy.on("POST", "/contacts/", with_headers(dict.fromkeys(names, value)))
    async with client_via(proxy) as ghl:
        contact = await ghl.contacts.create(email="odd@example.com")
        assert contact.email == "odd@example.com"
        assert ghl.rate_limits == {}  # nothing usable, nothing raised
        await ghl.contacts.get(contact.id)  # the bucket still works
        assert ghl.rate_limits[fake.location_id].remaining == 98
    assert len(fake.find_contacts(email="odd@example.com")) == 1


# --- min(configured rule, X-RateLimit-Max) -----------------------------------------------------


def _most_in_any_window(stamps: list[float], window: float) -> int:
    stamps = sorted(stamps)
    most, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


@pytest.mark.fake_highlevel(rate_limit="5/0.3", daily_limit=None)
async def test_a_server_rule_below_the_configured_one_is_followed(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    limiter = RateLimiter(RateLimit(100, 10.0))  # HighLevel's rule; this server is stricter
    async with Client(
        auth=StaticToken(fake.private_token), location_id=fake.location_id,
        base_url=fake.base_url, rate_limit=limiter, backoff_base=0.001, backoff_max=0.005,
    ) as ghl:  # fmt: skip
        await ghl.contacts.get(cid)
        await _gets(ghl, cid, 24)
    # Neither rule is the stricter everywhere (5 per 0.3 s vs 100 per 10 s): both are kept.
    assert limiter.bucket(fake.location_id).windows == (
        (100, pytest.approx(10.02), False),
        (5, pytest.approx(0.3006), True),
    )
    served = [r for r in fake.requests if r.operation == "contacts.get"]
    assert fake.count(status=429) == 0
    assert _most_in_any_window([r.timestamp for r in served], 0.3) <= 5


@pytest.mark.fake_highlevel(rate_limit="100/10", daily_limit=None)
async def test_a_configured_rule_above_the_server_is_not_cut_below_it(fake: FakeHighLevel) -> None:
    # Before: X-RateLimit-Remaining (99 after one request) was read against the configured
    # 1,000, as if 901 other requests had been made: the bucket filled and waited 10 s.
    (cid,) = fake.seed_contacts(1, business_id=None)
    limiter = RateLimiter(RateLimit(1000, 10.0))
    async with Client(
        auth=StaticToken(fake.private_token), location_id=fake.location_id,
        base_url=fake.base_url, rate_limit=limiter,
    ) as ghl:  # fmt: skip
        await ghl.contacts.get(cid)
        await _gets(ghl, cid, 50)
    assert limiter.bucket(fake.location_id).windows == ((100, pytest.approx(10.02), True),)
    assert fake.count(status=429) == 0


# --- the daily quota ---------------------------------------------------------------------------


@pytest.mark.fake_highlevel(daily_limit=3)
async def test_a_spent_daily_quota_fails_the_next_call_before_it_is_sent(
    fake: FakeHighLevel, ghl: Client
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    for _ in range(3):
        await ghl.contacts.get(cid)  # the third answer says 0 left
    assert ghl.rate_limits[fake.location_id].daily_remaining == 0
    with pytest.raises(DailyQuotaExceeded) as caught:
        await ghl.contacts.get(cid)
    assert isinstance(caught.value, RateLimitError)
    assert caught.value.reset_at is None  # HighLevel does not say when
    assert "not sent" in str(caught.value)
    assert fake.count(operation="contacts.get") == 3


@pytest.mark.fake_highlevel(retry_after_header=True)
async def test_a_429_for_the_daily_quota_is_raised_at_once(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    fake.exhaust_rate_limit(daily=True)
    async with make_client(fake, max_retries=5) as ghl:
        with pytest.raises(DailyQuotaExceeded) as caught:
            await ghl.contacts.get(cid)
        err = caught.value
        assert err.status == 429
        # The fake resets at midnight UTC and says so in Retry-After.
        assert err.reset_at is not None
        midnight = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        assert abs((err.reset_at - midnight).total_seconds() - 86_400) < 5
        assert err.retry_after is not None
        assert 0 < err.retry_after <= 86_400
        with pytest.raises(DailyQuotaExceeded):
            await ghl.contacts.create(email="later@example.com")
    assert fake.count(operation="contacts.get") == 1  # no retries, no waiting
    assert fake.count(operation="contacts.create") == 0  # not sent at all


async def test_once_the_quota_resets_calls_go_out_again(fake: FakeHighLevel, proxy: Proxy) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    spent = {"X-RateLimit-Daily-Remaining": "0"}
    proxy.on("GET", rf"/contacts/{cid}", status(429, retry_after="0.3", headers=spent))
    async with client_via(proxy) as ghl:
        with pytest.raises(DailyQuotaExceeded) as caught:
            await ghl.contacts.get(cid)
        assert caught.value.reset_at is not None
        with pytest.raises(DailyQuotaExceeded, match="not sent"):
            await ghl.contacts.get(cid)
        assert len(proxy.forwarded) == 1
        await asyncio.sleep(0.35)  # the reset time the 429 gave
        assert (await ghl.contacts.get(cid)).id == cid
        assert (await ghl.contacts.get(cid)).id == cid
    assert fake.count(operation="contacts.get") == 3


async def test_without_bookkeeping_the_quota_is_seen_on_each_429(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    fake.exhaust_rate_limit(daily=True)
    async with make_client(fake, rate_limit=None, max_retries=5) as ghl:
        for _ in range(2):
            with pytest.raises(DailyQuotaExceeded):
                await ghl.contacts.get(cid)
        assert ghl.rate_limits == {}
    assert fake.count(operation="contacts.get") == 2


@pytest.mark.fake_highlevel(rate_limit="5/0.3", daily_limit=1000)
async def test_unlimited_waits_for_nothing_and_keeps_the_books(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    async with Client(
        auth=StaticToken(fake.private_token), location_id=fake.location_id,
        base_url=fake.base_url, rate_limit=RateLimit.unlimited(), max_retries=8,
        backoff_base=0.001, backoff_max=0.005,
    ) as ghl:  # fmt: skip
        await _gets(ghl, cid, 12)
        info = ghl.rate_limits[fake.location_id]
    assert fake.count(status=429) > 0  # nobody held the requests back: the server did
    assert info.daily_remaining is not None
    assert info.daily_remaining < 1000
    assert repr(RateLimit.unlimited()) == "RateLimit.unlimited()"


# --- a rate budget of your own -----------------------------------------------------------------


class Recording:
    """A RateBudget that admits everything and remembers what the pipeline told it."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, object]] = []

    def bucket(self, key: str) -> Recording.Bucket:
        return type(self).Bucket(self, key)

    class Bucket:
        def __init__(self, owner: Recording, key: str) -> None:
            self.owner, self.key = owner, key

        async def acquire(self, max_wait: float) -> float | None:
            self.owner.events.append(("acquire", self.key, max_wait))
            return None

        def release(self, headers: Mapping[str, str] | None) -> None:
            remaining = None if headers is None else headers.get("X-RateLimit-Remaining")
            self.owner.events.append(("release", self.key, remaining))

        def pause(self, seconds: float) -> None:
            self.owner.events.append(("pause", self.key, seconds))


async def test_a_budget_of_your_own_plugs_in(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    budget = Recording()
    loc = fake.location_id
    async with Client(
        auth=StaticToken(fake.private_token, location_id=loc), location_id=loc,
        base_url=fake.base_url, rate_limit=budget, retry_after_cap=7,
        backoff_base=0.001, backoff_max=0.005,
    ) as ghl:  # fmt: skip
        # A POST: aiohttp itself resends a GET once when a reused connection drops.
        fake.fail("contacts.search", 429, retry_after=0.01)
        fake.drop("contacts.search", when="before")
        assert (await ghl.contacts.search(page_limit=1)).contacts[0].id == cid
    assert budget.events == [
        ("acquire", loc, 7), ("release", loc, None),  # the dropped connection
        ("acquire", loc, 7), ("release", loc, "0"), ("pause", loc, 0.01),  # the 429 (window spent)
        ("acquire", loc, 7), ("release", loc, "99"),
    ]  # fmt: skip


async def test_every_request_the_server_sees_went_through_the_budget(
    fake: FakeHighLevel, caplog: pytest.LogCaptureFixture
) -> None:
    # aiohttp would resend a GET or PUT by itself after a dropped connection, past the budget,
    # the retry count and the log; the client's own session leaves that to the pipeline.
    (cid,) = fake.seed_contacts(1, business_id=None)
    budget = Recording()
    async with Client(
        auth=StaticToken(fake.private_token), location_id=fake.location_id,
        base_url=fake.base_url, rate_limit=budget, max_retries=3,
        backoff_base=0.001, backoff_max=0.005,
    ) as ghl:  # fmt: skip
        await ghl.contacts.get(cid)  # a pooled connection for the next call to reuse
        fake.drop("contacts.get", when="before")
        fake.drop("contacts.update", when="before", reset=True)
        fake.drop("contacts.delete", when="after")
        with caplog.at_level("INFO", logger="ghl_async"):
            await ghl.contacts.get(cid)
            await ghl.contacts.update(cid, city="Lyon")
            # Deleted by the first attempt: the retry's "not found" means done.
            assert (await ghl.contacts.delete(cid)).ok
    acquired = sum(1 for event in budget.events if event[0] == "acquire")
    assert acquired == len(fake.requests) == 1 + 2 + 2 + 2
    retries = [r.getMessage() for r in caplog.records if "retry 1 of 3" in r.getMessage()]
    assert [m.split(":")[0] for m in retries] == [
        "contacts.get", "contacts.update", "contacts.delete"
    ]  # fmt: skip


class Refusing(Recording):
    class Bucket(Recording.Bucket):
        async def acquire(self, max_wait: float) -> float | None:
            return max_wait + 1


async def test_a_budget_can_refuse_a_wait_longer_than_the_cap(fake: FakeHighLevel) -> None:
    async with Client(
        auth=StaticToken(fake.private_token), location_id=fake.location_id,
        base_url=fake.base_url, rate_limit=Refusing(),
    ) as ghl:  # fmt: skip
        with pytest.raises(RateLimitError) as caught:
            await ghl.contacts.get("anyContactId00000001")
    assert caught.value.retry_after == 61
    assert fake.requests == []

"""The pipeline with OAuth tokens: refresh once under load, never resend a spent refresh token."""

from __future__ import annotations

import asyncio

import pytest
from client_helpers import make_client

from ghl_async import MemoryTokenStore, OAuthApp
from ghl_async.errors import AuthenticationError, ReauthorizationRequired
from ghl_async.testing import FakeHighLevel


def _app(fake: FakeHighLevel, **options: object) -> OAuthApp:
    return OAuthApp(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        store=MemoryTokenStore(),
        **options,  # type: ignore[arg-type]  # test-only pass-through of keyword options
    )


def _token_calls(fake: FakeHighLevel) -> list[int | None]:
    return [r.status for r in fake.requests if r.path == "/oauth/token"]


@pytest.mark.fake_highlevel(rate_limit=None)
async def test_200_concurrent_calls_on_an_expired_token_refresh_once(fake: FakeHighLevel) -> None:
    ids = fake.seed_contacts(20, business_id=None, tasks=0, notes=0, appointments=0)
    app = _app(fake)
    async with make_client(fake, auth=app, rate_limit=None) as ghl:
        await app.exchange_code(fake.issue_code())  # through the client's own transport
        assert (await ghl.contacts.get(ids[0])).id == ids[0]
        for _cycle in range(3):
            assert fake.expire_tokens() == 1
            got = await asyncio.gather(*(ghl.contacts.get(ids[i % 20]) for i in range(200)))
            assert [c.id for c in got] == [ids[i % 20] for i in range(200)]
    # One exchange, then exactly one refresh per expiry; never a refused (reused) refresh token.
    assert _token_calls(fake) == [200, 200, 200, 200]
    # Each call met at most one 401 (then the one retry with the new token).
    assert 3 <= fake.count(operation="contacts.get", status=401) <= 3 * 200
    assert fake.count(operation="contacts.get", status=200) == 1 + 3 * 200


@pytest.mark.fake_highlevel(token_lifetime=30.0)
async def test_a_token_expiring_client_side_is_refreshed_before_use(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    app = _app(fake, refresh_skew=60.0)  # a 30 s token is due for refresh at once
    async with make_client(fake, auth=app) as ghl:
        await app.exchange_code(fake.issue_code())
        got = await asyncio.gather(*(ghl.contacts.get(cid) for _ in range(30)))
        assert {c.id for c in got} == {cid}
    # Refreshed ahead of use, once for the 30 concurrent calls; no request saw a 401.
    assert _token_calls(fake) == [200, 200]
    assert fake.count(operation="contacts.get", status=401) == 0


async def test_a_revoked_grant_surfaces_as_reauthorization(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    app = _app(fake)
    async with make_client(fake, auth=app) as ghl:
        await app.exchange_code(fake.issue_code())
        fake.revoke_tokens(private=False)
        with pytest.raises(ReauthorizationRequired):
            await ghl.contacts.get(cid)
        with pytest.raises(ReauthorizationRequired):  # and the refused token is not resent
            await ghl.contacts.get(cid)
    assert _token_calls(fake) == [200, 400]


async def test_agency_tokens_per_location_and_per_location_buckets(fake: FakeHighLevel) -> None:
    second = fake.add_location()
    fake.seed_contacts(3, business_id="biz_a")
    fake.seed_contacts(4, business_id="biz_b", location_id=second)
    app = _app(fake, user_type="Company")
    async with make_client(fake, auth=app) as ghl:
        await app.exchange_code(fake.issue_code(user_type="Company"))
        first = await asyncio.gather(
            *(ghl.contacts.list_by_business("biz_a") for _ in range(10))
        )
        other = ghl.with_options(location_id=second)
        later = await asyncio.gather(
            *(other.contacts.list_by_business("biz_b") for _ in range(10))
        )
        assert {p.total_count for p in first} == {3}
        assert {p.total_count for p in later} == {4}
        # Each location has its own token (minted once) and its own rate-limit counters.
        assert fake.count(path="/oauth/locationToken") == 2
        limits = ghl.rate_limits
        assert set(limits) == {fake.location_id, second}
        assert limits[fake.location_id].remaining == 90
        assert limits[second].remaining == 90


async def test_a_fresh_token_that_dies_too_is_renewed_again_at_the_cost_of_a_retry(
    fake: FakeHighLevel,
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    app = _app(fake)
    async with make_client(fake, auth=app, max_retries=1) as ghl:
        await app.exchange_code(fake.issue_code())
        fake.revoke_early("contacts.get", times=2)  # the token dies, then the new one too
        assert (await ghl.contacts.get(cid)).id == cid
        assert _token_calls(fake) == [200, 200, 200]
        # Three deaths in a row: the first renewal is free, the second spends the one retry.
        fake.revoke_early("contacts.get", times=3)
        with pytest.raises(AuthenticationError) as caught:
            await ghl.contacts.get(cid)
        assert caught.value.status == 401
    assert _token_calls(fake) == [200, 200, 200, 200, 200]
    assert fake.count(operation="contacts.get", status=401) == 2 + 3


class _OwnAuth:
    """An Auth written against the protocol alone: no synchronous ``cached_token``."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.asked = 0

    def bind(self, transport: object) -> None:
        pass

    async def access_token(self, location_id: str | None) -> str:
        self.asked += 1
        await asyncio.sleep(0)  # a real suspension, as a store lookup would have
        return self.token

    async def invalidate(self, location_id: str | None, token: str) -> bool:
        return False

    def rate_key(self, location_id: str | None) -> str:
        return location_id or "default"


async def test_an_auth_of_your_own_is_awaited_on_every_request(fake: FakeHighLevel) -> None:
    ids = fake.seed_contacts(3, business_id=None, tasks=0, notes=0, appointments=0)
    auth = _OwnAuth(fake.private_token)
    async with make_client(fake, auth=auth) as ghl:
        got = [await ghl.contacts.get(cid) for cid in ids]
    assert [c.id for c in got] == ids
    assert auth.asked == 3


@pytest.mark.fake_highlevel(token_lifetime=30.0)
async def test_the_synchronous_token_path_never_hands_out_a_token_due_for_refresh(
    fake: FakeHighLevel,
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    app = _app(fake, refresh_skew=60.0)
    async with make_client(fake, auth=app) as ghl:
        token = await app.exchange_code(fake.issue_code())
        # A 30 s token inside the 60 s skew: not "at hand"; the awaited path refreshes it.
        assert app.cached_token(token.location_id) is None
        await ghl.contacts.get(cid)
        fresh = app.cached_token(token.location_id)
    assert fresh is None  # the refreshed token also lives 30 s: still inside the skew
    assert _token_calls(fake) == [200, 200]
    assert fake.count(operation="contacts.get", status=401) == 0


async def test_the_synchronous_token_path_skips_a_token_a_401_killed(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    app = _app(fake)
    async with make_client(fake, auth=app) as ghl:
        token = await app.exchange_code(fake.issue_code())
        location = token.location_id
        assert app.cached_token(location) == token.access_token
        assert await app.invalidate(location, token.access_token)
        assert app.cached_token(location) is None
        await ghl.contacts.get(cid)
        renewed = app.cached_token(location)
    assert renewed is not None
    assert renewed != token.access_token
    assert _token_calls(fake) == [200, 200]

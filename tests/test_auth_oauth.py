"""OAuthApp against FakeHighLevel over a real socket: exchange, refresh, 401s, agency tokens."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from urllib.parse import parse_qs, urlsplit

import aiohttp
import msgspec
import pytest

from ghl_async.auth import TOKEN_RETRY, AiohttpTokenTransport, OAuthApp, TokenTransport
from ghl_async.errors import (
    ConfigError,
    ReauthorizationRequired,
    TokenRefreshError,
    TransportError,
)
from ghl_async.testing import DEFAULT_REDIRECT_URI, FakeHighLevel
from ghl_async.tokenstore import MemoryTokenStore, Token, TokenStore

StartFake = Callable[..., Awaitable[FakeHighLevel]]


@pytest.fixture
async def start_fake() -> AsyncIterator[StartFake]:
    running: list[FakeHighLevel] = []

    async def start(**options: object) -> FakeHighLevel:
        options.setdefault("rate_limit", None)
        fake = FakeHighLevel(**options)  # type: ignore[arg-type]  # test options
        await fake.start()
        running.append(fake)
        return fake

    yield start
    for fake in running:
        await fake.aclose()


@pytest.fixture
async def fake(start_fake: StartFake) -> FakeHighLevel:
    return await start_fake()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def transport(fake: FakeHighLevel, http: aiohttp.ClientSession) -> AiohttpTokenTransport:
    return AiohttpTokenTransport(http, base_url=fake.base_url)


def oauth_app(
    fake: FakeHighLevel,
    store: TokenStore | None = None,
    transport: TokenTransport | None = None,
    **kw: object,
) -> OAuthApp:
    app = OAuthApp(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        store=store if store is not None else MemoryTokenStore(),
        **kw,  # type: ignore[arg-type]  # test options
    )
    if transport is not None:
        app.bind(transport)
    return app


async def installed(
    fake: FakeHighLevel, transport: TokenTransport, store: TokenStore | None = None, **kw: object
) -> tuple[OAuthApp, Token]:
    app = oauth_app(fake, store, transport, **kw)
    user_type = kw.get("user_type", "Location")
    token = await app.exchange_code(fake.issue_code(user_type=user_type))  # type: ignore[arg-type]  # test options
    return app, token


async def accepted(
    http: aiohttp.ClientSession, fake: FakeHighLevel, token: str, location_id: str | None = None
) -> bool:
    url = fake.url(f"/contacts/?locationId={location_id or fake.location_id}&limit=1")
    async with http.get(url, headers=fake.headers(token)) as response:
        await response.read()
        return response.status == 200


async def age(store: TokenStore, key: str, **changes: object) -> Token:
    """Rewrite a stored token (default: expired an hour ago), as another process might."""
    token = await store.load(key)
    assert token is not None
    changes.setdefault("expires_at", time.time() - 3600)
    aged = msgspec.structs.replace(token, **changes)
    await store.save(key, aged)
    return aged


def refreshes(fake: FakeHighLevel, status: int | None = None) -> int:
    return fake.count("POST", "/oauth/token", status=status)


def mints(fake: FakeHighLevel) -> int:
    return fake.count("POST", "/oauth/locationToken")


# --- consent and code exchange -------------------------------------------------------------


async def test_consent_url_redirects_with_a_code_that_exchanges(
    fake: FakeHighLevel, http: aiohttp.ClientSession, transport: AiohttpTokenTransport
) -> None:
    store = MemoryTokenStore()
    app = oauth_app(
        fake,
        store,
        transport,
        redirect_uri=DEFAULT_REDIRECT_URI,
        scopes=("contacts.readonly",),
        chooser_url=fake.chooser_url,
    )
    async with http.get(app.authorization_url(state="csrf-1"), allow_redirects=False) as reply:
        assert reply.status == 302
        landed = urlsplit(reply.headers["Location"])
    assert f"{landed.scheme}://{landed.netloc}{landed.path}" == DEFAULT_REDIRECT_URI
    query = parse_qs(landed.query)
    assert query["state"] == ["csrf-1"]

    token = await app.exchange_code(query["code"][0])

    assert token.scope == "contacts.readonly"
    assert (token.user_type, token.location_id, token.company_id) == (
        "Location",
        fake.location_id,
        fake.company_id,
    )
    assert token.refresh_token
    assert token.expires_at is not None
    assert abs(token.expires_at - (time.time() + fake.token_lifetime)) < 5
    assert await store.load(f"location:{fake.location_id}") == token
    assert app.default_location_id == fake.location_id
    assert app.rate_key(None) == fake.location_id
    assert await app.access_token(None) == token.access_token
    assert await app.access_token(fake.location_id) == token.access_token
    assert refreshes(fake) == 1  # the exchange only
    assert await accepted(http, fake, token.access_token)


async def test_exchange_with_base_url_opens_its_own_session(fake: FakeHighLevel) -> None:
    app = oauth_app(fake)
    token = await app.exchange_code(fake.issue_code(), base_url=fake.base_url)
    assert await app.store.load(f"location:{fake.location_id}") == token


async def test_exchange_with_explicit_transport(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app = oauth_app(fake)
    token = await app.exchange_code(fake.issue_code(), transport=transport)
    assert await app.access_token(None) == token.access_token


async def test_used_code_requires_reauthorisation(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app = oauth_app(fake, transport=transport)
    code = fake.issue_code()
    await app.exchange_code(code)
    with pytest.raises(ReauthorizationRequired, match="re-authorise") as info:
        await app.exchange_code(code)
    assert info.value.status == 400
    assert code not in str(info.value)


async def test_wrong_client_secret_is_a_token_refresh_error(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app = OAuthApp(client_id=fake.client_id, client_secret="wrong-secret", store=MemoryTokenStore())
    with pytest.raises(TokenRefreshError) as info:
        await app.exchange_code(fake.issue_code(), transport=transport)
    assert type(info.value) is TokenRefreshError
    assert info.value.status == 401
    assert "wrong-secret" not in str(info.value)


# --- refresh -------------------------------------------------------------------------------


async def test_refresh_happens_skew_seconds_before_expiry(
    start_fake: StartFake, http: aiohttp.ClientSession
) -> None:
    fake = await start_fake(token_lifetime=100)
    app, first = await installed(fake, AiohttpTokenTransport(http, base_url=fake.base_url))
    # Default skew 60 s < 100 s left: no refresh.
    assert await app.access_token(None) == first.access_token
    assert refreshes(fake) == 1

    app.refresh_skew = 150  # now the token is inside the window
    second = await app.access_token(None)
    assert second != first.access_token
    assert refreshes(fake) == 2
    saved = await app.store.load(f"location:{fake.location_id}")
    assert saved is not None
    assert saved.access_token == second
    assert saved.refresh_token != first.refresh_token
    assert await accepted(http, fake, second)

    app.refresh_skew = 10
    assert await app.access_token(None) == second
    assert refreshes(fake) == 2


class _WatchingStore(MemoryTokenStore):
    """Records whether the key's lock was held at each save; ``locking=False`` never locks."""

    def __init__(self, *, locking: bool = True) -> None:
        super().__init__()
        self.locking = locking
        self.held: dict[str, bool] = {}
        self.saves: list[tuple[str, bool]] = []

    @contextlib.asynccontextmanager
    async def _hold(self, key: str) -> AsyncIterator[None]:
        if not self.locking:
            yield
            return
        async with super().lock(key):
            self.held[key] = True
            try:
                yield
            finally:
                self.held[key] = False

    def lock(self, key: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._hold(key)

    async def save(self, key: str, token: Token) -> None:
        self.saves.append((token.access_token, self.held.get(key, False)))
        await super().save(key, token)


@pytest.mark.parametrize("locking", [True, False], ids=["store-locks", "store-never-locks"])
async def test_200_concurrent_calls_on_an_expired_token_refresh_once(
    fake: FakeHighLevel,
    http: aiohttp.ClientSession,
    transport: AiohttpTokenTransport,
    locking: bool,
) -> None:
    store = _WatchingStore(locking=locking)
    await installed(fake, transport, store)
    key = f"location:{fake.location_id}"
    old = await age(store, key)
    fake.delay("oauth.token", 0.1)  # keep the refresh in flight while the others pile up

    app = oauth_app(fake, store, transport)  # a restarted process: nothing cached
    tokens = await asyncio.gather(*(app.access_token(fake.location_id) for _ in range(200)))

    assert refreshes(fake) == 2  # the exchange, then exactly one refresh
    assert len(set(tokens)) == 1
    assert tokens[0] != old.access_token
    saved = await store.load(key)
    assert saved is not None
    assert saved.access_token == tokens[0]
    # Saved while the store lock was held (when the store has one), before anyone used it.
    assert store.saves[-1] == (tokens[0], locking)
    assert await accepted(http, fake, tokens[0])


async def test_a_spent_refresh_token_is_never_sent_again(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    store = MemoryTokenStore()
    app, _ = await installed(fake, transport, store)
    app.refresh_skew = 10**9  # every call refreshes
    seen = {await app.access_token(None) for _ in range(5)}
    assert len(seen) == 5
    # A second app over the same store continues from the newest pair.
    other = oauth_app(fake, store, transport, refresh_skew=10**9)
    await other.access_token(fake.location_id)
    await app.access_token(None)  # app's cache is stale; the store lock re-load saves it
    assert refreshes(fake) == 1 + 7
    # The fake answers invalid_grant to any reused refresh token: there was none.
    assert refreshes(fake, status=400) == 0


async def test_401_invalidates_and_refreshes_once(
    fake: FakeHighLevel, http: aiohttp.ClientSession, transport: AiohttpTokenTransport
) -> None:
    app, first = await installed(fake, transport)
    fake.expire_tokens()
    assert not await accepted(http, fake, first.access_token)

    verdicts = await asyncio.gather(
        *(app.invalidate(fake.location_id, first.access_token) for _ in range(50))
    )
    assert all(verdicts)
    tokens = await asyncio.gather(*(app.access_token(fake.location_id) for _ in range(50)))
    assert len(set(tokens)) == 1
    assert tokens[0] != first.access_token
    assert refreshes(fake) == 2
    assert await accepted(http, fake, tokens[0])
    # A late 401 for the replaced token: retry with the new one, no second refresh.
    assert await app.invalidate(None, first.access_token) is True
    assert await app.access_token(None) == tokens[0]
    assert refreshes(fake) == 2


async def test_revoked_grant_requires_reauthorisation_and_is_not_resent(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app, first = await installed(fake, transport)
    fake.revoke_tokens()
    assert await app.invalidate(None, first.access_token) is True
    with pytest.raises(ReauthorizationRequired, match="re-authorise") as info:
        await app.access_token(None)
    assert info.value.error == "invalid_grant"
    assert refreshes(fake) == 2
    with pytest.raises(ReauthorizationRequired, match="re-authorise"):
        await app.access_token(None)
    assert refreshes(fake) == 2  # the refused refresh token was not posted again
    # Authorising again recovers.
    again = await app.exchange_code(fake.issue_code())
    assert await app.access_token(None) == again.access_token


async def test_expired_token_without_refresh_token_requires_reauthorisation(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    store = MemoryTokenStore()
    await store.save("location:loc-x", Token(access_token="a", expires_at=1.0))
    app = oauth_app(fake, store, transport)
    with pytest.raises(ReauthorizationRequired, match="no refresh token"):
        await app.access_token("loc-x")
    assert await app.invalidate("loc-x", "a") is True  # not cached here: the store decides
    assert refreshes(fake) == 0


async def test_refresh_without_a_transport_is_a_config_error(fake: FakeHighLevel) -> None:
    store = MemoryTokenStore()
    await store.save("location:l", Token(access_token="a", refresh_token="r", expires_at=1.0))
    with pytest.raises(ConfigError, match="bind"):
        await oauth_app(fake, store).access_token("l")


async def test_camel_case_token_responses_parse(
    start_fake: StartFake, http: aiohttp.ClientSession
) -> None:
    fake = await start_fake(camel_case_tokens=True)
    app, first = await installed(fake, AiohttpTokenTransport(http, base_url=fake.base_url))
    assert first.refresh_token
    assert first.expires_at is not None
    assert first.location_id == fake.location_id
    await app.invalidate(None, first.access_token)
    second = await app.token(None)
    assert second.access_token != first.access_token
    assert second.refresh_token not in (None, first.refresh_token)
    assert await accepted(http, fake, second.access_token)


# --- failures of the token endpoint --------------------------------------------------------


async def test_a_failing_token_endpoint_is_retried_and_spends_nothing(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app, first = await installed(fake, transport)
    await app.invalidate(None, first.access_token)
    fake.fail("oauth.token", 500)
    fake.fail("oauth.token", 502, html=True)
    fake.fail("oauth.token", 429, retry_after=0.3)
    second = await app.access_token(None)
    assert second != first.access_token
    statuses = [r.status for r in fake.requests if r.path == "/oauth/token"][1:]
    assert statuses == [500, 502, 429, 200]
    stamps = [r.timestamp for r in fake.requests if r.path == "/oauth/token"]
    assert stamps[-1] - stamps[-2] >= 0.3  # Retry-After: never sooner than asked


async def test_a_token_endpoint_failing_every_time_spends_nothing(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app, first = await installed(fake, transport)
    await app.invalidate(None, first.access_token)
    fake.fail("oauth.token", 503, times=None)
    with pytest.raises(TokenRefreshError) as info:
        await app.access_token(None)
    fake.clear_faults()
    assert type(info.value) is TokenRefreshError
    assert info.value.status == 503
    assert refreshes(fake) == 1 + 1 + TOKEN_RETRY.max_retries
    # The faults answered before the refresh token was used, so the next try works.
    assert await app.access_token(None) != first.access_token


async def test_a_retry_after_above_the_cap_is_not_slept_on(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app, first = await installed(fake, transport)
    await app.invalidate(None, first.access_token)
    fake.fail("oauth.token", 503, retry_after=3600)
    with pytest.raises(TokenRefreshError) as info:
        await app.access_token(None)
    assert info.value.status == 503
    assert refreshes(fake) == 2


async def test_a_lost_answer_is_asked_again_and_says_why_the_grant_is_gone(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app, first = await installed(fake, transport)
    await app.invalidate(None, first.access_token)
    fake.drop("oauth.token", when="after")  # refreshed server-side, answer lost
    # The retry cannot be worse than giving up: the pair the server made is lost either way.
    with pytest.raises(ReauthorizationRequired, match="earlier attempt") as info:
        await app.access_token(None)
    assert info.value.status == 400
    assert refreshes(fake) == 3  # the exchange, the lost refresh, the retry
    assert first.refresh_token not in str(info.value)
    # Refused once, never sent again.
    with pytest.raises(ReauthorizationRequired):
        await app.access_token(None)
    assert refreshes(fake) == 3


async def test_a_refresh_lost_before_the_server_used_it_is_retried(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app, first = await installed(fake, transport)
    await app.invalidate(None, first.access_token)
    fake.drop("oauth.token", when="before", reset=True)
    assert await app.access_token(None) != first.access_token
    assert refreshes(fake) == 3


async def test_a_code_exchange_and_a_mint_are_retried_too(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    fake.fail("oauth.token", 502, html=True)
    app, _ = await installed(fake, transport, user_type="Company")
    fake.fail("oauth.location_token", 500)
    fake.drop("oauth.location_token", when="before")
    assert await app.access_token(fake.location_id)
    assert mints(fake) == 3


class _Attempts:
    """Sends each token call through the next transport of a list (a refused port first)."""

    def __init__(self, *transports: TokenTransport) -> None:
        self.transports = list(transports)
        self.calls = 0

    async def post_form(
        self,
        path: str,
        form: Mapping[str, str],
        *,
        bearer: str | None = None,
        version: bool = False,
    ) -> tuple[int, bytes]:
        chosen = self.transports[min(self.calls, len(self.transports) - 1)]
        self.calls += 1
        return await chosen.post_form(path, form, bearer=bearer, version=version)


async def _refused_base_url() -> str:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    return f"http://127.0.0.1:{port}"


async def test_refused_connection_is_retried(
    fake: FakeHighLevel, http: aiohttp.ClientSession, transport: AiohttpTokenTransport
) -> None:
    refused = AiohttpTokenTransport(http, base_url=await _refused_base_url())
    flaky = _Attempts(refused, refused, transport)
    app, first = await installed(fake, transport)
    app.bind(flaky)
    await app.invalidate(None, first.access_token)
    assert await app.access_token(None) != first.access_token
    assert flaky.calls == 3
    assert refreshes(fake) == 2


async def test_refused_every_time_raises_transport_error(
    fake: FakeHighLevel, http: aiohttp.ClientSession, transport: AiohttpTokenTransport
) -> None:
    refused = AiohttpTokenTransport(http, base_url=await _refused_base_url())
    flaky = _Attempts(refused)
    app, first = await installed(fake, transport)
    app.bind(flaky)
    await app.invalidate(None, first.access_token)
    with pytest.raises(TransportError) as info:
        await app.access_token(None)
    assert info.value.sent is False
    assert flaky.calls == 1 + TOKEN_RETRY.max_retries
    # Nothing was spent: with the network back, the same refresh token works.
    app.bind(transport)
    assert await app.access_token(None) != first.access_token


async def test_a_timed_out_refresh_is_retried_and_then_maps_to_token_refresh_error(
    fake: FakeHighLevel, http: aiohttp.ClientSession, transport: AiohttpTokenTransport
) -> None:
    slow = AiohttpTokenTransport(
        http, base_url=fake.base_url, timeout=aiohttp.ClientTimeout(total=0.05)
    )
    app, first = await installed(fake, transport)
    app.bind(slow)
    await app.invalidate(None, first.access_token)
    fake.delay("oauth.token", 0.5)  # the first attempt times out; the retry gets through
    assert await app.access_token(None) != first.access_token
    second = await app.access_token(None)
    await app.invalidate(None, second)
    fake.delay("oauth.token", 0.5, times=None)
    with pytest.raises(TokenRefreshError, match="RequestTimeout"):
        await app.access_token(None)
    fake.clear_faults()


async def test_garbled_success_body_is_a_token_refresh_error(
    fake: FakeHighLevel, http: aiohttp.ClientSession
) -> None:
    class Garbled:
        async def post_form(
            self,
            path: str,
            form: Mapping[str, str],
            *,
            bearer: str | None = None,
            version: bool = False,
        ) -> tuple[int, bytes]:
            return 200, b'{"token_type": "Bearer", "refresh_token": "RT-SECRET"}'

    app = oauth_app(fake)
    with pytest.raises(TokenRefreshError, match="unreadable") as info:
        await app.exchange_code("code", transport=Garbled())
    assert info.value.body == b""
    assert "RT-SECRET" not in str(info.value)


async def test_response_naming_no_owner_is_refused(fake: FakeHighLevel) -> None:
    class Ownerless:
        async def post_form(
            self,
            path: str,
            form: Mapping[str, str],
            *,
            bearer: str | None = None,
            version: bool = False,
        ) -> tuple[int, bytes]:
            return 200, b'{"access_token": "a", "refresh_token": "r", "expires_in": 10}'

    with pytest.raises(TokenRefreshError, match="neither"):
        await oauth_app(fake).exchange_code("code", transport=Ownerless())


# --- persistence and cancellation ----------------------------------------------------------


class _FlakyStore(MemoryTokenStore):
    def __init__(self) -> None:
        super().__init__()
        self.failures = 0

    async def save(self, key: str, token: Token) -> None:
        if self.failures:
            self.failures -= 1
            raise OSError("disk full")
        await super().save(key, token)


async def test_new_pair_is_kept_when_saving_fails_and_saved_before_use(
    fake: FakeHighLevel, http: aiohttp.ClientSession, transport: AiohttpTokenTransport
) -> None:
    store = _FlakyStore()
    app, first = await installed(fake, transport, store)
    await app.invalidate(None, first.access_token)
    store.failures = 1
    with pytest.raises(OSError, match="disk full"):
        await app.access_token(None)
    assert await store.load(f"location:{fake.location_id}") == first  # not used, not saved
    fresh = await app.access_token(None)  # saves the pending pair first, no new refresh
    assert refreshes(fake) == 2
    saved = await store.load(f"location:{fake.location_id}")
    assert saved is not None
    assert saved.access_token == fresh
    assert await accepted(http, fake, fresh)


async def test_cancelled_caller_does_not_lose_the_new_pair(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app, first = await installed(fake, transport)
    await app.invalidate(None, first.access_token)
    fake.delay("oauth.token", 0.2)
    caller = asyncio.ensure_future(app.access_token(None))
    await asyncio.sleep(0.05)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.sleep(0.4)
    saved = await app.store.load(f"location:{fake.location_id}")
    assert saved is not None
    assert saved.access_token != first.access_token
    assert await app.access_token(None) == saved.access_token
    assert refreshes(fake) == 2


# --- agency (Company) tokens ---------------------------------------------------------------


async def test_agency_mints_a_location_token_per_location_and_caches_it(
    fake: FakeHighLevel, http: aiohttp.ClientSession, transport: AiohttpTokenTransport
) -> None:
    second_location = fake.add_location()
    store = MemoryTokenStore()
    app, company = await installed(fake, transport, store, user_type="Company")
    assert company.user_type == "Company"
    assert app.company_id == fake.company_id
    assert await store.load(f"company:{fake.company_id}") == company
    assert await app.access_token(None) == company.access_token
    assert app.rate_key(None) == fake.company_id

    one = await app.access_token(fake.location_id)
    assert mints(fake) == 1
    assert await app.access_token(fake.location_id) == one
    assert mints(fake) == 1
    two = await app.access_token(second_location)
    assert mints(fake) == 2
    assert one != two != company.access_token
    assert app.rate_key(second_location) == second_location

    saved = await store.load(f"location:{fake.location_id}")
    assert saved is not None
    assert (saved.access_token, saved.user_type, saved.company_id) == (
        one,
        "Location",
        fake.company_id,
    )
    assert await accepted(http, fake, one, fake.location_id)
    assert await accepted(http, fake, two, second_location)
    assert not await accepted(http, fake, one, second_location)

    # Another process (same store) reuses the cached location token.
    other = oauth_app(fake, store, transport, user_type="Company", company_id=fake.company_id)
    assert await other.access_token(fake.location_id) == one
    assert mints(fake) == 2


async def test_concurrent_calls_for_a_new_location_mint_once(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app, _ = await installed(fake, transport, user_type="Company")
    fake.delay("oauth.location_token", 0.05)
    tokens = await asyncio.gather(*(app.access_token(fake.location_id) for _ in range(100)))
    assert len(set(tokens)) == 1
    assert mints(fake) == 1


async def test_expired_location_token_is_refreshed_else_minted(
    fake: FakeHighLevel, http: aiohttp.ClientSession, transport: AiohttpTokenTransport
) -> None:
    store = MemoryTokenStore()
    app, _ = await installed(fake, transport, store, user_type="Company")
    key = f"location:{fake.location_id}"
    minted = await app.access_token(fake.location_id)

    await age(store, key)
    fresh_app = oauth_app(fake, store, transport, user_type="Company", company_id=fake.company_id)
    refreshed = await fresh_app.access_token(fake.location_id)
    assert refreshed != minted
    assert (refreshes(fake), mints(fake)) == (2, 1)  # a refresh, no new mint

    # A location refresh that fails falls back to minting, like the official SDK.
    await age(store, key, refresh_token="not-a-live-refresh-token")
    fresh_app = oauth_app(fake, store, transport, user_type="Company", company_id=fake.company_id)
    reminted = await fresh_app.access_token(fake.location_id)
    assert (refreshes(fake, status=400), mints(fake)) == (1, 2)
    assert await accepted(http, fake, reminted)
    saved = await store.load(key)
    assert saved is not None
    assert saved.access_token == reminted


async def test_rejected_company_token_is_renewed_once_while_minting(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app, company = await installed(fake, transport, user_type="Company")
    fake.expire_tokens()  # the app still believes its company token is good
    location = await app.access_token(fake.location_id)
    assert mints(fake) == 2  # 401, then success
    assert fake.count("POST", "/oauth/locationToken", status=401) == 1
    assert refreshes(fake) == 2
    assert await app.access_token(None) != company.access_token
    assert location


async def test_minting_for_a_foreign_location_is_a_token_refresh_error(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app, _ = await installed(fake, transport, user_type="Company")
    with pytest.raises(TokenRefreshError) as info:
        await app.access_token("not-our-location")
    assert info.value.status == 403


async def test_agency_invalidate_of_a_location_token_remints(
    fake: FakeHighLevel, transport: AiohttpTokenTransport
) -> None:
    app, _ = await installed(fake, transport, user_type="Company")
    first = await app.access_token(fake.location_id)
    assert await app.invalidate(fake.location_id, first) is True
    second = await app.access_token(fake.location_id)
    assert second != first
    assert (refreshes(fake), mints(fake)) == (2, 1)  # refreshed with its refresh token


# --- secrets -------------------------------------------------------------------------------


async def test_no_secret_in_logs_reprs_or_errors(
    fake: FakeHighLevel,
    transport: AiohttpTokenTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    store = MemoryTokenStore()
    texts: list[str] = []
    app, company = await installed(fake, transport, store, user_type="Company")
    await app.access_token(fake.location_id)
    await age(store, f"location:{fake.location_id}", refresh_token="bogus-refresh")
    app2 = oauth_app(fake, store, transport, user_type="Company", company_id=fake.company_id)
    await app2.access_token(fake.location_id)  # refresh fails, mint fallback (logged)
    await app2.invalidate(None, company.access_token)
    await app2.access_token(None)  # company refresh
    fake.revoke_tokens()
    await app2.invalidate(None, (await app2.token(None)).access_token)
    with pytest.raises(ReauthorizationRequired) as info:
        await app2.access_token(None)
    texts += [str(info.value), repr(info.value), info.value.body.decode()]
    texts += [repr(app), repr(app2), repr(store), repr(transport)]
    for key in (f"company:{fake.company_id}", f"location:{fake.location_id}"):
        token = await store.load(key)
        texts += [repr(token), str(token)]
    texts.append(caplog.text)
    assert "minting a new one" in caplog.text  # the logs did cover the interesting paths

    secrets = [fake.client_secret, *fake.tokens.access, *fake.tokens.refresh, "bogus-refresh"]
    assert len(secrets) > 6
    for text in texts:
        for secret in secrets:
            assert secret not in text

"""Where an OAuthApp's token calls go (``base_url=``), and errors that quote HighLevel's reason."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import msgspec
import pytest
from aiohttp import web
from client_helpers import serve_app

from ghl_async import Client
from ghl_async.auth import AiohttpTokenTransport, OAuthApp
from ghl_async.errors import ConfigError, ReauthorizationRequired, TokenRefreshError
from ghl_async.testing import FakeHighLevel
from ghl_async.tokenstore import MemoryTokenStore, Token, TokenStore

SECRET = "s3cret-client-secret"


def app_of(fake: FakeHighLevel, store: TokenStore | None = None, **kw: object) -> OAuthApp:
    return OAuthApp(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        store=store or MemoryTokenStore(),
        **kw,  # type: ignore[arg-type]  # test options
    )


async def expire(store: TokenStore, token: Token) -> str:
    """Store ``token`` as expired; return its key."""
    key = f"location:{token.location_id}"
    await store.save(key, msgspec.structs.replace(token, expires_at=time.time() - 1))
    return key


def _closed_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens: a call here fails at connect


# --- against the fake ---------------------------------------------------------------------------


@pytest.mark.fake_highlevel(rate_limit=None)
async def test_app_base_url_serves_exchange_and_refresh_without_a_client(
    fake: FakeHighLevel,
) -> None:
    store = MemoryTokenStore()
    app = app_of(fake, store, base_url=fake.base_url + "/")
    assert app.base_url == fake.base_url
    assert fake.base_url in repr(app)
    token = await app.exchange_code(fake.issue_code())  # no base_url= on the call
    assert token.location_id == fake.location_id
    await expire(store, token)
    later = app_of(fake, store, base_url=fake.base_url)  # e.g. the next run of the program
    fresh = await later.token(fake.location_id)
    assert fresh.access_token != token.access_token
    assert fake.count("POST", "/oauth/token", status=200) == 2  # exchange, refresh


@pytest.mark.fake_highlevel(rate_limit=None)
async def test_an_explicit_argument_beats_the_app_base_url(fake: FakeHighLevel) -> None:
    app = app_of(fake, base_url=_closed_url())
    token = await app.exchange_code(fake.issue_code(), base_url=fake.base_url)
    assert token.location_id == fake.location_id
    async with aiohttp.ClientSession() as http:
        given = AiohttpTokenTransport(http, base_url=fake.base_url)
        again = await app.exchange_code(fake.issue_code(), transport=given)
    assert again.access_token != token.access_token


@pytest.mark.fake_highlevel(rate_limit=None)
async def test_the_app_base_url_beats_the_bound_client(fake: FakeHighLevel) -> None:
    async with FakeHighLevel(rate_limit=None) as elsewhere:
        store = MemoryTokenStore()
        app = app_of(fake, store, base_url=fake.base_url)
        async with Client(auth=app, base_url=elsewhere.base_url):
            token = await app.exchange_code(fake.issue_code())
            assert token.location_id == fake.location_id
        later = app_of(fake, store, base_url=fake.base_url)
        async with Client(auth=later, base_url=elsewhere.base_url):
            await expire(store, token)
            assert (await later.token(fake.location_id)).access_token != token.access_token
        assert elsewhere.count(path="/oauth/token") == 0
    assert fake.count("POST", "/oauth/token", status=200) == 2


@pytest.mark.fake_highlevel(rate_limit=None)
async def test_the_bound_client_is_used_when_the_app_names_no_url(fake: FakeHighLevel) -> None:
    app = app_of(fake)
    async with Client(auth=app, base_url=fake.base_url):
        token = await app.exchange_code(fake.issue_code())
    assert token.location_id == fake.location_id


async def test_refresh_with_no_url_and_no_client_is_a_config_error() -> None:
    store = MemoryTokenStore()
    await store.save("location:l", Token(access_token="a", refresh_token="r", expires_at=1.0))
    app = OAuthApp(client_id="c", client_secret=SECRET, store=store)
    with pytest.raises(ConfigError, match="base_url="):
        await app.access_token("l")


@pytest.mark.parametrize("url", ["", "services.leadconnectorhq.com", "ftp://x", "http://a b"])
def test_a_bad_base_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="base_url"):
        OAuthApp(client_id="c", client_secret=SECRET, store=MemoryTokenStore(), base_url=url)


async def test_a_bad_base_url_argument_is_a_config_error() -> None:
    app = OAuthApp(client_id="c", client_secret=SECRET, store=MemoryTokenStore())
    with pytest.raises(ConfigError, match="base_url"):
        await app.exchange_code("code", base_url="localhost:8080")


@pytest.mark.fake_highlevel(rate_limit=None)
async def test_an_agency_code_exchanged_as_a_location_names_the_real_cause(
    fake: FakeHighLevel,
) -> None:
    app = app_of(fake, base_url=fake.base_url)  # user_type="Location" by default
    code = fake.issue_code(user_type="Company")
    with pytest.raises(TokenRefreshError) as caught:
        await app.exchange_code(code)
    # A user type that does not match the install is not a spent grant (the code stays usable):
    # the app is not told to re-authorise.
    assert not isinstance(caught.value, ReauthorizationRequired)
    text = str(caught.value)
    # The fake's own reason, then what to do about it; no invented cause.
    assert "user_type=Location does not match the install" in text
    assert "user_type=Company" in text
    assert "spent" not in text
    assert "revoked" not in text
    assert code not in text
    assert fake.client_secret not in text
    agency = app_of(fake, base_url=fake.base_url, user_type="Company")
    token = await agency.exchange_code(fake.issue_code(user_type="Company"))
    assert token.user_type == "Company"


@pytest.mark.fake_highlevel(rate_limit=None)
async def test_a_spent_refresh_token_quotes_the_server(fake: FakeHighLevel) -> None:
    token = await app_of(fake, base_url=fake.base_url).exchange_code(fake.issue_code())
    # Two processes with their own copies of the pair: the first to refresh spends it.
    first, second = MemoryTokenStore(), MemoryTokenStore()
    await expire(first, token)
    await expire(second, token)
    await app_of(fake, first, base_url=fake.base_url).token(fake.location_id)
    with pytest.raises(ReauthorizationRequired) as caught:
        await app_of(fake, second, base_url=fake.base_url).token(fake.location_id)
    text = str(caught.value)
    assert "The refresh token has already been used" in text
    assert "refused the refresh token (invalid_grant)" in text
    assert token.refresh_token is not None
    assert token.refresh_token not in text


# --- against servers that answer differently ---------------------------------------------------


@dataclass
class TokenServer:
    url: str
    seen: list[dict[str, str]] = field(default_factory=list)


Answer = Callable[[dict[str, str]], web.Response]
StartServer = Callable[[Answer], Awaitable[TokenServer]]


@pytest.fixture
async def token_server() -> AsyncIterator[StartServer]:
    async with contextlib.AsyncExitStack() as servers:

        async def start(answer: Answer) -> TokenServer:
            server = TokenServer(url="")

            async def token(request: web.Request) -> web.Response:
                form = dict(await request.post())
                seen = {k: str(v) for k, v in form.items()}
                seen["user-agent"] = request.headers.get("User-Agent", "")
                server.seen.append(seen)
                return answer(seen)

            app = web.Application()
            app.router.add_post("/oauth/token", token)
            server.url = await servers.enter_async_context(serve_app(app))
            return server

        yield start


def _granted(form: dict[str, str]) -> web.Response:
    return web.json_response({
        "access_token": "acc-" + form["grant_type"], "refresh_token": "ref-1",
        "expires_in": 86399, "userType": "Location", "locationId": "L1", "companyId": "C1",
    })  # fmt: skip


async def test_a_bound_client_at_the_same_url_lends_its_session(
    token_server: StartServer,
) -> None:
    server = await token_server(_granted)
    app = OAuthApp(client_id="c", client_secret=SECRET, store=MemoryTokenStore(),
                   base_url=server.url)  # fmt: skip
    await app.exchange_code("code-1")  # no client: a session of its own
    async with Client(auth=app, base_url=server.url, user_agent="my-app/2.0"):
        await app.exchange_code("code-2")  # the client's session (and User-Agent)
    assert [s["user-agent"] for s in server.seen] == ["ghl-async", "my-app/2.0"]
    assert [s["code"] for s in server.seen] == ["code-1", "code-2"]


@pytest.mark.parametrize(
    ("status", "body", "cls", "expected"),
    [
        (400, {"error": "invalid_grant", "error_description": "refresh token {rt} of {cs} was "
               "revoked by the agency admin"}, ReauthorizationRequired,
         "refresh token <redacted> of <redacted> was revoked by the agency admin"),
        (400, {"error": "invalid_grant"}, ReauthorizationRequired, "invalid_grant"),
        (400, {"statusCode": 400, "message": "Location is not active"}, TokenRefreshError,
         "Location is not active"),
        (401, {"error": "invalid_client"}, TokenRefreshError, "invalid_client"),
    ],
)  # fmt: skip
async def test_refusals_quote_the_server_without_secrets(
    token_server: StartServer,
    status: int,
    body: dict[str, str | int],
    cls: type[TokenRefreshError],
    expected: str,
) -> None:
    def refuse(form: dict[str, str]) -> web.Response:
        if form["grant_type"] == "authorization_code":
            return _granted(form)
        echoed = {
            k: v.format(rt=form["refresh_token"], cs=form["client_secret"])
            if isinstance(v, str)
            else v
            for k, v in body.items()
        }
        return web.json_response(echoed, status=status)

    server = await token_server(refuse)
    store = MemoryTokenStore()
    app = OAuthApp(client_id="c", client_secret=SECRET, store=store, base_url=server.url)
    token = await app.exchange_code("code-1")
    await expire(store, token)
    later = OAuthApp(client_id="c", client_secret=SECRET, store=store, base_url=server.url)
    with pytest.raises(TokenRefreshError) as caught:
        await later.token("L1")
    assert type(caught.value) is cls
    text = str(caught.value)
    assert expected in text
    assert caught.value.status == status
    for secret in (SECRET, "ref-1"):
        assert secret not in text
        assert secret.encode() not in caught.value.body
    assert server.seen[-1]["refresh_token"] == "ref-1"  # it did reach the server

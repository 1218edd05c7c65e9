"""``ghl.call`` with routes of your own, odd error bodies, and the auth's token transport."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import msgspec
import pytest
from aiohttp import web
from client_helpers import make_client

from ghl_async import Client, MemoryTokenStore, OAuthApp, StaticToken
from ghl_async.errors import (
    BadRequestError,
    PaginationError,
    ServerError,
    TokenRefreshError,
    TransportError,
)
from ghl_async.models import Query, Wire
from ghl_async.routes import Route
from ghl_async.testing import FakeHighLevel


class EchoQuery(Query, kw_only=True):
    flag: bool
    tags: list[str]
    limit: int | msgspec.UnsetType = msgspec.UNSET
    text: str | msgspec.UnsetType = msgspec.UNSET


class Echo(Wire, kw_only=True, frozen=True):
    path: str
    query: str


ECHO = Route(
    name="custom.echo", operation_id="echo", method="GET", path="/echo/{a_id}/x/{b_id}",
    scope="custom.readonly", status=200, response=Echo, query=EchoQuery,
)  # fmt: skip


async def _echo(request: web.Request) -> web.Response:
    if request.match_info["a"] == "v3":
        body = {"error": {"code": "INVALID", "message": "v3 style error"}}
        return web.json_response(body, status=400)
    if request.match_info["a"] == "array":
        return web.json_response(["not", "an", "object"], status=500)
    return web.json_response({"path": request.rel_url.raw_path,
                              "query": request.rel_url.raw_query_string})  # fmt: skip


async def _stuck(request: web.Request) -> web.Response:
    # Ignores limit/skip and never says how many there are.
    return web.json_response({"contacts": [{"id": "c1"}, {"id": "c2"}]})


@pytest.fixture
async def echo() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_get("/echo/{a}/x/{b}", _echo)
    app.router.add_get("/contacts/business/{b}", _stuck)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


async def test_a_route_of_your_own(echo: str) -> None:
    async with Client(auth=StaticToken("tok"), base_url=echo, max_retries=0) as ghl:
        got = await ghl.call(
            ECHO,
            path={"a_id": "one", "b_id": "two:2"},
            query=EchoQuery(flag=True, tags=["a b", "c&d"], limit=3, text="+1 555"),
        )
        assert got.path == "/echo/one/x/two:2"  # ':' needs no escaping in a path
        assert got.query == "flag=true&tags=a%20b&tags=c%26d&limit=3&text=%2B1%20555"
        off = await ghl.call(ECHO, path={"a_id": "x", "b_id": "y"},
                             query=EchoQuery(flag=False, tags=[]))  # fmt: skip
        assert off.query == "flag=false"
        with pytest.raises(BadRequestError) as v3:
            await ghl.call(ECHO, path={"a_id": "v3", "b_id": "y"},
                           query=EchoQuery(flag=True, tags=[]))  # fmt: skip
        assert v3.value.messages == ["v3 style error"]
        with pytest.raises(ServerError) as array:
            await ghl.call(ECHO, path={"a_id": "array", "b_id": "y"},
                           query=EchoQuery(flag=True, tags=[]))  # fmt: skip
        assert array.value.messages == []
        assert array.value.body == b'["not", "an", "object"]'


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_token_calls_go_through_the_client(fake: FakeHighLevel) -> None:
    app = OAuthApp(client_id=fake.client_id, client_secret=fake.client_secret,
                   store=MemoryTokenStore())  # fmt: skip
    async with make_client(fake, auth=app, timeout=0.2) as ghl:
        token = await app.exchange_code(fake.issue_code())
        assert token.location_id == fake.location_id
        (cid,) = fake.seed_contacts(1, business_id=None)
        assert (await ghl.contacts.get(cid)).id == cid
        # A token call that times out is asked again: if the first had used the code, the
        # pair it made is lost either way; here it had not yet, so the retry gets the tokens.
        fake.delay("oauth.token", 0.5)
        again = await app.exchange_code(fake.issue_code())
        assert (await ghl.contacts.get(cid)).id == cid
        assert again.access_token != token.access_token
        await asyncio.sleep(0.5)  # let the fake finish (and log) the abandoned request
        # Arriving late with a used code, the first attempt is refused.
        assert [r.status for r in fake.requests if r.path == "/oauth/token"] == [200, 200, 400]
        # ... and the pair the retry got stays good.
        assert (await ghl.contacts.get(cid)).id == cid
        fake.delay("oauth.token", 0.5, times=None)
        with pytest.raises(TokenRefreshError) as caught:
            await app.exchange_code(fake.issue_code())
        assert "no answer from the token endpoint" in str(caught.value)
        fake.clear_faults()


async def test_token_calls_to_nowhere_fail_as_never_sent() -> None:
    app = OAuthApp(client_id="id-x", client_secret="secret", store=MemoryTokenStore())
    url = f"http://127.0.0.1:{_closed_port()}"
    async with Client(auth=app, base_url=url, location_id="loc") as ghl:
        with pytest.raises(TransportError) as caught:
            await app.exchange_code("code")
        assert caught.value.sent is False
        assert "secret" not in str(caught.value)
        assert ghl.location_id == "loc"


async def test_a_server_stuck_on_one_page_raises_instead_of_looping(echo: str) -> None:
    async with Client(auth=StaticToken("tok"), base_url=echo, location_id="loc") as ghl:
        seen: list[str] = []

        async def walk() -> None:
            async for contact in ghl.contacts.iter_by_business("b", limit=2):
                seen.append(contact.id)

        with pytest.raises(PaginationError, match="repeated"):
            await walk()
        assert seen == ["c1", "c2"]  # no duplicate was yielded

"""Hostile and broken answers to reads: bounded memory, bodies cut short, odd statuses.

Purpose-built servers over a real socket (``hostile_helpers.serve``), or the mangling proxy in
front of the fake, for what the fake cannot send.
"""

from __future__ import annotations

import email.utils
import json
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from hostile_helpers import Answer, Proxy, client_via, cut, garbage, plain, reset_mid, serve

from ghl_async import Client, OAuthApp, StaticToken
from ghl_async.auth import AiohttpTokenTransport, MemoryTokenStore
from ghl_async.errors import (
    AuthenticationError,
    DecodeError,
    GHLError,
    ResponseTooLargeError,
    TokenRefreshError,
)
from ghl_async.testing import FakeHighLevel

MIB = 1 << 20


@pytest.fixture
async def proxy(fake: FakeHighLevel) -> AsyncIterator[Proxy]:
    async with Proxy(fake).running() as running:
        yield running


# --- bounded memory ----------------------------------------------------------------------------


def _bomb(inflated: int, wbits: int) -> bytes:
    """``inflated`` bytes of JSON-ish zeros, compressed (about 1,000 to 1), built in steps."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b"0" * MIB
    parts = [packer.compress(b'{"contact":{"id":"') ]
    parts += [packer.compress(block) for _ in range(inflated // MIB)]
    parts.append(packer.flush())
    return b"".join(parts)


GZIP, ZLIB, RAW = zlib.MAX_WBITS | 16, zlib.MAX_WBITS, -zlib.MAX_WBITS
BOMBS = {
    ("gzip", GZIP): _bomb(200 * MIB, GZIP),
    ("deflate", ZLIB): _bomb(200 * MIB, ZLIB),
    ("deflate", RAW): _bomb(200 * MIB, RAW),  # raw RFC 1951, as some servers send
}


def _bomb_server(encoding: str, wbits: int, status: int = 200) -> web.Application:
    body = BOMBS[(encoding, wbits)]

    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=body,
            status=status,
            headers={"Content-Encoding": encoding, "Content-Type": "application/json"},
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


@pytest.mark.parametrize(("encoding", "wbits"), list(BOMBS), ids=["gzip", "deflate", "raw"])
@pytest.mark.parametrize("status", [200, 500])
async def test_a_compression_bomb_is_stopped_at_the_cap(
    encoding: str, wbits: int, status: int
) -> None:
    assert len(BOMBS[(encoding, wbits)]) < MIB // 2  # under 0.5 MiB on the wire, 200 MiB inflated
    async with serve(_bomb_server(encoding, wbits, status)) as url, Client(
        auth=StaticToken("tok"), location_id="loc", base_url=url, max_response_size=MIB
    ) as ghl:  # fmt: skip
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLargeError) as caught:
                await ghl.contacts.get("c1")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    err = caught.value
    assert (err.status, err.limit, err.operation) == (status, MIB, "contacts.get")
    assert err.body.startswith(b'{"contact":{"id":"0000')
    assert len(err.body) == 4096  # a prefix, not the body
    assert "larger than 1,048,576 bytes" in str(err)
    assert peak < 8 * MIB, peak  # the cap plus a chunk, not 200 MiB


async def test_the_cap_holds_on_a_session_you_pass_in() -> None:
    # aiohttp inflates for your session; reading still stops at the cap.
    async with serve(_bomb_server("gzip", GZIP)) as url, aiohttp.ClientSession() as http:
        async with Client(
            auth=StaticToken("tok"), location_id="loc", base_url=url, session=http,
            max_response_size=MIB,
        ) as ghl:  # fmt: skip
            with pytest.raises(ResponseTooLargeError):
                await ghl.contacts.get("c1")
        assert not http.closed


async def test_a_plain_body_over_the_cap_and_one_under_it() -> None:
    payload = {"contact": {"id": "c1", "firstName": "x" * (2 * MIB)}}

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(payload)

    app = web.Application()
    app.router.add_get("/contacts/{id}", handler)
    async with serve(app) as url:
        async with Client(
            auth=StaticToken("tok"), location_id="loc", base_url=url, max_response_size=MIB
        ) as ghl:  # fmt: skip
            with pytest.raises(ResponseTooLargeError) as caught:
                await ghl.contacts.get("c1")
            assert len(caught.value.body) == 4096
        async with Client(auth=StaticToken("tok"), location_id="loc", base_url=url) as roomy:
            assert len((await roomy.contacts.get("c1")).first_name or "") == 2 * MIB


async def test_gzip_answers_within_the_cap_are_read(fake: FakeHighLevel, proxy: Proxy) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)

    async def gzipped(request: web.Request, answer: Answer) -> web.StreamResponse:
        packer = zlib.compressobj(6, zlib.DEFLATED, GZIP)
        body = packer.compress(answer.body) + packer.flush()
        return plain(answer, body=body, headers={"Content-Encoding": "gzip"})

    async def truncated(request: web.Request, answer: Answer) -> web.StreamResponse:
        packer = zlib.compressobj(6, zlib.DEFLATED, GZIP)
        body = (packer.compress(answer.body) + packer.flush())[:-12]  # no gzip trailer
        return plain(answer, body=body, headers={"Content-Encoding": "gzip"})

    proxy.on("GET", rf"/contacts/{cid}", gzipped)
    proxy.on("GET", rf"/contacts/{cid}", truncated)
    async with client_via(proxy) as ghl:
        assert (await ghl.contacts.get(cid)).id == cid
        assert (await ghl.contacts.get(cid)).id == cid  # the cut gzip stream was retried
    assert fake.count(operation="contacts.get") == 3


def _gzip(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, GZIP)
    return packer.compress(data) + packer.flush()


CONTACT = b'{"contact":{"id":"c1"}}'


@pytest.mark.parametrize(
    ("encoding", "body", "ok"),
    [
        ("identity", CONTACT, True),
        (" GZIP ", _gzip(CONTACT), True),
        ("gzip", _gzip(CONTACT)[:12], False),  # the stream stops part-way
        ("gzip", b"this is not gzip", False),
        ("gzip", b"", False),  # nothing to inflate: no JSON either
        ("br", b"\x8b\x00\x80", False),  # never asked for: cannot be read within the cap
    ],
)
async def test_content_encodings(encoding: str, body: bytes, ok: bool) -> None:
    seen = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Accept-Encoding"))
        return web.Response(body=body, headers={"Content-Encoding": encoding,
                                                "Content-Type": "application/json"})  # fmt: skip

    app = web.Application()
    app.router.add_get("/contacts/{id}", handler)
    async with serve(app) as url, Client(
        auth=StaticToken("tok"), location_id="loc", base_url=url, max_retries=1,
        backoff_base=0.001,
    ) as ghl:  # fmt: skip
        if ok:
            assert (await ghl.contacts.get("c1")).id == "c1"
            assert len(seen) == 1
        else:
            with pytest.raises(GHLError):
                await ghl.contacts.get("c1")
            assert len(seen) == 2  # a broken body is a failed attempt: retried
    assert set(seen) == {"gzip, deflate"}


async def test_the_token_endpoint_is_capped_and_keeps_no_prefix() -> None:
    secret = b'{"access_token":"' + b"s" * (2 * MIB) + b'"}'

    async def token(request: web.Request) -> web.Response:
        return web.Response(body=secret, content_type="application/json")

    app = web.Application()
    app.router.add_post("/oauth/token", token)
    async with serve(app) as url, aiohttp.ClientSession() as http:
        transport = AiohttpTokenTransport(http, base_url=url, max_response_size=MIB)
        with pytest.raises(ResponseTooLargeError) as caught:
            await transport.post_form("/oauth/token", {"grant_type": "authorization_code"})
        assert caught.value.body == b""
        oauth = OAuthApp(client_id="app-x", client_secret="shh", store=MemoryTokenStore())
        oauth.bind(transport)
        with pytest.raises(TokenRefreshError, match="more than 1,048,576 bytes") as refused:
            await oauth.exchange_code("the-code")
        assert b"sss" not in refused.value.body


# --- reads under broken answers ----------------------------------------------------------------


@pytest.mark.parametrize("mangle", [cut(), cut(0.0), garbage, reset_mid],
                         ids=["cut-short", "empty", "html", "reset-mid-body"])  # fmt: skip
async def test_a_read_answered_with_a_broken_2xx_is_retried(
    fake: FakeHighLevel, proxy: Proxy, mangle: object
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    proxy.on("GET", rf"/contacts/{cid}/notes", mangle, times=2)  # type: ignore[arg-type]
    async with client_via(proxy) as ghl:
        notes = await ghl.contacts.notes.list(cid)
    assert [n.id for n in notes] == [n.id for n in fake.notes_of(cid)]
    assert fake.count(operation="contacts.notes.list") == 3


async def test_a_broken_2xx_every_time_ends_in_a_decode_error(
    fake: FakeHighLevel, proxy: Proxy
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    proxy.on("GET", rf"/contacts/{cid}", cut(), times=None)
    async with client_via(proxy, max_retries=2) as ghl:
        with pytest.raises(DecodeError) as caught:
            await ghl.contacts.get(cid)
    assert caught.value.body.startswith(b'{"contact"')
    assert fake.count(operation="contacts.get") == 3


async def test_a_2xx_of_another_shape_is_not_retried(fake: FakeHighLevel, proxy: Proxy) -> None:
    # Valid JSON that does not match the model is schema drift: asking again will not help.
    (cid,) = fake.seed_contacts(1, business_id=None)

    async def drifted(request: web.Request, answer: Answer) -> web.StreamResponse:
        return plain(answer, body=json.dumps({"contact": {"id": 42}}).encode())

    proxy.on("GET", rf"/contacts/{cid}", drifted)
    async with client_via(proxy) as ghl:
        with pytest.raises(DecodeError, match="did not match Contact"):
            await ghl.contacts.get(cid)
    assert fake.count(operation="contacts.get") == 1


async def test_command_timed_out_is_retried_once(fake: FakeHighLevel, proxy: Proxy) -> None:
    # HighLevel answers a slow query with 401 "Command timed out": not a token problem.
    (cid,) = fake.seed_contacts(1, business_id=None)
    body = json.dumps({"statusCode": 401, "message": "Command timed out"}).encode()

    async def timed_out(request: web.Request, answer: Answer) -> web.StreamResponse:
        return plain(answer, status=401, body=body)

    proxy.on("GET", rf"/contacts/{cid}", timed_out)
    async with client_via(proxy) as ghl:
        assert (await ghl.contacts.get(cid)).id == cid
        proxy.on("GET", rf"/contacts/{cid}", timed_out, times=2)
        with pytest.raises(AuthenticationError, match="Command timed out"):
            await ghl.contacts.get(cid)  # once, not twice
    assert fake.count(operation="contacts.get") == 4


async def test_a_retry_after_date_is_honoured(fake: FakeHighLevel, proxy: Proxy) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    when = int(time.time()) + 2  # whole seconds: what an HTTP date can say

    async def unavailable(request: web.Request, answer: Answer) -> web.StreamResponse:
        date = email.utils.formatdate(when, usegmt=True)
        return plain(answer, status=503, body=b"busy", headers={"Retry-After": date})

    proxy.on("GET", rf"/contacts/{cid}", unavailable)
    async with client_via(proxy) as ghl:
        assert (await ghl.contacts.get(cid)).id == cid
    second = [r.timestamp for r in fake.requests if r.operation == "contacts.get"][-1]
    assert second >= when  # never before the date the server gave

"""Status → exception mapping, error details, decode errors, logging and secret hygiene."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from client_helpers import make_client

from ghl_async import Client, StaticToken
from ghl_async.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    DecodeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)
from ghl_async.testing import FakeHighLevel


async def test_not_found_carries_the_details(fake: FakeHighLevel, ghl: Client) -> None:
    with pytest.raises(NotFoundError) as caught:
        await ghl.contacts.get("missingContactId0001")
    err = caught.value
    assert err.status in (400, 404)
    assert (err.operation, err.method, err.url) == (
        "contacts.get", "GET", "/contacts/missingContactId0001",
    )  # fmt: skip
    assert err.messages
    assert err.trace_id  # the fake's traceId header
    assert err.trace_id == fake.requests[-1].trace_id
    assert err.body.startswith(b"{")
    assert err.rate_limit is not None
    assert err.rate_limit.max == 100
    assert "contacts.get (GET /contacts/missingContactId0001)" in str(err)
    assert repr(err) == f"NotFoundError(status={err.status}, operation='contacts.get')"
    assert fake.count(operation="contacts.get") == 1  # a 4xx is never retried


async def test_duplicate_create_names_the_existing_contact(
    fake: FakeHighLevel, ghl: Client
) -> None:
    first = await ghl.contacts.create(email="same@example.com")
    with pytest.raises(BadRequestError) as caught:
        await ghl.contacts.create(email="same@example.com")
    assert caught.value.duplicate_contact_id == first.id
    assert len(fake.find_contacts(email="same@example.com")) == 1


async def test_422_messages_are_a_list(fake: FakeHighLevel, ghl: Client) -> None:
    fake.fail("contacts.create", 422)
    with pytest.raises(UnprocessableEntityError) as caught:
        await ghl.contacts.create(email="x@example.com")
    assert caught.value.messages == ["Unprocessable Entity"]
    assert caught.value.message == "Unprocessable Entity"


async def test_403_names_the_scope(fake: FakeHighLevel, ghl: Client) -> None:
    other = fake.add_location()
    with pytest.raises(PermissionDeniedError) as caught:
        await ghl.contacts.list_by_business("biz_1", location_id=other)
    assert caught.value.scope == "contacts.readonly"
    assert "needs scope contacts.readonly" in str(caught.value)


async def test_401_with_a_static_token_is_final(fake: FakeHighLevel, ghl: Client) -> None:
    fake.revoke_tokens()
    with pytest.raises(AuthenticationError) as caught:
        await ghl.contacts.get("anyContactId00000001")
    assert caught.value.status == 401
    assert fake.count(operation="contacts.get") == 1


async def test_429_retry_after_when_retries_are_spent(fake: FakeHighLevel) -> None:
    async with make_client(fake, max_retries=2, rate_limit=None) as ghl:
        fake.fail("contacts.get", 429, times=None, retry_after=0.01)
        with pytest.raises(RateLimitError) as caught:
            await ghl.contacts.get("anyContactId00000001")
        assert caught.value.retry_after == pytest.approx(0.01)
        assert fake.count(operation="contacts.get") == 3
        fake.clear_faults()
        fake.reset_log()
        fake.fail("contacts.get", 429, times=None, retry_after=120)  # beyond retry_after_cap
        with pytest.raises(RateLimitError) as caught:
            await ghl.contacts.get("anyContactId00000001")
        assert caught.value.retry_after == 120
        assert fake.count(operation="contacts.get") == 1


async def test_server_errors_and_proxy_html(fake: FakeHighLevel, ghl: Client) -> None:
    fake.fail("contacts.get", 500, times=None)
    with pytest.raises(ServerError) as caught:
        await ghl.contacts.get("anyContactId00000001")
    assert caught.value.status == 500
    assert caught.value.messages == ["Internal server error"]  # HighLevel's own 500 body
    assert fake.count(operation="contacts.get") == 1 + 3  # 500 is retried: 1 + max_retries
    fake.clear_faults()
    fake.reset_log()

    fake.fail("contacts.get", 502, times=None, html=True)
    with pytest.raises(ServerError) as caught:
        await ghl.contacts.get("anyContactId00000001")
    err = caught.value
    assert err.status == 502
    assert err.messages[0].startswith("non-JSON response (text/html")
    assert "502 Bad Gateway" in err.messages[0]
    assert b"<html>" in err.body
    assert fake.count(operation="contacts.get") == 1 + 3  # 502 retried: 1 + max_retries


class _Odd:
    """A server answering 2xx with bodies that do not match the route's model."""

    def __init__(self) -> None:
        self.app = web.Application()
        self.app.router.add_get("/contacts/{id}", self.contact)
        self.app.router.add_get("/contacts/{id}/tasks", self.tasks)

    async def contact(self, request: web.Request) -> web.Response:
        if request.match_info["id"] == "html":
            return web.Response(text="<html>maintenance</html>", content_type="text/html")
        return web.Response(body=b'{"contact":{"id":42}}', content_type="application/json")

    async def tasks(self, request: web.Request) -> web.Response:
        return web.json_response({"wrongKey": []})


@pytest.fixture
async def odd() -> AsyncIterator[str]:
    runner = web.AppRunner(_Odd().app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield f"http://{host}:{port}"
    await runner.cleanup()


async def test_decode_errors_keep_the_raw_body(odd: str) -> None:
    async with Client(auth=StaticToken("tok"), location_id="loc", base_url=odd) as ghl:
        with pytest.raises(DecodeError) as caught:
            await ghl.contacts.get("c1")
        assert caught.value.body == b'{"contact":{"id":42}}'
        assert caught.value.operation == "contacts.get"
        assert "did not match Contact" in str(caught.value)
        with pytest.raises(DecodeError) as html:
            await ghl.contacts.get("html")
        assert html.value.body == b"<html>maintenance</html>"
        with pytest.raises(DecodeError, match="did not match"):
            await ghl.contacts.tasks.list("c1")  # the envelope key is missing


async def test_no_secret_in_logs_reprs_or_errors(
    fake: FakeHighLevel, caplog: pytest.LogCaptureFixture
) -> None:
    token = fake.private_token
    caplog.set_level(logging.DEBUG)
    auth = StaticToken(token, location_id=fake.location_id)
    texts: list[str] = [repr(auth), str(auth)]
    async with make_client(fake, auth=auth) as ghl:
        texts += [repr(ghl), str(ghl)]
        (cid,) = fake.seed_contacts(1, business_id=None)
        await ghl.contacts.get(cid)
        fake.fail("contacts.get", 503)
        await ghl.contacts.get(cid)  # one retry, logged
        fake.drop("contacts.upsert", when="before")
        await ghl.contacts.upsert(email="x@example.com")  # a dropped connection, retried
        for failing in (
            ghl.contacts.get("missingContactId0001"),
            ghl.contacts.list_by_business("b", location_id=fake.add_location()),
        ):
            with pytest.raises(APIError) as caught:
                await failing
            texts += [str(caught.value), repr(caught.value), repr(caught.value.args)]
        fake.revoke_tokens()
        with pytest.raises(AuthenticationError) as denied:
            await ghl.contacts.get(cid)
        texts += [str(denied.value), repr(denied.value)]
    records = [r for r in caplog.records if r.name.startswith("ghl_async")]
    assert any("GET /contacts/" in r.getMessage() and "attempt 2" in r.getMessage()
               for r in records)  # fmt: skip
    assert any("ServerDisconnectedError" in r.getMessage() for r in records)
    texts += [r.getMessage() for r in records]
    texts.append(caplog.text)
    for text in texts:
        assert token not in text
        assert "Bearer" not in text
        assert "Authorization" not in text


async def test_debug_logging_is_off_by_default(
    fake: FakeHighLevel, ghl: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    (cid,) = fake.seed_contacts(1, business_id=None)
    await ghl.contacts.get(cid)
    assert not [r for r in caplog.records if r.name == "ghl_async"]


async def test_token_never_reaches_another_host_on_redirect(fake: FakeHighLevel) -> None:
    # A redirecting proxy must not get to replay the bearer token: redirects are not followed.
    app = web.Application()

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(fake.base_url + "/contacts/abc")

    app.router.add_get("/contacts/{id}", redirect)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        async with Client(auth=StaticToken("tok"), base_url=f"http://{host}:{port}") as ghl:
            with pytest.raises(APIError) as caught:
                await ghl.contacts.get("abc")
        assert caught.value.status == 302
        assert fake.requests == []
    finally:
        await runner.cleanup()

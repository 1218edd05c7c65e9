"""``Client.open()``/``aclose()`` for long-lived clients, as the README's web-app examples use."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from client_helpers import make_client, serve_app

from ghl_async import Client
from ghl_async.testing import FakeHighLevel


async def test_open_returns_the_open_client_and_aclose_closes_it(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    client = make_client(fake)
    ghl = await client.open()
    assert ghl is client
    assert "state='open'" in repr(ghl)
    assert (await ghl.contacts.get(cid)).id == cid
    await ghl.aclose()
    assert ghl.closed
    with pytest.raises(RuntimeError, match="closed"):
        await ghl.contacts.get(cid)
    await ghl.aclose()  # twice is fine


async def test_a_client_is_opened_once(fake: FakeHighLevel) -> None:
    ghl = await make_client(fake).open()
    try:
        with pytest.raises(RuntimeError, match="already open"):
            await ghl.open()
        with pytest.raises(RuntimeError, match="already open"):
            async with ghl:
                pass
    finally:
        await ghl.aclose()
    with pytest.raises(RuntimeError, match="already closed"):
        await ghl.open()
    entered = make_client(fake)
    async with entered:
        with pytest.raises(RuntimeError, match="already open"):
            await entered.open()
    never_opened = make_client(fake)
    await never_opened.aclose()
    with pytest.raises(RuntimeError, match="already closed"):
        await never_opened.open()


async def test_open_on_a_sibling_only_checks_its_parent(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    parent = make_client(fake)
    sibling = parent.with_options(max_retries=0)
    with pytest.raises(RuntimeError, match="not open"):
        await sibling.open()
    await parent.open()
    try:
        assert await sibling.open() is sibling
        await sibling.aclose()  # does not close the parent
        assert (await parent.contacts.get(cid)).id == cid
        assert (await sibling.contacts.get(cid)).id == cid
    finally:
        await parent.aclose()
    assert sibling.closed


GHL = web.AppKey("ghl", Client)


async def test_an_aiohttp_app_opens_at_startup_and_closes_at_cleanup(fake: FakeHighLevel) -> None:
    # The README's aiohttp example, against the fake.
    (cid,) = fake.seed_contacts(1, business_id=None)

    async def open_ghl(app: web.Application) -> None:
        app[GHL] = await make_client(fake).open()

    async def close_ghl(app: web.Application) -> None:
        await app[GHL].aclose()

    async def show_contact(request: web.Request) -> web.Response:
        contact = await request.app[GHL].contacts.get(request.match_info["id"])
        return web.json_response({"id": contact.id, "email": contact.email})

    app = web.Application()
    app.on_startup.append(open_ghl)
    app.on_cleanup.append(close_ghl)
    app.router.add_get("/contacts/{id}", show_contact)
    async with serve_app(app) as url, aiohttp.ClientSession() as http:
        for _ in range(3):  # one client serves every request
            async with http.get(f"{url}/contacts/{cid}") as reply:
                assert reply.status == 200
                assert (await reply.json())["id"] == cid
        ghl = app[GHL]
        assert not ghl.closed
    assert ghl.closed
    assert fake.count(operation="contacts.get") == 3

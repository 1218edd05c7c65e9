"""FakeHighLevel emits signed HighLevel webhooks on state changes (``webhook_url=``)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

import aiohttp
import msgspec
import pytest
from aiohttp import web

from ghl_async.testing import FakeHighLevel
from ghl_async.webhooks import (
    RECEIVER_KEY,
    AppInstall,
    AppUninstall,
    ContactCreate,
    ContactDndUpdate,
    ContactTagUpdate,
    Dispatcher,
    NoteCreate,
    TaskCreate,
    WebhookEvent,
    WebhookVerifier,
    create_app,
)


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[tuple[str, web.Application, list[WebhookEvent]]]:
    dispatcher = Dispatcher()
    got: list[WebhookEvent] = []
    dispatcher.on_any(got.append)
    app = create_app(dispatcher, path="/hook")
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/hook", app, got
    finally:
        await runner.cleanup()


async def test_state_changes_become_signed_webhooks() -> None:
    async with receiver() as (url, app, got), FakeHighLevel(webhook_url=url) as fake:
        assert fake.webhooks is not None
        assert fake.webhook_public_key is not None
        assert "BEGIN PUBLIC KEY" in fake.webhook_public_key
        app[RECEIVER_KEY].verifier = WebhookVerifier(
            ed25519_public_key=fake.webhook_public_key, app_id=fake.app_id
        )
        headers = fake.headers()
        async with aiohttp.ClientSession(base_url=fake.base_url, headers=headers) as http:

            async def call(method: str, path: str, body: object = None) -> dict[str, object]:
                async with http.request(method, path, json=body) as response:
                    assert response.status < 300, await response.text()
                    return await response.json()  # type: ignore[no-any-return]

            created = await call(
                "POST",
                "/contacts/",
                {
                    "locationId": fake.location_id,
                    "email": "hook@alpha.example",
                    "firstName": "Hook",
                    "customFields": [{"id": "f1", "field_value": "x"}],
                },
            )
            cid = created["contact"]["id"]  # type: ignore[index]
            await call("PUT", f"/contacts/{cid}", {"tags": ["a"], "dnd": True})
            await call("POST", f"/contacts/{cid}/tags", {"tags": ["b"]})
            await call("PUT", f"/contacts/{cid}", {"firstName": "Hooked"})
            task = await call(
                "POST",
                f"/contacts/{cid}/tasks",
                {"title": "t", "dueDate": "2026-01-01T00:00:00Z", "completed": False},
            )
            tid = task["task"]["id"]  # type: ignore[index]
            await call("PUT", f"/contacts/{cid}/tasks/{tid}/completed", {"completed": True})
            await call("DELETE", f"/contacts/{cid}/tasks/{tid}")
            note = await call("POST", f"/contacts/{cid}/notes", {"body": "n"})
            nid = note["note"]["id"]  # type: ignore[index]
            await call("PUT", f"/contacts/{cid}/notes/{nid}", {"body": "m"})
            await call("DELETE", f"/contacts/{cid}/notes/{nid}")
            await call(
                "POST",
                "/contacts/bulk/business",
                {"locationId": fake.location_id, "ids": [cid], "businessId": "b1"},
            )
            await call("DELETE", f"/contacts/{cid}")
            # Reads and no-op writes send nothing.
            fake.seed_contacts(2)
        await fake.webhooks.drain()
        await app[RECEIVER_KEY].join()
        deliveries = list(fake.webhooks.deliveries)
    assert [type(event).__name__ for event in got] == [
        "ContactCreate",
        "ContactUpdate",
        "ContactTagUpdate",
        "ContactDndUpdate",
        "ContactTagUpdate",
        "ContactUpdate",
        "TaskCreate",
        "TaskComplete",
        "TaskDelete",
        "NoteCreate",
        "NoteUpdate",
        "NoteDelete",
        "ContactUpdate",
        "ContactDelete",
    ]
    assert all(delivery.ok for delivery in deliveries)
    created_event, dnd_event = got[0], got[3]
    assert isinstance(created_event, ContactCreate)
    assert (created_event.id, created_event.email, created_event.location_id) == (
        cid,
        "hook@alpha.example",
        fake.location_id,
    )
    assert created_event.custom_fields[0].value == "x"
    assert isinstance(dnd_event, ContactDndUpdate)
    assert dnd_event.dnd is True
    tags_event = got[4]
    assert isinstance(tags_event, ContactTagUpdate)
    assert tags_event.tags == ["a", "b"]
    assert isinstance(got[6], TaskCreate)
    assert got[6].contact_id == cid
    assert isinstance(got[9], NoteCreate)
    assert got[9].body == "n"


async def test_webhooks_are_off_by_default_and_closed_on_exit() -> None:
    async with FakeHighLevel() as fake:
        assert fake.webhooks is None
        assert fake.webhook_public_key is None
        fake.drain_webhooks()  # nothing to wait for
    async with receiver() as (url, _, _), FakeHighLevel(webhook_url=url) as fake:
        emitter = fake.webhooks
        assert emitter is not None
        with pytest.raises(RuntimeError, match=r"await fake\.webhooks\.drain"):
            fake.drain_webhooks()
    assert fake.webhooks is None
    with pytest.raises(RuntimeError, match="closed"):
        emitter.emit("ContactCreate", {})


@contextlib.contextmanager
def threaded_sink(bodies: list[bytes]) -> Iterator[str]:
    """A plain receiver on its own thread and loop, recording delivered bodies."""

    async def hook(request: web.Request) -> web.Response:
        bodies.append(await request.read())
        return web.Response()

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def up() -> str:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        return f"http://{host}:{port}/hook"

    try:
        yield asyncio.run_coroutine_threadsafe(up(), loop).result(10)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_drain_from_a_sync_test() -> None:
    bodies: list[bytes] = []
    with threaded_sink(bodies) as url, FakeHighLevel.serve_in_thread(webhook_url=url) as fake:

        async def create() -> int:
            async with (
                aiohttp.ClientSession() as http,
                http.post(
                    fake.url("/contacts/"),
                    json={"locationId": fake.location_id, "email": "s@alpha.example"},
                    headers=fake.headers(),
                ) as response,
            ):
                return response.status

        assert asyncio.run(create()) == 201
        fake.drain_webhooks()
        assert len(bodies) == 1
        assert b'"type":"ContactCreate"' in bodies[0]


async def _verified_receiver(fake: FakeHighLevel, app: web.Application) -> None:
    assert fake.webhook_public_key is not None
    app[RECEIVER_KEY].verifier = WebhookVerifier(
        ed25519_public_key=fake.webhook_public_key, app_id=fake.app_id
    )


async def _consent(fake: FakeHighLevel, url: str) -> str:
    params = {"response_type": "code", "client_id": fake.client_id}
    async with (
        aiohttp.ClientSession() as http,
        http.get(url, params=params, allow_redirects=False) as response,
    ):
        assert response.status == 302
        return response.headers["Location"]


async def test_installs_and_uninstalls_send_app_events() -> None:
    async with receiver() as (url, app, got), FakeHighLevel(webhook_url=url) as fake:
        await _verified_receiver(fake, app)
        other = fake.add_location()
        await _consent(fake, fake.chooser_url)  # Location install on the default location
        await _consent(fake, fake.chooser_url)  # already installed: no second INSTALL
        await _consent(fake, fake.chooser_url_for("Company"))
        fake.issue_code(location_id=other)  # a consent too
        token = fake.issue_token()
        assert fake.uninstall() == 1
        assert fake.uninstall(company=True) == 0
        assert sorted(fake.installs) == [f"location:{other}"]
        await fake.webhooks.drain()  # type: ignore[union-attr]
        await app[RECEIVER_KEY].join()
        bodies = [msgspec.json.decode(d.body) for d in fake.webhooks.deliveries]  # type: ignore[union-attr]
        # The uninstalled location's OAuth token died with the install.
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                fake.url("/contacts/"),
                params={"locationId": fake.location_id},
                headers=fake.headers(token.access_token),
            ) as response,
        ):
            assert response.status == 401
    assert [type(event).__name__ for event in got] == [
        "AppInstall",
        "AppInstall",
        "AppInstall",
        "AppUninstall",
        "AppUninstall",
    ]
    location_install, agency_install, other_install, uninstalled, agency_gone = got
    assert isinstance(location_install, AppInstall)
    assert (location_install.location_id, location_install.company_id) == (
        fake.location_id,
        fake.company_id,
    )
    assert location_install.app_id == fake.app_id
    assert location_install.install_type == "Location"
    assert isinstance(agency_install, AppInstall)
    assert (agency_install.location_id, agency_install.company_id) == (None, fake.company_id)
    assert "locationId" not in bodies[1]  # an agency-level event names no location
    assert set(bodies[1]) >= {"type", "appId", "companyId", "planId", "trial"}
    assert other_install.location_id == other
    assert isinstance(uninstalled, AppUninstall)
    assert uninstalled.location_id == fake.location_id
    assert set(bodies[3]) == {"type", "appId", "locationId", "timestamp", "webhookId"}
    assert isinstance(agency_gone, AppUninstall)
    assert (agency_gone.company_id, agency_gone.location_id) == (fake.company_id, None)
    assert "locationId" not in bodies[4]


async def test_agency_uninstall_kills_minted_location_tokens() -> None:
    async with FakeHighLevel() as fake, aiohttp.ClientSession() as http:
        agency = fake.issue_token(user_type="Company")
        async with http.post(
            fake.url("/oauth/locationToken"),
            data={"companyId": fake.company_id, "locationId": fake.location_id},
            headers=fake.headers(agency.access_token),
        ) as response:
            minted = (await response.json())["access_token"]
        assert fake.uninstall(company=True) == 2
        async with http.get(
            fake.url("/contacts/"),
            params={"locationId": fake.location_id},
            headers=fake.headers(minted),
        ) as response:
            assert response.status == 401
        async with http.get(
            fake.url("/contacts/"), params={"locationId": fake.location_id}, headers=fake.headers()
        ) as response:
            assert response.status == 200  # the private token is not an install
        with pytest.raises(ValueError, match="not both"):
            fake.uninstall(fake.location_id, company=True)
        with pytest.raises(ValueError, match="unknown location"):
            fake.uninstall("nowhere")


async def test_public_key_route() -> None:
    path = "/.well-known/ghl-fake/webhook-public-key"
    async with (
        FakeHighLevel() as fake,
        aiohttp.ClientSession() as http,
        http.get(fake.url(path)) as response,
    ):
        assert response.status == 404
        assert "webhook_url" in (await response.json())["message"]
    async with (
        receiver() as (url, _, _),
        FakeHighLevel(webhook_url=url) as fake,
        aiohttp.ClientSession() as http,
        http.get(fake.url(path + "/")) as response,
    ):
        assert response.status == 200
        assert response.content_type == "application/x-pem-file"
        assert await response.text() == fake.webhook_public_key

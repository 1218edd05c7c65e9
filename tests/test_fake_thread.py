"""FakeHighLevel on a background thread, driven from sync code; lifecycle edge cases."""

from __future__ import annotations

import asyncio
import socket
import threading

import aiohttp
import pytest
from aiohttp import web

from ghl_async import models as m
from ghl_async.testing import FakeHighLevel


async def _get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as response:
        return response.status, await response.json()


def test_sync_code_drives_a_threaded_fake() -> None:
    with FakeHighLevel.serve_in_thread(rate_limit=None, seed=7) as fake:
        assert fake.base_url.startswith("http://127.0.0.1:")
        ids = fake.seed_contacts(5, tags=["t1"])
        assert len(fake.contacts) == 5
        assert set(fake.contacts) == set(ids)
        first = fake.contacts[ids[0]]
        assert isinstance(first, m.Contact)
        with pytest.raises(KeyError):
            _ = fake.contacts["missing"]
        fake.fail("contacts.get", status=502)
        status, _ = asyncio.run(_get(fake.url(f"/contacts/{ids[0]}"), fake.headers()))
        assert status == 502
        status, body = asyncio.run(_get(fake.url(f"/contacts/{ids[0]}"), fake.headers()))
        assert status == 200
        assert body["contact"]["id"] == ids[0]  # type: ignore[index]
        assert fake.count(operation="contacts.get") == 2
        assert fake.find_contacts(tag="t1", location_id=fake.location_id)[0].id == ids[0]
        assert fake.find_contacts(phone=first.phone)[0].id == ids[0]
        assert fake.find_contacts(tag="none") == []
        assert fake.find_contacts(location_id="elsewhere") == []
        assert fake.issue_code()
        assert fake.expire_tokens() == 0
        fake.reset_log()
        assert fake.requests == []


def test_knobs_race_with_traffic() -> None:
    """Seeding and knobs from the test thread while a client hammers the server."""
    with FakeHighLevel.serve_in_thread(rate_limit=None) as fake:
        fake.seed_contacts(50)
        params = {"locationId": fake.location_id, "limit": "100"}
        stop = threading.Event()
        statuses: list[int] = []

        async def hammer() -> None:
            async with aiohttp.ClientSession(headers=fake.headers()) as session:
                while not stop.is_set():
                    async with session.get(fake.url("/contacts/"), params=params) as response:
                        statuses.append(response.status)
                        await response.read()

        client = threading.Thread(target=lambda: asyncio.run(hammer()))
        client.start()
        try:
            for _ in range(20):
                fake.seed_contacts(100, tasks=0, notes=0, appointments=0)
                fake.set_allow_duplicates(True)
                _ = fake.find_contacts(business_id="biz_1")
        finally:
            stop.set()
            client.join(30)
        assert statuses
        assert set(statuses) == {200}
        assert len(fake.contacts) == 2050


def test_lifecycle_errors() -> None:
    fake = FakeHighLevel().start_in_thread()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            fake.start_in_thread()
    finally:
        fake.stop_in_thread()
    fake.stop_in_thread()  # idempotent

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=r"(?i)in use"):
            FakeHighLevel(port=port).start_in_thread()


async def test_in_process_lifecycle() -> None:
    fake = FakeHighLevel()
    async with fake:
        with pytest.raises(RuntimeError, match="already serving"):
            await fake.start()
        assert repr(fake).startswith(f"FakeHighLevel({fake.base_url}")
    await fake.aclose()  # idempotent


async def test_app_served_by_someone_else() -> None:
    """The STYLE.md pattern: serve ``fake.app`` yourself and tell the fake its URL."""
    fake = FakeHighLevel()
    runner = web.AppRunner(fake.app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        host, port = runner.addresses[0][:2]
        fake.base_url = f"http://{host}:{port}/"
        assert fake.base_url == f"http://{host}:{port}"
        contact_id = fake.seed_contacts(1)[0]
        status, _ = await _get(fake.url(f"/contacts/{contact_id}"), fake.headers())
        assert status == 200
    finally:
        await runner.cleanup()


def test_deterministic_identity_and_data() -> None:
    one, two, other = FakeHighLevel(seed=1), FakeHighLevel(seed=1), FakeHighLevel(seed=2)
    assert (one.client_id, one.location_id, one.company_id) == (
        two.client_id,
        two.location_id,
        two.company_id,
    )
    assert one.client_id != other.client_id
    assert one.client_id.split("-")[0] == one.app_id
    assert one.client_secret != two.client_secret  # secrets stay random
    assert one.seed_contacts(3, seed=5) == two.seed_contacts(3, seed=5)
    assert [c.email for c in one.find_contacts()] == [c.email for c in two.find_contacts()]
    custom = FakeHighLevel(client_id="abc-def", location_id="loc1", company_id="co1")
    assert (custom.app_id, custom.location_id, custom.company_id) == ("abc", "loc1", "co1")
    assert custom.add_location("loc2", name="Second") == "loc2"
    assert custom.add_location("loc2") == "loc2"  # existing locations are kept
    assert custom.store.locations["loc2"].name == "Second"

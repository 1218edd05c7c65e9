"""The ``fake_highlevel`` pytest fixture that installing the package provides (pytest11)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SYNC_TEST = """
import asyncio

import aiohttp
import pytest


async def fetch(url, headers):
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers=headers) as response:
            return response.status, await response.json()


def test_sync_code_can_use_the_fake(fake_highlevel):
    ids = fake_highlevel.seed_contacts(3)
    status, body = asyncio.run(
        fetch(fake_highlevel.url(f"/contacts/{ids[0]}"), fake_highlevel.headers())
    )
    assert status == 200
    assert body["contact"]["id"] == ids[0]
    assert fake_highlevel.count(operation="contacts.get") == 1


@pytest.mark.fake_highlevel(rate_limit=None, allow_duplicates=True, location_id="loc_marked")
def test_marker_configures_the_fake(fake_highlevel):
    assert fake_highlevel.location_id == "loc_marked"
    assert fake_highlevel.limiter.rule is None
    assert fake_highlevel.store.locations["loc_marked"].allow_duplicates


def test_each_test_gets_a_fresh_fake(fake_highlevel):
    assert fake_highlevel.requests == []
    assert len(fake_highlevel.contacts) == 0
"""

ASYNC_TEST = """
import asyncio

import aiohttp
import pytest

from ghl_async.ratelimit import RateLimit


async def test_async_code_can_use_the_fake(fake_highlevel):
    fake_highlevel.fail("contacts.list", status=503)
    params = {"locationId": fake_highlevel.location_id}
    async with aiohttp.ClientSession(headers=fake_highlevel.headers()) as session:
        async with session.get(fake_highlevel.url("/contacts/"), params=params) as first:
            assert first.status == 503
        async with session.get(fake_highlevel.url("/contacts/"), params=params) as second:
            assert second.status == 200


async def test_fixture_client(fake_highlevel):
    ids = fake_highlevel.seed_contacts(2)
    async with fake_highlevel.client() as ghl:
        contact = await ghl.contacts.get(ids[0])
    assert contact.id == ids[0]


@pytest.mark.fake_highlevel(rate_limit=None)
async def test_fixture_client_follows_the_marker(fake_highlevel):
    contact_id = fake_highlevel.seed_contacts(1)[0]
    assert fake_highlevel.client_rate_limit() is RateLimit.unlimited()
    async with fake_highlevel.client() as ghl:
        # A client keeping 100 per 10 s would need ~10 s for these.
        calls = asyncio.gather(*(ghl.contacts.get(contact_id) for _ in range(130)))
        assert len(await asyncio.wait_for(calls, 8)) == 130
"""


INI = "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"


def test_fixture_works_in_sync_tests(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_sync=SYNC_TEST)
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_fixture_works_in_async_tests(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_async=ASYNC_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_marker_is_registered(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines(["*fake_highlevel(**options)*"])

"""Client settings, lifecycle, siblings and a caller's own aiohttp session."""

from __future__ import annotations

import asyncio
import gc
import time
import warnings

import aiohttp
import pytest
from client_helpers import make_client

import ghl_async
from ghl_async import Client, RateLimit, StaticToken
from ghl_async.errors import ConfigError
from ghl_async.testing import FakeHighLevel

AUTH = StaticToken("tok")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"auth": object()},
        {"base_url": "services.leadconnectorhq.com"},
        {"base_url": "ftp://x"},
        {"base_url": "https://x\n"},
        {"version": ""},
        {"version": 20210728},
        {"location_id": ""},
        {"location_id": "a/b"},
        {"location_id": 5},
        {"company_id": "c?d"},
        {"timeout": 0},
        {"timeout": -1.0},
        {"timeout": "30"},
        {"max_retries": -1},
        {"max_retries": 1.5},
        {"max_retries": True},
        {"max_retries": 1000},
        {"backoff_base": -0.1},
        {"backoff_max": "1"},
        {"retry_after_cap": None},
        {"rate_limit": "100/10"},
        {"rate_limit": (100, 10)},
        {"session": "not a session"},
        {"connector_limit": -1},
        {"connector_limit_per_host": 1.5},
        {"user_agent": ""},
        {"user_agent": "evil\r\nX-Injected: 1"},
    ],
)
def test_bad_settings_raise_config_error_before_any_io(kwargs: dict[str, object]) -> None:
    options: dict[str, object] = {"auth": AUTH, **kwargs}
    with pytest.raises(ConfigError):
        Client(**options)  # type: ignore[arg-type]  # deliberately wrong settings
    assert issubclass(ConfigError, ValueError)


async def test_connector_limits_only_for_our_own_session() -> None:
    async with aiohttp.ClientSession() as mine:
        with pytest.raises(ConfigError, match="connector"):
            Client(auth=AUTH, session=mine, connector_limit=5)


def test_settings_are_kept() -> None:
    client = Client(
        auth=AUTH, location_id="loc", company_id="comp", base_url="http://127.0.0.1:1/",
        timeout=aiohttp.ClientTimeout(total=7), max_retries=0,
    )  # fmt: skip
    assert (client.location_id, client.company_id, client.base_url) == (
        "loc", "comp", "http://127.0.0.1:1",
    )  # fmt: skip
    assert client.timeout.total == 7
    assert client.max_retries == 0
    assert Client(auth=AUTH, timeout=3).timeout == aiohttp.ClientTimeout(total=3, connect=3)
    assert Client(auth=AUTH).timeout == aiohttp.ClientTimeout(total=30, connect=5)
    assert "tok" not in repr(client)
    assert "state='new'" in repr(client)


async def test_enter_once_close_cleanly(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    ghl = make_client(fake)
    with pytest.raises(RuntimeError, match="not open"):
        await ghl.contacts.get(cid)
    async with ghl as entered:
        assert entered is ghl
        assert (await ghl.contacts.get(cid)).id == cid
        with pytest.raises(RuntimeError, match="already open"):
            await ghl.__aenter__()
    assert ghl.closed
    with pytest.raises(RuntimeError, match="closed"):
        await ghl.contacts.get(cid)
    with pytest.raises(RuntimeError, match="already closed"):
        await ghl.__aenter__()
    await ghl.aclose()  # idempotent


async def test_closing_leaves_no_resource_warnings(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            async with make_client(fake) as ghl:
                await asyncio.gather(*(ghl.contacts.get(cid) for _ in range(5)))
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


async def test_a_callers_session_is_used_and_never_closed(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    async with aiohttp.ClientSession(headers={"X-Mine": "1"}) as mine:
        auth = StaticToken(fake.private_token)
        async with Client(auth=auth, location_id=fake.location_id, base_url=fake.base_url,
                          session=mine) as ghl:  # fmt: skip
            assert (await ghl.contacts.get(cid)).id == cid  # Version etc. sent per request
            await ghl.contacts.create(email="mine@example.com")
        assert not mine.closed
        async with mine.get(fake.base_url + f"/contacts/{cid}", headers=fake.headers()) as r:
            assert r.status == 200


async def test_siblings_share_session_buckets_and_tokens(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    other_location = fake.add_location()
    async with make_client(fake, rate_limit=RateLimit(requests=3, period=0.4)) as ghl:
        patient = ghl.with_options(max_retries=0, timeout=5.0)
        assert (patient.max_retries, patient.timeout.total) == (0, 5.0)
        assert (ghl.max_retries, ghl.timeout.total) == (3, 30.0)
        assert patient.location_id == ghl.location_id
        moved = ghl.with_options(location_id=other_location)
        assert moved.location_id == other_location
        assert ghl.with_options(location_id=None).location_id is None
        async with patient as same:  # a no-op that checks the parent is open
            assert same is patient
        await patient.aclose()  # does not close the parent
        # One bucket: 3 calls through either client fill it; the 4th waits for the window.
        start = time.monotonic()
        await asyncio.gather(ghl.contacts.get(cid), patient.contacts.get(cid),
                             patient.contacts.get(cid), ghl.contacts.get(cid))  # fmt: skip
        assert time.monotonic() - start >= 0.35
        assert "tok" not in repr(patient)
    with pytest.raises(RuntimeError, match="closed"):
        await patient.contacts.get(cid)
    with pytest.raises(RuntimeError):
        await patient.__aenter__()


async def test_connector_limit_bounds_concurrency(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    fake.delay("contacts.get", 0.15, times=None)
    auth = StaticToken(fake.private_token)
    async with Client(auth=auth, location_id=fake.location_id, base_url=fake.base_url,
                      connector_limit=2) as ghl:  # fmt: skip
        start = time.monotonic()
        await asyncio.gather(*(ghl.contacts.get(cid) for _ in range(6)))
        assert time.monotonic() - start >= 0.4  # three rounds of two


def test_public_names_exist() -> None:
    for name in ghl_async.__all__:
        assert hasattr(ghl_async, name), name
    for required in ("Client", "StaticToken", "OAuthApp", "RateLimit", "RateLimitInfo",
                     "Contact", "GHLError", "AmbiguousWriteError", "ConfigError"):  # fmt: skip
        assert required in ghl_async.__all__
    assert len(set(ghl_async.__all__)) == len(ghl_async.__all__)

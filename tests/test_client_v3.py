"""API v3 on the client: ``ghl.v3.contacts`` beside ``ghl.contacts``, v3 OAuth, installed locations.

Everything over a real socket against FakeHighLevel, which picks its handler set by each
request's ``Version`` header, so the request log shows which version each call spoke.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import aiohttp
import pytest
from client_helpers import make_client

import ghl_async
from ghl_async import (
    AiohttpTokenTransport,
    Client,
    ConfigError,
    NotFoundError,
    OAuthApp,
    ReauthorizationRequired,
    StaticToken,
    UnprocessableEntityError,
)
from ghl_async.auth import MemoryTokenStore
from ghl_async.models import DndSettingInput, DndSettingsInput, SearchFilter
from ghl_async.models_oauth import InstalledLocationsQueryV3
from ghl_async.models_v3 import DndSettingsInputV3
from ghl_async.testing import FakeHighLevel


@pytest.fixture
async def fake() -> AsyncIterator[FakeHighLevel]:
    async with FakeHighLevel() as fake:
        yield fake


def _versions(fake: FakeHighLevel) -> list[tuple[str, str | None]]:
    return [(r.operation, r.version) for r in fake.requests]


async def test_v2_and_v3_side_by_side_on_one_client(fake: FakeHighLevel) -> None:
    async with make_client(fake) as ghl:
        made = await ghl.v3.contacts.create(
            first_name="Ada",
            email="ada@alpha.example",
            dnd_settings=DndSettingsInputV3(whatsapp=DndSettingInput(status="active")),
        )
        assert made.first_name == "Ada"
        assert made.dnd_settings is not None
        assert set(made.dnd_settings) == {"whatsApp"}  # v3 keys on the way back
        same = await ghl.contacts.get(made.id)  # the same contact through v2
        assert same.dnd_settings is not None
        assert set(same.dnd_settings) == {"WhatsApp"}
        updated = await ghl.v3.contacts.update(made.id, last_name="King", tags=["x"])
        assert (updated.last_name, updated.tags) == ("King", ["x"])
        assert (await ghl.v3.contacts.find_duplicate(email="ada@alpha.example")) == updated
        assert (await ghl.v3.contacts.remove_from_all_campaigns(made.id)).ok
        bundle = await ghl.v3.contacts.get_bundle(made.id)  # the composition works on v3 too
        assert bundle.contact.id == made.id
        assert (await ghl.v3.contacts.delete(made.id)).ok
        with pytest.raises(NotFoundError) as missing:  # v3's 404 NotFoundDTO
            await ghl.v3.contacts.get(made.id)
        assert missing.value.status == 404
        assert missing.value.operation == "v3.contacts.get"
        with pytest.raises(NotFoundError) as old:  # v2 answers 400 "... not found"
            await ghl.contacts.get(made.id)
        assert old.value.status == 400
        # One location, one budget: both versions' calls count against the same window.
        assert list(ghl.rate_limits) == [fake.location_id]
    log = _versions(fake)
    assert ("v3.contacts.create", "v3") in log
    assert ("contacts.get", "2021-07-28") in log
    assert ("v3.contacts.remove_from_all_campaigns", "v3") in log
    removal = "v3.contacts.remove_from_all_campaigns"
    paths = {r.path for r in fake.requests if r.operation == removal}
    assert paths == {f"/contacts/{made.id}/campaigns/remove-all"}
    assert all(version == ("v3" if op.startswith("v3.") else "2021-07-28") for op, version in log)


async def test_v3_bodies_refuse_v2_dnd_keys_before_sending(fake: FakeHighLevel) -> None:
    async with make_client(fake) as ghl:
        with pytest.raises(ConfigError, match="invalid request body"):
            await ghl.v3.contacts.create(
                email="a@b.example",
                dnd_settings=DndSettingsInput(email=DndSettingInput(status="active")),  # type: ignore[arg-type]  # deliberately the v2 model
            )
    assert fake.requests == []


async def test_v3_business_walk_continues_by_start_after(fake: FakeHighLevel) -> None:
    ids = set(fake.seed_contacts(23, business_id="biz_9"))
    async with make_client(fake) as ghl:
        walked = [c async for c in ghl.v3.contacts.iter_by_business("biz_9", limit=5)]
        page = await ghl.v3.contacts.list_by_business("biz_9", limit=5, page=2)
    assert {c.id for c in walked} == ids
    assert len(walked) == 23
    names = [((c.contact_name or "").lower(), c.id) for c in walked]
    assert names == sorted(names)  # v3 orders by name, then id
    assert [c.id for c in page.contacts] == [c.id for c in walked[5:10]]
    queries = [parse_qs(r.query) for r in fake.requests if r.operation.endswith("list_by_business")]
    assert "startAfter" not in queries[0]
    assert queries[0]["skip"] == ["0"]
    for query in queries[1:5]:
        assert "skip" not in query
        assert len(query["startAfter"]) == 2  # [name, id] as two parameters
    assert queries[5] == {"locationId": [fake.location_id], "limit": ["5"], "skip": ["5"]}


async def test_v3_business_walk_resumes_after_a_saved_key(fake: FakeHighLevel) -> None:
    fake.seed_contacts(7, business_id="biz_2")
    async with make_client(fake) as ghl:
        full = [c async for c in ghl.v3.contacts.iter_by_business("biz_2", limit=3)]
        first = await ghl.v3.contacts.list_by_business("biz_2", limit=3)
        key = first.start_after_key()
        assert key is not None
        rest = [c async for c in ghl.v3.contacts.iter_by_business("biz_2", start_after=key)]
        with pytest.raises(ConfigError, match=r"\[name, id\]"):
            ghl.v3.contacts.iter_by_business("biz_2", start_after=["only-one"])
    assert [*first.contacts, *rest] == full
    assert len(rest) == 4


async def test_v3_search_walk(fake: FakeHighLevel) -> None:
    fake.seed_contacts(12, tags=["vip"])
    async with make_client(fake) as ghl:
        vip = SearchFilter(field="tags", operator="contains", value="vip")
        found = [c async for c in ghl.v3.contacts.iter_search(filters=[vip], page_limit=5)]
    assert len(found) == 12
    assert {r.version for r in fake.requests} == {"v3"}


async def test_unknown_versions_are_config_errors(fake: FakeHighLevel) -> None:
    auth = StaticToken(fake.private_token)
    with pytest.raises(ConfigError, match=r"ghl\.v3\.contacts"):
        Client(auth=auth, version="v3")
    with pytest.raises(ConfigError, match="not accepted"):
        Client(auth=auth, version="2023-02-21")
    with pytest.raises(ConfigError, match="unknown API version 'v4'"):
        OAuthApp(client_id="a", client_secret="b", store=MemoryTokenStore(), api_version="v4")  # type: ignore[arg-type]  # deliberately wrong
    async with aiohttp.ClientSession() as http:
        with pytest.raises(ConfigError, match="unknown API version"):
            AiohttpTokenTransport(http, version="2021-07-29")
    with pytest.raises(ConfigError, match="unknown API version"):
        fake.headers(version="v2")
    assert fake.headers(version="v3")["Version"] == "v3"
    assert Client(auth=auth, version="2021-07-28").base_url == ghl_async.defaults.BASE_URL


async def test_oauth_app_speaks_v3_token_requests(fake: FakeHighLevel) -> None:
    app = fake.oauth_app(api_version="v3")
    assert "api_version='v3'" in repr(app)
    token = await app.exchange_code(fake.issue_code(), base_url=fake.base_url)
    assert token.location_id == fake.location_id
    async with make_client(fake, auth=app) as ghl:
        fake.expire_tokens()
        # Concurrent calls with an expired token: one refresh (single-flight), then all succeed.
        await asyncio.gather(*(ghl.v3.contacts.tasks.list(i) for i in fake.seed_contacts(4)))
        refreshed = await app.store.load(f"location:{fake.location_id}")
        assert refreshed is not None
        assert refreshed.refresh_token != token.refresh_token  # the new pair was saved
    tokens = [r for r in fake.requests if r.operation == "oauth.token"]
    assert [(r.version, r.status) for r in tokens] == [("v3", 200), ("v3", 200)]
    fake.revoke_tokens(private=False)
    async with make_client(fake, auth=app) as ghl:
        # 401, then the refresh meets v3's 400 "Invalid grant: ...".
        with pytest.raises(ReauthorizationRequired, match="Invalid grant"):
            await ghl.v3.contacts.tasks.list(fake.seed_contacts(1)[0])


async def test_v3_agency_mints_location_tokens_by_the_v3_route(fake: FakeHighLevel) -> None:
    app = fake.oauth_app("Company", api_version="v3")
    await app.exchange_code(fake.issue_code(user_type="Company"), base_url=fake.base_url)
    other = fake.add_location("loc_other_v3")
    async with make_client(fake, auth=app) as ghl:
        tasks = await ghl.v3.contacts.tasks.list(fake.seed_contacts(1, tasks=2)[0])
        assert len(tasks) == 2
        await ghl.with_options(location_id=other).v3.contacts.create(email="x@y.example")
    mints = [(r.operation, r.version, r.path) for r in fake.requests if "location" in r.operation]
    assert mints == [
        ("v3.oauth.location_token", "v3", "/oauth/location-token"),
        ("v3.oauth.location_token", "v3", "/oauth/location-token"),
    ]


async def test_installed_locations_walk_both_versions(fake: FakeHighLevel) -> None:
    extra = {fake.add_location(f"loc_{i}") for i in range(4)}
    fake.issue_code(location_id="loc_2")  # installs the app there
    app = fake.oauth_app("Company")
    await app.exchange_code(fake.issue_code(user_type="Company"), base_url=fake.base_url)
    everyone = {fake.location_id, *extra}
    async with make_client(fake, auth=app) as ghl:
        v3 = [
            loc
            async for loc in ghl.v3.oauth.iter_installed_locations(
                company_id=fake.company_id, app_id=fake.app_id, page_size=2
            )
        ]
        v2 = [
            loc
            async for loc in ghl.oauth.iter_installed_locations(
                company_id=fake.company_id, app_id=fake.app_id, limit=2
            )
        ]
        installed = await ghl.v3.oauth.list_installed_locations(
            company_id=fake.company_id, app_id=fake.app_id, is_installed=True
        )
        # The AIP envelope of v3 errors becomes an ordinary APIError with its message, and its
        # code, details and resolution as attributes (the resolution is in the text too).
        with pytest.raises(NotFoundError, match="App 'nope' was not found") as missing:
            await ghl.v3.oauth.list_installed_locations(company_id=fake.company_id, app_id="nope")
        assert missing.value.code == "RESOURCE_NOT_FOUND"
        assert missing.value.error == "RESOURCE_NOT_FOUND"
        assert missing.value.details == {"resource": "App", "identifier": "nope"}
        assert missing.value.resolution == (
            "Verify the App exists and you have permission to access it."
        )
        assert "(Verify the App exists" in str(missing.value)
        with pytest.raises(ConfigError, match="page_token"):
            ghl.v3.oauth.iter_installed_locations(
                company_id=fake.company_id, app_id=fake.app_id, page_token=""
            )
    assert {loc.id for loc in v3} == everyone == {loc.id for loc in v2}
    assert len(v3) == len(v2) == 5
    assert {loc.id for loc in installed.items} == {"loc_2"}  # the one location install
    assert installed.pagination.total_records == 1
    tokens = [parse_qs(r.query).get("pageToken") for r in fake.requests if r.version == "v3"]
    assert tokens[:3] == [None, tokens[1], tokens[2]]
    assert tokens[1] is not None
    assert tokens[2] is not None
    assert tokens[1] != tokens[2]
    # Agency routes go out with the company token, never a location's.
    assert {r.location_id for r in fake.requests if "installed" in r.operation} == {None}


async def test_installed_locations_need_an_agency_token(fake: FakeHighLevel) -> None:
    async with make_client(fake) as ghl:  # a location's private token
        with pytest.raises(ghl_async.AuthenticationError, match="not authorized for this scope"):
            await ghl.v3.oauth.list_installed_locations(
                company_id=fake.company_id, app_id=fake.app_id
            )
    app = fake.oauth_app("Company")
    await app.exchange_code(fake.issue_code(user_type="Company"), base_url=fake.base_url)
    async with make_client(fake, auth=app) as ghl:
        # The escape hatch skips the facade's checks; the fake's 422 arrives as the error.
        with pytest.raises(UnprocessableEntityError, match="pageSize"):
            await ghl.call(
                ghl_async.routes.V3_LIST_INSTALLED_LOCATIONS,
                query=InstalledLocationsQueryV3(
                    company_id=fake.company_id, app_id=fake.app_id, page_size=500
                ),
            )

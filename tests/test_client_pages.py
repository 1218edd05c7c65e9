"""Page iteration (``iter_*_pages``) for every paged route kind, and offset access (``skip=``),
against the fake over real sockets: offset (business listing, v2 installed locations), cursor
(``GET /contacts/``), search (past the 10,000-record ceiling), keyset (v3 business listing) and
token (v3 installed locations)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import msgspec
import pytest

from ghl_async import Client, ConfigError, ContactsPage, PageResponse
from ghl_async.models_oauth import InstalledLocationsPage, InstalledLocationsPageV3
from ghl_async.pagination import CursorPage, KeysetPage, OffsetPage, SearchPage, TokenPage
from ghl_async.testing import FakeHighLevel


@pytest.fixture
async def ghl(fake: FakeHighLevel) -> AsyncIterator[Client]:
    async with fake.client() as client:
        yield client


async def _every(ghl: Client, version: str = "v2") -> list[str]:
    ns = ghl.v3.contacts if version == "v3" else ghl.contacts
    return [c.id async for c in ns.iter_by_business("biz_1")]


async def test_offset_pages_and_any_skip(fake: FakeHighLevel, ghl: Client) -> None:
    fake.seed_contacts(23, tasks=0, notes=0, appointments=0)
    everyone = await _every(ghl)
    pages: list[PageResponse[ContactsPage]] = [
        p async for p in ghl.contacts.iter_by_business_pages("biz_1", limit=10)
    ]
    assert [p.number for p in pages] == [1, 2, 3]
    assert repr(pages[0]) == (
        "PageResponse(operation='contacts.list_by_business', number=1, status=200)"
    )
    assert [len(p.items) for p in pages] == [10, 10, 3]
    assert {p.total_count for p in pages} == {23}
    assert [p.state for p in pages] == [OffsetPage(10, 0), OffsetPage(10, 10), OffsetPage(10, 20)]
    assert [p.next_state for p in pages] == [OffsetPage(10, 10), OffsetPage(10, 20), None]
    assert [c.id for p in pages for c in p.items] == everyone
    assert all(p.status == 200 and p.attempts == 1 for p in pages)
    assert pages[0].data.count == 23
    # Any offset, not only multiples of the limit: one page, and a walk from there.
    page = await ghl.contacts.list_by_business("biz_1", limit=5, skip=7)
    assert [c.id for c in page.items] == everyone[7:12]
    rest = [c.id async for c in ghl.contacts.iter_by_business("biz_1", limit=4, skip=13)]
    assert rest == everyone[13:]
    skips = [parse_qs(r.query)["skip"] for r in fake.requests[-3:]]
    assert skips == [["13"], ["17"], ["21"]]
    # Resume a walk from a page's next_state.
    after = pages[0].next_state
    assert isinstance(after, OffsetPage)
    resumed = [
        c.id async for c in ghl.contacts.iter_by_business("biz_1", limit=after.limit,
                                                          skip=after.skip)
    ]  # fmt: skip
    assert resumed == everyone[10:]
    beyond = await ghl.contacts.list_by_business("biz_1", skip=500)
    assert beyond.items == []
    with pytest.raises(ConfigError, match="page= or skip="):
        await ghl.contacts.list_by_business("biz_1", page=2, skip=3)
    with pytest.raises(ConfigError, match="cannot be negative"):
        ghl.contacts.iter_by_business_pages("biz_1", skip=-1)


async def test_keyset_pages_v3(fake: FakeHighLevel, ghl: Client) -> None:
    fake.seed_contacts(12, tasks=0, notes=0, appointments=0)
    everyone = await _every(ghl, "v3")
    pages = [p async for p in ghl.v3.contacts.iter_by_business_pages("biz_1", limit=5)]
    assert [len(p.items) for p in pages] == [5, 5, 2]
    assert [c.id for p in pages for c in p.items] == everyone
    first, second, _ = pages
    assert first.state == KeysetPage(5)
    assert isinstance(second.state, KeysetPage)
    assert second.state.start_after == tuple(first.data.start_after_key() or ())
    assert pages[-1].next_state is None
    queries = [parse_qs(r.query) for r in fake.requests[-3:]]
    assert queries[0]["skip"] == ["0"]
    assert "startAfter" in queries[1]
    assert "skip" not in queries[1]
    # Any first offset, then the keyset takes over.
    rest = [c.id async for c in ghl.v3.contacts.iter_by_business("biz_1", limit=4, skip=3)]
    assert rest == everyone[3:]
    page = await ghl.v3.contacts.list_by_business("biz_1", limit=2, skip=9)
    assert [c.id for c in page.items] == everyone[9:11]
    # Resume from a page's cursor.
    cursor = first.data.start_after_key()
    assert cursor is not None
    resumed = [c.id async for c in ghl.v3.contacts.iter_by_business("biz_1", start_after=cursor)]
    assert resumed == everyone[5:]
    with pytest.raises(ConfigError, match="skip= or start_after="):
        ghl.v3.contacts.iter_by_business_pages("biz_1", skip=1, start_after=cursor)


async def test_cursor_pages(fake: FakeHighLevel, ghl: Client) -> None:
    fake.seed_contacts(9, tasks=0, notes=0, appointments=0)
    items = [c.id async for c in ghl.contacts.iter(limit=4)]
    pages = [p async for p in ghl.contacts.iter_pages(limit=4)]
    assert [len(p.items) for p in pages] == [4, 4, 1]
    assert [c.id for p in pages for c in p.items] == items
    assert pages[0].state == CursorPage(4)
    following = pages[0].next_state
    assert isinstance(following, CursorPage)
    assert following.start_after_id == pages[0].data.cursor_after()[0]
    assert pages[1].state == following
    resumed = [
        c.id async for c in ghl.contacts.iter(
            limit=4, start_after_id=following.start_after_id, start_after=following.start_after
        )
    ]  # fmt: skip
    assert resumed == items[4:]


@pytest.mark.fake_highlevel(rate_limit=None, log_payloads=True)
async def test_search_pages_cross_the_ceiling(fake: FakeHighLevel, ghl: Client) -> None:
    fake.seed_contacts(10_600, tasks=0, notes=0, appointments=0, custom_fields=False)
    pages = [p async for p in ghl.contacts.iter_search_pages(page_limit=500, page=19)]
    states = [p.state for p in pages]
    assert isinstance(states[0], SearchPage)
    # Records 9,001-10,000 by page number, then 10,001-10,600 by cursor (a short page ends it).
    assert [s.page for s in states if isinstance(s, SearchPage)] == [19, 20, None, None]
    cursors = [s.search_after for s in states if isinstance(s, SearchPage)]
    assert cursors[:2] == [None, None]
    assert cursors[2] == pages[1].data.search_after_cursor()
    assert [len(p.items) for p in pages] == [500, 500, 500, 100]
    ids = [c.id for p in pages for c in p.items]
    assert len(ids) == len(set(ids)) == 10_600 - 18 * 500
    assert all(p.total_count == 10_600 for p in pages)
    searches = [r for r in fake.requests if r.operation == "contacts.search"]
    bodies = [msgspec.json.decode(r.body) for r in searches]
    assert [b.get("page") for b in bodies][:3] == [19, 20, None]
    assert "searchAfter" in bodies[2]
    assert "searchAfter" not in bodies[1]
    # Resume past the ceiling from a page's next_state.
    cursor = pages[2].next_state
    assert isinstance(cursor, SearchPage)
    assert cursor.search_after is not None
    rest = [c.id async for c in ghl.contacts.iter_search(page_limit=500,
                                                          search_after=cursor.search_after)]
    assert rest == ids[1_500:]
    with pytest.raises(ConfigError, match="continue with search_after"):
        ghl.contacts.iter_search_pages(page_limit=500, page=21)
    with pytest.raises(ConfigError, match="page= or search_after="):
        await ghl.v3.contacts.search(page=2, search_after=cursor.search_after)


async def test_search_pages_v3(fake: FakeHighLevel, ghl: Client) -> None:
    fake.seed_contacts(7, tasks=0, notes=0, appointments=0)
    pages = [p async for p in ghl.v3.contacts.iter_search_pages(page_limit=3)]
    assert [len(p.items) for p in pages] == [3, 3, 1]
    assert [p.state for p in pages] == [SearchPage(3, 1), SearchPage(3, 2, seen=3),
                                        SearchPage(3, 3, seen=6)]  # fmt: skip
    assert {r.version for r in fake.requests if r.operation == "v3.contacts.search"} == {"v3"}


async def test_installed_location_pages_both_versions(fake: FakeHighLevel) -> None:
    for i in range(4):
        fake.add_location(f"loc_{i}")
    app = fake.oauth_app("Company")
    await app.exchange_code(fake.issue_code(user_type="Company"), base_url=fake.base_url)
    async with fake.client(auth=app, location_id=None) as ghl:
        v3: list[PageResponse[InstalledLocationsPageV3]] = [
            p async for p in ghl.v3.oauth.iter_installed_locations_pages(
                company_id=fake.company_id, app_id=fake.app_id, page_size=2
            )
        ]  # fmt: skip
        v2: list[PageResponse[InstalledLocationsPage]] = [
            p async for p in ghl.oauth.iter_installed_locations_pages(
                company_id=fake.company_id, app_id=fake.app_id, limit=2
            )
        ]  # fmt: skip
        assert [len(p.items) for p in v3] == [2, 2, 1]
        assert v3[0].state == TokenPage(2)
        token = v3[0].next_state
        assert isinstance(token, TokenPage)
        assert token.page_token == v3[0].data.next_page_token
        assert v3[1].state == token
        assert v3[-1].next_state is None
        # Resume from a saved token.
        rest = [
            loc.id async for loc in ghl.v3.oauth.iter_installed_locations(
                company_id=fake.company_id, app_id=fake.app_id, page_size=2,
                page_token=token.page_token,
            )
        ]  # fmt: skip
        assert rest == [loc.id for p in v3[1:] for loc in p.items]
        assert [len(p.items) for p in v2] == [2, 2, 1]
        assert [p.state for p in v2] == [OffsetPage(2, 0), OffsetPage(2, 2), OffsetPage(2, 4)]
        assert {p.total_count for p in v2} == {5}
        skipped = await ghl.oauth.list_installed_locations(
            company_id=fake.company_id, app_id=fake.app_id, skip=3
        )
        assert [loc.id for loc in skipped.items] == [loc.id for p in v2 for loc in p.items][3:]


async def test_page_walks_hold_nothing_open(fake: FakeHighLevel, ghl: Client) -> None:
    fake.seed_contacts(30, tasks=0, notes=0, appointments=0)
    walk = ghl.contacts.iter_by_business_pages("biz_1", limit=10)
    async for page in walk:
        assert page.number == 1
        break
    await walk.aclose()
    assert fake.count(operation="contacts.list_by_business") == 1

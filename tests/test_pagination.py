"""Paging arithmetic, by table: pure functions of the page just read."""

from __future__ import annotations

import msgspec
import pytest

from ghl_async.errors import ConfigError, PaginationError
from ghl_async.models import (
    UNSET,
    BusinessContactsQuery,
    Contact,
    ContactsMeta,
    ContactsPage,
    ListContactsQuery,
    SearchBody,
)
from ghl_async.models_oauth import (
    InstalledLocation,
    InstalledLocationsPageV3,
    InstalledLocationsQueryV3,
    PaginationMeta,
)
from ghl_async.models_v3 import BusinessContactsQueryV3
from ghl_async.pagination import (
    CursorPage,
    KeysetPage,
    OffsetPage,
    SearchPage,
    TokenPage,
    check_limit,
    epoch_ms,
)


def page(n: int, *, count: int | None = None, total: int | None = None,
         meta: ContactsMeta | None = None, start: int = 0,
         cursor: bool = True) -> ContactsPage:  # fmt: skip
    contacts = [
        Contact(
            id=f"c{start + i}",
            date_added=f"2024-01-01T00:00:{(start + i) % 60:02d}Z",
            search_after=[1700000000000 + start + i, f"c{start + i}"] if cursor else None,
        )
        for i in range(n)
    ]
    return ContactsPage(contacts=contacts, count=count, total=total, meta=meta)


# --- offset ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "page_no", "skip"),
    [(100, 1, 0), (100, 3, 200), (25, 2, 25), (1, 7, 6), (100, 1000, 99_900)],
)
def test_offset_start(limit: int, page_no: int, skip: int) -> None:
    state = OffsetPage.start(limit, page_no)
    assert (state.limit, state.skip) == (limit, skip)
    query, body = state.request(BusinessContactsQuery(location_id="loc"), None)
    assert body is None
    assert isinstance(query, BusinessContactsQuery)
    assert (query.limit, query.skip) == (str(limit), str(skip))  # strings, per the spec


@pytest.mark.parametrize(
    ("limit", "page_no"),
    [(0, 1), (101, 1), (-5, 1), ("10", 1), (True, 1), (10.0, 1), (10, 0), (10, -1), (10, 1.5),
     (10, "2"), (10, False)],
)  # fmt: skip
def test_offset_start_rejects(limit: object, page_no: object) -> None:
    with pytest.raises(ConfigError):
        OffsetPage.start(limit, page_no)  # type: ignore[arg-type]  # deliberately wrong types


@pytest.mark.parametrize(
    ("state", "got", "count", "expected"),
    [
        (OffsetPage(100, 0), 100, 250, OffsetPage(100, 100)),
        (OffsetPage(100, 100), 100, 250, OffsetPage(100, 200)),
        (OffsetPage(100, 200), 50, 250, None),  # short page
        (OffsetPage(100, 0), 0, 0, None),  # empty
        (OffsetPage(100, 0), 0, None, None),
        (OffsetPage(100, 100), 100, 200, None),  # reached the count
        (OffsetPage(100, 0), 100, None, OffsetPage(100, 100)),  # no count: keep going
        (OffsetPage(10, 30), 10, 1_000, OffsetPage(10, 40)),
    ],
)
def test_offset_next(state: OffsetPage, got: int, count: int | None,
                     expected: OffsetPage | None) -> None:  # fmt: skip
    assert state.next(page(got, count=count)) == expected


# --- cursor ------------------------------------------------------------------------------------


def test_cursor_follows_meta() -> None:
    state = CursorPage.start(2)
    meta = ContactsMeta(start_after_id="zz", start_after=123, total=10)
    assert state.next(page(2, meta=meta)) == CursorPage(2, "zz", 123, seen=2)


def test_cursor_falls_back_to_last_contact() -> None:
    state = CursorPage.start(3)
    following = state.next(page(3))
    assert following == CursorPage(3, "c2", epoch_ms("2024-01-01T00:00:02Z"), seen=3)
    assert following is not None
    query, _ = following.request(ListContactsQuery(location_id="loc", query="x"), None)
    assert isinstance(query, ListContactsQuery)
    assert (query.limit, query.start_after_id, query.start_after, query.query) == (
        3, "c2", 1704067202000, "x",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("got", "total", "seen", "expected_none"),
    [(1, None, 0, True), (0, None, 0, True), (3, 6, 3, True), (3, 7, 3, False)],
)
def test_cursor_stops(got: int, total: int | None, seen: int, expected_none: bool) -> None:
    state = CursorPage(3, "a", 1, seen=seen)
    result = state.next(page(got, start=10, total=total))
    assert (result is None) == expected_none


def test_cursor_that_does_not_advance_raises() -> None:
    meta = ContactsMeta(start_after_id="same", start_after=5)
    state = CursorPage(2, "same", 5)
    with pytest.raises(PaginationError, match="did not advance"):
        state.next(page(2, meta=meta))
    with pytest.raises(PaginationError):  # a contact without an id gives no cursor
        CursorPage(1).next(ContactsPage(contacts=[Contact()]))


def test_cursor_start_validates_and_resumes() -> None:
    state = CursorPage.start(50, "c9", 1700000000000)
    query, _ = state.request(ListContactsQuery(location_id="l"), None)
    assert isinstance(query, ListContactsQuery)
    assert (query.start_after_id, query.start_after) == ("c9", 1700000000000)
    first, _ = CursorPage.start(50).request(ListContactsQuery(location_id="l"), None)
    assert isinstance(first, ListContactsQuery)
    assert first.start_after_id is UNSET
    assert first.start_after is UNSET
    for bad in (0, 101, "5"):
        with pytest.raises(ConfigError):
            CursorPage.start(bad)  # type: ignore[arg-type]  # deliberately wrong
    with pytest.raises(ConfigError):
        CursorPage.start(10, "c", "1700")  # type: ignore[arg-type]  # deliberately wrong


@pytest.mark.parametrize(
    ("stamp", "expected"),
    [
        ("2024-01-01T00:00:00Z", 1704067200000),
        ("2024-01-01T00:00:00.123Z", 1704067200123),
        ("2024-01-01T01:00:00+01:00", 1704067200000),
        ("2024-01-01T00:00:00", 1704067200000),  # naive: UTC
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_epoch_ms(stamp: str | None, expected: int | None) -> None:
    assert epoch_ms(stamp) == expected


# --- search ------------------------------------------------------------------------------------


def body() -> SearchBody:
    return SearchBody(location_id="loc", page_limit=1, query="x")


def test_search_pages_by_number_then_cursor() -> None:
    state = SearchPage.start(500, 19)  # records 9,001..9,500
    assert state.seen == 9_000
    _, first = state.request(None, body())
    assert isinstance(first, SearchBody)
    assert (first.page, first.page_limit, first.search_after) == (19, 500, UNSET)
    second = state.next(page(500, start=9_000, total=20_000))
    assert second == SearchPage(500, 20, None, seen=9_500)  # 20 * 500 = 10,000: still a page
    assert second is not None
    third = second.next(page(500, start=9_500, total=20_000))
    assert third == SearchPage(500, None, [1700000000000 + 9_999, "c9999"], seen=10_000)
    assert third is not None
    _, sent = third.request(None, body())
    assert isinstance(sent, SearchBody)
    assert sent.page is UNSET
    assert sent.search_after == [1700000000000 + 9_999, "c9999"]
    fourth = third.next(page(500, start=10_000, total=20_000))
    assert fourth is not None
    assert fourth.search_after == [1700000000000 + 10_499, "c10499"]


@pytest.mark.parametrize(
    ("got", "total", "expected_none"),
    [(99, None, True), (0, None, True), (100, 100, True), (100, 101, False), (100, None, False)],
)
def test_search_stops(got: int, total: int | None, expected_none: bool) -> None:
    assert (SearchPage.start(100).next(page(got, total=total)) is None) == expected_none


def test_search_past_ceiling_without_cursor_raises() -> None:
    state = SearchPage.start(500, 20)
    with pytest.raises(PaginationError, match="searchAfter"):
        state.next(page(500, start=9_500, total=50_000, cursor=False))
    repeat = SearchPage(2, None, [1700000000001, "c1"])
    with pytest.raises(PaginationError, match="repeated"):
        repeat.next(page(2, total=100))


def test_search_start_validates() -> None:
    for limit, page_no in ((0, 1), (501, 1), (100, 0), (100, 101), (500, 21)):
        with pytest.raises(ConfigError):
            SearchPage.start(limit, page_no)
    with pytest.raises(ConfigError):
        SearchPage.start(100, 1, [])
    with pytest.raises(ConfigError):
        SearchPage.start(100, 1, "c1")  # type: ignore[arg-type]  # deliberately wrong
    resumed = SearchPage.start(100, 1, [5, "c5"])
    assert resumed == SearchPage(100, None, [5, "c5"])


def test_check_limit() -> None:
    assert check_limit("limit", 100, 100) == 100
    with pytest.raises(ConfigError, match="between 1 and 100"):
        check_limit("limit", 101, 100)
    with pytest.raises(ConfigError, match="must be an int"):
        check_limit("limit", None, 100)


# --- keyset (v3 business listing) and token (AIP-158) --------------------------------------------


def named_page(n: int, *, start: int = 0, count: int | None = None) -> ContactsPage:
    contacts = [Contact(id=f"c{start + i}", contact_name=f"Name {start + i:02d}") for i in range(n)]
    return ContactsPage(contacts=contacts, count=count)


def test_keyset_start_and_request() -> None:
    query = BusinessContactsQueryV3(location_id="loc")
    first, _ = KeysetPage.start(10, page=3).request(query, None)
    assert isinstance(first, BusinessContactsQueryV3)
    assert (first.limit, first.skip, first.start_after) == ("10", "20", UNSET)
    after, _ = KeysetPage.start(10, start_after=["ada", "c1"]).request(query, None)
    assert isinstance(after, BusinessContactsQueryV3)
    assert (after.skip, after.start_after) == (UNSET, ["ada", "c1"])
    for bad in (["one"], ["a", 1], "a,b", ["a", "b", "c"]):
        with pytest.raises(ConfigError, match=r"\[name, id\]"):
            KeysetPage.start(10, start_after=bad)  # type: ignore[arg-type]  # deliberately wrong


@pytest.mark.parametrize(
    ("state", "got", "count", "expected"),
    [
        (KeysetPage(5), 5, 12, KeysetPage(5, start_after=("name 04", "c4"), seen=5)),
        (KeysetPage(5), 3, None, None),  # short page
        (KeysetPage(5, seen=5), 5, 10, None),  # reached the count
    ],
)
def test_keyset_next(state: KeysetPage, got: int, count: int | None,
                     expected: KeysetPage | None) -> None:  # fmt: skip
    assert state.next(named_page(got, count=count)) == expected


def test_keyset_stops_rather_than_repeat() -> None:
    state = KeysetPage(2, start_after=("name 01", "c1"))
    with pytest.raises(PaginationError, match="repeated"):
        state.next(named_page(2))
    with pytest.raises(PaginationError, match="no \\[name, id\\]"):
        KeysetPage(1).next(ContactsPage(contacts=[Contact()]))


def test_token_paging() -> None:
    query = InstalledLocationsQueryV3(company_id="co", app_id="app")
    state = TokenPage.start(2)
    paged, _ = state.request(query, None)
    assert isinstance(paged, InstalledLocationsQueryV3)
    assert (paged.page_size, paged.page_token) == (2, UNSET)
    locations = [InstalledLocation(id="a"), InstalledLocation(id="b")]
    more = InstalledLocationsPageV3(
        items=locations, pagination=PaginationMeta(has_next_page=True, next_page_token="t2")
    )
    assert state.next(more) == TokenPage(2, "t2")
    with pytest.raises(PaginationError, match="repeated"):
        TokenPage(2, "t2").next(more)
    last = InstalledLocationsPageV3(items=locations, pagination=PaginationMeta(next_page_token="x"))
    assert state.next(last) is None  # hasNextPage false: the token is not followed
    assert state.next(InstalledLocationsPageV3()) is None
    with pytest.raises(ConfigError, match="page_token"):
        TokenPage.start(2, page_token="")
    with pytest.raises(ConfigError):
        TokenPage.start(101)


def test_a_page_model_without_the_cursor_is_a_table_error() -> None:
    class Plain(msgspec.Struct):
        items: list[int]
        total_count: int | None = None

    full = Plain(items=[1, 2])
    for state in (CursorPage(2), SearchPage(2, page=None), KeysetPage(2), TokenPage(2)):
        with pytest.raises(TypeError, match="Plain is not a"):
            state.next(full)


# --- starting anywhere: offsets, and one start at a time -----------------------------------------


@pytest.mark.parametrize(
    ("limit", "skip"), [(100, 0), (100, 7), (25, 250), (1, 99_999), (100, 12_345)]
)
def test_offset_start_at_any_skip(limit: int, skip: int) -> None:
    state = OffsetPage.start(limit, skip=skip)
    assert state == OffsetPage(limit, skip)
    query, _ = state.request(BusinessContactsQuery(location_id="loc"), None)
    assert isinstance(query, BusinessContactsQuery)
    assert (query.limit, query.skip) == (str(limit), str(skip))
    keyset = KeysetPage.start(limit, skip=skip)
    assert (keyset.skip, keyset.seen, keyset.start_after) == (skip, skip, None)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"page": 2, "skip": 10}, "page= or skip="),
        ({"skip": -1}, "cannot be negative"),
        ({"skip": 1.0}, "skip must be an int"),
        ({"skip": True}, "skip must be an int"),
        ({"skip": "10"}, "skip must be an int"),
    ],
)
def test_offset_and_keyset_refuse_bad_starts(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        OffsetPage.start(10, **kwargs)  # type: ignore[arg-type]  # deliberately wrong
    with pytest.raises(ConfigError, match=message):
        KeysetPage.start(10, **kwargs)  # type: ignore[arg-type]  # deliberately wrong


def test_a_cursor_and_a_page_number_are_never_both_taken() -> None:
    with pytest.raises(ConfigError, match="page= or search_after="):
        SearchPage.start(100, 3, [5, "c5"])
    with pytest.raises(ConfigError, match="page= or start_after="):
        KeysetPage.start(10, 2, ["ada", "c1"])
    with pytest.raises(ConfigError, match="skip= or start_after="):
        KeysetPage.start(10, start_after=["ada", "c1"], skip=5)


def _serve_offset(items: list[str], query: BusinessContactsQuery) -> ContactsPage:
    """A server of the business listing: ``limit``/``skip`` over ``items``, with the count."""
    skip, limit = int(str(query.skip)), int(str(query.limit))
    chosen = items[skip : skip + limit]
    return ContactsPage(contacts=[Contact(id=i) for i in chosen], count=len(items))


@pytest.mark.parametrize(
    ("total", "limit", "page_no", "skip"),
    [
        (0, 10, 1, None),
        (95, 10, 1, None),
        (100, 10, 1, None),
        (100, 10, 4, None),
        (100, 10, 1, 37),
        (100, 10, 1, 99),
        (100, 10, 1, 100),
        (100, 10, 1, 250),  # beyond the end: one empty page
        (1, 100, 1, 0),
    ],
)
def test_an_offset_walk_yields_exactly_the_rest(
    total: int, limit: int, page_no: int, skip: int | None
) -> None:
    items = [f"c{i}" for i in range(total)]
    state: OffsetPage | None = OffsetPage.start(limit, page_no, skip)
    first = (page_no - 1) * limit if skip is None else skip
    seen: list[str] = []
    requests = 0
    while state is not None:
        query, _ = state.request(BusinessContactsQuery(location_id="loc"), None)
        assert isinstance(query, BusinessContactsQuery)
        served = _serve_offset(items, query)
        requests += 1
        seen += [c.id for c in served.contacts]
        state = state.next(served)
    assert seen == items[first:]
    # One request per page, plus at most one that finds nothing (no count-less overrun).
    assert requests <= max(1, -(-(total - first) // limit)) + (1 if total <= first else 0)


def _serve_keyset(items: list[str], query: BusinessContactsQueryV3) -> ContactsPage:
    """The v3 listing, sorted by name: ``skip`` or ``startAfter`` = [name, id]."""
    limit = int(str(query.limit))
    if query.start_after is UNSET:
        start = int(str(query.skip))
    else:
        assert isinstance(query.start_after, list)
        start = items.index(query.start_after[1]) + 1
    chosen = items[start : start + limit]
    contacts = [Contact(id=i, contact_name=f"Name {i}") for i in chosen]
    return ContactsPage(contacts=contacts, count=len(items))


@pytest.mark.parametrize(
    ("total", "limit", "page_no", "skip"),
    [(0, 5, 1, None), (23, 5, 1, None), (25, 5, 2, None), (25, 5, 1, 13), (25, 5, 1, 24)],
)
def test_a_keyset_walk_yields_exactly_the_rest(
    total: int, limit: int, page_no: int, skip: int | None
) -> None:
    items = [f"c{i:03d}" for i in range(total)]
    state: KeysetPage | None = KeysetPage.start(limit, page_no, skip=skip)
    first = (page_no - 1) * limit if skip is None else skip
    seen: list[str] = []
    while state is not None:
        query, _ = state.request(BusinessContactsQueryV3(location_id="loc"), None)
        assert isinstance(query, BusinessContactsQueryV3)
        if seen:  # only the first page uses an offset
            assert query.skip is UNSET
        served = _serve_keyset(items, query)
        seen += [c.id for c in served.contacts]
        state = state.next(served)
    assert seen == items[first:]


def _serve_search(items: list[str], body: SearchBody) -> ContactsPage:
    """Search: page numbers up to the 10,000 ceiling (400 beyond), then ``searchAfter``."""
    limit = body.page_limit
    if body.search_after is UNSET:
        assert isinstance(body.page, int)
        start = (body.page - 1) * limit
        assert body.page * limit <= 10_000, "the server refuses pages past 10,000 records"
    else:
        assert body.page is UNSET
        assert isinstance(body.search_after, list)
        start = items.index(str(body.search_after[1])) + 1
    chosen = items[start : start + limit]
    contacts = [Contact(id=i, search_after=[n, i]) for n, i in enumerate(chosen, start)]
    return ContactsPage(contacts=contacts, total=len(items))


@pytest.mark.parametrize(
    ("total", "page_limit", "page_no"),
    [(10_600, 500, 1), (10_600, 300, 1), (10_000, 500, 1), (10_001, 500, 19), (12_345, 500, 20),
     (9_999, 100, 1), (250, 100, 2)],
)  # fmt: skip
def test_a_search_walk_crosses_the_ceiling_with_cursors(
    total: int, page_limit: int, page_no: int
) -> None:
    items = [f"c{i:05d}" for i in range(total)]
    state: SearchPage | None = SearchPage.start(page_limit, page_no)
    numbered = 0
    seen: list[str] = []
    while state is not None:
        _, body_ = state.request(None, SearchBody(location_id="loc", page_limit=1))
        assert isinstance(body_, SearchBody)
        numbered += body_.page is not UNSET
        served = _serve_search(items, body_)
        seen += [c.id for c in served.contacts]
        state = state.next(served)
    assert seen == items[(page_no - 1) * page_limit :]
    # Every page number that stays under the ceiling is used before the cursors take over.
    assert numbered == min(10_000 // page_limit, -(-total // page_limit)) - page_no + 1

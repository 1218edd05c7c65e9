"""Paging as HighLevel does it: limit/skip, startAfter cursors, search pages, searchAfter."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from fake_helpers import Api, running

from ghl_async.testing import FakeHighLevel


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with running(rate_limit=None) as api:
        yield api


async def test_walk_20000_business_contacts_with_plain_aiohttp() -> None:
    """Issue acceptance: 20,000 contacts, 100 per page, exactly 20,000 distinct ids."""
    async with FakeHighLevel(rate_limit="1000/10") as fake:
        started = time.perf_counter()
        fake.seed_contacts(20_000, business_id="biz_big", tasks=0, notes=0, appointments=0)
        fake.seed_contacts(50, business_id="biz_other", tasks=0, notes=0, appointments=0)
        seeded = time.perf_counter() - started
        ids: list[str] = []
        headers = {"Authorization": f"Bearer {fake.private_token}", "Version": "2021-07-28"}
        async with aiohttp.ClientSession(base_url=fake.base_url, headers=headers) as session:
            skip, total = 0, None
            while total is None or skip < total:
                params = {"locationId": fake.location_id, "limit": "100", "skip": str(skip)}
                async with session.get("/contacts/business/biz_big", params=params) as response:
                    assert response.status == 200
                    page = await response.json()
                total = page["count"]
                assert len(page["contacts"]) == 100
                ids.extend(contact["id"] for contact in page["contacts"])
                skip += 100
        assert len(ids) == 20_000
        assert len(set(ids)) == 20_000
        assert fake.count(operation="contacts.list_by_business") == 200
        assert seeded < 5  # generous: the machine is shared; typically well under a second


async def test_business_listing_defaults_query_and_stable_order(api: Api) -> None:
    fake = api.fake
    ids = fake.seed_contacts(60, business_id="biz_1", tasks=0, notes=0, appointments=0)
    fake.seed_contacts(5, business_id="biz_2", tasks=0, notes=0, appointments=0)
    location = fake.location_id
    first = await api.get("/contacts/business/biz_1", params={"locationId": location})
    assert first.json["count"] == 60
    assert [c["id"] for c in first.json["contacts"]] == ids[:25]  # default limit 25
    summary = first.json["contacts"][0]
    assert {"id", "locationId", "email", "tags", "customFields", "businessId"} <= set(summary)
    assert summary["businessId"] == "biz_1"
    # A newly attached contact goes to the end; the earlier pages do not move.
    joined = await api.create(email="late@example.com")
    await api.post(
        "/contacts/bulk/business",
        json={"locationId": location, "ids": [joined["id"]], "businessId": "biz_1"},
    )
    last = await api.get(
        "/contacts/business/biz_1", params={"locationId": location, "limit": "100", "skip": "50"}
    )
    assert [c["id"] for c in last.json["contacts"]] == [*ids[50:], joined["id"]]
    name = fake.get_contact(ids[3]).first_name  # type: ignore[union-attr]
    found = await api.get(
        "/contacts/business/biz_1",
        params={"locationId": location, "query": name.upper(), "limit": "100"},  # type: ignore[union-attr]
    )
    assert ids[3] in [c["id"] for c in found.json["contacts"]]
    assert found.json["count"] == len(found.json["contacts"]) < 61
    empty = await api.get("/contacts/business/nobody", params={"locationId": location})
    assert empty.json == {"contacts": [], "count": 0}


async def test_list_contacts_cursor_walk(api: Api) -> None:
    fake = api.fake
    seeded = fake.seed_contacts(230, tasks=0, notes=0, appointments=0)
    created = [(await api.create(email=f"new{i}@example.com"))["id"] for i in range(3)]
    expected = [*seeded, *created]  # oldest first
    location = fake.location_id
    walked: list[str] = []
    params: dict[str, str] = {"locationId": location, "limit": "100"}
    pages = []
    while True:
        page = (await api.get("/contacts/", params=params)).json
        pages.append(page)
        walked.extend(c["id"] for c in page["contacts"])
        meta = page["meta"]
        if meta["nextPageUrl"] is None:
            break
        params = {
            "locationId": location,
            "limit": "100",
            "startAfter": str(meta["startAfter"]),
            "startAfterId": meta["startAfterId"],
        }
    assert walked == expected
    assert [p["meta"]["currentPage"] for p in pages] == [1, 2, 3]
    assert [p["meta"]["nextPage"] for p in pages] == [2, 3, None]
    assert [p["meta"]["prevPage"] for p in pages] == [None, 1, 2]
    assert all(p["meta"]["total"] == p["count"] == 233 for p in pages)

    # nextPageUrl can be followed as it is.
    first = (await api.get("/contacts/", params={"locationId": location, "limit": "10"})).json
    async with api.session.get(first["meta"]["nextPageUrl"], headers=fake.headers()) as response:
        followed = await response.json()
    assert [c["id"] for c in followed["contacts"]] == expected[10:20]

    by_id = await api.get(
        "/contacts/", params={"locationId": location, "startAfterId": expected[4], "limit": "2"}
    )
    assert [c["id"] for c in by_id.json["contacts"]] == expected[5:7]
    anchor = fake.get_contact(expected[9])
    by_time = await api.get(
        "/contacts/",
        params={
            "locationId": location,
            "startAfter": str(_epoch_ms(anchor.date_added)),
            "limit": "1",
        },  # type: ignore[union-attr]
    )
    assert [c["id"] for c in by_time.json["contacts"]] == [expected[10]]
    default = await api.get("/contacts/", params={"locationId": location})
    assert len(default.json["contacts"]) == 20
    matching = await api.get("/contacts/", params={"locationId": location, "query": "new1@"})
    assert [c["id"] for c in matching.json["contacts"]] == [created[1]]
    assert matching.json["meta"]["nextPageUrl"] is None
    queried = await api.get(
        "/contacts/", params={"locationId": location, "query": "new", "limit": "1"}
    )
    assert "query=new" in queried.json["meta"]["nextPageUrl"]
    missing = await api.get("/contacts/", params={"locationId": location, "startAfterId": "nope"})
    assert missing.status == 400


def _epoch_ms(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


async def _search(api: Api, **body: Any) -> dict[str, Any]:
    answer = await api.post("/contacts/search", json={"locationId": api.fake.location_id, **body})
    assert answer.status == 200, answer.body
    return answer.json  # type: ignore[no-any-return]


async def test_search_pages_to_10000_then_search_after() -> None:
    async with running(rate_limit=None) as api:
        api.fake.seed_contacts(10_600, tasks=0, notes=0, appointments=0, custom_fields=False)
        seen: list[str] = []
        for page in range(1, 21):
            result = await _search(api, page=page, pageLimit=500)
            assert result["total"] == 10_600
            seen.extend(c["id"] for c in result["contacts"])
        assert len(set(seen)) == 10_000
        beyond = await api.post(
            "/contacts/search",
            json={"locationId": api.fake.location_id, "page": 21, "pageLimit": 500},
        )
        assert beyond.status == 400
        cursor = result["contacts"][-1]["searchAfter"]
        while True:
            result = await _search(api, pageLimit=500, searchAfter=cursor)
            if not result["contacts"]:
                break
            seen.extend(c["id"] for c in result["contacts"])
            cursor = result["contacts"][-1]["searchAfter"]
        assert len(seen) == len(set(seen)) == 10_600


async def test_search_filters_sort_and_cursor(api: Api) -> None:
    fake = api.fake
    ids = fake.seed_contacts(40, tags=["bulk"], tasks=0, notes=0, appointments=0)
    vip = await api.create(
        firstName="Zed", lastName="Alpha", email="zed@alpha.example", tags=["VIP"], dnd=True
    )
    plain = await api.create(firstName="amy", lastName="beta", email="amy@beta.example")
    plan_id = next(iter(fake.get_contact(ids[0]).custom_fields)).id  # type: ignore[union-attr]

    async def ids_for(**body: Any) -> list[str]:
        return [c["id"] for c in (await _search(api, pageLimit=100, **body))["contacts"]]

    def leaf(field: str, operator: str, value: Any = None) -> dict[str, Any]:
        item = {"field": field, "operator": operator}
        if value is not None:
            item["value"] = value
        return item

    assert await ids_for(filters=[leaf("tags", "eq", "vip")]) == [vip["id"]]
    assert await ids_for(filters=[leaf("tags", "eq", ["vip", "nothing"])]) == [vip["id"]]
    assert await ids_for(filters=[leaf("email", "contains", "BETA.EXAMPLE")]) == [plain["id"]]
    assert len(await ids_for(filters=[leaf("phone", "exists")])) == 40
    assert set(await ids_for(filters=[leaf("phone", "not_exists")])) == {vip["id"], plain["id"]}
    assert len(await ids_for(filters=[leaf("tags", "not_eq", "bulk")])) == 2
    assert len(await ids_for(filters=[leaf("email", "not_contains", "example.")])) == 2
    assert await ids_for(filters=[leaf("dnd", "eq", True)]) == [vip["id"]]
    recent = await ids_for(filters=[leaf("dateAdded", "range", {"gte": "2025-01-01T00:00:00Z"})])
    assert set(recent) == {vip["id"], plain["id"]}
    old = await ids_for(filters=[leaf("dateAdded", "range", {"lt": 1_735_689_600_000})])
    assert len(old) == 40
    assert await ids_for(filters=[leaf("dateOfBirth", "range", {"gt": "2100-01-01"})]) == []
    grouped = await ids_for(
        filters=[
            {
                "group": "OR",
                "filters": [
                    leaf("firstNameLowerCase", "eq", "zed"),
                    leaf("lastNameLowerCase", "eq", "beta"),
                ],
            }
        ]
    )
    assert set(grouped) == {vip["id"], plain["id"]}
    both = await ids_for(
        filters=[{"group": "AND", "filters": [leaf("tags", "eq", "vip"), leaf("dnd", "eq", False)]}]
    )
    assert both == []
    plan = fake.get_contact(ids[0]).custom_fields[0].value  # type: ignore[union-attr]
    by_field = await ids_for(filters=[leaf(f"customFields.{plan_id}", "eq", plan)])
    assert ids[0] in by_field
    assert await ids_for(query="zed@") == [vip["id"]]
    assert await ids_for(query="zed", filters=[leaf("tags", "eq", "bulk")]) == []

    # Default order is newest first; a custom sort pages consistently through searchAfter.
    newest = await ids_for()
    assert newest[:2] == [plain["id"], vip["id"]]
    assert newest[2:] == sorted(ids, key=lambda i: fake.get_contact(i).date_added, reverse=True)  # type: ignore[union-attr]
    full = await ids_for(sort=[{"field": "lastNameLowerCase", "direction": "desc"}])
    names = [fake.get_contact(i).last_name.lower() for i in full]  # type: ignore[union-attr]
    assert names == sorted(names, reverse=True)
    walked: list[str] = []
    body: dict[str, Any] = {"sort": [{"field": "lastNameLowerCase", "direction": "desc"}]}
    while True:
        page = await _search(api, pageLimit=7, **body)
        if not page["contacts"]:
            break
        walked.extend(c["id"] for c in page["contacts"])
        body["searchAfter"] = page["contacts"][-1]["searchAfter"]
    assert walked == full
    by_date = await ids_for(
        sort=[{"field": "dateOfBirth", "direction": "asc"}, {"field": "dnd", "direction": "desc"}]
    )
    assert len(by_date) == 42


async def test_search_result_shape(api: Api) -> None:
    contact = await api.create(
        email="shape@example.com", address1="1 Main St", dateOfBirth="2000-01-05", tags=["x"]
    )
    found = (await _search(api, pageLimit=1))["contacts"][0]
    assert found["id"] == contact["id"]
    assert found["address"] == "1 Main St"
    assert "address1" not in found
    assert found["dateOfBirth"] == 947030400000  # epoch ms, as live search results have it
    assert found["searchAfter"][-1] == contact["id"]
    assert isinstance(found["searchAfter"][0], int)


async def test_search_sees_changes_between_pages(api: Api) -> None:
    fake = api.fake
    ids = fake.seed_contacts(5, tags=["t"], tasks=0, notes=0, appointments=0)
    wanted = {"filters": [{"field": "tags", "operator": "eq", "value": "vip"}]}
    assert (await _search(api, pageLimit=10, **wanted))["total"] == 0
    await api.post(f"/contacts/{ids[2]}/tags", json={"tags": ["vip"]})
    found = await _search(api, pageLimit=10, **wanted)
    assert [c["id"] for c in found["contacts"]] == [ids[2]]
    await api.delete(f"/contacts/{ids[2]}")
    assert (await _search(api, pageLimit=10, **wanted))["total"] == 0
    created = await api.create(email="fresh@alpha.example", tags=["vip"])
    assert [c["id"] for c in (await _search(api, pageLimit=10, **wanted))["contacts"]] == [
        created["id"]
    ]
    for index in range(10):  # more distinct searches than the cache holds
        await _search(api, pageLimit=1, query=f"nobody{index}")
    assert (await _search(api, pageLimit=10, **wanted))["total"] == 1

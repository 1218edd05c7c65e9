"""Every facade coroutine of ``ghl.contacts``, over a real socket against FakeHighLevel."""

from __future__ import annotations

import contextlib
from urllib.parse import parse_qs

import pytest

from ghl_async import Client, routes
from ghl_async.errors import NotFoundError
from ghl_async.models import (
    Ack,
    Contact,
    ContactBundle,
    CustomFieldInput,
    SearchFilter,
    SearchSort,
    UpsertResult,
)
from ghl_async.testing import FakeHighLevel


def _query(fake: FakeHighLevel, operation: str) -> list[dict[str, list[str]]]:
    return [parse_qs(r.query) for r in fake.requests if r.operation == operation]


# --- single contacts -------------------------------------------------------------------------


async def test_create_get_update_delete(fake: FakeHighLevel, ghl: Client) -> None:
    created = await ghl.contacts.create(
        first_name="Ada",
        last_name="Lovelace",
        email="ada@example.com",
        phone="+15550100001",
        tags=["vip"],
        custom_fields=[CustomFieldInput(key="favourite_color", field_value="green")],
        source="api",
    )
    assert isinstance(created, Contact)
    assert created.id
    assert created.location_id == fake.location_id
    stored = fake.get_contact(created.id)
    assert stored is not None
    assert stored.email == "ada@example.com"

    fetched = await ghl.contacts.get(created.id)
    assert (fetched.first_name, fetched.tags) == ("Ada", ["vip"])

    updated = await ghl.contacts.update(created.id, city="London", last_name=None)
    assert updated.city == "London"
    assert updated.last_name is None
    assert updated.first_name == "Ada"  # omitted fields stay

    ack = await ghl.contacts.delete(created.id)
    assert isinstance(ack, Ack)
    assert ack.ok
    assert fake.get_contact(created.id) is None
    with pytest.raises(NotFoundError):
        await ghl.contacts.get(created.id)


async def test_upsert_creates_then_updates(fake: FakeHighLevel, ghl: Client) -> None:
    first = await ghl.contacts.upsert(email="grace@example.com", first_name="Grace")
    assert isinstance(first, UpsertResult)
    assert first.new is True
    again = await ghl.contacts.upsert(email="grace@example.com", last_name="Hopper")
    assert again.new is False
    assert again.contact.id == first.contact.id
    assert again.contact.last_name == "Hopper"
    assert len(fake.find_contacts(email="grace@example.com")) == 1


async def test_find_duplicate_by_email_and_phone(fake: FakeHighLevel, ghl: Client) -> None:
    made = await ghl.contacts.create(email="Dup+1@Example.com", phone="+15550100002")
    by_email = await ghl.contacts.find_duplicate(email="Dup+1@Example.com")
    assert by_email is not None
    assert by_email.id == made.id
    by_phone = await ghl.contacts.find_duplicate(phone="+15550100002")
    assert by_phone is not None
    assert by_phone.id == made.id
    assert await ghl.contacts.find_duplicate(email="nobody@example.com") is None
    # The phone travels as `number`, its `+` percent-encoded (never a space).
    queries = _query(fake, "contacts.find_duplicate")
    assert queries[1]["number"] == ["+15550100002"]
    assert queries[0]["email"] == ["Dup+1@Example.com"]
    assert "number=%2B15550100002" in fake.requests[-2].query


# --- listings ----------------------------------------------------------------------------------


async def test_business_listing_pages(fake: FakeHighLevel, ghl: Client) -> None:
    ids = fake.seed_contacts(250, business_id="biz_1")
    seen = [c.id async for c in ghl.contacts.iter_by_business("biz_1")]
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    # skip = (page - 1) * limit, as strings; the walk stopped at the count (no empty page).
    assert [(q["limit"], q["skip"]) for q in _query(fake, "contacts.list_by_business")] == [
        (["100"], ["0"]), (["100"], ["100"]), (["100"], ["200"]),
    ]  # fmt: skip

    page = await ghl.contacts.list_by_business("biz_1", limit=40, page=3)
    assert page.total_count == 250
    assert len(page.contacts) == 40
    assert _query(fake, "contacts.list_by_business")[-1]["skip"] == ["80"]

    from_page_6 = [c.id async for c in ghl.contacts.iter_by_business("biz_1", limit=50, page=6)]
    assert from_page_6 == []  # page 6 of 50 starts at 250: empty, and the walk ends


async def test_business_listing_stops_on_short_page(fake: FakeHighLevel, ghl: Client) -> None:
    fake.seed_contacts(30, business_id="biz_2")
    seen = [c async for c in ghl.contacts.iter_by_business("biz_2", limit=25)]
    assert len(seen) == 30
    assert fake.count(operation="contacts.list_by_business") == 2


async def test_breaking_out_of_a_walk_is_safe(fake: FakeHighLevel, ghl: Client) -> None:
    fake.seed_contacts(120, business_id="biz_3")
    seen = 0
    async with contextlib.aclosing(ghl.contacts.iter_by_business("biz_3", limit=10)) as walk:
        async for _contact in walk:
            seen += 1
            if seen == 15:
                break
    assert fake.count(operation="contacts.list_by_business") == 2
    # Nothing was left open: the pool serves the next calls.
    page = await ghl.contacts.list_by_business("biz_3", limit=100, page=2)
    assert len(page.contacts) == 20


async def test_deprecated_list_follows_the_cursor(fake: FakeHighLevel, ghl: Client) -> None:
    ids = fake.seed_contacts(45, business_id=None)
    seen = [c.id async for c in ghl.contacts.iter(limit=20)]
    assert sorted(seen) == sorted(ids)
    queries = _query(fake, "contacts.list")
    assert len(queries) == 3
    assert "startAfterId" not in queries[0]
    assert queries[1]["startAfterId"] == [seen[19]]
    assert queries[2]["startAfterId"] == [seen[39]]

    page = await ghl.contacts.list(limit=5)
    assert [c.id for c in page.contacts] == seen[:5]
    assert page.total_count == 45
    assert page.meta is not None
    resumed = await ghl.contacts.list(
        limit=5, start_after_id=page.meta.start_after_id, start_after=page.meta.start_after
    )
    assert [c.id for c in resumed.contacts] == seen[5:10]


async def test_search_pages_and_filters(fake: FakeHighLevel, ghl: Client) -> None:
    fake.seed_contacts(60, business_id=None, tags=["lead"])
    vip = fake.seed_contacts(12, business_id=None, tags=["vip"])
    found = [
        c.id
        async for c in ghl.contacts.iter_search(
            filters=[SearchFilter(field="tags", operator="contains", value="vip")],
            sort=[SearchSort(field="dateAdded", direction="asc")],
            page_limit=5,
        )
    ]
    assert sorted(found) == sorted(vip)
    assert fake.count(operation="contacts.search") == 3  # 5 + 5 + 2

    page = await ghl.contacts.search(page_limit=50, page=2)
    assert page.total_count == 72
    assert len(page.contacts) == 22


async def test_search_switches_to_search_after_past_the_ceiling(
    fake: FakeHighLevel, ghl: Client
) -> None:
    fake.seed_contacts(10_100, business_id=None, tasks=0, notes=0, appointments=0,
                       custom_fields=False)  # fmt: skip
    count = 0
    async for _contact in ghl.contacts.iter_search(page_limit=500, page=19):
        count += 1
    assert count == 10_100 - 18 * 500
    searches = [r for r in fake.requests if r.operation == "contacts.search"]
    assert len(searches) == 3  # pages 19 and 20 (500 each), then one searchAfter page (100)
    assert all(r.status == 200 for r in searches)


# --- tags, followers, campaigns, workflows, bulk --------------------------------------------


async def test_tags_and_bulk_tags(fake: FakeHighLevel, ghl: Client) -> None:
    a, b = fake.seed_contacts(2, business_id=None, tags=["x"])
    assert sorted(await ghl.contacts.add_tags(a, ["vip", "new"])) == ["new", "vip", "x"]
    assert sorted(await ghl.contacts.remove_tags(a, ["new"])) == ["vip", "x"]
    assert sorted((await ghl.contacts.get(a)).tags) == ["vip", "x"]

    result = await ghl.contacts.bulk_update_tags("add", contacts=[a, b], tags=["gold"])
    assert result.ok
    assert "gold" in (await ghl.contacts.get(b)).tags
    removed = await ghl.contacts.bulk_update_tags(
        "remove", contacts=[a, b], tags=[], remove_all_tags=True
    )
    assert removed.ok
    assert (await ghl.contacts.get(a)).tags == []


async def test_bulk_business(fake: FakeHighLevel, ghl: Client) -> None:
    a, b = fake.seed_contacts(2, business_id=None)
    attached = await ghl.contacts.bulk_set_business(ids=[a, b], business_id="biz_9")
    assert attached.success
    assert {c.id async for c in ghl.contacts.iter_by_business("biz_9")} == {a, b}
    detached = await ghl.contacts.bulk_set_business(ids=[a], business_id=None)
    assert detached.success
    assert (await ghl.contacts.get(a)).business_id is None


async def test_followers(fake: FakeHighLevel, ghl: Client) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    added = await ghl.contacts.add_followers(cid, ["u1", "u2"])
    assert sorted(added.followers_added) == ["u1", "u2"]
    removed = await ghl.contacts.remove_followers(cid, ["u1"])
    assert removed.followers_removed == ["u1"]
    assert (await ghl.contacts.get(cid)).followers == ["u2"]


async def test_campaigns_and_workflows(fake: FakeHighLevel, ghl: Client) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    assert (await ghl.contacts.add_to_campaign(cid, "camp_1")).ok
    assert (await ghl.contacts.add_to_campaign(cid, "camp_2")).ok
    assert sorted(fake.campaigns_of(cid)) == ["camp_1", "camp_2"]
    assert (await ghl.contacts.remove_from_campaign(cid, "camp_1")).ok
    assert fake.campaigns_of(cid) == ["camp_2"]
    assert (await ghl.contacts.remove_from_all_campaigns(cid)).ok
    assert fake.campaigns_of(cid) == []

    assert (
        await ghl.contacts.add_to_workflow(cid, "wf_1", event_start_time="2026-01-01T10:00:00Z")
    ).ok
    assert fake.workflows_of(cid) == ["wf_1"]
    assert (await ghl.contacts.remove_from_workflow(cid, "wf_1")).ok
    assert fake.workflows_of(cid) == []


# --- tasks, notes, appointments, bundle ------------------------------------------------------


async def test_tasks(fake: FakeHighLevel, ghl: Client) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=1)
    made = await ghl.contacts.tasks.create(
        cid, title="Call back", due_date="2026-02-01T09:00:00Z", body="About pricing"
    )
    assert (made.title, made.completed) == ("Call back", False)
    assert len(await ghl.contacts.tasks.list(cid)) == 2
    assert (await ghl.contacts.tasks.get(cid, made.id)).body == "About pricing"
    updated = await ghl.contacts.tasks.update(cid, made.id, title="Call back today")
    assert updated.title == "Call back today"
    done = await ghl.contacts.tasks.complete(cid, made.id)
    assert done.completed is True
    undone = await ghl.contacts.tasks.complete(cid, made.id, completed=False)
    assert undone.completed is False
    assert (await ghl.contacts.tasks.delete(cid, made.id)).ok
    assert [t.id for t in fake.tasks_of(cid)] != [made.id]
    assert len(fake.tasks_of(cid)) == 1


async def test_notes(fake: FakeHighLevel, ghl: Client) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, notes=0)
    note = await ghl.contacts.notes.create(cid, body="Met at the fair", pinned=True)
    assert note.body == "Met at the fair"
    assert [n.id for n in await ghl.contacts.notes.list(cid)] == [note.id]
    assert (await ghl.contacts.notes.get(cid, note.id)).pinned is True
    changed = await ghl.contacts.notes.update(cid, note.id, body="Met at the spring fair")
    assert changed.body == "Met at the spring fair"
    assert (await ghl.contacts.notes.delete(cid, note.id)).ok
    assert fake.notes_of(cid) == []


async def test_appointments_and_bundle(fake: FakeHighLevel, ghl: Client) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=2, notes=3, appointments=1)
    appointments = await ghl.contacts.appointments.list(cid)
    assert [a.id for a in appointments] == [a.id for a in fake.appointments_of(cid)]
    bundle = await ghl.contacts.get_bundle(cid)
    assert isinstance(bundle, ContactBundle)
    assert bundle.contact.id == cid
    assert (len(bundle.tasks), len(bundle.notes), len(bundle.appointments)) == (2, 3, 1)
    assert fake.count(method="GET") == 5


async def test_bundle_of_a_missing_contact_raises(fake: FakeHighLevel, ghl: Client) -> None:
    with pytest.raises(NotFoundError):
        await ghl.contacts.get_bundle("a" * 20)


async def test_call_is_the_escape_hatch(fake: FakeHighLevel, ghl: Client) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    contact = await ghl.call(routes.GET_CONTACT, path={"contact_id": cid})
    assert contact.id == cid
    tasks = await ghl.call(routes.LIST_TASKS, path={"contact_id": cid})
    assert len(tasks) == 2

"""FakeHighLevel: the behaviour of each Contacts operation, over a real socket."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fake_helpers import Api, running

from ghl_async.errors import ConfigError
from ghl_async.models import CustomFieldInput


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with running() as api:
        yield api


async def test_contact_lifecycle(api: Api) -> None:
    fake = api.fake
    created = await api.create(
        firstName="Ada",
        lastName="Lovelace",
        email="Ada@Example.com",
        phone="+14155550100",
        tags=["vip", "vip", " lead "],
        customFields=[{"key": "contact.plan", "field_value": "Gold"}],
        dateOfBirth="12/10/1815",
        source="public api",
        companyName="Analytical Engines",
    )
    contact_id = created["id"]
    assert created["tags"] == ["vip", "lead"]
    assert created["emailLowerCase"] == "ada@example.com"
    assert created["dateOfBirth"] == "1815-12-10T00:00:00.000Z"
    assert (created["birthMonth"], created["birthDay"]) == (11, 10)  # zero-based month
    assert created["deleted"] is False
    assert "name" not in created  # CreateContactSchema has no name

    got = await api.get(f"/contacts/{contact_id}")
    assert got.status == 200
    contact = got.json["contact"]
    assert contact["name"] == "Ada Lovelace"
    assert contact["dateOfBirth"] == "1815-12-10"
    assert contact["customFields"] == [{"id": contact["customFields"][0]["id"], "value": "Gold"}]
    assert contact["fullNameLowerCase"] == "ada lovelace"

    updated = await api.put(
        f"/contacts/{contact_id}",
        json={"tags": ["customer"], "customFields": [{"key": "plan", "field_value": 3}]},
    )
    assert updated.status == 200
    assert updated.json["succeded"] is True
    assert updated.json["contact"]["tags"] == ["customer"]  # tags replace
    assert updated.json["contact"]["customFields"][0]["value"] == "3"  # values are strings
    assert fake.get_contact(contact_id).tags == ["customer"]  # type: ignore[union-attr]

    deleted = await api.delete(f"/contacts/{contact_id}")
    assert deleted.json == {"succeded": True}
    assert fake.get_contact(contact_id) is None
    missing = await api.get(f"/contacts/{contact_id}")
    assert missing.status == 400
    assert missing.json == {
        "statusCode": 400,
        "message": f"Contact with id {contact_id} not found",
        "error": "Bad Request",
    }
    assert fake.count(operation="contacts.delete") == 1
    assert [r.applied for r in fake.requests] == [True, False, True, True, False]


async def test_duplicates_follow_the_location_setting(api: Api) -> None:
    first = await api.create(firstName="Grace", lastName="Hopper", email="grace@example.com")
    by_email = await api.post(
        "/contacts/", json={"locationId": api.fake.location_id, "email": "GRACE@example.com"}
    )
    assert by_email.status == 400
    assert by_email.json == {
        "statusCode": 400,
        "message": "This location does not allow duplicated contacts.",
        "error": "Bad Request",
        "meta": {"contactId": first["id"], "contactName": "Grace Hopper", "matchingField": "email"},
    }
    await api.create(phone="+1 (415) 555-0101")
    by_phone = await api.post(
        "/contacts/", json={"locationId": api.fake.location_id, "phone": "+14155550101"}
    )
    assert by_phone.json["meta"]["matchingField"] == "phone"
    clash = await api.put(f"/contacts/{first['id']}", json={"phone": "+14155550101"})
    assert clash.status == 400

    api.fake.set_allow_duplicates(True)
    again = await api.post(
        "/contacts/", json={"locationId": api.fake.location_id, "email": "grace@example.com"}
    )
    assert again.status == 201
    assert len(api.fake.find_contacts(email="grace@example.com")) == 2


async def test_upsert_matches_email_then_phone(api: Api) -> None:
    location = api.fake.location_id
    made = await api.post(
        "/contacts/upsert",
        json={"locationId": location, "email": "alan@example.com", "gender": "male"},
    )
    assert made.status == 200
    assert made.json["new"] is True
    assert made.json["traceId"] == made.headers["traceId"]
    contact_id = made.json["contact"]["id"]
    await api.put(f"/contacts/{contact_id}", json={"phone": "+14155550102"})

    by_email = await api.post(
        "/contacts/upsert",
        json={"locationId": location, "email": "ALAN@example.com", "firstName": "Alan"},
    )
    assert (by_email.json["new"], by_email.json["contact"]["id"]) == (False, contact_id)
    by_phone = await api.post(
        "/contacts/upsert",
        json={"locationId": location, "phone": "+14155550102", "gender": "x", "tags": ["a"]},
    )
    assert (by_phone.json["new"], by_phone.json["contact"]["id"]) == (False, contact_id)
    assert by_phone.json["contact"]["tags"] == ["a"]
    assert api.fake.requests[-1].applied is True
    same = await api.post(
        "/contacts/upsert", json={"locationId": location, "phone": "+14155550102", "tags": ["a"]}
    )
    assert same.json["new"] is False
    assert api.fake.requests[-1].applied is False

    neither = await api.post("/contacts/upsert", json={"locationId": location, "firstName": "X"})
    assert neither.status == 400

    api.fake.set_allow_duplicates(True)
    forced = await api.post(
        "/contacts/upsert",
        json={
            "locationId": location,
            "email": "alan@example.com",
            "createNewIfDuplicateAllowed": True,
        },
    )
    assert forced.json["new"] is True


async def test_find_duplicate(api: Api) -> None:
    contact = await api.create(email="kat@example.com", phone="+14155550103")
    location = api.fake.location_id
    hit = await api.get(
        "/contacts/search/duplicate", params={"locationId": location, "number": "+14155550103"}
    )
    assert hit.status == 200
    assert hit.json["contact"]["id"] == contact["id"]
    by_email = await api.get(
        "/contacts/search/duplicate", params={"locationId": location, "email": "KAT@example.com"}
    )
    assert by_email.json["contact"]["id"] == contact["id"]
    miss = await api.get(
        "/contacts/search/duplicate", params={"locationId": location, "email": "x@example.com"}
    )
    assert miss.json == {"contact": None}
    empty = await api.get("/contacts/search/duplicate", params={"locationId": location})
    assert empty.status == 422


async def test_tags_followers_campaigns_workflows(api: Api) -> None:
    contact_id = (await api.create(email="t@example.com", tags=["a"]))["id"]
    base = f"/contacts/{contact_id}"
    added = await api.post(f"{base}/tags", json={"tags": ["b", "a", "c"]})
    assert (added.status, added.json) == (201, {"tags": ["a", "b", "c"]})
    removed = await api.delete(f"{base}/tags", json={"tags": ["a", "zzz"]})
    assert (removed.status, removed.json) == (200, {"tags": ["b", "c"]})

    followed = await api.post(f"{base}/followers", json={"followers": ["u1", "u2"]})
    assert followed.status == 201
    assert followed.json == {"followers": ["u1", "u2"], "followersAdded": ["u1", "u2"]}
    again = await api.post(f"{base}/followers", json={"followers": ["u2", "u3"]})
    assert again.json == {"followers": ["u1", "u2", "u3"], "followersAdded": ["u3"]}
    dropped = await api.delete(f"{base}/followers", json={"followers": ["u1", "nobody"]})
    assert dropped.json == {"followers": ["u2", "u3"], "followersRemoved": ["u1"]}

    assert (await api.post(f"{base}/campaigns/c1", json={})).status == 201
    await api.post(f"{base}/campaigns/c2", json={})
    assert api.fake.campaigns_of(contact_id) == ["c1", "c2"]
    assert (await api.delete(f"{base}/campaigns/c1")).json == {"succeded": True}
    assert api.fake.campaigns_of(contact_id) == ["c2"]
    remove_all = await api.delete(f"{base}/campaigns/removeAll")
    assert remove_all.json == {"succeded": True}
    assert api.fake.campaigns_of(contact_id) == []
    assert api.fake.requests[-1].operation == "contacts.remove_from_all_campaigns"

    enrolled = await api.post(
        f"{base}/workflow/w1", json={"eventStartTime": "2026-01-01T10:00:00+05:30"}
    )
    assert (enrolled.status, enrolled.json) == (200, {"succeded": True})
    await api.post(f"{base}/workflow/w2", json={})
    assert api.fake.workflows_of(contact_id) == ["w1", "w2"]
    left = await api.delete(f"{base}/workflow/w1", json={})
    assert left.json == {"succeded": True}
    assert api.fake.workflows_of(contact_id) == ["w2"]
    bad = await api.post(f"{base}/workflow/w3", json={"eventStartTime": "tomorrow"})
    assert bad.status == 422


async def test_bulk_tags_and_business(api: Api) -> None:
    fake = api.fake
    ids = fake.seed_contacts(3, tags=["old"], tasks=0, notes=0, appointments=0)
    other = fake.add_location()
    foreign = fake.seed_contacts(1, location_id=other, tasks=0, notes=0, appointments=0)[0]
    body = {"contacts": [*ids, "missing", foreign], "tags": ["new"], "locationId": fake.location_id}
    added = await api.post("/contacts/bulk/tags/update/add", json=body)
    assert added.status == 201
    assert added.json["succeded"] is True
    assert added.json["errorCount"] == 2
    assert all(isinstance(item, str) for item in added.json["responses"])
    assert fake.get_contact(ids[0]).tags == ["old", "new"]  # type: ignore[union-attr]
    removed = await api.post(
        "/contacts/bulk/tags/update/remove",
        json={
            "contacts": ids[:1],
            "tags": [],
            "locationId": fake.location_id,
            "removeAllTags": True,
        },
    )
    assert removed.json["errorCount"] == 0
    assert fake.get_contact(ids[0]).tags == []  # type: ignore[union-attr]
    wrong_type = await api.post("/contacts/bulk/tags/update/replace", json=body)
    assert wrong_type.status == 422
    misuse = await api.post("/contacts/bulk/tags/update/add", json={**body, "removeAllTags": True})
    assert misuse.status == 422

    moved = await api.post(
        "/contacts/bulk/business",
        json={"locationId": fake.location_id, "ids": [*ids[:2], "missing"], "businessId": "biz_9"},
    )
    assert moved.status == 200
    assert moved.json == {"success": True, "ids": ids[:2]}
    assert [c.id for c in fake.find_contacts(business_id="biz_9")] == ids[:2]
    detached = await api.post(
        "/contacts/bulk/business",
        json={"locationId": fake.location_id, "ids": ids[:1], "businessId": None},
    )
    assert detached.json["ids"] == ids[:1]
    assert fake.get_contact(ids[0]).business_id is None  # type: ignore[union-attr]


async def test_tasks(api: Api) -> None:
    contact_id = (await api.create(email="task@example.com"))["id"]
    base = f"/contacts/{contact_id}/tasks"
    made = await api.post(
        base, json={"title": "Call", "dueDate": "2026-12-01T10:00:00Z", "completed": False}
    )
    assert made.status == 201
    task = made.json["task"]
    assert task["contactId"] == contact_id
    assert (await api.get(base)).json == {"tasks": [task]}
    assert (await api.get(f"{base}/{task['id']}")).json == {"task": task}
    changed = await api.put(f"{base}/{task['id']}", json={"title": "Call back", "body": "re: x"})
    assert changed.json["task"]["title"] == "Call back"
    done = await api.put(f"{base}/{task['id']}/completed", json={"completed": True})
    assert done.json["task"]["completed"] is True
    undone = await api.put(
        f"{base}/{task['id']}", json={"completed": False, "dueDate": "2027-01-01"}
    )
    assert undone.json["task"]["completed"] is False
    assert (await api.delete(f"{base}/{task['id']}")).json == {"succeded": True}
    gone = await api.get(f"{base}/{task['id']}")
    assert (gone.status, gone.message) == (400, f"Task with id {task['id']} not found")
    bad_date = await api.post(base, json={"title": "x", "dueDate": "soon", "completed": False})
    assert bad_date.status == 422
    blank = await api.post(base, json={"title": " ", "dueDate": "2026-12-01", "completed": False})
    assert blank.status == 422


async def test_notes(api: Api) -> None:
    contact_id = (await api.create(email="note@example.com"))["id"]
    base = f"/contacts/{contact_id}/notes"
    made = await api.post(base, json={"body": "Hello", "title": "T", "pinned": True})
    assert made.status == 201
    note = made.json["note"]
    assert (note["body"], note["pinned"], note["contactId"]) == ("Hello", True, contact_id)
    assert (await api.get(base)).json == {"notes": [note]}
    assert (await api.get(f"{base}/{note['id']}")).json == {"note": note}
    changed = await api.put(f"{base}/{note['id']}", json={"body": "Bye", "color": "#FFAA00"})
    assert (changed.json["note"]["body"], changed.json["note"]["color"]) == ("Bye", "#FFAA00")
    assert api.fake.notes_of(contact_id)[0].body == "Bye"
    assert (await api.delete(f"{base}/{note['id']}")).json == {"succeded": True}
    assert (await api.get(f"{base}/{note['id']}")).status == 400
    assert (await api.post(base, json={"body": ""})).status == 422


async def test_seeded_children_and_appointments(api: Api) -> None:
    fake = api.fake
    contact_id = fake.seed_contacts(1, tasks=2, notes=1, appointments=1)[0]
    events = (await api.get(f"/contacts/{contact_id}/appointments")).json["events"]
    assert len(events) == 1
    assert events[0]["contactId"] == contact_id
    assert len(events[0]["startTime"]) == len("2021-07-16 11:00:00")
    assert len(fake.tasks_of(contact_id)) == 2
    assert len(fake.appointments_of(contact_id)) == 1
    assert len((await api.get(f"/contacts/{contact_id}/tasks")).json["tasks"]) == 2
    assert len((await api.get(f"/contacts/{contact_id}/notes")).json["notes"]) == 1
    await api.delete(f"/contacts/{contact_id}")
    with pytest.raises(KeyError):
        fake.tasks_of(contact_id)


async def test_contacts_of_other_locations_are_forbidden(api: Api) -> None:
    fake = api.fake
    other = fake.add_location(allow_duplicates=True)
    foreign = fake.seed_contacts(1, location_id=other)[0]
    answer = await api.get(f"/contacts/{foreign}")
    assert answer.status == 403
    assert answer.json == {
        "statusCode": 403,
        "message": "The token does not have access to this location.",
        "error": "Forbidden",
    }
    wrong_body = await api.post("/contacts/", json={"locationId": other, "email": "a@example.com"})
    assert wrong_body.status == 403
    wrong_query = await api.get("/contacts/", params={"locationId": other})
    assert wrong_query.status == 403
    token = fake.issue_token(location_id=other).access_token
    mine = await api.get(f"/contacts/{foreign}", token=token)
    assert mine.status == 200


async def test_contact_fields_dnd_and_names(api: Api) -> None:
    contact = await api.create(
        name="Katherine Johnson",
        dnd=True,
        dndSettings={"SMS": {"status": "active", "message": "m", "code": "101"}},
        inboundDndSettings={"all": {"status": "inactive", "message": "x"}},
        customFields=[
            {"id": "f1", "field_value": ["a", "b"]},
            {"id": "f2", "field_value": True},
            {"id": "f3", "field_value": {"k": 1}},
            {"id": "f4"},
        ],
    )
    assert (contact["firstName"], contact["lastName"]) == ("Katherine", "Johnson")
    assert contact["dndSettings"] == {"SMS": {"status": "active", "message": "m", "code": "101"}}
    values = {field["id"]: field["value"] for field in contact["customFields"]}
    assert values == {"f1": '["a","b"]', "f2": "true", "f3": '{"k":1}'}
    contact_id = contact["id"]
    cleared = await api.put(
        f"/contacts/{contact_id}",
        json={"customFields": [{"id": "f1"}], "dnd": False, "email": None, "name": None},
    )
    full = cleared.json["contact"]
    assert {field["id"] for field in full["customFields"]} == {"f2", "f3"}
    assert "firstName" not in full
    assert full["inboundDndSettings"] == {"all": {"status": "inactive", "message": "x"}}
    no_ref = await api.put(f"/contacts/{contact_id}", json={"customFields": [{"field_value": 1}]})
    assert no_ref.status == 422
    assert no_ref.message == ["customFields.0.id or key should not be empty"]
    for dob in ("1990-09-25", "1990/09/25", "09-25-1990", "09.25.1990", "1990_09_25"):
        answer = await api.put(f"/contacts/{contact_id}", json={"dateOfBirth": dob})
        assert answer.json["contact"]["dateOfBirth"] == "1990-09-25", dob
    for bad in ("25/25/1990", "yesterday", "1990-02-30"):
        assert (await api.put(f"/contacts/{contact_id}", json={"dateOfBirth": bad})).status == 422
    cleared_dob = await api.put(f"/contacts/{contact_id}", json={"dateOfBirth": None})
    assert "dateOfBirth" not in cleared_dob.json["contact"]


async def test_unknown_paths_and_methods_are_nest_style_404(api: Api) -> None:
    answer = await api.get("/contacts/abc/unknown")
    assert (answer.status, answer.json) == (
        404,
        {"statusCode": 404, "message": "Cannot GET /contacts/abc/unknown", "error": "Not Found"},
    )
    patch = await api.call("PATCH", "/contacts/abc")
    assert patch.status == 404
    assert api.fake.requests[-1].operation == "unknown"
    # Express routing is not strict, but an extra segment is still another path.
    assert (await api.get("/contacts/abc/tasks/x/y/")).status == 404
    assert (await api.get("/contacts//")).status == 404


async def test_trailing_slash_forms_reach_the_same_route(api: Api) -> None:
    """Express (under NestJS) ignores one trailing slash: both forms of every path work."""
    fake = api.fake
    created = await api.post(
        "/contacts", json={"locationId": fake.location_id, "email": "s@a.example"}
    )
    assert created.status == 201
    contact_id = created.json["contact"]["id"]
    also = await api.post(
        "/contacts/", json={"locationId": fake.location_id, "email": "t@a.example"}
    )
    assert also.status == 201
    got = await api.get(f"/contacts/{contact_id}/")
    assert (got.status, got.json["contact"]["id"]) == (200, contact_id)
    listed = await api.get("/contacts", params={"locationId": fake.location_id})
    assert (listed.status, listed.json["count"]) == (200, 2)
    updated = await api.put(f"/contacts/{contact_id}/", json={"firstName": "Slash"})
    assert updated.json["contact"]["firstName"] == "Slash"
    tagged = await api.post(f"/contacts/{contact_id}/tags/", json={"tags": ["x"]})
    assert (tagged.status, tagged.json) == (201, {"tags": ["x"]})
    duplicate = await api.get(
        "/contacts/search/duplicate/",
        params={"locationId": fake.location_id, "email": "t@a.example"},
    )
    assert duplicate.json["contact"]["email"] == "t@a.example"
    assert [r.operation for r in fake.requests] == [
        "contacts.create",
        "contacts.create",
        "contacts.get",
        "contacts.list",
        "contacts.update",
        "contacts.add_tags",
        "contacts.find_duplicate",
    ]
    # The strictness stays: wrong fields are still refused on the other form.
    strict = await api.post("/contacts", json={"locationId": fake.location_id, "nope": 1})
    assert (strict.status, strict.message) == (422, ["property nope should not exist"])
    assert (await api.delete(f"/contacts/{contact_id}/")).json == {"succeded": True}
    token = await api.token_form(
        {"client_id": fake.client_id, "client_secret": fake.client_secret, "grant_type": "x"}
    )
    slashed = await api.call(
        "POST",
        "/oauth/token/",
        data={"client_id": fake.client_id, "client_secret": fake.client_secret, "grant_type": "x"},
        token=None,
        version=None,
    )
    assert (token.status, token.json) == (slashed.status, slashed.json)


async def test_custom_fields_accept_field_value_in_either_spelling(api: Api) -> None:
    """v3's ``fieldValue`` works under ``2021-07-28`` too (CONTACTS-API.md §3.4)."""
    camel = await api.create(customFields=[{"key": "plan", "fieldValue": "Gold"}])
    snake = await api.create(customFields=[{"key": "plan", "field_value": "Gold"}])
    assert camel["customFields"][0]["value"] == snake["customFields"][0]["value"] == "Gold"
    assert camel["customFields"][0]["id"] == snake["customFields"][0]["id"]
    updated = await api.put(
        f"/contacts/{camel['id']}", json={"customFields": [{"key": "plan", "fieldValue": ["a"]}]}
    )
    assert updated.json["contact"]["customFields"][0]["value"] == '["a"]'
    both = await api.post(
        "/contacts/",
        json={
            "locationId": api.fake.location_id,
            "customFields": [{"key": "plan", "field_value": "x", "fieldValue": "y"}],
        },
    )
    assert both.status == 422
    assert both.message == [
        "customFields.0: pass field_value (sent as field_value) or value (sent as fieldValue), "
        "not both"
    ]
    # Other spellings are still unknown fields.
    kebab = await api.post(
        "/contacts/",
        json={"locationId": api.fake.location_id, "customFields": [{"key": "p", "value": "x"}]},
    )
    assert (kebab.status, kebab.message) == (
        422,
        ["property customFields.0.value should not exist"],
    )


async def test_custom_field_value_through_the_client(api: Api) -> None:
    async with api.fake.client() as ghl:
        created = await ghl.contacts.create(
            email="cf@example.com", custom_fields=[CustomFieldInput(key="tier", value=2)]
        )
    assert [field.value for field in created.custom_fields] == ["2"]
    assert api.fake.requests[-1].operation == "contacts.create"
    with pytest.raises(ConfigError, match="not both"):
        CustomFieldInput(key="tier", value=2, field_value=3)

"""Every answer FakeHighLevel gives for the 32 operations matches HighLevel's spec.

Reads ``../shared/ghl-api/contacts.json`` (relative to the repository root) and validates each
response body against the schema the spec declares for its operation and status. The two
operations without a 200 schema (search, duplicate) are checked against their documented
shapes (CONTACTS-API.md §2, §4.3).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
from fake_helpers import Answer, Api, running
from openapi_check import Spec, needs_spec

from ghl_async.routes import ALL_ROUTES

pytestmark = needs_spec("contacts.json")


async def _exercise(api: Api) -> None:
    """Call all 32 operations, successfully and with the errors the spec declares."""
    fake = api.fake
    location = fake.location_id
    seeded = fake.seed_contacts(3, tasks=1, notes=1, appointments=1)
    contact = await api.create(
        firstName="Ada",
        email="ada@alpha.example",
        phone="+14155550100",
        dateOfBirth="1990-09-25",
        dndSettings={"Email": {"status": "active"}},
        customFields=[{"key": "plan", "field_value": "Gold"}],
        tags=["a"],
    )
    cid = contact["id"]
    base = f"/contacts/{cid}"
    await api.get(base)
    await api.put(base, json={"lastName": "Lovelace", "tags": ["a", "b"]})
    await api.post("/contacts/upsert", json={"locationId": location, "email": "ada@alpha.example"})
    await api.post("/contacts/upsert", json={"locationId": location, "email": "new@beta.example"})
    await api.get("/contacts/business/biz_1", params={"locationId": location, "limit": "2"})
    await api.get("/contacts/", params={"locationId": location, "limit": "2"})
    await api.post("/contacts/search", json={"locationId": location, "pageLimit": 5})
    await api.get(
        "/contacts/search/duplicate", params={"locationId": location, "email": "ada@alpha.example"}
    )
    await api.get(
        "/contacts/search/duplicate", params={"locationId": location, "email": "x@y.example"}
    )
    await api.post(f"{base}/tags", json={"tags": ["c"]})
    await api.delete(f"{base}/tags", json={"tags": ["a"]})
    await api.post(
        "/contacts/bulk/tags/update/add",
        json={"contacts": [cid, "missing"], "tags": ["d"], "locationId": location},
    )
    await api.post(
        "/contacts/bulk/business",
        json={"locationId": location, "ids": [cid], "businessId": "biz_1"},
    )
    await api.post(f"{base}/followers", json={"followers": ["u1"]})
    await api.delete(f"{base}/followers", json={"followers": ["u1"]})
    await api.post(f"{base}/campaigns/c1", json={})
    await api.delete(f"{base}/campaigns/c1")
    await api.delete(f"{base}/campaigns/removeAll")
    await api.post(f"{base}/workflow/w1", json={})
    await api.delete(f"{base}/workflow/w1", json={})
    task = (
        await api.post(
            f"{base}/tasks",
            json={"title": "t", "dueDate": "2026-01-01T00:00:00Z", "completed": False},
        )
    ).json["task"]
    await api.get(f"{base}/tasks")
    await api.get(f"{base}/tasks/{task['id']}")
    await api.put(f"{base}/tasks/{task['id']}", json={"body": "b"})
    await api.put(f"{base}/tasks/{task['id']}/completed", json={"completed": True})
    await api.delete(f"{base}/tasks/{task['id']}")
    note = (await api.post(f"{base}/notes", json={"body": "n"})).json["note"]
    await api.get(f"{base}/notes")
    await api.get(f"{base}/notes/{note['id']}")
    await api.put(f"{base}/notes/{note['id']}", json={"pinned": True})
    await api.delete(f"{base}/notes/{note['id']}")
    await api.get(f"/contacts/{seeded[0]}/appointments")
    await api.get(f"/contacts/{seeded[0]}/tasks")
    await api.get(f"/contacts/{seeded[0]}/notes")
    await api.delete(base)
    # Declared errors: 400 (unknown id), 401 (no token), 422 (invalid body or query).
    await api.get(base)
    await api.get(f"{base}/tasks")
    await api.delete(f"/contacts/{seeded[1]}/notes/nope")
    await api.get(f"/contacts/{seeded[1]}", token=None)
    await api.post(f"/contacts/{seeded[1]}/tags", json={"tags": "x"})
    await api.post("/contacts/", json={"locationId": location, "gender": 1})
    await api.post("/contacts/bulk/business", json={"locationId": location})
    await api.get("/contacts/business/biz_1", params={"locationId": location, "limit": "500"})


def _check_search(spec: Spec, body: Any) -> list[str]:
    summary = spec.root["components"]["schemas"]["ContactsSearchSchema"]
    errors = []
    if not isinstance(body.get("total"), int):
        errors.append("total is not an integer")
    for index, contact in enumerate(body.get("contacts", [])):
        # Live search results carry dateOfBirth as epoch ms: drop it before the string check.
        errors += spec.validate(
            {k: v for k, v in contact.items() if k != "dateOfBirth"},
            summary,
            f"$.contacts[{index}]",
        )
        cursor = contact.get("searchAfter")
        if not (isinstance(cursor, list) and cursor and cursor[-1] == contact["id"]):
            errors.append(f"contacts[{index}].searchAfter is not a cursor ending with the id")
    return errors


def _check_duplicate(spec: Spec, body: Any) -> list[str]:
    if set(body) != {"contact"}:
        return [f"unexpected keys {sorted(body)}"]
    if body["contact"] is None:
        return []
    schema = spec.root["components"]["schemas"]["GetContectByIdSchema"]
    return spec.validate(body["contact"], schema, "$.contact")


async def test_every_answer_matches_the_spec() -> None:
    spec = Spec()
    async with running() as api:
        await _exercise(api)
        answers: list[Answer] = api.answers
    assert api.fake.count(status=500) == 0
    succeeded: set[str] = set()
    problems: list[str] = []
    for answer in answers:
        path = urlsplit(answer.path).path
        operation = spec.find(answer.method, path)
        body = answer.json
        where = f"{answer.method} {path} -> {answer.status}"
        if 200 <= answer.status < 300:
            declared = [int(s) for s in operation.spec["responses"] if s.startswith("2")]
            if answer.status not in declared:
                problems.append(f"{where}: spec declares {declared}")
            succeeded.add(operation.operation_id)
        schema = operation.schema(answer.status)
        if schema is not None:
            problems += [f"{where}: {e}" for e in spec.validate(body, schema)]
        elif operation.operation_id == "search-contacts-advanced" and answer.status == 200:
            problems += [f"{where}: {e}" for e in _check_search(spec, body)]
        elif operation.operation_id == "get-duplicate-contact" and answer.status == 200:
            problems += [f"{where}: {e}" for e in _check_duplicate(spec, body)]
        elif answer.status < 300 or operation.declares(answer.status):
            problems.append(f"{where}: no schema to check against")
        if answer.status >= 400:
            # Every error carries HighLevel's NestJS shape.
            assert set(body) >= {"statusCode", "message", "error"}, where
            assert body["statusCode"] == answer.status
            assert isinstance(body["message"], list if answer.status == 422 else str), where
    assert problems == []
    assert succeeded == {op.operation_id for op in spec.operations}
    assert len(succeeded) == 32


async def test_envelopes_match_the_route_table() -> None:
    async with running() as api:
        await _exercise(api)
    by_operation = {route.operation_id: route for route in ALL_ROUTES}
    spec = Spec()
    for answer in api.answers:
        if not 200 <= answer.status < 300:
            continue
        route = by_operation[spec.find(answer.method, urlsplit(answer.path).path).operation_id]
        assert answer.status == route.status, route.name
        payload = answer.json
        if route.envelope is not None:
            assert route.envelope in payload, route.name
            payload = payload[route.envelope]
        # The SDK's own response models accept what the fake sends.
        msgspec.convert(payload, route.response)


def test_the_validator_catches_mismatches() -> None:
    """The conformance test above can fail: the validator spots each kind of mismatch."""
    spec = Spec()
    get = spec.find("GET", "/contacts/abc")
    assert get.operation_id == "get-contact"
    bad = {
        "contact": {
            "id": 1,
            "dnd": "x",
            "customFields": [{"id": "a", "value": 3}],
            "dndSettings": {"Call": {"status": "weird"}},
        }
    }
    assert len(spec.validate(bad, get.schema(200) or {})) == 4
    assert spec.find("DELETE", "/contacts/a/campaigns/removeAll").operation_id == (
        "remove-contact-from-every-campaign"
    )
    bulk = spec.find("POST", "/contacts/bulk/tags/update/add")
    assert spec.validate({"responses": [{}]}, bulk.schema(201) or {}) == [
        "$: missing required succeded",
        "$: missing required errorCount",
        "$.responses[0]: expected string, got dict ({})",
    ]
    unprocessable = spec.find("POST", "/contacts/").schema(422) or {}
    assert spec.validate({"statusCode": 422, "message": "one"}, unprocessable) != []
    assert spec.validate(None, {"type": "string", "nullable": True}) == []
    assert spec.validate(None, {"type": "string"}) != []
    assert spec.validate(3, {"anyOf": [{"type": "string"}, {"type": "boolean"}]}) != []
    assert spec.validate("a", {"anyOf": [{"type": "string"}]}) == []
    assert spec.validate(1.5, {"type": "integer"}) != []
    with pytest.raises(LookupError):
        spec.find("GET", "/nothing/here")

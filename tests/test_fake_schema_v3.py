"""Every ``Version: v3`` answer FakeHighLevel gives matches ``contacts-v3.json``.

The 31 operations are called over a real socket with a plain aiohttp session, successfully and
with the errors v3 declares or defines (400, 401, 422, and the 403/404 DTOs of
``v3-common-schemas.json``); each body is validated against the schema the spec declares for
its operation and status. Search and duplicate declare no 200 schema; they are checked against
their documented shapes (CONTACTS-API.md §2, §4.3), the contacts inside against v3's schemas.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
from fake_helpers import Answer, Api, running
from openapi_check import Spec, needs_spec

from ghl_async.routes import V3_ROUTES

pytestmark = needs_spec("contacts-v3.json")

V3 = "v3"


async def _exercise(api: Api) -> None:
    """Call all 31 v3 operations, successfully and with errors."""
    fake = api.fake
    location = fake.location_id
    seeded = fake.seed_contacts(3, tasks=1, notes=1, appointments=1)
    created = await api.post(
        "/contacts/",
        version=V3,
        json={
            "locationId": location,
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": "ada@alpha.example",
            "phone": "+14155550100",
            "dateOfBirth": "1990-09-25",
            "dndSettings": {"email": {"status": "active"}, "whatsApp": {"status": "inactive"}},
            "customFields": [{"key": "plan", "fieldValue": "Gold"}],
            "tags": ["a"],
        },
    )
    assert created.status == 201, created.body
    contact = created.json["contact"]
    cid = contact["id"]
    base = f"/contacts/{cid}"

    async def call(method: str, path: str, **kwargs: Any) -> Answer:
        return await api.call(method, path, version=V3, **kwargs)

    await call("GET", base)
    await call("PUT", base, json={"lastName": "King", "dndSettings": {"sms": {"status": "active"}}})
    await call(
        "POST", "/contacts/upsert", json={"locationId": location, "email": "ada@alpha.example"}
    )
    await call(
        "POST", "/contacts/upsert", json={"locationId": location, "email": "new@beta.example"}
    )
    # 400 with meta: the location does not allow duplicates.
    await call("POST", "/contacts/", json={"locationId": location, "email": "new@beta.example"})
    await call(
        "POST",
        "/contacts/bulk/business",
        json={"locationId": location, "ids": [cid, seeded[0]], "businessId": "biz_1"},
    )
    first = await call(
        "GET", "/contacts/business/biz_1", params={"locationId": location, "limit": "1"}
    )
    last = first.json["contacts"][-1]
    await call(
        "GET",
        "/contacts/business/biz_1",
        params=[
            ("locationId", location),
            ("limit", "1"),
            ("startAfter", (last.get("contactName") or "").lower()),
            ("startAfter", last["id"]),
        ],
    )
    await call("POST", "/contacts/search", json={"locationId": location, "pageLimit": 5})
    await call(
        "GET",
        "/contacts/search/duplicate",
        params={"locationId": location, "email": "ada@alpha.example"},
    )
    await call("GET", "/contacts/search/duplicate", params={"locationId": location, "number": "+1"})
    await call("POST", f"{base}/tags", json={"tags": ["c"]})
    await call("DELETE", f"{base}/tags", json={"tags": ["a"]})
    await call(
        "POST",
        "/contacts/bulk/tags/update/add",
        json={"contacts": [cid, "missing"], "tags": ["d"], "locationId": location},
    )
    await call("POST", f"{base}/followers", json={"followers": ["u1"]})
    await call("DELETE", f"{base}/followers", json={"followers": ["u1"]})
    await call("POST", f"{base}/campaigns/c1", json={})
    await call("DELETE", f"{base}/campaigns/c1")
    await call("DELETE", f"{base}/campaigns/remove-all")
    await call("POST", f"{base}/workflow/w1", json={"eventStartTime": "2026-01-01T10:00:00+00:00"})
    await call("DELETE", f"{base}/workflow/w1", json={})
    task = (
        await call(
            "POST",
            f"{base}/tasks",
            json={"title": "t", "dueDate": "2026-01-01T00:00:00Z", "completed": False},
        )
    ).json["task"]
    await call("GET", f"{base}/tasks")
    await call("GET", f"{base}/tasks/{task['id']}")
    await call("PUT", f"{base}/tasks/{task['id']}", json={"body": "b"})
    await call("PUT", f"{base}/tasks/{task['id']}/completed", json={"completed": True})
    await call("DELETE", f"{base}/tasks/{task['id']}")
    note = (await call("POST", f"{base}/notes", json={"body": "n"})).json["note"]
    await call("GET", f"{base}/notes")
    await call("GET", f"{base}/notes/{note['id']}")
    await call("PUT", f"{base}/notes/{note['id']}", json={"pinned": True})
    await call("DELETE", f"{base}/notes/{note['id']}")
    await call("GET", f"/contacts/{seeded[1]}/appointments")
    await call("DELETE", base)
    # Errors: 404 (unknown ids, v3's NotFoundDTO), 401, 422 (v2 DND keys, unknown fields).
    await call("GET", base)
    await call("GET", f"{base}/tasks")
    await call("DELETE", f"/contacts/{seeded[1]}/notes/nope")
    await call("GET", f"/contacts/{seeded[1]}", token=None)
    await call(
        "POST",
        "/contacts/",
        json={"locationId": location, "dndSettings": {"Email": {"status": "active"}}},
    )
    await call("POST", f"/contacts/{seeded[1]}/tags", json={"tags": "x"})
    await call("POST", "/contacts/bulk/business", json={"locationId": location})
    await call("GET", "/contacts/business/biz_1", params={"locationId": location, "limit": "500"})


def _check_search(spec: Spec, body: Any) -> list[str]:
    summary = spec.root["components"]["schemas"]["ContactsSearchSchema"]
    dnd = spec.root["components"]["schemas"]["DndSettingsSchemaV3"]
    errors = []
    if not isinstance(body.get("total"), int):
        errors.append("total is not an integer")
    for index, contact in enumerate(body.get("contacts", [])):
        errors += spec.validate(
            {k: v for k, v in contact.items() if k != "dateOfBirth"},
            summary,
            f"$.contacts[{index}]",
        )
        if "dndSettings" in contact:
            errors += spec.validate(contact["dndSettings"], dnd, f"$.contacts[{index}].dndSettings")
            unknown = set(contact["dndSettings"]) - set(dnd["properties"])
            if unknown:
                errors.append(f"contacts[{index}].dndSettings has v2 keys {sorted(unknown)}")
    return errors


def _check_duplicate(spec: Spec, body: Any) -> list[str]:
    if set(body) != {"contact"}:
        return [f"unexpected keys {sorted(body)}"]
    if body["contact"] is None:
        return []
    schema = spec.root["components"]["schemas"]["GetContactByIdSchemaV3"]
    return spec.validate(body["contact"], schema, "$.contact")


def _dnd_keys(body: Any) -> set[str]:
    """Every DND channel key anywhere in a contacts answer."""
    keys: set[str] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "dndSettings" and isinstance(value, dict):
                keys |= set(value)
            else:
                keys |= _dnd_keys(value)
    elif isinstance(body, list):
        for item in body:
            keys |= _dnd_keys(item)
    return keys


async def test_every_v3_answer_matches_the_spec() -> None:
    spec = Spec("contacts-v3.json")
    async with running() as api:
        await _exercise(api)
        answers: list[Answer] = api.answers
    assert api.fake.count(status=500) == 0
    assert {r.version for r in api.fake.requests} == {"v3"}
    succeeded: set[str] = set()
    statuses: set[int] = set()
    problems: list[str] = []
    for answer in answers:
        path = urlsplit(answer.path).path
        operation = spec.find(answer.method, path)
        body = answer.json
        where = f"{answer.method} {path} -> {answer.status}"
        statuses.add(answer.status)
        if 200 <= answer.status < 300:
            declared = [int(s) for s in operation.spec["responses"] if s.startswith("2")]
            if answer.status not in declared:
                problems.append(f"{where}: spec declares {declared}")
            succeeded.add(operation.operation_id)
            if _dnd_keys(body) - {"call", "email", "sms", "whatsApp", "gmb", "fb"}:
                problems.append(f"{where}: v2 DND keys {sorted(_dnd_keys(body))}")
        schema = operation.schema(answer.status)
        if schema is None and answer.status in (403, 404):
            schema = spec.common_schema({403: "ForbiddenDTO", 404: "NotFoundDTO"}[answer.status])
        if schema is not None:
            problems += [f"{where}: {e}" for e in spec.validate(body, schema)]
        elif operation.operation_id == "search-contacts-advanced" and answer.status == 200:
            problems += [f"{where}: {e}" for e in _check_search(spec, body)]
        elif operation.operation_id == "get-duplicate-contact" and answer.status == 200:
            problems += [f"{where}: {e}" for e in _check_duplicate(spec, body)]
        else:
            problems.append(f"{where}: no schema to check against")
        if answer.status == 404:
            assert set(body) == {"statusCode", "message"}, where  # NotFoundDTO: no `error`
        elif answer.status >= 400:
            assert set(body) >= {"statusCode", "message", "error"}, where
            assert isinstance(body["message"], list if answer.status == 422 else str), where
    assert problems == []
    assert succeeded == {op.operation_id for op in spec.operations}
    assert len(succeeded) == 31
    assert {400, 401, 404, 422} <= statuses


async def test_v3_envelopes_decode_with_the_sdks_models() -> None:
    async with running() as api:
        await _exercise(api)
    by_operation = {route.operation_id: route for route in V3_ROUTES}
    spec = Spec("contacts-v3.json")
    for answer in api.answers:
        if not 200 <= answer.status < 300:
            continue
        route = by_operation[spec.find(answer.method, urlsplit(answer.path).path).operation_id]
        assert answer.status == route.status, route.name
        payload = answer.json
        if route.envelope is not None:
            assert route.envelope in payload, route.name
            payload = payload[route.envelope]
        msgspec.convert(payload, route.response)


def test_the_v3_validator_reads_allof_and_the_v3_dtos() -> None:
    spec = Spec("contacts-v3.json")
    get = spec.find("GET", "/contacts/abc").schema(200) or {}
    assert spec.validate({"contact": {"dndSettings": {"email": {"status": 1}}}}, get) != []
    assert spec.validate({"contact": {"dndSettings": {"email": {"status": "active"}}}}, get) == []
    assert spec.find("DELETE", "/contacts/a/campaigns/remove-all").operation_id == (
        "remove-contact-from-every-campaign"
    )
    assert spec.validate({"statusCode": "404"}, spec.common_schema("NotFoundDTO")) != []
    with pytest.raises(LookupError):
        spec.find("GET", "/contacts/")  # gone in v3

"""FakeHighLevel is as strict as HighLevel: headers, tokens, scopes, bodies, query strings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from fake_helpers import Api, running

UNPROCESSABLE = "Unprocessable Entity"


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with running() as api:
        yield api


async def test_version_header_is_required(api: Api) -> None:
    missing = await api.get("/contacts/x", version=None)
    assert missing.status == 401
    assert missing.json == {
        "statusCode": 401,
        "message": "version header was not found.",
        "error": "Unauthorized",
    }
    wrong = await api.get("/contacts/x", version="2021-04-15")
    assert wrong.status == 400
    assert "2021-07-28" in wrong.message


async def test_authorization(api: Api) -> None:
    missing = await api.get("/contacts/x", token=None)
    assert (missing.status, missing.message) == (
        401,
        "No Authorization header found for authentication!",
    )
    unknown = await api.get("/contacts/x", token="not-a-token")
    assert (unknown.status, unknown.message, unknown.json["error"]) == (
        401,
        "Invalid JWT",
        "Unauthorized",
    )
    basic = await api.get("/contacts/x", headers={"Authorization": "Basic abc"}, token=None)
    assert basic.message == "Invalid JWT"
    # No rate-limit headers before the caller is known.
    assert "X-RateLimit-Max" not in missing.headers


async def test_scopes(api: Api) -> None:
    fake = api.fake
    reader = fake.issue_token(scopes=["contacts.readonly"]).access_token
    contact_id = fake.seed_contacts(1)[0]
    assert (await api.get(f"/contacts/{contact_id}", token=reader)).status == 200
    denied = await api.delete(f"/contacts/{contact_id}", token=reader)
    assert denied.status == 401
    assert denied.json == {
        "statusCode": 401,
        "message": "The token is not authorized for this scope.",
        "error": "Unauthorized",
    }
    writer = fake.issue_token(scopes=["contacts.write"]).access_token
    assert (await api.get(f"/contacts/{contact_id}", token=writer)).status == 401
    # An agency token cannot call contact endpoints at all.
    company = fake.issue_token(user_type="Company").access_token
    assert (await api.get(f"/contacts/{contact_id}", token=company)).status == 401


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        (
            "/contacts/",
            {"locationId": "{loc}", "foo": 1},
            ["property foo should not exist"],
        ),
        ("/contacts/", {"firstName": "x"}, ["locationId should not be empty"]),
        ("/contacts/", {"locationId": 5}, ["locationId must be a string"]),
        ("/contacts/", {"locationId": "{loc}", "tags": "vip"}, ["tags must be an array"]),
        ("/contacts/", {"locationId": "{loc}", "dnd": "yes"}, ["dnd must be a boolean value"]),
        (
            "/contacts/",
            {"locationId": "{loc}", "dndSettings": {"Call": {"status": "maybe"}}},
            ["dndSettings.Call.status must be one of the allowed values"],
        ),
        (
            "/contacts/",
            {"locationId": "{loc}", "dndSettings": {"Call": {"status": "active", "x": 1}}},
            ["property dndSettings.Call.x should not exist"],
        ),
        (
            "/contacts/",
            {"locationId": "{loc}", "customFields": [{"id": 1}]},
            ["customFields.0.id must be a string"],
        ),
        ("/contacts/", {"locationId": "{loc}", "email": "nope"}, ["email must be an email"]),
        ("/contacts/", [1, 2], ["body must be an object"]),
        (
            "/contacts/search",
            {"locationId": "{loc}", "pageLimit": 1.5},
            ["pageLimit must be an integer number"],
        ),
        (
            "/contacts/search",
            {"locationId": "{loc}", "pageLimit": 10, "searchAfter": [None]},
            ["searchAfter.0 must be one of: int, float, str (got null)"],
        ),
    ],
)
async def test_body_validation(api: Api, path: str, body: Any, message: list[str]) -> None:
    if isinstance(body, dict) and body.get("locationId") == "{loc}":
        body = {**body, "locationId": api.fake.location_id}
    answer = await api.post(path, json=body)
    assert answer.status == 422
    assert answer.json == {"statusCode": 422, "message": message, "error": UNPROCESSABLE}
    # Authenticated, so the rate-limit headers are there even on errors.
    assert answer.headers["X-RateLimit-Max"] == "100"


async def test_update_rejects_create_only_fields(api: Api) -> None:
    contact_id = api.fake.seed_contacts(1)[0]
    for field in ("gender", "locationId", "companyName"):
        answer = await api.put(f"/contacts/{contact_id}", json={field: "x"})
        assert (answer.status, answer.message) == (422, [f"property {field} should not exist"])


async def test_malformed_and_non_json_bodies(api: Api) -> None:
    contact_id = api.fake.seed_contacts(1)[0]
    broken = await api.post(
        f"/contacts/{contact_id}/tags",
        data=b'{"tags": [',
        headers={"Content-Type": "application/json"},
    )
    assert broken.status == 400
    assert broken.json["error"] == "Bad Request"
    # Like NestJS, a body not declared as JSON is not parsed: it is as if it were empty.
    as_text = await api.post(
        f"/contacts/{contact_id}/tags",
        data=b'{"tags": ["a"]}',
        headers={"Content-Type": "text/plain"},
    )
    assert (as_text.status, as_text.message) == (422, ["tags should not be empty"])
    no_body = await api.delete(f"/contacts/{contact_id}/tags")
    assert no_body.status == 422
    # An empty body is fine where nothing is required.
    assert (await api.post(f"/contacts/{contact_id}/campaigns/c1")).status == 201


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/contacts/business/biz_1", {"page": "2"}, ["property page should not exist"]),
        ("/contacts/business/biz_1", {"limit": "101"}, ["limit must not be greater than 100"]),
        ("/contacts/business/biz_1", {"limit": "0"}, ["limit must not be less than 1"]),
        ("/contacts/business/biz_1", {"limit": "ten"}, ["limit must be a number string"]),
        ("/contacts/business/biz_1", {"skip": "-1"}, ["skip must be a number string"]),
        ("/contacts/", {"limit": "101"}, ["limit must not be greater than 100"]),
        ("/contacts/", {"limit": "0"}, ["limit must not be less than 1"]),
        ("/contacts/", {"startAfter": "soon"}, ["startAfter must be an integer number"]),
        ("/contacts/", {"skip": "5"}, ["property skip should not exist"]),
    ],
)
async def test_query_validation(
    api: Api, path: str, params: dict[str, str], message: list[str]
) -> None:
    answer = await api.get(path, params={"locationId": api.fake.location_id, **params})
    assert (answer.status, answer.json) == (
        422,
        {"statusCode": 422, "message": message, "error": UNPROCESSABLE},
    )


async def test_missing_location_query(api: Api) -> None:
    answer = await api.get("/contacts/business/biz_1")
    assert (answer.status, answer.message) == (422, ["locationId should not be empty"])


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"pageLimit": 501}, 422, ["pageLimit must not be greater than 500"]),
        ({"pageLimit": 0}, 422, ["pageLimit must not be less than 1"]),
        ({"pageLimit": 10, "page": 0}, 422, ["page must not be less than 1"]),
        (
            {"pageLimit": 10, "page": 2, "searchAfter": [1, "a"]},
            422,
            ["page and searchAfter cannot be used together"],
        ),
        ({"pageLimit": 10, "query": "x" * 76}, 422, None),
        ({"pageLimit": 500, "page": 21}, 400, None),
        ({"pageLimit": 10, "searchAfter": [1]}, 422, None),
        ({"pageLimit": 10, "searchAfter": ["x", "id"]}, 422, None),
        (
            {"pageLimit": 10, "filters": [{"field": "nope", "operator": "eq", "value": 1}]},
            422,
            None,
        ),
        ({"pageLimit": 10, "filters": [{"field": "email"}]}, 422, None),
        ({"pageLimit": 10, "filters": [{"field": "email", "operator": "eq"}]}, 422, None),
        (
            {"pageLimit": 10, "filters": [{"field": "email", "operator": "eq", "value": "x" * 76}]},
            422,
            None,
        ),
        (
            {"pageLimit": 10, "filters": [{"field": "dateAdded", "operator": "range", "value": 5}]},
            422,
            None,
        ),
        (
            {
                "pageLimit": 10,
                "filters": [{"field": "dateAdded", "operator": "range", "value": {"gt": "x"}}],
            },
            422,
            None,
        ),
        (
            {"pageLimit": 10, "filters": [{"field": "email", "operator": "eq", "value": {"a": 1}}]},
            422,
            None,
        ),
        ({"pageLimit": 10, "filters": [{"group": "AND"}]}, 422, None),
        ({"pageLimit": 10, "sort": [{"field": "nope"}]}, 422, None),
    ],
)
async def test_search_validation(
    api: Api, body: dict[str, Any], status: int, message: list[str] | None
) -> None:
    answer = await api.post("/contacts/search", json={"locationId": api.fake.location_id, **body})
    assert answer.status == status, answer.body
    if message is not None:
        assert answer.message == message
    assert answer.json["error"] in ("Bad Request", UNPROCESSABLE)

"""The route table matches HighLevel's ``contacts.json`` one to one.

Reads the vendored spec from ``../shared/ghl-api/`` relative to the repository root.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ghl_async import models as m
from ghl_async import routes
from ghl_async.errors import ConfigError
from ghl_async.routes import Route

SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "ghl-api"
SPEC_FILE = SPEC_DIR / "contacts.json"

pytestmark = pytest.mark.skipif(
    not SPEC_FILE.exists(), reason=f"the vendored spec folder {SPEC_DIR} is absent"
)

# Spec quirks the table fixes on purpose (each commented in routes.py).
NO_SECURITY = {"create-association", "add-remove-contact-from-business"}  # bulk: no block
EMPTY_BODY_SCHEMA = {"search-contacts-advanced"}  # SearchBodyV2DTO is an empty object


def _spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
    return data


def _operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    ops = {}
    for path, methods in _spec()["paths"].items():
        for method, op in methods.items():
            ops[op["operationId"]] = (method.upper(), path, op)
    return ops


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _wire_names(struct: type[msgspec.Struct]) -> set[str]:
    return {f.encode_name for f in msgspec.structs.fields(struct)}


def _schema(ref: str) -> dict[str, Any]:
    schema: dict[str, Any] = _spec()["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def test_one_route_per_operation() -> None:
    ops = _operations()
    assert len(ops) == 32
    assert sorted(r.operation_id for r in routes.ALL_ROUTES) == sorted(ops)
    assert len({r.name for r in routes.ALL_ROUTES}) == len(routes.ALL_ROUTES)


@pytest.mark.parametrize("route", routes.ALL_ROUTES, ids=lambda r: r.name)
def test_route_matches_spec(route: Route[object]) -> None:
    method, path, op = _operations()[route.operation_id]
    assert route.method == method
    assert _shape(route.path) == _shape(path)
    assert route.deprecated == bool(op.get("deprecated", False))
    success = [int(code) for code in op["responses"] if code.startswith("2")]
    assert success == [route.status]
    if route.operation_id in NO_SECURITY:
        assert "security" not in op
        assert route.scope == routes.WRITE
    else:
        assert op["security"] == [{"bearer": [route.scope]}]
    # Every Version header is required with the one value the client sends.
    version = [p for p in op["parameters"] if p["in"] == "header" and p["name"] == "Version"]
    assert len(version) == 1
    assert version[0]["required"]
    assert version[0]["schema"]["enum"] == ["2021-07-28"]


@pytest.mark.parametrize(
    "route", [r for r in routes.ALL_ROUTES if r.query is not None], ids=lambda r: r.name
)
def test_query_fields_are_the_spec_parameters(route: Route[object]) -> None:
    assert route.query is not None
    _, _, op = _operations()[route.operation_id]
    declared = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
    assert _wire_names(route.query) == set(declared)
    required = {f.encode_name for f in msgspec.structs.fields(route.query) if f.required}
    assert required == {name for name, p in declared.items() if p.get("required")}
    assert (route.location == "query") == ("locationId" in declared)


@pytest.mark.parametrize(
    "route",
    [r for r in routes.ALL_ROUTES if r.body and r.operation_id not in EMPTY_BODY_SCHEMA],
    ids=lambda r: r.name,
)
def test_body_fields_are_declared_by_the_spec(route: Route[object]) -> None:
    # HighLevel answers 422 to any undeclared property, so a body field the spec does not
    # declare would make every call fail.
    assert route.body is not None
    _, _, op = _operations()[route.operation_id]
    schema = _schema(op["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    declared = set(schema.get("properties", {}))
    assert _wire_names(route.body) <= declared
    required = {f.encode_name for f in msgspec.structs.fields(route.body) if f.required}
    for name in schema.get("required", []):
        assert name in required, f"{route.name}: {name} is required by the spec"
    assert (route.location == "body") == ("locationId" in declared)


def test_operations_without_a_body_declare_none() -> None:
    ops = _operations()
    for route in routes.ALL_ROUTES:
        _, _, op = ops[route.operation_id]
        assert (route.body is not None) == ("requestBody" in op), route.name


def test_write_policies_are_in_the_table() -> None:
    policies = {r.name: r.write for r in routes.ALL_ROUTES if r.write != "idempotent"}
    assert policies == {
        "contacts.create": "reconcile",
        "contacts.tasks.create": "reconcile",
        "contacts.notes.create": "reconcile",
        "contacts.upsert": routes.IfBodyFlag(
            "create_new_if_duplicate_allowed", then="reconcile", otherwise="idempotent"
        ),
        "contacts.add_to_campaign": "never_resend",
        "contacts.add_to_workflow": "never_resend",
    }
    keys = {r.name: r.natural_key for r in routes.ALL_ROUTES if r.natural_key is not None}
    assert keys == {
        "contacts.create": "contact",
        "contacts.upsert": "contact",
        "contacts.tasks.create": "task",
        "contacts.notes.create": "note",
    }
    for route in routes.ALL_ROUTES:
        if route.method in ("GET", "PUT", "DELETE"):
            assert route.idempotent, route.name
    # POST /contacts/search is a read: its body is the query.
    assert routes.SEARCH_CONTACTS.idempotent


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (m.UpsertContact(location_id="l", email="a@b.c"), "idempotent"),
        (m.UpsertContact(location_id="l", email="a@b.c", create_new_if_duplicate_allowed=False),
         "idempotent"),
        (m.UpsertContact(location_id="l", email="a@b.c", create_new_if_duplicate_allowed=True),
         "reconcile"),
        (None, "idempotent"),
    ],
)  # fmt: skip
def test_upsert_is_idempotent_unless_duplicates_are_allowed(
    body: m.UpsertContact | None, expected: str
) -> None:
    assert routes.UPSERT_CONTACT.write_policy(body) == expected
    assert not routes.UPSERT_CONTACT.idempotent  # not for every call
    assert routes.CREATE_CONTACT.write_policy(body) == "reconcile"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"write": "sometimes"}, "unknown write policy"),
        ({"write": "reconcile"}, "needs a natural_key"),
        ({"write": routes.IfBodyFlag("nope", then="reconcile", otherwise="idempotent"),
          "natural_key": "contact", "body": m.UpsertContact}, "not a field"),
        ({"write": routes.IfBodyFlag("email", then="reconcile", otherwise="idempotent"),
          "natural_key": "contact"}, "not a field"),
    ],
)  # fmt: skip
def test_a_route_with_a_bad_write_policy_is_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        routes.Route(
            name="x.y", operation_id="x", method="POST", path="/x", scope="s", status=200,
            response=m.Ack, **kwargs,  # type: ignore[arg-type]  # deliberately wrong values
        )  # fmt: skip

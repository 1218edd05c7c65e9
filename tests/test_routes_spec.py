"""The route table matches HighLevel's spec files one to one, for each API version.

``2021-07-28`` rows against ``contacts.json`` and ``oauth.json``, ``v3`` rows against
``contacts-v3.json`` and ``oauth-v3.json``: method, path, scope, the ``Version`` header, and the
query and body fields (names and which are required). Reads the vendored specs from
``../shared/ghl-api/`` relative to the repository root.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any

import msgspec
import pytest
from openapi_check import SPEC_DIR, needs_spec

from ghl_async import auth, defaults, routes
from ghl_async import models as m
from ghl_async.errors import ConfigError
from ghl_async.routes import Route

SPEC_FILES = {
    (defaults.API_VERSION, "contacts"): "contacts.json",
    (defaults.API_VERSION, "oauth"): "oauth.json",
    (defaults.API_V3, "contacts"): "contacts-v3.json",
    (defaults.API_V3, "oauth"): "oauth-v3.json",
}

pytestmark = needs_spec("contacts.json")

# Spec quirks the table fixes on purpose (each commented in routes.py).
NO_SECURITY = {"create-association", "add-remove-contact-from-business"}  # bulk: no block
EMPTY_BODY_SCHEMA = {"search-contacts-advanced"}  # SearchBodyV2DTO is an empty object
# The token endpoints are auth.py's, not routes: a form POST with no bearer token (code, refresh)
# or an agency token (location tokens).
TOKEN_ENDPOINTS = {
    defaults.API_VERSION: {auth.TOKEN_PATH, auth.LOCATION_TOKEN_PATH},
    defaults.API_V3: {auth.TOKEN_PATH, auth.LOCATION_TOKEN_PATH_V3},
}


@cache
def _spec(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SPEC_DIR / name).read_text(encoding="utf-8"))
    return data


def _api(route: Route[object]) -> str:
    """The API a route belongs to: its namespace after the version prefix."""
    parts = route.name.split(".")
    return parts[1] if parts[0] == "v3" else parts[0]


def _file(route: Route[object]) -> str:
    return SPEC_FILES[(route.version, _api(route))]


def _operations(name: str) -> dict[str, tuple[str, str, dict[str, Any]]]:
    ops = {}
    for path, methods in _spec(name)["paths"].items():
        for method, op in methods.items():
            ops[op["operationId"]] = (method.upper(), path, op)
    return ops


def _operation(route: Route[object]) -> tuple[str, str, dict[str, Any]]:
    return _operations(_file(route))[route.operation_id]


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def _wire_names(struct: type[msgspec.Struct]) -> set[str]:
    return {f.encode_name for f in msgspec.structs.fields(struct)}


def _schema(name: str, ref: str) -> dict[str, Any]:
    schema: dict[str, Any] = _spec(name)["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


@pytest.mark.parametrize(("version", "api"), list(SPEC_FILES), ids="-".join)
def test_one_route_per_operation(version: str, api: str) -> None:
    name = SPEC_FILES[(version, api)]
    rows = [r for r in routes.ALL_ROUTES if r.version == version and _api(r) == api]
    ops = _operations(name)
    covered = {op_id for op_id, (_, path, _) in ops.items() if path in TOKEN_ENDPOINTS[version]}
    assert sorted(r.operation_id for r in rows) == sorted(set(ops) - covered)
    assert (
        len(ops)
        == {
            "contacts.json": 32,
            "contacts-v3.json": 31,
            "oauth.json": 3,
            "oauth-v3.json": 3,
        }[name]
    )


def test_route_names_are_unique_and_carry_their_version() -> None:
    assert len({r.name for r in routes.ALL_ROUTES}) == len(routes.ALL_ROUTES)
    for route in routes.ALL_ROUTES:
        assert route.name.startswith("v3.") == (route.version == defaults.API_V3), route.name
    assert routes.routes_of(defaults.API_V3) == routes.V3_ROUTES
    assert routes.routes_of(defaults.API_VERSION) == routes.V2_ROUTES


@pytest.mark.parametrize("route", routes.ALL_ROUTES, ids=lambda r: r.name)
def test_route_matches_spec(route: Route[object]) -> None:
    method, path, op = _operation(route)
    assert route.method == method
    assert _shape(route.path) == _shape(path)
    assert route.deprecated == bool(op.get("deprecated", False))
    success = [int(code) for code in op["responses"] if code.startswith("2")]
    assert success == [route.status]
    if route.operation_id in NO_SECURITY:
        assert "security" not in op
        assert route.scope == routes.WRITE
    elif route.token == "company":
        assert op["security"] == [{"Agency-Access-Only": [route.scope]}]
    else:
        assert op["security"] == [{"bearer": [route.scope]}]
    # Every Version header is required with the one value the route sends.
    version = [p for p in op["parameters"] if p["in"] == "header" and p["name"] == "Version"]
    assert len(version) == 1
    assert version[0]["required"]
    assert version[0]["schema"]["enum"] == [route.version]


@pytest.mark.parametrize(
    "route", [r for r in routes.ALL_ROUTES if r.query is not None], ids=lambda r: r.name
)
def test_query_fields_are_the_spec_parameters(route: Route[object]) -> None:
    assert route.query is not None
    _, _, op = _operation(route)
    declared = {p["name"]: p for p in op["parameters"] if p["in"] == "query"}
    assert _wire_names(route.query) == set(declared)
    required = {f.encode_name for f in msgspec.structs.fields(route.query) if f.required}
    assert required == {name for name, p in declared.items() if p.get("required")}
    if route.token == "location":
        assert (route.location == "query") == ("locationId" in declared)
    else:  # an agency route: locationId there filters, it does not pick the token
        assert route.location is None


@pytest.mark.parametrize(
    "route",
    [r for r in routes.ALL_ROUTES if r.body and r.operation_id not in EMPTY_BODY_SCHEMA],
    ids=lambda r: r.name,
)
def test_body_fields_are_declared_by_the_spec(route: Route[object]) -> None:
    # HighLevel answers 422 to any undeclared property, so a body field the spec does not
    # declare would make every call fail.
    assert route.body is not None
    _, _, op = _operation(route)
    schema = _schema(
        _file(route), op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    )
    declared = set(schema.get("properties", {}))
    assert _wire_names(route.body) <= declared
    required = {f.encode_name for f in msgspec.structs.fields(route.body) if f.required}
    for name in schema.get("required", []):
        assert name in required, f"{route.name}: {name} is required by the spec"
    assert (route.location == "body") == ("locationId" in declared)


def test_v3_bodies_use_the_v3_dnd_keys() -> None:
    dnd = _schema("contacts-v3.json", "DndSettingsSchemaV3")
    from ghl_async.models_v3 import DndSettingsInputV3

    assert _wire_names(DndSettingsInputV3) == set(dnd["properties"])
    for route in (routes.V3_CREATE_CONTACT, routes.V3_UPDATE_CONTACT, routes.V3_UPSERT_CONTACT):
        assert route.body is not None
        fields = {f.name: f.type for f in msgspec.inspect.type_info(route.body).fields}
        assert "DndSettingsInputV3" in repr(fields["dnd_settings"]), route.name


def test_operations_without_a_body_declare_none() -> None:
    for route in routes.ALL_ROUTES:
        _, _, op = _operation(route)
        assert (route.body is not None) == ("requestBody" in op), route.name


def test_write_policies_are_in_the_table() -> None:
    policies = {r.name: r.write for r in routes.V2_ROUTES if r.write != "idempotent"}
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
    keys = {r.name: r.natural_key for r in routes.V2_ROUTES if r.natural_key is not None}
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


def test_every_v3_row_keeps_its_v2_twins_write_policy() -> None:
    v2 = {(r.operation_id, _api(r)): r for r in routes.V2_ROUTES}
    for route in routes.V3_ROUTES:
        twin = v2[(route.operation_id, _api(route))]
        assert route.name == "v3." + twin.name
        assert (route.write, route.natural_key) == (twin.write, twin.natural_key), route.name
        assert (route.scope, route.method, route.status) == (twin.scope, twin.method, twin.status)


def test_an_unknown_version_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown API version"):
        Route(name="x.get", operation_id="x", version="2021-07-29", method="GET", path="/x",
              scope="x", status=200, response=object)  # fmt: skip
    with pytest.raises(ConfigError, match="unknown API version 'v4'"):
        routes.routes_of("v4")


def test_contact_declares_the_get_schema_first_in_wire_order() -> None:
    # msgspec looks a key up from just past the previous match: a Contact declared in the order
    # HighLevel sends its fields decodes a page ~13% cheaper (benchmarks: decode_page_wide).
    spec = list(_schema("contacts.json", "GetContectByIdSchema")["properties"])
    declared = list(m.Contact.__struct_encode_fields__)
    assert declared[: len(spec)] == spec

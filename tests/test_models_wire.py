"""Request models on the wire: a default HighLevel does not assume is always sent.

The bug class: a Body/Query field with an ordinary default (``SearchSort.direction = "asc"``) was
left out of the request because the model omitted defaults, and HighLevel, which requires the
field, answered 422 ``sort.0.direction should not be empty``. These tests walk every request model
in the package (present and future ones) instead of listing them.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web
from client_helpers import make_client, serve_app

import ghl_async
from ghl_async import Client, StaticToken
from ghl_async.models import (
    SERVER_ASSUMED_DEFAULTS,
    Body,
    Query,
    SearchBody,
    SearchFilter,
    SearchSort,
    Tags,
)
from ghl_async.routes import ALL_ROUTES
from ghl_async.testing import FakeHighLevel
from ghl_async.testing.required import missing_defaults, needs_check


def _import_every_module() -> None:
    # Request models may live in any module (a v3 package, the mapping layer): import them all.
    for info in pkgutil.walk_packages(ghl_async.__path__, "ghl_async."):
        if not info.name.endswith("__main__"):
            importlib.import_module(info.name)


def _subclasses(base: type) -> list[type[msgspec.Struct]]:
    found: list[type[msgspec.Struct]] = []
    pending: list[type] = list(base.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        # Tests define throwaway models of their own; only the package's count here.
        if cls.__module__.startswith("ghl_async") and cls not in found:
            found.append(cls)
    return sorted(found, key=lambda c: f"{c.__module__}.{c.__qualname__}")


_import_every_module()
REQUEST_MODELS = _subclasses(Body) + _subclasses(Query)


def _sample(tp: msgspec.inspect.Type) -> object:
    """A valid value of ``tp`` (for required fields, so a model can be built at all)."""
    if isinstance(tp, msgspec.inspect.StrType | msgspec.inspect.AnyType):
        return "x"
    if isinstance(tp, msgspec.inspect.BoolType):
        return True
    if isinstance(tp, msgspec.inspect.IntType):
        return 1
    if isinstance(tp, msgspec.inspect.FloatType):
        return 1.5
    if isinstance(tp, msgspec.inspect.NoneType):
        return None
    if isinstance(tp, msgspec.inspect.LiteralType):
        return tp.values[0]
    if isinstance(tp, msgspec.inspect.ListType):
        return [_sample(tp.item_type)]
    if isinstance(tp, msgspec.inspect.DictType):
        return {}
    if isinstance(tp, msgspec.inspect.UnionType):
        usable = [t for t in tp.types if not isinstance(t, msgspec.inspect.NoneType)]
        return _sample((usable or list(tp.types))[0])
    if isinstance(tp, msgspec.inspect.StructType):
        return _minimal(tp.cls)
    raise AssertionError(f"teach _sample about {tp!r}")


def _minimal(cls: type[msgspec.Struct]) -> msgspec.Struct:
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    required = {f.name: _sample(f.type) for f in info.fields if f.required}
    return cls(**required)


def _on_the_wire(model: msgspec.Struct) -> dict[str, Any]:
    # Bodies go out as JSON, queries through to_builtins (as the session sends them).
    if isinstance(model, Query):
        return msgspec.to_builtins(model)  # type: ignore[no-any-return]  # a Struct -> dict
    return msgspec.json.decode(msgspec.json.encode(model))  # type: ignore[no-any-return]


def test_the_walk_finds_every_route_model() -> None:
    used = {m for r in ALL_ROUTES for m in (r.body, r.query) if m is not None}
    assert used <= set(REQUEST_MODELS)
    assert SearchSort in REQUEST_MODELS
    assert SearchFilter in REQUEST_MODELS  # nested models, not only route bodies


@pytest.mark.parametrize("cls", REQUEST_MODELS, ids=lambda c: c.__qualname__)
def test_defaults_reach_the_wire_unset_does_not(cls: type[msgspec.Struct]) -> None:
    model = _minimal(cls)
    wire = _on_the_wire(model)
    for field in msgspec.structs.fields(cls):
        if field.default is msgspec.UNSET:
            assert field.encode_name not in wire, f"{cls.__name__}.{field.name} is UNSET"
            continue
        if field.default is msgspec.NODEFAULT and field.default_factory is msgspec.NODEFAULT:
            assert field.encode_name in wire  # required: always sent
            continue
        if (cls.__name__, field.name) in SERVER_ASSUMED_DEFAULTS:
            continue
        assert field.encode_name in wire, (
            f"{cls.__name__}.{field.name} has the default {field.default!r} but is left off the "
            "wire; HighLevel does not assume it (else list it in SERVER_ASSUMED_DEFAULTS)"
        )
        assert wire[field.encode_name] == msgspec.to_builtins(getattr(model, field.name))


def test_the_walk_checks_at_least_one_default() -> None:
    # If no model had an ordinary default, the test above would prove nothing.
    defaulted = [
        (cls.__name__, f.name)
        for cls in REQUEST_MODELS
        for f in msgspec.structs.fields(cls)
        if f.default not in (msgspec.UNSET, msgspec.NODEFAULT)
    ]
    assert ("SearchSort", "direction") in defaulted


def test_the_allow_list_names_real_fields() -> None:
    names = {(c.__name__, f.name) for c in REQUEST_MODELS for f in msgspec.structs.fields(c)}
    assert names >= SERVER_ASSUMED_DEFAULTS


# --- the wire ---------------------------------------------------------------------------------


@pytest.fixture
async def strict_search() -> AsyncIterator[tuple[str, list[object]]]:
    """``POST /contacts/search`` validating ``sort`` the way HighLevel does (so does the fake)."""
    bodies: list[object] = []

    async def search(request: web.Request) -> web.Response:
        body = await request.json()
        bodies.append(body)
        for index, key in enumerate(body.get("sort", [])):
            if not key.get("direction"):
                message = f"sort.{index}.direction should not be empty"
                return web.json_response(
                    {"statusCode": 422, "message": [message], "error": "Unprocessable Entity"},
                    status=422,
                )
        return web.json_response({"contacts": [{"id": "c1", "searchAfter": [1, "c1"]}],
                                  "total": 1})  # fmt: skip

    app = web.Application()
    app.router.add_post("/contacts/search", search)
    async with serve_app(app) as url:
        yield url, bodies


@pytest.mark.parametrize(
    "sort",
    [SearchSort(field="dateAdded"), SearchSort(field="dateAdded", direction="asc")],
    ids=["default", "spelled-out"],
)
async def test_a_sort_at_its_default_direction_is_accepted(
    strict_search: tuple[str, list[object]], sort: SearchSort
) -> None:
    url, bodies = strict_search
    async with Client(auth=StaticToken("t"), location_id="loc", base_url=url) as ghl:
        found = [c.id async for c in ghl.contacts.iter_search(sort=[sort], page_limit=10)]
    assert found == ["c1"]
    assert bodies[0] == {
        "locationId": "loc", "pageLimit": 10, "page": 1,
        "sort": [{"field": "dateAdded", "direction": "asc"}],
    }  # fmt: skip


async def test_sort_directions_against_the_fake(fake: FakeHighLevel) -> None:
    ids = fake.seed_contacts(7, business_id=None)
    async with make_client(fake) as ghl:
        ascending = [
            c.date_added or ""
            async for c in ghl.contacts.iter_search(
                sort=[SearchSort(field="dateAdded")], page_limit=3
            )
        ]
        descending = [
            c.date_added or ""
            async for c in ghl.contacts.iter_search(
                sort=[SearchSort(field="dateAdded", direction="desc")], page_limit=3
            )
        ]
    assert len(ascending) == len(ids) == 7
    assert all(ascending)
    assert ascending == sorted(ascending)
    assert descending == sorted(ascending, reverse=True)
    assert ascending != descending  # the seeded dates differ, so the order is visible


# --- the fake refuses what HighLevel refuses -------------------------------------------------


async def test_the_fake_requires_a_sort_direction(fake: FakeHighLevel) -> None:
    # A raw client that leaves `direction` out, as ghl_async did before models sent defaults:
    # the fake must not fill it in from our model's default.
    async with aiohttp.ClientSession(headers=fake.headers()) as http:
        body = {"locationId": fake.location_id, "pageLimit": 5, "sort": [
            {"field": "dateAdded", "direction": "desc"}, {"field": "email"}]}  # fmt: skip
        async with http.post(fake.url("/contacts/search"), json=body) as response:
            assert response.status == 422
            assert (await response.json())["message"] == ["sort.1.direction should not be empty"]
        body["sort"] = [{"field": "email", "direction": "asc"}]
        async with http.post(fake.url("/contacts/search"), json=body) as response:
            assert response.status == 200


class _Inner(Body, kw_only=True):
    name: str
    mode: str = "plain"


class _Outer(Body, kw_only=True):
    level: int = 1
    one: _Inner | msgspec.UnsetType = msgspec.UNSET
    many: list[_Inner] | msgspec.UnsetType = msgspec.UNSET


class _Plain(Body, kw_only=True):
    name: str
    note: str | msgspec.UnsetType = msgspec.UNSET


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"level": 2}, None),
        ({}, "level should not be empty"),
        ({"level": 1, "one": {"name": "a"}}, "one.mode should not be empty"),
        ({"level": 1, "one": {"name": "a", "mode": "x"}}, None),
        ({"level": 1, "many": [{"name": "a", "mode": "x"}, {"name": "b"}]},
         "many.1.mode should not be empty"),
        ({"level": 1, "many": []}, None),
    ],
)  # fmt: skip
def test_missing_defaults_walks_nested_models(raw: dict[str, object], expected: str | None) -> None:
    assert missing_defaults(_Outer, raw) == expected


def test_only_models_with_such_defaults_are_checked() -> None:
    assert needs_check(_Outer)
    assert not needs_check(_Plain)
    assert needs_check(SearchBody)  # through sort: list[SearchSort]
    assert not needs_check(Tags)

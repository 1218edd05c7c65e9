"""Another HighLevel API is route rows + models + a regenerate: proven on a made-up one.

A tiny "opportunities" table (its own models, a paged listing with its own item type) is
rendered by the same generator into a module outside the package, type-checked with
``mypy --strict`` (``assert_type`` on what the facade returns, and a deliberately wrong one that
must fail), and driven through the real pipeline against a small aiohttp server.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType

import aiohttp
import pytest
from aiohttp import web
from mypy import api as mypy_api

from ghl_async import _codegen
from ghl_async.auth import StaticToken
from ghl_async.retry import RetryPolicy
from ghl_async.session import Session, Transport

MODELS = '''
from __future__ import annotations

from msgspec import UNSET, UnsetType

from ghl_async.models import Query, Wire


class Opportunity(Wire, kw_only=True, frozen=True):
    id: str = ""
    name: str | None = None
    monetary_value: float | None = None


class OpportunitiesPage(Wire, kw_only=True, frozen=True):
    opportunities: list[Opportunity] = []
    total: int | None = None

    @property
    def items(self) -> list[Opportunity]:
        return self.opportunities

    @property
    def total_count(self) -> int | None:
        return self.total


class OpportunitiesQuery(Query, kw_only=True):
    location_id: str
    limit: str | UnsetType = UNSET
    skip: str | UnsetType = UNSET
    q: str | UnsetType = UNSET
'''

ROUTES = """
from __future__ import annotations

from ghl_async.routes import Route

from {pkg} import models as m

GET_OPPORTUNITY = Route(
    name="opportunities.get", operation_id="get-opportunity", method="GET",
    path="/opportunities/{{id}}", scope="opportunities.readonly", status=200,
    response=m.Opportunity, envelope="opportunity", summary="Get an opportunity.",
)
SEARCH_OPPORTUNITIES = Route(
    name="opportunities.list", operation_id="search-opportunity", method="GET",
    path="/opportunities/search", scope="opportunities.readonly", status=200,
    response=m.OpportunitiesPage, query=m.OpportunitiesQuery, paging="offset",
    location="query", summary="Search opportunities, one page.",
)
ALL_ROUTES = (GET_OPPORTUNITY, SEARCH_OPPORTUNITIES)
# Docs of the parameters ghl_async._docs does not know (the rest come from its tables).
DOCS = {{
    ("opportunities.get", "id"): "The opportunity's id.",
    "q": "Free text to match in opportunity names.",
}}
"""

USE = """
from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence

from typing_extensions import assert_type

from ghl_async.responses import PageResponse, RawResponse
from ghl_async.session import Session
from {pkg}.endpoints import Namespaces
from {pkg}.models import OpportunitiesPage, Opportunity


async def check(session: Session) -> None:
    api = Namespaces(session)
    assert_type(await api.opportunities.get("o1"), Opportunity)
    assert_type(await api.opportunities.list(q="x", page=2), OpportunitiesPage)
    walk = api.opportunities.iter(limit=10)
    assert_type(walk, AsyncGenerator[Opportunity, None])
    async for item in walk:
        assert_type(item.monetary_value, float | None)
    raw = await api.opportunities.with_raw_response.get("o1", timeout=2.0)
    assert_type(raw, RawResponse[Opportunity])
    assert_type(raw.data, Opportunity)
    async for page in api.opportunities.iter_pages(limit=10, skip=3):
        assert_type(page, PageResponse[OpportunitiesPage])
        assert_type(page.items, Sequence[Opportunity])
    {extra}
"""


@pytest.fixture
def package(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    name = f"opp_api_{request.node.name.replace('[', '_').replace(']', '_')}"
    root = tmp_path / name
    root.mkdir()
    (root / "__init__.py").write_text("", encoding="utf-8")
    (root / "models.py").write_text(MODELS, encoding="utf-8")
    (root / "routes.py").write_text(ROUTES.format(pkg=name), encoding="utf-8")
    sys.path.insert(0, str(tmp_path))
    try:
        routes = importlib.import_module(f"{name}.routes")
        text = _codegen.render(module=routes, header="# Generated for the test.")
        (root / "endpoints.py").write_text(text, encoding="utf-8")
        yield name, root
    finally:
        sys.path.remove(str(tmp_path))
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]


def _mypy(root: Path, extra: str) -> tuple[str, int]:
    (root / "use.py").write_text(USE.format(pkg=root.name, extra=extra), encoding="utf-8")
    # mypy's main raises the interpreter's recursion limit for good; put it back so later tests
    # (deeply nested JSON is refused by a RecursionError) see the limit they were written for.
    limit = sys.getrecursionlimit()
    try:
        out, err, status = mypy_api.run(
            ["--strict", "--no-error-summary", "--follow-imports=silent", str(root)]
        )
    finally:
        sys.setrecursionlimit(limit)
    return out + err, status


def test_the_generated_facade_type_checks(package: tuple[str, Path]) -> None:
    _, root = package
    text = (root / "endpoints.py").read_text(encoding="utf-8")
    assert "class OpportunitiesEndpoints(Resource):" in text
    assert "def iter(" in text
    assert "-> AsyncGenerator[Opportunity, None]:" in text
    assert f"from {root.name} import routes\n" in text
    assert f"from {root.name}.models import (\n" in text  # the table's own models
    output, status = _mypy(root, "")
    assert status == 0, output
    # The check can fail: a wrong claim about a return type is an error.
    output, status = _mypy(root, 'assert_type(await api.opportunities.get("o1"), str)')
    assert status == 1
    assert "assert-type" in output


@pytest.fixture
async def server() -> AsyncIterator[str]:
    stock = [{"id": f"o{i}", "name": f"Deal {i}", "monetaryValue": i * 10.5} for i in range(7)]

    async def get(request: web.Request) -> web.Response:
        assert request.headers["Version"] == "2021-07-28"
        found = [o for o in stock if o["id"] == request.match_info["id"]]
        return web.json_response({"opportunity": found[0], "traceId": "t"})

    async def search(request: web.Request) -> web.Response:
        skip, limit = int(request.query["skip"]), int(request.query["limit"])
        return web.json_response({"opportunities": stock[skip : skip + limit], "total": 7})

    app = web.Application()
    app.router.add_get("/opportunities/search", search)
    app.router.add_get("/opportunities/{id}", get)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def test_the_generated_facade_calls_and_pages(
    package: tuple[str, Path], server: str
) -> None:
    name, _ = package
    endpoints: ModuleType = importlib.import_module(f"{name}.endpoints")
    transport = Transport(
        auth=StaticToken("pit", location_id="loc"),
        base_url=server,
        version="2021-07-28",
        user_agent="test",
        rate_limit=None,
        timeout=aiohttp.ClientTimeout(total=5),
        http=None,
        connector_limit=10,
        connector_limit_per_host=0,
    )
    await transport.open()
    try:
        session = Session(
            transport, location_id="loc", timeout=transport.timeout, retry=RetryPolicy()
        )
        api = endpoints.Namespaces(session)
        one = await api.opportunities.get("o3")
        assert (one.id, one.monetary_value) == ("o3", 31.5)
        walked = [o.id async for o in api.opportunities.iter(limit=3)]
        assert walked == [f"o{i}" for i in range(7)]
        page = await api.opportunities.list(limit=3, page=3)
        assert [o.id for o in page.items] == ["o6"]
    finally:
        await transport.close()


def test_a_parameter_without_docs_stops_the_generator(package: tuple[str, Path]) -> None:
    name, _ = package
    table = importlib.import_module(f"{name}.routes")
    docs = dict(table.DOCS)
    del docs["q"]
    module = ModuleType(table.__name__)
    module.__dict__.update({k: v for k, v in vars(table).items() if k != "DOCS"})
    with pytest.raises(_codegen.MissingDocsError, match=r"opportunities\.list: .*\bq\b"):
        _codegen.render(module=module, docs=docs)
    # A docs entry given to render() is enough.
    assert "q: Free text" in _codegen.render(module=module, docs={**docs, "q": "Free text."})


def test_generated_names_follow_the_table() -> None:
    text = textwrap.dedent(_codegen.render())
    assert "class V3ContactsTasksEndpoints(Resource):" in text
    assert "class ContactsEndpoints(ContactBundles, Resource):" in text
    assert "        self.v3 = V3Endpoints(session)" in text

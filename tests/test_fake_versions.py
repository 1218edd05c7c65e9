"""The version seam: the pipeline picks handlers by the request's ``Version`` header.

A second version is built here from one route and a handler of its own, and served by the
same pipeline class FakeHighLevel uses, to show that a version is a handler set, not a branch.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

import aiohttp
from aiohttp import web

from ghl_async.routes import GET_CONTACT
from ghl_async.testing import FakeHighLevel
from ghl_async.testing.apis import V2, VERSIONS, ApiVersion
from ghl_async.testing.handlers import Call
from ghl_async.testing.oauth_http import OAuthEndpoints
from ghl_async.testing.pipeline import Pipeline
from ghl_async.testing.replies import ApiFailure, Reply


def _get_contact_next(call: Call) -> Reply:
    contact = call.contact()
    return Reply({"contact": {"id": contact.id, "shape": "next"}})


def _envelope(failure: ApiFailure) -> bytes:
    return b'{"error":{"code":%d}}' % failure.status


NEXT = ApiVersion(
    "next",
    routes=(GET_CONTACT,),
    handlers={"contacts.get": _get_contact_next},
    failure_body=_envelope,
)


@contextlib.asynccontextmanager
async def serving(fake: FakeHighLevel, versions: Mapping[str, ApiVersion]) -> AsyncIterator[str]:
    app = Pipeline(fake, OAuthEndpoints(fake), versions).build_app()
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def test_the_version_header_picks_the_handlers() -> None:
    fake = FakeHighLevel()
    contact_id = fake.seed_contacts(1)[0]
    async with (
        serving(fake, {V2.header: V2, NEXT.header: NEXT}) as base,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {fake.private_token}"}) as http,
    ):

        async def get(path: str, version: str) -> tuple[int, bytes]:
            async with http.get(base + path, headers={"Version": version}) as response:
                return response.status, await response.read()

        status, body = await get(f"/contacts/{contact_id}", "next")
        assert (status, body) == (
            200,
            b'{"contact":{"id":"%s","shape":"next"}}' % contact_id.encode(),
        )
        status, body = await get(f"/contacts/{contact_id}/", "2021-07-28")
        assert status == 200
        assert b'"firstName"' in body
        # Errors take the version's shape; a path the version lacks is its 404.
        assert await get("/contacts/nobody", "next") == (400, b'{"error":{"code":400}}')
        status, body = await get(f"/contacts/{contact_id}/tasks", "next")
        assert (status, body) == (404, b'{"error":{"code":404}}')
        status, body = await get(f"/contacts/{contact_id}", "2021-04-15")
        assert status == 400
        assert b"2021-07-28, next" in body
    log = [(r.operation, r.version, r.status) for r in fake.requests]
    assert log == [
        ("contacts.get", "next", 200),
        ("contacts.get", "2021-07-28", 200),
        ("contacts.get", "next", 400),
        ("contacts.tasks.list", "next", 404),
        ("contacts.get", "2021-04-15", 400),
    ]


def test_the_registry_serves_v2_and_v3() -> None:
    assert list(VERSIONS) == ["2021-07-28", "2023-02-21", "v3"]
    assert VERSIONS["2023-02-21"].routes == V2.routes  # the dated alias is v2's handler set
    assert len(V2.routes) == len(V2.handlers) == 32
    assert len(VERSIONS["v3"].routes) == len(VERSIONS["v3"].handlers) == 31


async def test_a_dated_version_after_2021_07_28_is_served_as_v2(fake: FakeHighLevel) -> None:
    # HighLevel's Node SDK sends `Version: 2023-02-21` to every service by default.
    contact_id = fake.seed_contacts(1, business_id=None)[0]
    company = fake.issue_token(user_type="Company")
    async with aiohttp.ClientSession() as http:
        dated = fake.headers() | {"Version": "2023-02-21"}
        async with http.get(fake.url(f"/contacts/{contact_id}"), headers=dated) as got:
            assert got.status == 200
            assert (await got.json())["contact"]["id"] == contact_id
        body = {"locationId": fake.location_id, "email": "dated@example.com"}
        async with http.post(fake.url("/contacts/"), headers=dated, json=body) as created:
            assert created.status == 201  # v2's answer: v3 would take the same body too
        async with http.post(
            fake.url("/oauth/locationToken"),
            headers={"Authorization": f"Bearer {company.access_token}", "Version": "2023-02-21"},
            data={"companyId": company.company_id, "locationId": fake.location_id},
        ) as minted:
            assert minted.status in (200, 201)
            assert "access_token" in await minted.json()  # v2's snake_case answer
        refused = fake.headers() | {"Version": "2021-04-15"}
        async with http.get(fake.url(f"/contacts/{contact_id}"), headers=refused) as other:
            assert other.status == 400

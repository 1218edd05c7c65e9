"""FakeHighLevel under ``Version: v3``: OAuth, installed locations, the business cursor, routing.

Raw aiohttp over a real socket (``fake_helpers.Api``), so these pin the wire behaviour.
"""

from __future__ import annotations

from typing import Any

from fake_helpers import Api, running

from ghl_async.testing import FakeHighLevel

V3 = "v3"


def _v3_form(fake: FakeHighLevel, **fields: str) -> dict[str, str]:
    return {"clientId": fake.client_id, "clientSecret": fake.client_secret, **fields}


async def _token(api: Api, body: Any, *, as_json: bool = True) -> Any:
    kwargs: dict[str, Any] = {"json": body} if as_json else {"data": body}
    return await api.post("/oauth/token", token=None, version=V3, **kwargs)


async def test_v3_token_endpoint() -> None:
    async with running() as api:
        fake = api.fake
        code = fake.issue_code()
        answer = await _token(api, _v3_form(fake, grantType="authorization_code", code=code))
        assert answer.status == 200, answer.body
        body = answer.json
        assert {"accessToken", "refreshToken", "expiresIn", "tokenType"} <= set(body)
        assert "access_token" not in body
        # A camelCase form works too (the official SDK sends one); refresh tokens rotate.
        refresh = body["refreshToken"]
        form = _v3_form(fake, grantType="refresh_token", refreshToken=refresh)
        assert (await _token(api, form, as_json=False)).status == 200
        spent = await _token(api, form)
        assert (spent.status, spent.json["message"]) == (
            400,
            "Invalid grant: The refresh token has already been used",
        )
        missing = await _token(api, {"clientSecret": "x", "grantType": "refresh_token"})
        assert (missing.status, missing.message) == (400, "Missing parameter: clientId")
        wrong = await _token(api, {**_v3_form(fake, grantType="x"), "clientSecret": "nope"})
        assert wrong.status == 401
        assert wrong.message.startswith("Invalid client")
        assert wrong.json["error"] == "Unauthorized"
        odd = await _token(api, _v3_form(fake, grantType="password"))
        assert odd.message.startswith("Invalid parameter: grantType")
        extra = await _token(api, _v3_form(fake, grantType="refresh_token", client_id="x"))
        assert (extra.status, extra.message) == (422, ["property client_id should not exist"])
        typed = await _token(api, {**_v3_form(fake), "grantType": 1})
        assert (typed.status, typed.message) == (422, ["grantType must be a string"])
        listed = await _token(api, ["not", "an", "object"])
        assert listed.status == 400
        garbage = await api.post(
            "/oauth/token",
            token=None,
            version=V3,
            data=b"{nope",
            headers={"Content-Type": "application/json"},
        )
        assert garbage.status == 400
        text = await api.post(
            "/oauth/token",
            token=None,
            version=V3,
            data=b"x",
            headers={"Content-Type": "text/plain"},
        )
        assert (text.status, text.message.startswith("Content-Type")) == (400, True)
    assert {r.version for r in fake.requests} == {"v3"}


async def test_v3_location_token() -> None:
    async with running() as api:
        fake = api.fake
        agency = fake.issue_token(user_type="Company").access_token
        form = {"companyId": fake.company_id, "locationId": fake.location_id}
        minted = await api.post("/oauth/location-token", token=agency, version=V3, data=form)
        assert minted.status == 200, minted.body
        assert {"accessToken", "refreshToken", "appId", "versionId"} <= set(minted.json)
        old = await api.post("/oauth/location-token", token=agency, data=form)  # v2 header
        assert old.status == 400
        extra = await api.post(
            "/oauth/location-token", token=agency, version=V3, data={**form, "userId": "u"}
        )
        assert (extra.status, extra.message) == (422, ["property userId should not exist"])
        elsewhere = await api.post(
            "/oauth/location-token",
            token=agency,
            version=V3,
            data={"companyId": fake.company_id, "locationId": "nowhere"},
        )
        assert elsewhere.status == 403
        located = await api.post(
            "/oauth/location-token", token=fake.private_token, version=V3, data=form
        )
        assert located.status == 401


async def test_installed_locations_errors() -> None:
    async with running() as api:
        fake = api.fake
        agency = fake.issue_token(user_type="Company").access_token
        query = {"companyId": fake.company_id, "appId": fake.app_id}

        async def v3(**params: str) -> Any:
            return await api.get(
                "/oauth/installed-locations", token=agency, version=V3, params={**query, **params}
            )

        async def v2(**params: str) -> Any:
            return await api.get(
                "/oauth/installedLocations", token=agency, params={**query, **params}
            )

        bad = await v3(pageToken="%%%")
        assert bad.status == 400
        assert bad.json["error"]["code"] == "INVALID_ARGUMENT"
        assert bad.json["error"]["details"] == {"field": "pageToken"}
        assert {"message", "resolution"} <= set(bad.json["error"])
        other = await v3(companyId="someone-else")
        assert (other.status, other.json["error"]["code"]) == (403, "PERMISSION_DENIED")
        assert (await v3(pageSize="0")).status == 422
        assert (await v3(page="2")).status == 422  # not a v3 parameter
        assert (await v3(appId="")).status == 422
        fake.add_location("loc_b")
        page = await v3(pageSize="1")
        meta = page.json["pagination"]
        assert (meta["currentPageSize"], meta["totalRecords"], meta["hasNextPage"]) == (1, 2, True)
        second = await v3(pageSize="1", pageToken=meta["nextPageToken"])
        assert second.json["pagination"]["hasPrevPage"] is True
        assert second.json["items"][0]["_id"] != page.json["items"][0]["_id"]
        assert (await v3(pageToken="e30")).status == 400  # base64 of {}: no offset
        assert (await v2(appId="nope")).status == 400
        assert (await v2(companyId="someone-else")).status == 403
        assert (await v2(limit="abc")).status == 422
        ok = await v2(limit="1", skip="0", isInstalled="false")
        assert ok.status == 200
        assert set(ok.json) == {"locations", "count", "installToFutureLocations"}


async def test_v3_business_cursor_forms_and_errors() -> None:
    async with running() as api:
        fake = api.fake
        fake.seed_contacts(4, business_id="biz_5")
        base = {"locationId": fake.location_id, "limit": "2"}
        first = await api.get("/contacts/business/biz_5", version=V3, params=base)
        last = first.json["contacts"][-1]
        pair = [(last.get("contactName") or "").lower(), last["id"]]
        joined = await api.get(
            "/contacts/business/biz_5", version=V3, params={**base, "startAfter": ",".join(pair)}
        )
        split = await api.get(
            "/contacts/business/biz_5",
            version=V3,
            params=[*base.items(), ("startAfter", pair[0]), ("startAfter", pair[1])],
        )
        assert joined.json == split.json
        assert len(joined.json["contacts"]) == 2
        assert joined.json["contacts"][0]["id"] != last["id"]
        both = await api.get(
            "/contacts/business/biz_5",
            version=V3,
            params={**base, "skip": "2", "startAfter": ",".join(pair)},
        )
        assert both.status == 422
        lone = await api.get(
            "/contacts/business/biz_5", version=V3, params={**base, "startAfter": "no-comma"}
        )
        assert lone.status == 422
        zero = await api.get("/contacts/business/biz_5", version=V3, params={**base, "limit": "0"})
        assert zero.status == 422


async def test_paths_and_faults_per_version() -> None:
    async with running() as api:
        fake = api.fake
        cid = fake.seed_contacts(1)[0]
        # v2's literal `removeAll` is, under v3, a campaign id (v3 spells the literal remove-all).
        v3 = await api.delete(f"/contacts/{cid}/campaigns/removeAll", version=V3)
        v2 = await api.delete(f"/contacts/{cid}/campaigns/removeAll")
        assert (v3.status, v2.status) == (200, 200)
        # v3 has no GET /contacts/ (v2 does).
        gone = await api.get("/contacts/", version=V3, params={"locationId": fake.location_id})
        assert (gone.status, set(gone.json)) == (404, {"statusCode", "message"})
        fake.fail("v3.contacts.get", status=503)
        assert (await api.get(f"/contacts/{cid}")).status == 200
        assert (await api.get(f"/contacts/{cid}", version=V3)).status == 503
        assert (await api.get(f"/contacts/{cid}", version=V3)).status == 200
    log = [(r.operation, r.version) for r in fake.requests[:2]]
    assert log == [
        ("v3.contacts.remove_from_campaign", "v3"),
        ("contacts.remove_from_all_campaigns", "2021-07-28"),
    ]

"""FakeHighLevel's OAuth: consent page, code exchange, rotating refresh tokens, agency tokens."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from fake_helpers import Api, form, running

from ghl_async.testing import FakeHighLevel


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    async with running() as api:
        yield api


def _code_from(location: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(location).query)


async def test_chooser_redirects_with_code_and_state(api: Api) -> None:
    fake = api.fake
    params = {
        "response_type": "code",
        "client_id": fake.client_id,
        "redirect_uri": fake.redirect_uri,
        "scope": "contacts.readonly contacts.write",
        "state": "xyz",
    }
    answer = await api.call(
        "GET", "/oauth/chooselocation", params=params, allow_redirects=False, token=None
    )
    assert answer.status == 302
    location = answer.headers["Location"]
    assert location.startswith(fake.redirect_uri + "?")
    query = _code_from(location)
    assert query["state"] == ["xyz"]
    assert fake.chooser_url == fake.url("/oauth/chooselocation")

    exchanged = await api.token_form(
        form(
            fake,
            grant_type="authorization_code",
            code=query["code"][0],
            user_type="Location",
            redirect_uri=fake.redirect_uri,
        )
    )
    assert exchanged.status == 200
    body = exchanged.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 86399
    assert body["scope"] == "contacts.readonly contacts.write"
    assert (body["userType"], body["locationId"], body["companyId"]) == (
        "Location",
        fake.location_id,
        fake.company_id,
    )
    assert body["userId"]
    contact = await api.get(
        "/contacts/", params={"locationId": fake.location_id}, token=body["access_token"]
    )
    assert contact.status == 200
    # The code was spent.
    reused = await api.token_form(
        form(fake, grant_type="authorization_code", code=query["code"][0])
    )
    assert reused.status == 400
    assert reused.json["error"] == "invalid_grant"


async def test_chooser_variants_and_errors(api: Api) -> None:
    fake = api.fake
    base = {"response_type": "code", "client_id": fake.client_id}
    other = fake.add_location()
    # Loopback redirect URIs on any port are accepted (RFC 8252), and the /v2 path works.
    answer = await api.call(
        "GET",
        "/v2/oauth/chooselocation",
        params={
            **base,
            "redirect_uri": "http://localhost:9999/cb?x=1",
            "location_id": other,
        },
        allow_redirects=False,
        token=None,
    )
    assert answer.status == 302
    assert answer.headers["Location"].startswith("http://localhost:9999/cb?x=1&code=")
    code = _code_from(answer.headers["Location"])["code"][0]
    token = await api.token_form(form(fake, grant_type="authorization_code", code=code))
    assert token.json["locationId"] == other

    company = await api.call(
        "GET",
        "/oauth/chooselocation",
        params={**base, "user_type": "Company"},
        allow_redirects=False,
        token=None,
    )
    code = _code_from(company.headers["Location"])["code"][0]
    agency = await api.token_form(form(fake, grant_type="authorization_code", code=code))
    assert agency.json["userType"] == "Company"
    assert "locationId" not in agency.json
    assert sorted(agency.json["approvedLocations"]) == sorted([fake.location_id, other])

    for params in (
        {"client_id": fake.client_id},
        {**base, "client_id": "someone-else"},
        {**base, "redirect_uri": "https://evil.example.com/cb"},
        {**base, "user_type": "Agency"},
        {**base, "location_id": "nowhere"},
    ):
        bad = await api.call(
            "GET", "/oauth/chooselocation", params=params, allow_redirects=False, token=None
        )
        assert bad.status == 400, params


async def test_refresh_tokens_rotate_and_are_single_use(api: Api) -> None:
    fake = api.fake
    first = await api.token_form(
        form(fake, grant_type="authorization_code", code=fake.issue_code())
    )
    refresh = first.json["refresh_token"]
    second = await api.token_form(form(fake, grant_type="refresh_token", refresh_token=refresh))
    assert second.status == 200
    assert second.json["refresh_token"] != refresh
    assert second.json["access_token"] != first.json["access_token"]
    reused = await api.token_form(form(fake, grant_type="refresh_token", refresh_token=refresh))
    assert reused.status == 400
    assert reused.json == {
        "error": "invalid_grant",
        "error_description": "The refresh token has already been used",
    }
    unknown = await api.token_form(form(fake, grant_type="refresh_token", refresh_token="nope"))
    assert unknown.json["error"] == "invalid_grant"
    assert fake.count("POST", "/oauth/token") == 4
    assert fake.count(operation="get-access-token") == 4


async def test_token_endpoint_errors(api: Api) -> None:
    fake = api.fake
    code = fake.issue_code(redirect_uri=fake.redirect_uri)
    cases = [
        (form(fake, grant_type="authorization_code"), 400, "invalid_request"),
        ({"client_id": fake.client_id, "grant_type": "refresh_token"}, 400, "invalid_request"),
        (form(fake, grant_type="password"), 400, "unsupported_grant_type"),
        (form(fake, grant_type="client_credentials"), 400, "unauthorized_client"),
        (
            {**form(fake, grant_type="authorization_code", code=code), "client_secret": "x"},
            401,
            "invalid_client",
        ),
        (
            form(fake, grant_type="authorization_code", code=code, user_type="Agency"),
            400,
            "invalid_request",
        ),
        (
            form(fake, grant_type="authorization_code", code=code, user_type="Company"),
            400,
            "invalid_request",
        ),
        (
            form(fake, grant_type="authorization_code", code=code, redirect_uri="http://x/cb"),
            400,
            "invalid_grant",
        ),
    ]
    for sent, status, error in cases:
        answer = await api.token_form(sent)
        assert (answer.status, answer.json["error"]) == (status, error), sent
        assert set(answer.json) == {"error", "error_description"}
    # None of the failures spent the code; unknown parameters are ignored (RFC 6749 §3.2).
    fine = await api.token_form(
        {**form(fake, grant_type="authorization_code", code=code), "extra": "ignored"}
    )
    assert fine.status == 200
    as_json = await api.call(
        "POST",
        "/oauth/token",
        json=form(fake, grant_type="authorization_code", code=fake.issue_code()),
        token=None,
        version=None,
    )
    assert (as_json.status, as_json.json["error"]) == (400, "invalid_request")


async def test_camel_case_tokens_and_lifetime() -> None:
    async with running(camel_case_tokens=True, token_lifetime=0.3) as api:
        fake = api.fake
        answer = await api.token_form(
            form(fake, grant_type="authorization_code", code=fake.issue_code())
        )
        body = answer.json
        assert {"accessToken", "refreshToken", "tokenType", "expiresIn"} <= set(body)
        assert "access_token" not in body
        assert body["expiresIn"] == 0.3
        token = body["accessToken"]
        params = {"locationId": fake.location_id}
        assert (await api.get("/contacts/", params=params, token=token)).status == 200
        await asyncio.sleep(0.35)
        expired = await api.get("/contacts/", params=params, token=token)
        assert (expired.status, expired.message) == (401, "Invalid JWT")


async def test_expire_and_revoke(api: Api) -> None:
    fake = api.fake
    issued = fake.issue_token()
    assert "IssuedToken" in repr(issued)
    assert issued.access_token not in repr(issued)
    params = {"locationId": fake.location_id}
    assert (await api.get("/contacts/", params=params, token=issued.access_token)).status == 200
    assert fake.expire_tokens() == 1
    assert (await api.get("/contacts/", params=params, token=issued.access_token)).status == 401
    # Refresh tokens survive expiry, and the private token never expires.
    assert (await api.get("/contacts/", params=params)).status == 200
    refreshed = await api.token_form(
        form(fake, grant_type="refresh_token", refresh_token=issued.refresh_token)
    )
    assert refreshed.status == 200
    fresh = refreshed.json["access_token"]
    assert (await api.get("/contacts/", params=params, token=fresh)).status == 200

    fake.revoke_tokens(private=False)
    assert (await api.get("/contacts/", params=params, token=fresh)).status == 401
    assert (await api.get("/contacts/", params=params)).status == 200
    dead = await api.token_form(
        form(fake, grant_type="refresh_token", refresh_token=refreshed.json["refresh_token"])
    )
    assert dead.json == {
        "error": "invalid_grant",
        "error_description": "The refresh token has been revoked",
    }
    fake.revoke_tokens()
    assert (await api.get("/contacts/", params=params)).status == 401


async def test_location_token_from_agency_token(api: Api) -> None:
    fake = api.fake
    other = fake.add_location()
    agency = fake.issue_token(user_type="Company")
    assert agency.location_id is None
    body = {"companyId": fake.company_id, "locationId": other}
    answer = await api.call("POST", "/oauth/locationToken", data=body, token=agency.access_token)
    assert answer.status == 200
    minted = answer.json
    assert (minted["locationId"], minted["userType"], minted["appId"]) == (
        other,
        "Location",
        fake.app_id,
    )
    assert minted["scope"] == "contacts.readonly contacts.write"
    assert minted["refresh_token"]
    contacts = await api.get(
        "/contacts/", params={"locationId": other}, token=minted["access_token"]
    )
    assert contacts.status == 200
    # That location token refreshes like any other.
    refreshed = await api.token_form(
        form(fake, grant_type="refresh_token", refresh_token=minted["refresh_token"])
    )
    assert refreshed.json["locationId"] == other

    location_token = fake.issue_token().access_token
    checks = [
        (dict(body), agency.access_token, None, 401, "version header was not found."),
        (dict(body), None, "2021-07-28", 401, "No Authorization header found for authentication!"),
        (
            dict(body),
            location_token,
            "2021-07-28",
            401,
            "The token is not authorized for this scope.",
        ),
        ({"companyId": fake.company_id}, agency.access_token, "2021-07-28", 422, None),
        ({**body, "companyId": "other"}, agency.access_token, "2021-07-28", 403, None),
        ({**body, "locationId": "nowhere"}, agency.access_token, "2021-07-28", 403, None),
    ]
    for data, token, version, status, message in checks:
        bad = await api.call(
            "POST", "/oauth/locationToken", data=data, token=token, version=version
        )
        assert bad.status == status, (data, bad.body)
        if message is not None:
            assert bad.message == message
    as_json = await api.call("POST", "/oauth/locationToken", json=body, token=agency.access_token)
    assert (as_json.status, as_json.message) == (
        422,
        ["companyId should not be empty", "locationId should not be empty"],
    )


async def test_issue_helpers_validate(api: Api) -> None:
    with pytest.raises(ValueError, match="unknown location"):
        api.fake.issue_code(location_id="nowhere")
    company_code = api.fake.issue_code(user_type="Company", scopes=["oauth.write"])
    answer = await api.token_form(
        form(api.fake, grant_type="authorization_code", code=company_code)
    )
    assert answer.json["scope"] == "oauth.write"


def test_fake_repr_hides_secrets() -> None:
    fake = FakeHighLevel(client_secret="s3cret-value")
    text = repr(fake)
    assert "s3cret" not in text
    assert fake.private_token not in text
    assert "not started" in text
    with pytest.raises(RuntimeError, match="not serving"):
        _ = fake.base_url

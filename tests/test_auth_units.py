"""Pure parts of ghl_async.auth: config checks, consent URL, token decoding, error mapping."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest

from ghl_async import defaults
from ghl_async.auth import (
    Auth,
    MemoryTokenStore,
    OAuthApp,
    StaticToken,
    _decode_token,
    _token_error,
)
from ghl_async.errors import ConfigError, ReauthorizationRequired, TokenRefreshError

SECRET = "shh-client-secret"


def app(**kw: object) -> OAuthApp:
    options: dict[str, object] = {
        "client_id": "6578278e879ad2646715ba9c-lqk1",
        "client_secret": SECRET,
        "store": MemoryTokenStore(),
    }
    options.update(kw)
    return OAuthApp(**options)  # type: ignore[arg-type]  # options checked at runtime


# --- StaticToken ---------------------------------------------------------------------------


async def test_static_token_is_returned_and_never_renewed() -> None:
    auth: Auth = StaticToken("pit-SECRET-123", location_id="loc-1")
    auth.bind(object())  # type: ignore[arg-type]  # ignored: a static token never calls out
    assert await auth.access_token(None) == "pit-SECRET-123"
    assert await auth.access_token("loc-2") == "pit-SECRET-123"
    assert await auth.invalidate("loc-1", "pit-SECRET-123") is False
    assert await auth.access_token(None) == "pit-SECRET-123"


def test_static_token_rate_key_and_repr() -> None:
    auth = StaticToken("pit-SECRET-123", location_id="loc-1")
    assert auth.rate_key("loc-9") == "loc-9"
    assert auth.rate_key(None) == "loc-1"
    assert StaticToken("x").rate_key(None) == "default"
    assert "SECRET" not in repr(auth)
    assert "SECRET" not in str(auth)
    assert "loc-1" in repr(auth)


@pytest.mark.parametrize("bad", ["", "   "])
def test_static_token_refuses_empty(bad: str) -> None:
    with pytest.raises(ConfigError):
        StaticToken(bad)


# --- OAuthApp configuration ----------------------------------------------------------------


@pytest.mark.parametrize(
    "kw",
    [
        {"client_id": ""},
        {"client_secret": ""},
        {"user_type": "Agency"},
        {"refresh_skew": -1},
        {"store": {}},
    ],
)
def test_oauth_app_refuses_bad_settings(kw: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as info:
        app(**kw)
    assert SECRET not in str(info.value)


def test_oauth_app_repr_hides_secret() -> None:
    text = repr(app(scopes=["contacts.readonly"]))
    assert SECRET not in text
    assert "contacts.readonly" in text
    assert "MemoryTokenStore" in text


async def test_no_default_location_is_a_config_error() -> None:
    oauth = app()
    with pytest.raises(ConfigError, match="location_id"):
        await oauth.access_token(None)
    with pytest.raises(ConfigError, match="company_id"):
        await app(user_type="Company").access_token(None)
    assert oauth.rate_key(None) == "default"
    assert oauth.rate_key("loc-1") == "loc-1"
    assert app(user_type="Company", company_id="co-1").rate_key(None) == "co-1"


async def test_unknown_location_without_token_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="exchange_code"):
        await app().access_token("loc-unknown")


async def test_exchange_code_argument_checks() -> None:
    oauth = app()
    with pytest.raises(ConfigError):
        await oauth.exchange_code("")
    with pytest.raises(ConfigError, match="not both"):
        await oauth.exchange_code("c", transport=object(), base_url="http://127.0.0.1:1")  # type: ignore[arg-type]  # rejected before use


# --- consent URL ---------------------------------------------------------------------------


def test_authorization_url_has_every_parameter() -> None:
    oauth = app(
        redirect_uri="https://myapp.example/oauth/callback",
        scopes=("contacts.readonly", "contacts.write"),
    )
    url = oauth.authorization_url(state="xyz 1")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == defaults.CHOOSER_URL
    query = parse_qs(parts.query, strict_parsing=True)
    assert query == {
        "response_type": ["code"],
        "redirect_uri": ["https://myapp.example/oauth/callback"],
        "client_id": ["6578278e879ad2646715ba9c-lqk1"],
        "scope": ["contacts.readonly contacts.write"],
        "state": ["xyz 1"],
    }
    assert "scope=contacts.readonly%20contacts.write" in url  # space, not "+"
    assert SECRET not in url


def test_authorization_url_minimal_and_custom_chooser() -> None:
    oauth = app(chooser_url="https://marketplace.leadconnectorhq.com/v2/oauth/chooselocation")
    assert oauth.authorization_url() == (
        "https://marketplace.leadconnectorhq.com/v2/oauth/chooselocation"
        "?response_type=code&client_id=6578278e879ad2646715ba9c-lqk1"
    )
    with_query = app(chooser_url="https://h.example/choose?loginWindowOpenMode=self")
    assert with_query.authorization_url().startswith(
        "https://h.example/choose?loginWindowOpenMode=self&response_type=code&"
    )


def test_scopes_given_as_one_string_are_split() -> None:
    oauth = app(scopes="contacts.readonly  contacts.write")
    assert oauth.scopes == ("contacts.readonly", "contacts.write")


# --- token responses -----------------------------------------------------------------------


def test_decode_snake_case_v2_response() -> None:
    body = msgspec.json.encode(
        {
            "access_token": "at",
            "token_type": "Bearer",
            "expires_in": 86399,
            "refresh_token": "rt",
            "scope": "contacts.readonly contacts.write",
            "userType": "Location",
            "locationId": "loc-1",
            "companyId": "co-1",
            "approvedLocations": ["loc-1"],
            "userId": "u-1",
            "planId": "p",
            "isBulkInstallation": False,
        }
    )
    token = _decode_token(body, now=1000.0)
    assert token.access_token == "at"
    assert token.refresh_token == "rt"
    assert token.expires_at == 1000.0 + 86399
    assert token.scope == "contacts.readonly contacts.write"
    assert (token.user_type, token.location_id, token.company_id, token.user_id) == (
        "Location",
        "loc-1",
        "co-1",
        "u-1",
    )


def test_decode_camel_case_v3_response() -> None:
    body = msgspec.json.encode(
        {
            "accessToken": "at",
            "refreshToken": "rt",
            "expiresIn": "3600",
            "scope": ["contacts.readonly", "contacts.write"],
            "userType": "Company",
            "companyId": "co-1",
            "userId": "u-1",
        }
    )
    token = _decode_token(body, now=0.0)
    assert (token.access_token, token.refresh_token, token.expires_at) == ("at", "rt", 3600.0)
    assert token.scope == "contacts.readonly contacts.write"
    assert (token.user_type, token.company_id, token.location_id) == ("Company", "co-1", None)


def test_decode_all_snake_ids_and_no_expiry() -> None:
    body = b'{"access_token":"at","user_type":"Location","location_id":"l","company_id":"c"}'
    token = _decode_token(body)
    assert (token.user_type, token.location_id, token.company_id) == ("Location", "l", "c")
    assert token.expires_at is None
    assert token.refresh_token is None


@pytest.mark.parametrize("body", [b"{}", b'{"refresh_token": "rt"}', b"[]", b"not json"])
def test_decode_rejects_bodies_without_a_token(body: bytes) -> None:
    with pytest.raises((ValueError, msgspec.DecodeError)):
        _decode_token(body)


# --- token endpoint errors -----------------------------------------------------------------


def test_invalid_grant_asks_for_reauthorisation() -> None:
    body = b'{"error":"invalid_grant","error_description":"Invalid refresh token: RT-SECRET"}'
    err = _token_error(400, body, "oauth.refresh", "/oauth/token", ["RT-SECRET", SECRET])
    assert type(err) is ReauthorizationRequired
    assert err.status == 400
    assert err.error == "invalid_grant"
    assert "re-authorise" in str(err)
    assert "RT-SECRET" not in str(err)
    assert "RT-SECRET" not in repr(err)
    assert b"RT-SECRET" not in err.body
    assert "<redacted>" in str(err)


def test_invalid_grant_in_message_text_counts() -> None:
    body = b'{"statusCode":401,"message":"invalid_grant: token revoked"}'
    err = _token_error(401, body, "oauth.refresh", "/oauth/token", [])
    assert isinstance(err, ReauthorizationRequired)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, b'{"statusCode":400,"message":"Location is not active"}'),
        (401, b'{"error":"invalid_client"}'),
        (422, b'{"statusCode":422,"message":["client_id must be a string"]}'),
        (500, b"<html>oops</html>"),
        (503, b'{"error":"invalid_grant"}'),  # a 5xx is never the user's fault
    ],
)
def test_other_failures_are_token_refresh_errors(status: int, body: bytes) -> None:
    err = _token_error(status, body, "oauth.refresh", "/oauth/token", [SECRET])
    assert type(err) is TokenRefreshError
    assert err.status == status
    assert "oauth.refresh" in str(err)


def test_error_messages_are_collected() -> None:
    err = _token_error(
        422, b'{"message":["a","b"],"traceId":"t-1"}', "oauth.refresh", "/oauth/token", []
    )
    assert err.messages == ["a", "b"]
    assert err.trace_id == "t-1"


def test_an_aip_envelope_gives_its_code_details_and_resolution() -> None:
    body = (
        b'{"error":{"code":"PERMISSION_DENIED","message":"Client RT-SECRET is suspended",'
        b'"details":{"resource":"App","identifier":"app-1"},'
        b'"resolution":"Ask the marketplace team; do not retry RT-SECRET"}}'
    )
    err = _token_error(403, body, "oauth.refresh", "/oauth/token", ["RT-SECRET"])
    assert type(err) is TokenRefreshError
    assert err.code == err.error == "PERMISSION_DENIED"
    assert err.details == {"resource": "App", "identifier": "app-1"}
    assert err.resolution == "Ask the marketplace team; do not retry <redacted>"
    assert "RT-SECRET" not in str(err)
    assert "RT-SECRET" not in repr(err)
    assert "Ask the marketplace team" in str(err)
    plain = _token_error(400, b'{"error":"invalid_client"}', "oauth.refresh", "/oauth/token", [])
    assert (plain.code, plain.details, plain.resolution) == (None, {}, None)

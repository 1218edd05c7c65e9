"""OAuth over HTTP: the token endpoint, agency → location tokens, and the consent page.

The grant logic (codes, rotating refresh tokens, RFC 6749 errors) lives in
:mod:`ghl_async.testing.oauth`; this module reads requests and writes answers. Failures name
their real cause ("this code comes from a Location-level install ...", "redirect_uri ... differs
...", "Unknown client_id ...") so a developer wiring an app to the fake knows what to change.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlencode, urlsplit

from aiohttp import web

from ghl_async import defaults
from ghl_async.testing.apis import v2_failure_body
from ghl_async.testing.core import FakeCore
from ghl_async.testing.exchange import Exchange, error_response, json_response
from ghl_async.testing.handlers import NO_ACCESS
from ghl_async.testing.installs import install
from ghl_async.testing.oauth import (
    AccessToken,
    Grant,
    OAuthError,
    RefreshToken,
    UserType,
    token_response,
)
from ghl_async.testing.replies import ApiFailure

__all__ = ["SCOPE_DENIED", "OAuthEndpoints", "authenticate", "check_version"]

SCOPE_DENIED: Final = "The token is not authorized for this scope."
_FORM: Final = "application/x-www-form-urlencoded"
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})


def authenticate(core: FakeCore, request: web.Request) -> AccessToken:
    """The live access token of the ``Authorization`` header, else a 401 ``ApiFailure``."""
    header = request.headers.get("Authorization")
    if not header:
        raise ApiFailure(401, "No Authorization header found for authentication!")
    scheme, _, value = header.partition(" ")
    token = core.tokens.lookup(value.strip(), time.time()) if scheme.lower() == "bearer" else None
    if token is None:
        raise ApiFailure(401, "Invalid JWT")
    return token


def check_version(request: web.Request) -> None:
    """HighLevel's answers to a missing or unsupported ``Version`` on a v2 OAuth route."""
    version = request.headers.get("Version")
    if version is None:
        raise ApiFailure(401, "version header was not found.")
    if version != defaults.API_VERSION:
        raise ApiFailure(
            400,
            f"Version header {version!r} is not supported here: this endpoint speaks "
            f"{defaults.API_VERSION}",
        )


def _failure(failure: ApiFailure, headers: dict[str, str]) -> web.Response:
    headers.update(failure.headers)
    return error_response(failure.status, v2_failure_body(failure), headers)


class OAuthEndpoints:
    """``POST /oauth/token``, ``POST /oauth/locationToken``, ``GET /oauth/chooselocation``."""

    def __init__(self, core: FakeCore) -> None:
        self._core = core

    def _approved_locations(self, company_id: str) -> list[str]:
        locations = self._core.store.locations.values()
        return [loc.id for loc in locations if loc.company_id == company_id]

    def _token_body(
        self,
        access: AccessToken,
        refresh: RefreshToken,
        extra: Mapping[str, object] | None = None,
    ) -> dict[str, object]:
        core = self._core
        return token_response(
            access,
            refresh,
            lifetime=core.token_lifetime,
            camel_case=core.camel_case_tokens,
            approved_locations=self._approved_locations(access.grant.company_id),
            extra=extra,
        )

    async def token(self, request: web.Request, exchange: Exchange) -> web.Response:
        """``POST /oauth/token``: code exchange and refresh (RFC 6749 errors)."""
        core = self._core
        headers = {"traceId": exchange.trace_id}
        try:
            if request.content_type != _FORM:
                raise OAuthError(
                    400,
                    "invalid_request",
                    f"Content-Type must be {_FORM}, not {request.content_type}",
                )
            posted = await request.post()
            form = {key: value for key, value in posted.items() if isinstance(value, str)}
            access, refresh = core.tokens.exchange(
                form, client_id=core.client_id, client_secret=core.client_secret, now=time.time()
            )
        except OAuthError as err:
            return json_response(err.body(), err.status, headers)
        exchange.applied = True
        exchange.location_id = access.grant.location_id
        return json_response(self._token_body(access, refresh), 200, headers)

    async def location_token(self, request: web.Request, exchange: Exchange) -> web.Response:
        """``POST /oauth/locationToken``: a location token from an agency token."""
        core = self._core
        headers = {"traceId": exchange.trace_id}
        try:
            check_version(request)
            token = authenticate(core, request)
            grant = token.grant
            if grant.user_type != "Company" or "oauth.write" not in grant.scopes:
                raise ApiFailure(401, SCOPE_DENIED)
            form: dict[str, str] = {}
            if request.content_type == _FORM:
                posted = await request.post()
                form = {key: value for key, value in posted.items() if isinstance(value, str)}
            missing = [
                f"{name} should not be empty"
                for name in ("companyId", "locationId")
                if not form.get(name)
            ]
            if missing:
                raise ApiFailure(422, missing)
            if form["companyId"] != grant.company_id:
                raise ApiFailure(403, "The token does not have access to this company.")
            location = core.store.locations.get(form["locationId"])
            if location is None or location.company_id != grant.company_id:
                raise ApiFailure(403, NO_ACCESS)
        except ApiFailure as failure:
            return _failure(failure, headers)
        scopes = tuple(s for s in grant.scopes if not s.startswith("oauth."))
        location_grant = Grant("Location", grant.company_id, location.id, scopes, grant.user_id)
        access, refresh = core.tokens.mint_pair(location_grant, time.time())
        exchange.applied = True
        exchange.location_id = location.id
        body = self._token_body(access, refresh, {"appId": core.app_id, "versionId": core.app_id})
        return json_response(body, 200, headers)

    def _redirect_allowed(self, uri: str) -> bool:
        if uri == self._core.redirect_uri:
            return True
        parts = urlsplit(uri)
        return parts.scheme == "http" and parts.hostname in _LOOPBACK

    async def chooser(self, request: web.Request, exchange: Exchange) -> web.Response:
        """``GET /oauth/chooselocation``: consent at once, 302 to ``redirect_uri?code=...``.

        The "user" installs where the query says: ``user_type`` (``Location``, the default, or
        ``Company`` for the agency) and ``location_id`` (default: the default location). The
        first consent for a place installs the app there and sends an ``INSTALL`` webhook.
        """
        core = self._core
        headers = {"traceId": exchange.trace_id}
        query = request.query
        try:
            if query.get("response_type") != "code":
                raise ApiFailure(400, "response_type must be 'code'")
            client_id = query.get("client_id")
            if client_id != core.client_id:
                raise ApiFailure(
                    400, f"Unknown client_id {client_id!r}: this app is {core.client_id!r}"
                )
            redirect_uri = query.get("redirect_uri") or core.redirect_uri
            if not self._redirect_allowed(redirect_uri):
                raise ApiFailure(
                    400,
                    f"redirect_uri {redirect_uri!r} is not registered for this app: use "
                    f"{core.redirect_uri!r} (or any http://127.0.0.1, localhost or [::1] URI)",
                )
            requested = query.get("user_type", "Location")
            if requested not in ("Location", "Company"):
                raise ApiFailure(400, f"user_type must be Location or Company, not {requested!r}")
            user_type: UserType = "Company" if requested == "Company" else "Location"
            location_id = query.get("location_id") or core.location_id
            if location_id not in core.store.locations:
                raise ApiFailure(400, f"Unknown location {location_id}")
        except ApiFailure as failure:
            return _failure(failure, headers)
        scopes = tuple(query.get("scope", "").split()) or None
        grant = core._grant(scopes, user_type, location_id)
        code = core.tokens.mint_code(grant, redirect_uri, time.time())
        install(core, grant)
        params = {"code": code}
        if "state" in query:
            params["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        headers["Location"] = f"{redirect_uri}{separator}{urlencode(params)}"
        exchange.applied = True
        exchange.location_id = location_id if user_type == "Location" else None
        return web.Response(status=302, headers=headers)

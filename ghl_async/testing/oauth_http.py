"""OAuth over HTTP: the token endpoint, agency → location tokens, installed locations, consent.

The grant logic (codes, rotating refresh tokens, RFC 6749 errors) lives in
:mod:`ghl_async.testing.oauth`; this module reads requests and writes answers. Failures name
their real cause ("this code comes from a Location-level install ...", "redirect_uri ... differs
...", "Unknown client_id ...") so a developer wiring an app to the fake knows what to change.

Both versions (CONTACTS-API.md §5, §7), by the request's ``Version`` header:

* ``2021-07-28`` (or no header on ``/oauth/token``): form bodies with snake_case fields, RFC 6749
  errors, ``/oauth/locationToken``, ``/oauth/installedLocations`` (``skip``/``limit``);
* ``v3``: ``/oauth/token`` takes JSON or a form with camelCase fields (``clientId``,
  ``grantType``, ``refreshToken``, ...; an undeclared field is a 422, as on every v3 body) and
  answers camelCase; its errors are the NestJS DTOs (``"Invalid grant: ..."`` 400,
  ``"Missing parameter: clientId"``). ``/oauth/location-token`` answers camelCase with a
  ``refreshToken``; ``/oauth/installed-locations`` pages by ``pageSize``/``pageToken`` (an opaque
  base64 offset) with AIP-158 ``pagination`` and answers bad arguments with the AIP envelope
  ``{"error": {"code", "message", "details", "resolution"}}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlencode, urlsplit

import msgspec
from aiohttp import web

from ghl_async import defaults
from ghl_async.testing.apis import DATED_ALIASES, v2_failure_body, v3_failure_body
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
from ghl_async.testing.replies import ENCODER, ApiFailure

__all__ = ["SCOPE_DENIED", "OAuthEndpoints", "aip_error", "authenticate", "check_version"]

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


def check_version(request: web.Request, speaks: str = defaults.API_VERSION) -> None:
    """HighLevel's answers to a missing or unsupported ``Version`` on an OAuth route."""
    version = request.headers.get("Version")
    if version is None:
        raise ApiFailure(401, "version header was not found.")
    if version != speaks and not (speaks == defaults.API_VERSION and version in DATED_ALIASES):
        raise ApiFailure(
            400,
            f"Version header {version!r} is not supported here: this endpoint speaks {speaks}",
        )


def _failure(
    failure: ApiFailure, headers: dict[str, str], *, v3: bool = False
) -> web.Response:
    headers.update(failure.headers)
    body = v3_failure_body(failure) if v3 else v2_failure_body(failure)
    return error_response(failure.status, body, headers)


class AipFailure(Exception):
    """An AIP-193 error answer (v3 list endpoints): ``{"error": {code, message, ...}}``."""

    def __init__(
        self, status: int, code: str, message: str, resolution: str, **details: str
    ) -> None:
        super().__init__(status, code, message)
        self.status = status
        self.body = aip_error(code, message, resolution, details)


def aip_error(code: str, message: str, resolution: str, details: Mapping[str, object]) -> bytes:
    """The AIP error envelope of ``oauth-v3.json`` (``AipErrorResponseDto``)."""
    error: dict[str, object] = {"code": code, "message": message}
    if details:
        error["details"] = dict(details)
    error["resolution"] = resolution
    return ENCODER.encode({"error": error})


# v3 token request fields (GetAccessTokenBodyDto) -> the names the grant logic reads.
_V3_TOKEN_FIELDS: Final = {
    "clientId": "client_id",
    "clientSecret": "client_secret",
    "grantType": "grant_type",
    "code": "code",
    "refreshToken": "refresh_token",
    "userType": "user_type",
    "redirectUri": "redirect_uri",
}


def _v3_token_failure(err: OAuthError) -> ApiFailure:
    """An RFC 6749 refusal as v3 words it (oauth-v3.json's 400 examples, 401 UnauthorizedDTO)."""
    if err.error == "invalid_client":
        return ApiFailure(401, f"Invalid client: {err.description}")
    if err.error == "invalid_grant":
        return ApiFailure(400, f"Invalid grant: {err.description}")
    if err.error == "invalid_request" and err.description.endswith(" is required"):
        name = err.description.removesuffix(" is required")
        camel = {v: k for k, v in _V3_TOKEN_FIELDS.items()}.get(name, name)
        return ApiFailure(400, f"Missing parameter: {camel}")
    if err.error == "unsupported_grant_type":
        return ApiFailure(400, f"Invalid parameter: grantType ({err.description})")
    return ApiFailure(err.status, f"Invalid parameter: {err.description}")


def _page_token(offset: int) -> str:
    raw = json.dumps({"offset": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _page_offset(token: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        offset = json.loads(raw)["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        offset = None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise AipFailure(
            400,
            "INVALID_ARGUMENT",
            "The pageToken is not valid.",
            "Pass the nextPageToken of the previous page unchanged, or omit pageToken.",
            field="pageToken",
        )
    return offset


_V2_LISTING: Final = frozenset(
    {"skip", "limit", "query", "isInstalled", "companyId", "appId", "versionId", "onTrial",
     "planId", "locationId"}
)  # fmt: skip
_V3_LISTING: Final = frozenset(
    {"pageSize", "pageToken", "query", "isInstalled", "restrictToUserLocations", "companyId",
     "appId", "versionId", "onTrial", "planId", "locationId"}
)  # fmt: skip


def _digits(
    value: str, name: str, *, low: int = 1, high: int = defaults.INSTALLED_PAGE_LIMIT
) -> int:
    number = int(value) if value.isdigit() else -1
    if not low <= number <= high:
        raise ApiFailure(422, [f"{name} must be a number between {low} and {high}"])
    return number


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
        *,
        camel: bool = False,
    ) -> dict[str, object]:
        core = self._core
        return token_response(
            access,
            refresh,
            lifetime=core.token_lifetime,
            camel_case=camel or core.camel_case_tokens,
            approved_locations=self._approved_locations(access.grant.company_id),
            extra=extra,
        )

    async def token(self, request: web.Request, exchange: Exchange) -> web.Response:
        """``POST /oauth/token``: code exchange and refresh (RFC 6749 errors; v3 by header)."""
        if request.headers.get("Version") == defaults.API_V3:
            return await self._token_v3(request, exchange)
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

    async def _token_v3(self, request: web.Request, exchange: Exchange) -> web.Response:
        """``POST /oauth/token`` with ``Version: v3``: camelCase in and out, NestJS errors."""
        core = self._core
        headers = {"traceId": exchange.trace_id}
        try:
            given = await self._v3_body(request)
            unknown = sorted(set(given) - _V3_TOKEN_FIELDS.keys())
            if unknown:
                raise ApiFailure(422, [f"property {name} should not exist" for name in unknown])
            form = {_V3_TOKEN_FIELDS[name]: value for name, value in given.items()}
            try:
                access, refresh = core.tokens.exchange(
                    form,
                    client_id=core.client_id,
                    client_secret=core.client_secret,
                    now=time.time(),
                )
            except OAuthError as err:
                raise _v3_token_failure(err) from None
        except ApiFailure as failure:
            return _failure(failure, headers, v3=True)
        exchange.applied = True
        exchange.location_id = access.grant.location_id
        return json_response(self._token_body(access, refresh, camel=True), 200, headers)

    @staticmethod
    async def _v3_body(request: web.Request) -> dict[str, str]:
        """A v3 token or location-token body: JSON or a form, every value a string."""
        if request.content_type == "application/json":
            raw = await request.read()
            try:
                data = msgspec.json.decode(raw or b"{}")
            except msgspec.DecodeError:
                raise ApiFailure(400, "Unexpected token in JSON body") from None
            if not isinstance(data, dict):
                raise ApiFailure(400, "The body must be a JSON object")
            wrong = sorted(k for k, v in data.items() if not isinstance(v, str))
            if wrong:
                raise ApiFailure(422, [f"{name} must be a string" for name in wrong])
            return dict(data)
        if request.content_type == _FORM:
            posted = await request.post()
            return {key: value for key, value in posted.items() if isinstance(value, str)}
        raise ApiFailure(
            400, f"Content-Type must be application/json or {_FORM}, not {request.content_type}"
        )

    def _agency(self, request: web.Request, scope: str) -> Grant:
        """The grant of the request's agency token, if it has ``scope``; else 401."""
        grant = authenticate(self._core, request).grant
        if grant.user_type != "Company" or scope not in grant.scopes:
            raise ApiFailure(401, SCOPE_DENIED)
        return grant

    async def location_token_v3(self, request: web.Request, exchange: Exchange) -> web.Response:
        """``POST /oauth/location-token`` (v3): camelCase answer with a ``refreshToken``."""
        headers = {"traceId": exchange.trace_id}
        try:
            check_version(request, defaults.API_V3)
            grant = self._agency(request, "oauth.write")
            form = await self._v3_body(request)
            unknown = sorted(set(form) - {"companyId", "locationId"})
            if unknown:
                raise ApiFailure(422, [f"property {name} should not exist" for name in unknown])
        except ApiFailure as failure:
            return _failure(failure, headers, v3=True)
        return self._mint_location_token(form, grant, exchange, headers, v3=True)

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
        except ApiFailure as failure:
            return _failure(failure, headers)
        return self._mint_location_token(form, grant, exchange, headers, v3=False)

    def _mint_location_token(
        self,
        form: Mapping[str, str],
        grant: Grant,
        exchange: Exchange,
        headers: dict[str, str],
        *,
        v3: bool,
    ) -> web.Response:
        core = self._core
        try:
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
            return _failure(failure, headers, v3=v3)
        scopes = tuple(s for s in grant.scopes if not s.startswith("oauth."))
        location_grant = Grant("Location", grant.company_id, location.id, scopes, grant.user_id)
        access, refresh = core.tokens.mint_pair(location_grant, time.time())
        exchange.applied = True
        exchange.location_id = location.id
        extra = {"appId": core.app_id, "versionId": core.app_id}
        body = self._token_body(access, refresh, extra, camel=v3)
        return json_response(body, 200, headers)

    def _locations(self, company_id: str, query: Mapping[str, str]) -> list[dict[str, object]]:
        """The company's locations matching the filters, as ``InstalledLocationSchema``."""
        core = self._core
        found = []
        text = query.get("query", "").lower()
        wanted = query.get("isInstalled")
        for location in core.store.locations.values():
            if location.company_id != company_id:
                continue
            installed = f"location:{location.id}" in core.installs
            if wanted is not None and installed != (wanted == "true"):
                continue
            if text and text not in location.name.lower():
                continue
            if query.get("locationId") not in (None, location.id):
                continue
            item: dict[str, object] = {
                "_id": location.id,
                "name": location.name,
                "address": f"{location.name}, 1 Fake Street",
                "isInstalled": installed,
            }
            if installed:
                item["versionId"] = core.app_id
            found.append(item)
        return found

    def _check_listing(self, query: Mapping[str, str], declared: frozenset[str]) -> str:
        unknown = sorted(set(query) - declared)
        if unknown:
            raise ApiFailure(422, [f"property {name} should not exist" for name in unknown])
        missing = [f"{n} should not be empty" for n in ("companyId", "appId") if not query.get(n)]
        if missing:
            raise ApiFailure(422, missing)
        return query["companyId"]

    async def installed_locations(self, request: web.Request, exchange: Exchange) -> web.Response:
        """``GET /oauth/installedLocations`` (v2): ``skip``/``limit``, ``locations`` + ``count``."""
        headers = {"traceId": exchange.trace_id}
        query = request.query
        try:
            check_version(request)
            grant = self._agency(request, "oauth.readonly")
            company_id = self._check_listing(query, _V2_LISTING)
            if company_id != grant.company_id:
                raise ApiFailure(403, "The token does not have access to this company.")
            if query["appId"] != self._core.app_id:
                raise ApiFailure(400, f"App {query['appId']} not found")
            limit = _digits(query.get("limit", "20"), "limit")
            skip = _digits(query.get("skip", "0"), "skip", low=0, high=10**9)
        except ApiFailure as failure:
            return _failure(failure, headers)
        found = self._locations(company_id, query)
        body = {
            "locations": found[skip : skip + limit],
            "count": len(found),
            "installToFutureLocations": False,
        }
        return json_response(body, 200, headers)

    async def installed_locations_v3(
        self, request: web.Request, exchange: Exchange
    ) -> web.Response:
        """``GET /oauth/installed-locations`` (v3): ``pageSize``/``pageToken``, AIP errors."""
        headers = {"traceId": exchange.trace_id}
        query = request.query
        try:
            check_version(request, defaults.API_V3)
            grant = self._agency(request, "oauth.readonly")
            company_id = self._check_listing(query, _V3_LISTING)
            if query["appId"] != self._core.app_id:
                raise AipFailure(
                    404,
                    "RESOURCE_NOT_FOUND",
                    f"The requested App '{query['appId']}' was not found.",
                    "Verify the App exists and you have permission to access it.",
                    resource="App",
                    identifier=query["appId"],
                )
            if company_id != grant.company_id:
                raise AipFailure(
                    403,
                    "PERMISSION_DENIED",
                    f"The token does not have access to company '{company_id}'.",
                    "Use the agency token of that company.",
                    resource="Company",
                    identifier=company_id,
                )
            size = _digits(query.get("pageSize", "20"), "pageSize")
            offset = _page_offset(query["pageToken"]) if "pageToken" in query else 0
        except ApiFailure as failure:
            return _failure(failure, headers, v3=True)
        except AipFailure as failure:
            return error_response(failure.status, failure.body, headers)
        found = self._locations(company_id, query)
        chunk = found[offset : offset + size]
        more = offset + len(chunk) < len(found)
        pagination: dict[str, object] = {
            "totalRecords": len(found),
            "hasNextPage": more,
            "hasPrevPage": offset > 0,
            "currentPageSize": len(chunk),
        }
        if more:
            pagination["nextPageToken"] = _page_token(offset + size)
        if offset > 0:
            pagination["prevPageToken"] = _page_token(max(0, offset - size))
        body = {
            "items": chunk,
            "pagination": pagination,
            "metadata": {"filterApplied": {"companyId": company_id}, "sortApplied": {}},
            "installToFutureLocations": False,
        }
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

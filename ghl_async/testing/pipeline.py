"""The fake's aiohttp application: routing, the per-request steps, faults and the request log.

Every request passes :meth:`Pipeline.serve`, which logs it and applies the faults armed for its
operation (or drawn by the chaos profile) around the endpoint, like a proxy in front of the API.
Contacts requests then go through HighLevel's steps, in HighLevel's order: the ``Version``
header picks the API version (:mod:`ghl_async.testing.apis`), then bearer token and scope, rate
limit (with the ``X-RateLimit-*`` headers from then on), strict body and query decoding with the
version's Structs, location access, and the version's handler.

Paths match with or without a trailing slash. HighLevel's API is NestJS on Express (NestJS's
error body ``{statusCode, message, error}``, class-validator's "property x should not exist"
422s; CONTACTS-API.md §10), and Express routes are not strict by default: ``/contacts`` and
``/contacts/`` reach the same handler, as do ``/contacts/{id}`` and ``/contacts/{id}/``. So the
fake serves both forms of every path, spec-declared slash or not.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final

import aiohttp
import msgspec
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from ghl_async import models as m
from ghl_async.routes import Route
from ghl_async.testing.apis import VERSIONS, ApiVersion, v2_failure_body
from ghl_async.testing.core import FakeCore
from ghl_async.testing.edge import (
    INTERNAL_ERROR,
    close_connection,
    failure_response,
    send_cut,
    send_reset,
)
from ghl_async.testing.exchange import Exchange, error_response, json_response
from ghl_async.testing.faults import Fault, Firing, RequestRecord
from ghl_async.testing.handlers import NO_ACCESS, Call, Handler
from ghl_async.testing.mutations import mutate_body, odd_rate_limit_headers
from ghl_async.testing.oauth import AccessToken
from ghl_async.testing.oauth_http import SCOPE_DENIED, OAuthEndpoints, authenticate
from ghl_async.testing.replies import ApiFailure, Reply, validation_messages
from ghl_async.testing.required import missing_defaults, needs_check

__all__ = ["WEBHOOK_PUBLIC_KEY_PATH", "Pipeline"]

logger = logging.getLogger("ghl_async.testing")

WEBHOOK_PUBLIC_KEY_PATH: Final = "/.well-known/ghl-fake/webhook-public-key"
"""Serves the PEM public key that verifies the fake's webhooks (404 while webhooks are off)."""

Endpoint = Callable[[web.Request, Exchange], Awaitable[web.Response]]


@dataclass(frozen=True, slots=True)
class _Operation:
    version: ApiVersion
    route: Route[object]
    handler: Handler
    decoder: msgspec.json.Decoder[m.Body] | None
    # Query parameters declared as lists: read every occurrence (`startAfter=a&startAfter=b`).
    list_params: frozenset[str] = frozenset()
    # Served on another version's literal path (v3's `{campaignId}` on v2's `.../removeAll`):
    # the placeholder values that path fixes.
    fixed: tuple[tuple[str, str], ...] = ()


def _list_params(route: Route[object]) -> frozenset[str]:
    struct = None if route.query is None else msgspec.inspect.type_info(route.query)
    if not isinstance(struct, msgspec.inspect.StructType):
        return frozenset()
    return frozenset(
        info.encode_name
        for info in struct.fields
        if isinstance(info.type, msgspec.inspect.ListType)
        or (
            isinstance(info.type, msgspec.inspect.UnionType)
            and any(isinstance(t, msgspec.inspect.ListType) for t in info.type.types)
        )
    )


def _fixes(pattern: str, path: str) -> tuple[tuple[str, str], ...] | None:
    """The placeholder values under which ``pattern`` matches ``path``, or None.

    A placeholder of ``pattern`` matches a literal segment of ``path`` (and a placeholder of
    the same name); a literal matches only itself.
    """
    ours, theirs = pattern.split("/"), path.split("/")
    if len(ours) != len(theirs):
        return None
    fixed = []
    for mine, other in zip(ours, theirs, strict=True):
        if mine.startswith("{"):
            if not other:
                return None  # a placeholder never matches an empty segment
            if not other.startswith("{"):
                fixed.append((mine[1:-1], other))
            elif other != mine:
                return None
        elif mine != other:
            return None
    return tuple(fixed)


def _specificity(path: str) -> tuple[int, ...]:
    # Literal segments sort before placeholders at the same depth.
    return tuple(1 if part.startswith("{") else 0 for part in path.split("/"))


_NO_HEADERS: Mapping[str, str] = CIMultiDictProxy(CIMultiDict())


async def _request_body(request: web.Request) -> bytes:
    """The request's body for the log, read once (handlers get the same bytes from aiohttp)."""
    if not request.body_exists:
        return b""
    try:
        return await request.read()
    except (web.HTTPException, aiohttp.ClientError, ConnectionError):
        return b""  # too large or cut short: the handler meets the same and answers for it


def _shown_headers(headers: Mapping[str, str]) -> CIMultiDictProxy[str]:
    """The request's headers with the bearer token hidden (logs and reprs never hold one)."""
    shown = CIMultiDict(headers)
    if "Authorization" in shown:
        scheme = shown["Authorization"].partition(" ")[0]
        shown["Authorization"] = f"{scheme} <redacted>"
    return CIMultiDictProxy(shown)


def _twin(path: str) -> str:
    """The other form of ``path``: without its trailing slash, or with one."""
    return path[:-1] if path.endswith("/") else f"{path}/"


class Pipeline:
    """Builds the application and serves each request."""

    def __init__(
        self,
        core: FakeCore,
        oauth: OAuthEndpoints,
        versions: Mapping[str, ApiVersion] = VERSIONS,
    ) -> None:
        self._core = core
        self._oauth = oauth
        self._versions = versions
        self._index = 0  # requests seen, in arrival order: seeds the per-request fault draws

    # --- routing ----------------------------------------------------------------------------

    def build_app(self) -> web.Application:
        """The aiohttp application with every route of every version."""
        app = web.Application()
        table: dict[tuple[str, str], dict[str, _Operation]] = {}
        for version in self._versions.values():
            for route in version.routes:
                decoder = msgspec.json.Decoder(route.body) if route.body is not None else None
                operation = _Operation(
                    version, route, version.handlers[route.name], decoder, _list_params(route)
                )
                table.setdefault((route.method, route.path), {})[version.header] = operation
        # A literal path of one version (v2's `.../campaigns/removeAll`) is, for a version
        # without it, the value of a placeholder (v3's `.../campaigns/{campaignId}`).
        for (method, path), by_version in table.items():
            for header, version in self._versions.items():
                if header in by_version:
                    continue
                for route in version.routes:
                    fixed = _fixes(route.path, path) if route.method == method else None
                    if fixed:
                        twin = table[(route.method, route.path)][header]
                        by_version[header] = dataclasses.replace(twin, fixed=fixed)
                        break
        ordered = sorted(table.items(), key=lambda item: _specificity(item[0][1]))
        endpoints = [
            (method, path, self._contacts_endpoint(ops)) for (method, path), ops in ordered
        ]
        oauth = self._oauth
        own: list[tuple[str, str, str, Endpoint]] = [
            ("POST", "/oauth/token", "oauth.token", oauth.token),
            ("POST", "/oauth/locationToken", "oauth.location_token", oauth.location_token),
            ("POST", "/oauth/location-token", "v3.oauth.location_token", oauth.location_token_v3),
            ("GET", "/oauth/installedLocations", "oauth.list_installed_locations",
             oauth.installed_locations),
            ("GET", "/oauth/installed-locations", "v3.oauth.list_installed_locations",
             oauth.installed_locations_v3),
            ("GET", "/oauth/chooselocation", "oauth.chooser", oauth.chooser),
            ("GET", "/v2/oauth/chooselocation", "oauth.chooser", oauth.chooser),
            ("GET", WEBHOOK_PUBLIC_KEY_PATH, "fake.webhook_public_key", self._public_key),
        ]
        endpoints += [(m, path, self._endpoint(name, serve)) for m, path, name, serve in own]
        # Each path as written first, its twin (slash added or removed) after all of them: the
        # router scans candidates in order, and the twins are the rare case. A placeholder never
        # matches "/", so no path as written can capture another path's twin.
        for method, path, handle in endpoints:
            app.router.add_route(method, path, handle)
        for method, path, handle in endpoints:
            app.router.add_route(method, _twin(path), handle)
        app.router.add_route("*", "/{tail:.*}", self._endpoint("unknown", self._not_found))
        return app

    def _endpoint(
        self, operation: str, serve: Endpoint
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.serve(request, operation, serve)

        return handle

    def _contacts_endpoint(
        self, by_version: Mapping[str, _Operation]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        # Per Version header value: the operation's name (for faults and the log) and its
        # steps. A version this path lacks gets the name of any version that has it.
        serves: dict[str, tuple[str, Endpoint]] = {
            header: (operation.route.name, functools.partial(self._contacts, operation=operation))
            for header, operation in by_version.items()
        }
        fallback = next(iter(by_version.values())).route.name
        missing: tuple[str, Endpoint] = (
            fallback,
            functools.partial(self._contacts, operation=None),
        )

        async def handle(request: web.Request) -> web.StreamResponse:
            name, serve = serves.get(request.headers.get("Version", ""), missing)
            return await self.serve(request, name, serve)

        return handle

    # --- every request ----------------------------------------------------------------------

    async def serve(
        self, request: web.Request, operation: str, serve: Endpoint
    ) -> web.StreamResponse:
        """Answer one request through ``serve``, applying faults, and log it."""
        core = self._core
        arrived = time.time()
        body = await _request_body(request) if core.log_payloads else b""
        exchange = Exchange(request.headers.get("Version"))
        index = self._index
        self._index += 1
        firing: Firing | None = None
        try:
            chaos = core.chaos_mix
            if core.faults or chaos is not None:
                pick = chaos.pick(index, operation) if chaos is not None else None
                firing = Firing(core.faults, operation, pick)
                return await self._serve_with_faults(request, exchange, serve, firing, index)
            response = await self._answer(request, exchange, serve)
            exchange.status = response.status
            return response
        finally:
            core._log.append(
                RequestRecord(
                    method=request.method,
                    path=request.path,
                    operation=operation,
                    status=exchange.status,
                    applied=exchange.applied,
                    location_id=exchange.location_id,
                    timestamp=arrived,
                    query=request.query_string,
                    trace_id=exchange.trace_id,
                    fault="+".join(firing.fired) if firing is not None and firing.fired else None,
                    version=exchange.version,
                    headers=_shown_headers(request.headers) if core.log_payloads else _NO_HEADERS,
                    body=body,
                )
            )

    @staticmethod
    async def _answer(request: web.Request, exchange: Exchange, serve: Endpoint) -> web.Response:
        try:
            return await serve(request, exchange)
        except ConnectionResetError:
            # The client went away mid-request (e.g. its timeout fired): nobody to answer,
            # and not a fault of the fake worth a traceback.
            raise
        except Exception:
            logger.exception("FakeHighLevel failed on %s %s", request.method, request.path)
            return json_response(dict(INTERNAL_ERROR), 500, {"traceId": exchange.trace_id})

    async def _serve_with_faults(
        self,
        request: web.Request,
        exchange: Exchange,
        serve: Endpoint,
        firing: Firing,
        index: int,
    ) -> web.StreamResponse:
        # Before the request is handled. A slow server has the whole request (a proxy buffers
        # it), so the body is read before the wait: the write still lands if the client left.
        for fault in (firing.take("delay"), firing.take("slow", "before")):
            if fault is not None:
                await request.read()
                await asyncio.sleep(fault.seconds)
        token = self._oauth_token(request)
        if token is not None and firing.take(
            "revoke", accept=lambda f: f.private or not token.private
        ):
            token.revoked = True
        fault = firing.take("drop", "before")
        if fault is not None:
            return close_connection(request, reset=fault.reset)
        fault = firing.take("fail", "before")
        if fault is not None:
            return self._fail(fault, exchange)
        # Handled (a write is applied); then the answer may still go wrong.
        response = await self._answer(request, exchange, serve)
        fault = firing.take("slow", "after")
        if fault is not None:
            await asyncio.sleep(fault.seconds)
        fault = firing.take("fail", "after")
        if fault is not None:
            return self._fail(fault, exchange)
        fault = firing.take("drop", "after")
        if fault is not None:
            return close_connection(request, reset=fault.reset)
        succeeded = 200 <= response.status < 300
        if succeeded:
            fault = firing.take("mutate")
            if fault is not None:
                response = self._mutate(response, fault, index)
        exchange.status = response.status
        fault = firing.take("reset")
        if fault is not None:
            return await send_reset(request, response, keep=fault.keep)
        if succeeded:
            fault = firing.take("truncate")
            if fault is not None:
                return await send_cut(request, response, keep=fault.keep, chunked=fault.chunked)
        return response

    def _oauth_token(self, request: web.Request) -> AccessToken | None:
        """The live token the request carries, if any (revocation needs one)."""
        _, _, value = request.headers.get("Authorization", "").partition(" ")
        return self._core.tokens.lookup(value.strip(), time.time()) if value else None

    def _fail(self, fault: Fault, exchange: Exchange) -> web.Response:
        exchange.status = fault.status
        return failure_response(
            fault,
            trace_id=exchange.trace_id,
            throttled=self._core.limiter.spent_headers(),
            now=time.time(),
        )

    def _mutate(self, response: web.Response, fault: Fault, index: int) -> web.Response:
        core = self._core
        seed = core.chaos_mix.seed if fault.chaos and core.chaos_mix is not None else core.seed
        rng = random.Random(f"mutate:{seed}:{index}")
        raw = response.body if isinstance(response.body, bytes) else b""
        body, _ = mutate_body(
            raw,
            rng,
            missing=fault.missing,
            extra=fault.extra,
            nulls=fault.nulls,
            protect=fault.protect,
        )
        headers = dict(response.headers)
        if fault.odd_headers:
            headers = odd_rate_limit_headers(headers, rng)
        return web.Response(body=body, status=response.status, headers=headers)

    # --- the Contacts steps -----------------------------------------------------------------

    async def _contacts(
        self, request: web.Request, exchange: Exchange, operation: _Operation | None
    ) -> web.Response:
        core = self._core
        headers = {"traceId": exchange.trace_id}
        failure_body: Callable[[ApiFailure], bytes] = v2_failure_body
        try:
            if exchange.version is None:
                raise ApiFailure(401, "version header was not found.")
            if operation is None:
                known = self._versions.get(exchange.version)
                if known is not None:  # that version has no such route: its own 404
                    failure_body = known.failure_body
                    raise ApiFailure(404, f"Cannot {request.method} {request.path}")
                raise ApiFailure(
                    400,
                    f"Version header {exchange.version!r} is not supported here: this endpoint "
                    f"speaks {', '.join(self._versions)}",
                )
            failure_body = operation.version.failure_body
            route = operation.route
            grant = authenticate(core, request).grant
            if route.scope not in grant.scopes or grant.location_id is None:
                raise ApiFailure(401, SCOPE_DENIED)
            location_id = grant.location_id
            exchange.location_id = location_id
            verdict = core.limiter.check(location_id)
            headers.update(verdict.headers)
            if not verdict.allowed:
                extra = {}
                if core.retry_after_header and verdict.retry_after is not None:
                    extra["Retry-After"] = str(max(1, math.ceil(verdict.retry_after)))
                raise ApiFailure(429, "Too Many Requests", headers=extra)
            body = await self._decode_body(request, operation.decoder)
            query = self._decode_query(request, route, operation.list_params)
            if route.location is not None:
                given = getattr(body if route.location == "body" else query, "location_id", None)
                if given != location_id:
                    raise ApiFailure(403, NO_ACCESS)
            call = Call(
                store=core.store,
                location_id=location_id,
                params={**request.match_info, **dict(operation.fixed)}
                if operation.fixed
                else request.match_info,
                body=body,
                query=query,
                trace_id=exchange.trace_id,
                origin=f"{request.scheme}://{request.host}",
            )
            reply: Reply = operation.handler(call)
        except ApiFailure as failure:
            headers.update(failure.headers)
            return error_response(failure.status, failure_body(failure), headers)
        exchange.applied = reply.applied
        headers.update(reply.headers)
        return json_response(reply.payload, reply.status or route.status, headers)

    @staticmethod
    async def _decode_body(
        request: web.Request, decoder: msgspec.json.Decoder[m.Body] | None
    ) -> m.Body | None:
        if decoder is None:
            return None
        raw = await request.read()
        # Like NestJS: a body that is not declared JSON is not parsed, i.e. it is empty.
        if request.content_type != "application/json" or not raw.strip():
            raw = b"{}"
        try:
            body = decoder.decode(raw)
        except msgspec.ValidationError as err:
            raise ApiFailure(422, validation_messages(err)) from None
        except msgspec.DecodeError as err:
            raise ApiFailure(400, f"Unexpected token in JSON body: {err}") from None
        kind = type(body)
        if needs_check(kind):
            # Our models' defaults are not HighLevel's: a key it requires must be on the wire.
            missing = missing_defaults(kind, msgspec.json.decode(raw))
            if missing is not None:
                raise ApiFailure(422, [missing])
        return body

    @staticmethod
    def _decode_query(
        request: web.Request, route: Route[object], lists: frozenset[str] = frozenset()
    ) -> msgspec.Struct | None:
        if route.query is None:
            return None
        given: dict[str, str | list[str]] = dict(request.query)
        for name in lists & given.keys():
            given[name] = request.query.getall(name)
        try:
            return msgspec.convert(given, route.query, strict=False)
        except msgspec.ValidationError as err:
            raise ApiFailure(422, validation_messages(err, root="query")) from None

    # --- the fake's own routes --------------------------------------------------------------

    async def _not_found(self, request: web.Request, exchange: Exchange) -> web.Response:
        failure = ApiFailure(404, f"Cannot {request.method} {request.path}")
        return error_response(404, v2_failure_body(failure), {"traceId": exchange.trace_id})

    async def _public_key(self, request: web.Request, exchange: Exchange) -> web.Response:
        emitter = self._core.webhooks
        if emitter is None:
            failure = ApiFailure(404, "Webhooks are off: start the fake with a webhook_url")
            return error_response(404, v2_failure_body(failure), {"traceId": exchange.trace_id})
        return web.Response(
            text=emitter.public_key_pem,
            content_type="application/x-pem-file",
            headers={"traceId": exchange.trace_id},
        )

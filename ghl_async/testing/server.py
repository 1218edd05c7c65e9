"""FakeHighLevel: the aiohttp application, its lifecycle, and the knobs tests turn.

Routing is built from ``ghl_async.routes.ALL_ROUTES``: one handler per route name, registered
most-literal first so ``/campaigns/removeAll`` wins over ``/campaigns/{campaign_id}``. Every
Contacts request goes through the same steps, in HighLevel's order: ``Version`` header, bearer
token and scope, rate limit (with the ``X-RateLimit-*`` headers from then on), strict body and
query decoding with the route's Structs, location access, then the handler. Faults armed with
:meth:`FakeHighLevel.fail`, :meth:`~FakeHighLevel.drop` and :meth:`~FakeHighLevel.delay` act
before all of that, like a proxy in front of the API.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import logging
import math
import os
import random
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Final, TypedDict, TypeVar
from urllib.parse import urlencode, urlsplit

import msgspec
from aiohttp import web

from ghl_async import defaults
from ghl_async import models as m
from ghl_async.errors import ConfigError
from ghl_async.routes import ALL_ROUTES, Route
from ghl_async.testing import shapes
from ghl_async.testing.faults import (
    DropWhen,
    Fault,
    FaultKind,
    FaultPlan,
    RequestLog,
    RequestRecord,
)
from ghl_async.testing.handlers import HANDLERS, NO_ACCESS, Call, Handler
from ghl_async.testing.oauth import (
    COMPANY_SCOPES,
    LOCATION_SCOPES,
    AccessToken,
    Grant,
    OAuthError,
    RefreshToken,
    TokenRegistry,
    UserType,
    token_response,
)
from ghl_async.testing.ratelimit import RateLimiter, RateRule, parse_rate_rule
from ghl_async.testing.replies import ENCODER, ApiFailure, Reply, error_body, validation_messages
from ghl_async.testing.seed import seed_contacts
from ghl_async.testing.store import ContactRecord, LocationRecord, Store

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ghl_async.webhooks.emitter import WebhookEmitter

__all__ = ["DEFAULT_REDIRECT_URI", "ContactsView", "FakeHighLevel", "FakeOptions", "IssuedToken"]

logger = logging.getLogger("ghl_async.testing")
T = TypeVar("T")

DEFAULT_REDIRECT_URI: Final = "http://127.0.0.1/oauth/callback"
_JSON: Final = "application/json; charset=utf-8"
_FORM: Final = "application/x-www-form-urlencoded"
_SCOPE_DENIED: Final = "The token is not authorized for this scope."
_OAUTH_OPERATIONS: Final = {
    "oauth.token": "oauth.token",
    "get-access-token": "oauth.token",
    "oauth.location_token": "oauth.location_token",
    "get-location-access-token": "oauth.location_token",
    "oauth.chooser": "oauth.chooser",
}
_LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})


class FakeOptions(TypedDict, total=False):
    """The keyword arguments of :class:`FakeHighLevel` (for ``serve_in_thread``)."""

    host: str
    port: int
    client_id: str | None
    client_secret: str | None
    location_id: str | None
    company_id: str | None
    redirect_uri: str
    token_lifetime: float
    camel_case_tokens: bool
    rate_limit: RateRule | str | None
    daily_limit: int | None
    retry_after_header: bool
    allow_duplicates: bool
    webhook_url: str | None
    seed: int


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """Tokens minted directly by :meth:`FakeHighLevel.issue_token` (no HTTP round trip)."""

    access_token: str
    refresh_token: str
    expires_in: float
    scope: str
    user_type: UserType
    location_id: str | None
    company_id: str

    def __repr__(self) -> str:
        return f"IssuedToken(user_type={self.user_type!r}, location_id={self.location_id!r})"


@dataclass(frozen=True, slots=True)
class _Operation:
    route: Route[object]
    handler: Handler
    decoder: msgspec.json.Decoder[m.Body] | None


class _Exchange:
    """Per-request facts the log needs, filled in as the request is served."""

    __slots__ = ("applied", "location_id", "trace_id")

    def __init__(self) -> None:
        self.trace_id = os.urandom(16).hex()
        self.location_id: str | None = None
        self.applied = False


def _specificity(route: Route[object]) -> tuple[int, ...]:
    # Literal segments sort before placeholders at the same depth.
    return tuple(1 if part.startswith("{") else 0 for part in route.path.split("/"))


def _json(payload: object, status: int, headers: dict[str, str]) -> web.Response:
    headers["Content-Type"] = _JSON
    return web.Response(body=ENCODER.encode(payload), status=status, headers=headers)


def _failure(failure: ApiFailure, headers: dict[str, str]) -> web.Response:
    headers.update(failure.headers)
    headers["Content-Type"] = _JSON
    body = error_body(failure.status, failure.message, failure.meta)
    return web.Response(body=body, status=failure.status, headers=headers)


class ContactsView(Mapping[str, m.Contact]):
    """Read-only mapping of contact id -> :class:`ghl_async.models.Contact` (every location)."""

    def __init__(self, fake: FakeHighLevel) -> None:
        self._fake = fake

    def __getitem__(self, contact_id: str) -> m.Contact:
        found = self._fake.get_contact(contact_id)
        if found is None:
            raise KeyError(contact_id)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._fake._sync(lambda: list(self._fake.store.contacts)))

    def __len__(self) -> int:
        return self._fake._sync(lambda: len(self._fake.store.contacts))


class FakeHighLevel:
    """A stateful, strict fake of the HighLevel Contacts API v2 and its OAuth endpoints.

    Use it in-process (``async with FakeHighLevel() as fake``), on a background thread
    (``with FakeHighLevel.serve_in_thread() as fake``), from the ``fake_highlevel`` pytest
    fixture, or standalone (``python -m ghl_async.testing --port 8080``).

    Args:
        host: interface to bind (loopback by default).
        port: TCP port; 0 picks a free one.
        client_id: the app's client id (``<appId>-<suffix>``); generated when omitted.
        client_secret: the app's client secret; random when omitted.
        location_id: the default location; generated (deterministically from ``seed``).
        company_id: the agency owning every location; generated likewise.
        redirect_uri: the app's registered redirect URI. Loopback URIs on any port are
            accepted too (RFC 8252 §7.3).
        token_lifetime: seconds an OAuth access token lives (HighLevel: 86399).
        camel_case_tokens: answer the token endpoint v3-style (``accessToken`` ...).
        rate_limit: the burst rule, ``(100, 10.0)`` or ``"100/10"``; ``None`` disables it.
        daily_limit: requests per location per UTC day; ``None`` disables it.
        retry_after_header: send ``Retry-After`` with rate-limit 429s (HighLevel's is unknown).
        allow_duplicates: the default location's "Allow Duplicate Contact" setting.
        webhook_url: deliver signed webhook events there (needs ``ghl-async[webhooks]``).
        seed: makes generated ids and seed data reproducible.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str | None = None,
        client_secret: str | None = None,
        location_id: str | None = None,
        company_id: str | None = None,
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        token_lifetime: float = 86399.0,
        camel_case_tokens: bool = False,
        rate_limit: RateRule | str | None = (
            defaults.RATE_LIMIT_REQUESTS,
            defaults.RATE_LIMIT_PERIOD,
        ),
        daily_limit: int | None = defaults.DAILY_LIMIT,
        retry_after_header: bool = False,
        allow_duplicates: bool = False,
        webhook_url: str | None = None,
        seed: int = 0,
    ) -> None:
        if token_lifetime <= 0:
            raise ConfigError("token_lifetime must be positive")
        if daily_limit is not None and daily_limit <= 0:
            raise ConfigError("daily_limit must be positive or None")
        identity = random.Random(f"identity/{seed}")

        def alnum(length: int) -> str:
            alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
            return "".join(identity.choices(alphabet, k=length))

        app_id = f"{identity.getrandbits(96):024x}"
        self.host = host
        self.port = port
        self.client_id: str = client_id or f"{app_id}-{alnum(8).lower()}"
        self.app_id: str = self.client_id.split("-", 1)[0]
        self.client_secret: str = client_secret or os.urandom(16).hex()
        self.company_id: str = company_id or alnum(20)
        self.location_id: str = location_id or alnum(20)
        self.user_id: str = alnum(20)
        self.redirect_uri = redirect_uri
        self.token_lifetime = float(token_lifetime)
        self.camel_case_tokens = camel_case_tokens
        self.retry_after_header = retry_after_header
        self.webhook_url = webhook_url
        self.store = Store(seed=seed)
        self.store.add_location(
            self.location_id, self.company_id, allow_duplicates=allow_duplicates
        )
        self.tokens = TokenRegistry(token_lifetime=self.token_lifetime)
        self.limiter = RateLimiter(rule=parse_rate_rule(rate_limit), daily_limit=daily_limit)
        self.faults = FaultPlan()
        self._log = RequestLog()
        self._private = self.tokens.mint_private(
            Grant("Location", self.company_id, self.location_id, LOCATION_SCOPES, self.user_id)
        )
        self.webhooks: WebhookEmitter | None = None
        self._app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._thread_ident: int | None = None
        missing = {route.name for route in ALL_ROUTES} ^ set(HANDLERS)
        if missing:  # pragma: no cover - guards edits to routes.py / handlers.py
            raise RuntimeError(f"routes without handler (or the reverse): {sorted(missing)}")

    def __repr__(self) -> str:
        where = self._base_url or "not started"
        return f"FakeHighLevel({where}, location_id={self.location_id!r})"

    # --- addresses and credentials ----------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, no trailing slash."""
        if self._base_url is None:
            raise RuntimeError("FakeHighLevel is not serving yet: use `async with` or start()")
        return self._base_url

    @base_url.setter
    def base_url(self, value: str) -> None:
        # When someone else serves `fake.app` (e.g. pytest-aiohttp's aiohttp_server).
        self._base_url = value.rstrip("/")

    @property
    def chooser_url(self) -> str:
        """The fake consent page (``GET /oauth/chooselocation``; ``/v2/oauth/...`` works too).

        It consents at once: a 302 to ``redirect_uri?code=...`` (plus ``state`` when given).
        Two parameters of its own pick what a user would click: ``location_id`` (default: the
        default location) and ``user_type=Company`` for an agency-level install.
        """
        return f"{self.base_url}/oauth/chooselocation"

    @property
    def private_token(self) -> str:
        """A private-integration token for the default location with both contacts scopes."""
        return self._private.value

    def url(self, path: str) -> str:
        """``base_url`` + ``path``."""
        return self.base_url + path

    def headers(self, token: str | None = None) -> dict[str, str]:
        """``Authorization`` (the private token by default) and ``Version`` headers."""
        return {
            "Authorization": f"Bearer {token or self.private_token}",
            "Version": defaults.API_VERSION,
        }

    @property
    def webhook_public_key(self) -> str | None:
        """The Ed25519 public key (PEM) that verifies the fake's webhooks, when enabled."""
        return self.webhooks.public_key_pem if self.webhooks is not None else None

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def app(self) -> web.Application:
        """The aiohttp application (built on first access)."""
        if self._app is None:
            self._app = self._build_app()
        return self._app

    async def start(self) -> FakeHighLevel:
        """Bind ``host:port`` and serve on the running loop."""
        if self._runner is not None:
            raise RuntimeError("FakeHighLevel is already serving")
        self._loop = asyncio.get_running_loop()
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        host, port = runner.addresses[0][:2]
        self.port = port
        shown = f"[{host}]" if ":" in host else host
        self._base_url = f"http://{shown}:{port}"
        return self

    async def aclose(self) -> None:
        """Stop serving (idempotent)."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> FakeHighLevel:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def start_in_thread(self, timeout: float = 10.0) -> FakeHighLevel:
        """Serve from a background thread with its own event loop; returns ``self``.

        Knobs, seeding and assertions called from other threads run on that loop.
        """
        if self._thread is not None:
            raise RuntimeError("FakeHighLevel is already running in a thread")
        ready = threading.Event()
        failures: list[BaseException] = []
        loop = asyncio.new_event_loop()

        def serve() -> None:
            asyncio.set_event_loop(loop)
            self._thread_ident = threading.get_ident()
            try:
                loop.run_until_complete(self.start())
            except BaseException as err:  # reported to the starting thread
                failures.append(err)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(self.aclose())
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        thread = threading.Thread(target=serve, name="FakeHighLevel", daemon=True)
        self._thread = thread
        thread.start()
        if not ready.wait(timeout) or failures:
            self._thread = None
            if failures:
                raise failures[0]
            raise RuntimeError("FakeHighLevel did not start in time")  # pragma: no cover
        return self

    def stop_in_thread(self, timeout: float = 10.0) -> None:
        """Stop the background server started by :meth:`start_in_thread`."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        self._thread = None
        self._thread_ident = None

    @classmethod
    @contextlib.contextmanager
    def serve_in_thread(cls, **options: Unpack[FakeOptions]) -> Iterator[FakeHighLevel]:
        """Run a fake on a background thread for the ``with`` block (sync-friendly)."""
        fake = cls(**options)
        fake.start_in_thread()
        try:
            yield fake
        finally:
            fake.stop_in_thread()

    def _sync(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the server's loop when called from another thread."""
        loop = self._loop
        if (
            self._thread is None
            or loop is None
            or threading.get_ident() == self._thread_ident
            or not loop.is_running()
        ):
            return work()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(work())
            except BaseException as err:  # handed back to the calling thread
                done.set_exception(err)

        loop.call_soon_threadsafe(run)
        return done.result(timeout=60)

    async def _on_startup(self, app: web.Application) -> None:
        if self.webhook_url is None:
            return
        # Imported here: the emitter needs the optional `cryptography` package.
        from ghl_async.webhooks.emitter import WebhookEmitter

        emitter = WebhookEmitter(self.webhook_url, location_id=self.location_id, app_id=self.app_id)
        self.webhooks = emitter
        self.store.on_event = emitter.emit

    async def _on_cleanup(self, app: web.Application) -> None:
        emitter, self.webhooks = self.webhooks, None
        self.store.on_event = None
        if emitter is not None:
            await emitter.aclose()

    # --- routing ----------------------------------------------------------------------------

    def _build_app(self) -> web.Application:
        app = web.Application()
        for route in sorted(ALL_ROUTES, key=_specificity):
            decoder = msgspec.json.Decoder(route.body) if route.body is not None else None
            operation = _Operation(route, HANDLERS[route.name], decoder)
            app.router.add_route(route.method, route.path, self._contacts_endpoint(operation))
        app.router.add_post("/oauth/token", self._endpoint("oauth.token", self._oauth_token))
        app.router.add_post(
            "/oauth/locationToken", self._endpoint("oauth.location_token", self._location_token)
        )
        chooser = self._endpoint("oauth.chooser", self._chooser)
        app.router.add_get("/oauth/chooselocation", chooser)
        app.router.add_get("/v2/oauth/chooselocation", chooser)
        app.router.add_route("*", "/{tail:.*}", self._endpoint("unknown", self._not_found))
        app.on_startup.append(self._on_startup)
        app.on_cleanup.append(self._on_cleanup)
        return app

    def _endpoint(
        self,
        operation: str,
        serve: Callable[[web.Request, _Exchange], Awaitable[web.Response]],
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            return await self._serve(request, operation, serve)

        return handle

    def _contacts_endpoint(
        self, operation: _Operation
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request, exchange: _Exchange) -> web.Response:
            return await self._contacts(request, exchange, operation)

        return self._endpoint(operation.route.name, serve)

    async def _serve(
        self,
        request: web.Request,
        operation: str,
        serve: Callable[[web.Request, _Exchange], Awaitable[web.Response]],
    ) -> web.StreamResponse:
        arrived = time.time()
        exchange = _Exchange()
        status: int | None = None
        try:
            faults = self.faults
            delay = faults.take(operation, "delay")
            if delay is not None:
                await asyncio.sleep(delay.seconds)
            if faults.take(operation, "drop", "before") is not None:
                return self._abort(request)
            failure = faults.take(operation, "fail")
            if failure is not None:
                body, content_type, headers = failure.response()
                headers["Content-Type"] = content_type
                headers["traceId"] = exchange.trace_id
                status = failure.status
                return web.Response(body=body, status=failure.status, headers=headers)
            try:
                response = await serve(request, exchange)
            except ConnectionResetError:
                # The client went away mid-request (e.g. its timeout fired): nobody to answer,
                # and not a fault of the fake worth a traceback.
                raise
            except Exception:
                logger.exception("FakeHighLevel failed on %s %s", request.method, request.path)
                response = _json(
                    {"statusCode": 500, "message": "Internal server error"},
                    500,
                    {"traceId": exchange.trace_id},
                )
            if faults.take(operation, "drop", "after") is not None:
                return self._abort(request)
            status = response.status
            return response
        finally:
            self._log.append(
                RequestRecord(
                    method=request.method,
                    path=request.path,
                    operation=operation,
                    status=status,
                    applied=exchange.applied,
                    location_id=exchange.location_id,
                    timestamp=arrived,
                    query=request.query_string,
                    trace_id=exchange.trace_id,
                )
            )

    @staticmethod
    def _abort(request: web.Request) -> web.Response:
        # Close the socket without an answer; aiohttp then fails to write the placeholder
        # response below and treats it as a client disconnect (no error logged).
        transport = request.transport
        if transport is not None:
            transport.abort()
        return web.Response(status=599)

    # --- the Contacts pipeline --------------------------------------------------------------

    def _authenticate(self, request: web.Request) -> AccessToken:
        header = request.headers.get("Authorization")
        if not header:
            raise ApiFailure(401, "No Authorization header found for authentication!")
        scheme, _, value = header.partition(" ")
        token = (
            self.tokens.lookup(value.strip(), time.time()) if scheme.lower() == "bearer" else None
        )
        if token is None:
            raise ApiFailure(401, "Invalid JWT")
        return token

    @staticmethod
    def _check_version(request: web.Request) -> None:
        version = request.headers.get("Version")
        if version is None:
            raise ApiFailure(401, "version header was not found.")
        if version != defaults.API_VERSION:
            raise ApiFailure(
                400,
                f"Version header {version!r} is not supported here: this endpoint speaks "
                f"{defaults.API_VERSION}",
            )

    async def _contacts(
        self, request: web.Request, exchange: _Exchange, operation: _Operation
    ) -> web.Response:
        headers = {"traceId": exchange.trace_id}
        route = operation.route
        try:
            self._check_version(request)
            token = self._authenticate(request)
            grant = token.grant
            if route.scope not in grant.scopes or grant.location_id is None:
                raise ApiFailure(401, _SCOPE_DENIED)
            location_id = grant.location_id
            exchange.location_id = location_id
            verdict = self.limiter.check(location_id)
            headers.update(verdict.headers)
            if not verdict.allowed:
                extra = {}
                if self.retry_after_header and verdict.retry_after is not None:
                    extra["Retry-After"] = str(max(1, math.ceil(verdict.retry_after)))
                raise ApiFailure(429, "Too Many Requests", headers=extra)
            body = await self._decode_body(request, operation.decoder)
            query = self._decode_query(request, route)
            if route.location is not None:
                given = getattr(body if route.location == "body" else query, "location_id", None)
                if given != location_id:
                    raise ApiFailure(403, NO_ACCESS)
            call = Call(
                store=self.store,
                location_id=location_id,
                params=request.match_info,
                body=body,
                query=query,
                trace_id=exchange.trace_id,
                origin=f"{request.scheme}://{request.host}",
            )
            reply: Reply = operation.handler(call)
        except ApiFailure as failure:
            return _failure(failure, headers)
        exchange.applied = reply.applied
        headers.update(reply.headers)
        return _json(reply.payload, reply.status or route.status, headers)

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
            return decoder.decode(raw)
        except msgspec.ValidationError as err:
            raise ApiFailure(422, validation_messages(err)) from None
        except msgspec.DecodeError as err:
            raise ApiFailure(400, f"Unexpected token in JSON body: {err}") from None

    @staticmethod
    def _decode_query(request: web.Request, route: Route[object]) -> msgspec.Struct | None:
        if route.query is None:
            return None
        try:
            return msgspec.convert(dict(request.query), route.query, strict=False)
        except msgspec.ValidationError as err:
            raise ApiFailure(422, validation_messages(err, root="query")) from None

    # --- OAuth ------------------------------------------------------------------------------

    def _approved_locations(self, company_id: str) -> list[str]:
        return [loc.id for loc in self.store.locations.values() if loc.company_id == company_id]

    def _token_body(
        self,
        access: AccessToken,
        refresh: RefreshToken,
        extra: Mapping[str, object] | None = None,
    ) -> dict[str, object]:
        return token_response(
            access,
            refresh,
            lifetime=self.token_lifetime,
            camel_case=self.camel_case_tokens,
            approved_locations=self._approved_locations(access.grant.company_id),
            extra=extra,
        )

    async def _oauth_token(self, request: web.Request, exchange: _Exchange) -> web.Response:
        headers = {"traceId": exchange.trace_id}
        try:
            if request.content_type != _FORM:
                raise OAuthError(
                    400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded"
                )
            posted = await request.post()
            form = {key: value for key, value in posted.items() if isinstance(value, str)}
            access, refresh = self.tokens.exchange(
                form,
                client_id=self.client_id,
                client_secret=self.client_secret,
                now=time.time(),
            )
        except OAuthError as err:
            return _json(err.body(), err.status, headers)
        exchange.applied = True
        exchange.location_id = access.grant.location_id
        return _json(self._token_body(access, refresh), 200, headers)

    async def _location_token(self, request: web.Request, exchange: _Exchange) -> web.Response:
        headers = {"traceId": exchange.trace_id}
        try:
            self._check_version(request)
            token = self._authenticate(request)
            grant = token.grant
            if grant.user_type != "Company" or "oauth.write" not in grant.scopes:
                raise ApiFailure(401, _SCOPE_DENIED)
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
            location = self.store.locations.get(form["locationId"])
            if location is None or location.company_id != grant.company_id:
                raise ApiFailure(403, NO_ACCESS)
        except ApiFailure as failure:
            return _failure(failure, headers)
        scopes = tuple(s for s in grant.scopes if not s.startswith("oauth."))
        location_grant = Grant("Location", grant.company_id, location.id, scopes, grant.user_id)
        access, refresh = self.tokens.mint_pair(location_grant, time.time())
        exchange.applied = True
        exchange.location_id = location.id
        body = self._token_body(access, refresh, {"appId": self.app_id, "versionId": self.app_id})
        return _json(body, 200, headers)

    def _redirect_allowed(self, uri: str) -> bool:
        if uri == self.redirect_uri:
            return True
        parts = urlsplit(uri)
        return parts.scheme == "http" and parts.hostname in _LOOPBACK

    async def _chooser(self, request: web.Request, exchange: _Exchange) -> web.Response:
        headers = {"traceId": exchange.trace_id}
        query = request.query
        try:
            if query.get("response_type") != "code":
                raise ApiFailure(400, "response_type must be 'code'")
            if query.get("client_id") != self.client_id:
                raise ApiFailure(400, "Unknown client_id")
            redirect_uri = query.get("redirect_uri") or self.redirect_uri
            if not self._redirect_allowed(redirect_uri):
                raise ApiFailure(400, "redirect_uri is not registered for this app")
            requested = query.get("user_type", "Location")
            if requested not in ("Location", "Company"):
                raise ApiFailure(400, "user_type must be Location or Company")
            user_type: UserType = "Company" if requested == "Company" else "Location"
            location_id = query.get("location_id") or self.location_id
            if location_id not in self.store.locations:
                raise ApiFailure(400, f"Unknown location {location_id}")
        except ApiFailure as failure:
            return _failure(failure, headers)
        scopes = tuple(query.get("scope", "").split()) or None
        code = self._mint_code(scopes, user_type, location_id, redirect_uri)
        params = {"code": code}
        if "state" in query:
            params["state"] = query["state"]
        separator = "&" if "?" in redirect_uri else "?"
        headers["Location"] = f"{redirect_uri}{separator}{urlencode(params)}"
        exchange.applied = True
        exchange.location_id = location_id if user_type == "Location" else None
        return web.Response(status=302, headers=headers)

    async def _not_found(self, request: web.Request, exchange: _Exchange) -> web.Response:
        failure = ApiFailure(404, f"Cannot {request.method} {request.path}")
        return _failure(failure, {"traceId": exchange.trace_id})

    def _grant(
        self, scopes: Sequence[str] | None, user_type: UserType, location_id: str | None
    ) -> Grant:
        if user_type == "Company":
            return Grant(
                "Company", self.company_id, None, tuple(scopes or COMPANY_SCOPES), self.user_id
            )
        location = location_id or self.location_id
        if location not in self.store.locations:
            raise ConfigError(f"unknown location {location!r}: add it with add_location()")
        return Grant(
            "Location", self.company_id, location, tuple(scopes or LOCATION_SCOPES), self.user_id
        )

    def _mint_code(
        self,
        scopes: Sequence[str] | None,
        user_type: UserType,
        location_id: str | None,
        redirect_uri: str | None,
    ) -> str:
        grant = self._grant(scopes, user_type, location_id)
        return self.tokens.mint_code(grant, redirect_uri, time.time())

    # --- knobs: OAuth -----------------------------------------------------------------------

    def issue_code(
        self,
        scopes: Sequence[str] | None = None,
        user_type: UserType = "Location",
        *,
        location_id: str | None = None,
        redirect_uri: str | None = None,
    ) -> str:
        """A fresh authorization code, as if a user had consented on the chooser page.

        Defaults: both contacts scopes for a Location, plus ``oauth.readonly``/``oauth.write``
        for a Company; the default location.
        """
        return self._sync(lambda: self._mint_code(scopes, user_type, location_id, redirect_uri))

    def issue_token(
        self,
        scopes: Sequence[str] | None = None,
        user_type: UserType = "Location",
        *,
        location_id: str | None = None,
        lifetime: float | None = None,
    ) -> IssuedToken:
        """Mint an access/refresh pair directly, skipping the code exchange."""

        def mint() -> IssuedToken:
            grant = self._grant(scopes, user_type, location_id)
            seconds = self.token_lifetime if lifetime is None else lifetime
            access, refresh = self.tokens.mint_pair(grant, time.time(), seconds)
            return IssuedToken(
                access_token=access.value,
                refresh_token=refresh.value,
                expires_in=seconds,
                scope=grant.scope,
                user_type=grant.user_type,
                location_id=grant.location_id,
                company_id=grant.company_id,
            )

        return self._sync(mint)

    def expire_tokens(self) -> int:
        """Expire every OAuth access token now (refresh tokens keep working); returns how many.

        The private-integration token does not expire.
        """
        return self._sync(lambda: self.tokens.expire_all(time.time()))

    def revoke_tokens(self, *, private: bool = True) -> None:
        """Kill every access and refresh token (a refresh then gets ``invalid_grant``).

        ``private=False`` spares the private-integration token.
        """
        self._sync(lambda: self.tokens.revoke_all(private=private))

    # --- knobs: faults ----------------------------------------------------------------------

    @staticmethod
    def _operation(name: str) -> str:
        if name == "*":
            return name
        for route in ALL_ROUTES:
            if name in (route.name, route.operation_id):
                return route.name
        found = _OAUTH_OPERATIONS.get(name)
        if found is None:
            raise ConfigError(f"unknown operation {name!r}: use a route name or operationId")
        return found

    def _arm(self, kind: FaultKind, operation: str, times: int | None, **fields: object) -> Fault:
        if times is not None and times < 1:
            raise ConfigError("times must be at least 1 (or None for 'until cleared')")
        fault = Fault(kind=kind, operation=self._operation(operation), remaining=times)
        for name, value in fields.items():
            setattr(fault, name, value)
        return self.faults.arm(fault)

    def fail(
        self,
        operation: str,
        status: int = 503,
        *,
        times: int | None = 1,
        retry_after: float | None = None,
        html: bool = False,
    ) -> Fault:
        """Answer the next ``times`` requests of ``operation`` with ``status``.

        ``html=True`` sends a proxy-style HTML error page (``text/html``); ``retry_after``
        adds a ``Retry-After`` header. ``times=None`` fails until :meth:`clear_faults`.
        """
        if not 400 <= status <= 599:
            raise ConfigError("status must be an HTTP error status (400-599)")
        return self._arm(
            "fail", operation, times, status=status, retry_after=retry_after, html=html
        )

    def drop(self, operation: str, *, when: DropWhen = "before", times: int | None = 1) -> Fault:
        """Close the connection without answering the next ``times`` requests of ``operation``.

        ``when="after"`` applies the request first (the write happens, the answer is lost).
        """
        if when not in ("before", "after"):
            raise ConfigError("when must be 'before' or 'after'")
        return self._arm("drop", operation, times, when=when)

    def delay(self, operation: str, seconds: float, *, times: int | None = 1) -> Fault:
        """Wait ``seconds`` before handling the next ``times`` requests of ``operation``."""
        if seconds < 0:
            raise ConfigError("seconds must not be negative")
        return self._arm("delay", operation, times, seconds=seconds)

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.faults.clear()

    # --- knobs: rate limits and locations ---------------------------------------------------

    def set_rate_limit(self, rate_limit: RateRule | str | None) -> None:
        """Change the burst rule (``None`` disables it); counters restart."""
        rule = parse_rate_rule(rate_limit)

        def apply() -> None:
            self.limiter.rule = rule
            self.limiter.reset()

        self._sync(apply)

    def set_daily_limit(self, daily_limit: int | None) -> None:
        """Change the daily quota (``None`` disables it)."""
        if daily_limit is not None and daily_limit <= 0:
            raise ConfigError("daily_limit must be positive or None")

        def apply() -> None:
            self.limiter.daily_limit = daily_limit

        self._sync(apply)

    def exhaust_rate_limit(self, location_id: str | None = None, *, daily: bool = False) -> None:
        """Spend the burst window (or, with ``daily=True``, the daily quota) of a location."""
        target = location_id or self.location_id
        self._sync(lambda: self.limiter.exhaust(target, daily=daily))

    def reset_rate_limits(self) -> None:
        """Forget every rate-limit counter."""
        self._sync(self.limiter.reset)

    def add_location(
        self,
        location_id: str | None = None,
        *,
        allow_duplicates: bool = False,
        name: str | None = None,
    ) -> str:
        """Add a sub-account to the company and return its id."""

        def add() -> str:
            new_id = location_id or self.store.new_id()
            self.store.add_location(
                new_id, self.company_id, allow_duplicates=allow_duplicates, name=name
            )
            return new_id

        return self._sync(add)

    def set_allow_duplicates(self, allow: bool, location_id: str | None = None) -> None:
        """Change a location's "Allow Duplicate Contact" setting."""

        def apply() -> None:
            self._location(location_id).allow_duplicates = allow

        self._sync(apply)

    def _location(self, location_id: str | None) -> LocationRecord:
        found = self.store.locations.get(location_id or self.location_id)
        if found is None:
            raise ConfigError(f"unknown location {location_id!r}")
        return found

    # --- seed data and assertions -----------------------------------------------------------

    def seed_contacts(
        self,
        n: int,
        business_id: str | None = "biz_1",
        seed: int = 0,
        tasks: int = 2,
        notes: int = 1,
        appointments: int = 1,
        tags: Sequence[str] | None = None,
        custom_fields: bool = True,
        *,
        location_id: str | None = None,
    ) -> list[str]:
        """Create ``n`` realistic contacts (with tasks, notes, appointments); return their ids.

        Deterministic for a given ``seed`` and call order. ``tags=None`` draws a few from a
        small vocabulary; pass a list to give every contact exactly those tags.
        """
        if n < 0 or min(tasks, notes, appointments) < 0:
            raise ConfigError("counts must not be negative")

        def run() -> list[str]:
            # Records hold no reference cycles, so pausing the cyclic GC is safe; without it,
            # collections triggered by the allocations dominate seeding large sets.
            was_enabled = gc.isenabled()
            gc.disable()
            try:
                return seed_contacts(
                    self.store,
                    self._location(location_id),
                    n,
                    business_id=business_id,
                    seed=seed,
                    tasks=tasks,
                    notes=notes,
                    appointments=appointments,
                    tags=tags,
                    custom_fields=custom_fields,
                )
            finally:
                if was_enabled:
                    gc.enable()

        return self._sync(run)

    @property
    def contacts(self) -> ContactsView:
        """Every contact, as :class:`ghl_async.models.Contact`, by id."""
        return ContactsView(self)

    def get_contact(self, contact_id: str) -> m.Contact | None:
        """A contact as ``GET /contacts/{id}`` would return it, or None."""

        def read() -> m.Contact | None:
            record = self.store.contacts.get(contact_id)
            return None if record is None else _model(record)

        return self._sync(read)

    def find_contacts(
        self,
        *,
        email: str | None = None,
        phone: str | None = None,
        tag: str | None = None,
        business_id: str | None = None,
        location_id: str | None = None,
    ) -> list[m.Contact]:
        """Contacts matching every given criterion (e-mail case-insensitive), oldest first."""

        def read() -> list[m.Contact]:
            found = []
            for record in self.store.contacts.values():
                if location_id is not None and record.location_id != location_id:
                    continue
                if email is not None and (record.email or "").lower() != email.lower():
                    continue
                if phone is not None and record.phone != phone:
                    continue
                if tag is not None and tag not in record.tags:
                    continue
                if business_id is not None and record.business_id != business_id:
                    continue
                found.append(record)
            found.sort(key=lambda record: record.key)
            return [_model(record) for record in found]

        return self._sync(read)

    def tasks_of(self, contact_id: str) -> list[m.Task]:
        """The tasks of a contact (empty when unknown)."""
        return self._sync(
            lambda: [
                msgspec.convert(shapes.task_wire(task), m.Task)
                for task in self._record(contact_id).tasks.values()
            ]
        )

    def notes_of(self, contact_id: str) -> list[m.Note]:
        """The notes of a contact."""
        return self._sync(
            lambda: [
                msgspec.convert(shapes.note_wire(note), m.Note)
                for note in self._record(contact_id).notes.values()
            ]
        )

    def appointments_of(self, contact_id: str) -> list[m.Appointment]:
        """The appointments of a contact."""
        return self._sync(
            lambda: [
                msgspec.convert(shapes.appointment_wire(item), m.Appointment)
                for item in self._record(contact_id).appointments
            ]
        )

    def campaigns_of(self, contact_id: str) -> list[str]:
        """Campaign ids the contact is in."""
        return self._sync(lambda: list(self._record(contact_id).campaigns))

    def workflows_of(self, contact_id: str) -> list[str]:
        """Workflow ids the contact is in."""
        return self._sync(lambda: list(self._record(contact_id).workflows))

    def _record(self, contact_id: str) -> ContactRecord:
        record = self.store.contacts.get(contact_id)
        if record is None:
            raise KeyError(contact_id)
        return record

    # --- the request log --------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request received so far (a copy)."""
        return self._log.snapshot()

    def count(
        self,
        method: str | None = None,
        path: str | None = None,
        operation: str | None = None,
        *,
        status: int | None = None,
    ) -> int:
        """How many requests matched ``method``, ``path``, ``operation`` and ``status``."""
        wanted = self._operation(operation) if operation is not None else None
        return self._log.count(method, path, wanted, status)

    def reset_log(self) -> None:
        """Forget the logged requests."""
        self._sync(self._log.reset)

    # --- webhooks ---------------------------------------------------------------------------

    def drain_webhooks(self, timeout: float = 10.0) -> None:
        """Wait (from any thread but the server's) until emitted webhooks were delivered."""
        emitter, loop = self.webhooks, self._loop
        if emitter is None or loop is None:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("on the server's own loop, use `await fake.webhooks.drain()`")
        future = asyncio.run_coroutine_threadsafe(emitter.drain(), loop)
        future.result(timeout)


def _model(record: ContactRecord) -> m.Contact:
    return msgspec.convert(shapes.contact_full(record), m.Contact)

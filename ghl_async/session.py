"""The one request pipeline, over one aiohttp session.

Every call takes the same path: validate the arguments (before any I/O) → then, per attempt,
the **daily quota** check (fail at once once it is spent) → **rate-budget** acquire (per
location; :class:`~ghl_async.ratelimit.RateBudget`) → **bearer token** → send → read the whole
body within ``max_response_size`` and release the connection → give the budget the
``X-RateLimit-*`` headers → on 2xx decode with the route's cached decoder; otherwise map the
status to an exception, or do what :func:`ghl_async.retry.decide` says: retry, reconcile a
create by natural key (:mod:`ghl_async.reconcile`), or raise. A 401 makes the auth invalidate
the token it gave and, if it can get another, the call is retried with it (once for free; a
new token refused too is renewed again at the cost of a retry). A 2xx body the model refuses
only for a stray ``null`` is read with that value absent (:mod:`ghl_async.nulls`).

Two classes: :class:`Transport` is what ``Client.with_options`` siblings share (the aiohttp
session, auth, rate-limit buckets, per-route plans); it is also the auth's
:class:`~ghl_async.auth.TokenTransport`. :class:`Session` adds one sibling's options (timeout,
retry policy, default location) and runs the calls.

Hot path: everything that depends only on the route (URL pieces, decoder, body validator,
write policy, API version) is computed once per route in a :class:`_Plan`; the header dict
is cached per token and API version (the ``Version`` header is the route's, so a v2 and a v3
call on one client each send their own without a per-request merge); nothing is formatted for
logging unless a retry or a wait happens (INFO) or DEBUG is on.

Paging is generic: :meth:`Session.paginate` walks any route whose response model is a
:class:`~ghl_async.pagination.Page` with any :class:`~ghl_async.pagination.PageState`, and
yields the items.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from operator import attrgetter
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast
from urllib.parse import quote

import aiohttp
import msgspec

# aiohttp's own header type (every aiohttp depends on multidict; not a dependency of ours).
from multidict import CIMultiDict, CIMultiDictProxy

from ghl_async import defaults
from ghl_async.bodies import ACCEPT_ENCODING, read_body
from ghl_async.errors import (
    AmbiguousWriteError,
    APIError,
    ConfigError,
    DailyQuotaExceeded,
    DecodeError,
    GHLError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeout,
    TransportError,
    error_class_for,
)
from ghl_async.hooks import (
    REDACTED,
    WAIT_EVENT_MIN,
    Hooks,
    ReconcileEvent,
    RequestEvent,
    ResponseEvent,
    RetryEvent,
    WaitEvent,
    emit,
)
from ghl_async.models import Ack, Body, Query
from ghl_async.nulls import tolerant
from ghl_async.options import (
    CallOptions,
    JSONValue,
    QueryValue,
    check_headers,
    encode_extra_body,
    encode_extra_query,
    merge_body,
    query_value,
    timeout_of,
)
from ghl_async.ratelimit import (
    Bucket,
    RateBucket,
    RateBudget,
    RateLimit,
    RateLimiter,
    RateLimitInfo,
    Unlimited,
    header_count,
)
from ghl_async.reconcile import Claimed, clock_offset, created_id, reconcile
from ghl_async.responses import PageResponse, RawResponse
from ghl_async.retry import Outcome, RetryPolicy, decide, outcome_of, parse_retry_after
from ghl_async.routes import IfBodyFlag, Route, WritePolicy

if TYPE_CHECKING:
    from ghl_async.auth import AiohttpTokenTransport, Auth
    from ghl_async.pagination import Page, PageState

__all__ = ["Session", "Transport", "check_id"]

log = logging.getLogger("ghl_async")

R = TypeVar("R")
T = TypeVar("T")
P = TypeVar("P", bound="Page[object]")

# Path traversal and URL-structure characters, whitespace and control characters. `%` too:
# an id holding "%2F" would reach the server as a slash once percent-decoded.
_BAD_ID = re.compile(r"[/?#%\\\s\x00-\x1f\x7f-\x9f]|\.\.")
# HighLevel ids (20-24 alphanumerics, UUIDs): valid and in no need of percent-encoding.
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+").fullmatch
_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_ENCODE = msgspec.json.Encoder().encode
# What a retried delete returns when its earlier attempt had already deleted the object.
_DELETED = Ack(succeded=True)
# Errors aiohttp raises when no (complete) response arrived.
_NO_RESPONSE = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
_NO_HEADERS: Mapping[str, str] = MappingProxyType({})
_Headers = CIMultiDictProxy[str]


def check_id(name: str, value: object) -> str:
    """Return ``value`` if it can safely be an id in a URL, else raise ``ConfigError``."""
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a str, not {type(value).__name__}")
    if not value:
        raise ConfigError(f"{name} must not be empty")
    if _BAD_ID.search(value):
        shown = value if len(value) <= 60 else value[:57] + "..."
        raise ConfigError(
            f"{name} {shown!r} is not a valid id (no '/', '?', '#', '%', '\\', '..', "
            "whitespace or control characters)"
        )
    return value


_query_value = query_value


def _wire_names(struct: type[msgspec.Struct] | None) -> frozenset[str]:
    """The JSON/query names of a Struct's fields (what ``extra_*`` may not repeat)."""
    if struct is None:
        return frozenset()
    return frozenset(info.encode_name for info in msgspec.structs.fields(struct))


class _WalkOptions:
    """The per-call options of a walk, applied to each of its pages."""

    __slots__ = ("body", "headers", "query", "timeout")

    def __init__(
        self,
        headers: Mapping[str, str] | None,
        query: Mapping[str, QueryValue] | None,
        body: Mapping[str, JSONValue] | None,
        timeout: float | aiohttp.ClientTimeout | None,
    ) -> None:
        self.headers = headers
        self.query = query
        self.body = body
        self.timeout = timeout


_NO_WALK_OPTIONS = _WalkOptions(None, None, None, None)


def _check_advance(route: Route[object], items: Sequence[object], previous: object) -> object:
    """The first item of this page, after checking the page is not the previous one again."""
    if not items:
        return previous
    # A server that ignores the paging parameters answers the same page again; without a
    # total the walk would never end. Items are frozen Structs: equal first items mean the
    # same page.
    first = items[0]
    if first == previous:
        key = getattr(first, "id", None) or type(first).__name__
        raise PaginationError(route.name, f"the page starting at {key!r} repeated")
    return first


class _Plan(Generic[R]):
    """Everything about one route that does not change between calls."""

    __slots__ = (
        "body_check",
        "body_names",
        "company",
        "decode",
        "enveloped",
        "flag",
        "gone",
        "head",
        "headers",
        "method",
        "operation",
        "params",
        "query_names",
        "query_type",
        "route",
        "scope",
        "strict",
        "tails",
        "token",
        "version",
        "whole",
        "write",
    )

    def __init__(self, route: Route[R], base_url: str) -> None:
        self.route = route
        self.operation = route.name
        self.method = route.method
        self.scope = route.scope
        # The write policy, or the body flag that picks it per call (upsert).
        self.write: WritePolicy = route.write if isinstance(route.write, str) else "idempotent"
        self.flag = route.write if isinstance(route.write, IfBodyFlag) else None
        self.version = route.version
        self.company = route.token == "company"  # the agency's token: no location
        # A delete of the object itself: after an attempt that may have applied it, "not found"
        # means done.
        self.gone = route.method == "DELETE" and route.response is Ack
        self.params = route.path_params
        pieces = _PLACEHOLDER.split(route.path)
        self.head = base_url + pieces[0]
        self.tails = tuple(pieces[1:])
        # Reconciliation's lookups decode strictly: an answer that needed repair cannot prove
        # that a create is absent (a null where a note was is not "no note").
        # The hot path: msgspec itself, then the envelope's one attribute (no wrapper frames);
        # `decode` runs only when this refuses the body.
        self.whole, envelope = _body_decoder(route)
        self.enveloped = envelope is not None
        self.strict, self.decode = _wrap_decoder(route, self.whole, envelope)
        self.body_check = None if route.body is None else msgspec.json.Decoder(route.body)
        self.query_type = route.query
        self.query_names = _wire_names(route.query)
        # The request headers of the last token used (Transport.headers caches them all).
        self.token: str | None = None
        self.headers: Mapping[str, str] = _NO_HEADERS
        self.body_names = _wire_names(route.body)

    def url(self, args: Sequence[str]) -> str:
        """The URL of the call: ids validated and percent-encoded into the path."""
        params = self.params
        if not params and not args:
            return self.head
        if len(args) == 1 == len(params):
            # Most routes take one id: no loop, no zip.
            arg = args[0]
            if type(arg) is str and _PLAIN_ID(arg):
                return self.head + arg + self.tails[0]
        if len(args) != len(params):
            raise ConfigError(
                f"{self.operation} takes {len(params)} path argument(s) "
                f"({', '.join(params) or 'none'}), got {len(args)}"
            )
        url = self.head
        for name, arg, tail in zip(params, args, self.tails, strict=True):
            if type(arg) is str and _PLAIN_ID(arg):
                url += arg + tail
            else:
                url += quote(check_id(name, arg), safe="") + tail
        return url


def _no_silent_resend(http: aiohttp.ClientSession) -> None:
    """Stop aiohttp resending a GET/PUT/DELETE by itself when its connection drops.

    Recent aiohttp versions (a private attribute in 3.14) send such a request once more,
    silently, after a reset or a server disconnect. That second request skips the rate budget
    (HighLevel counts it; a shared budget never hears of it), our retry count, backoff and
    log, and it goes by HTTP method, not by our route's write policy. Our pipeline retries the
    same failures itself, per route. Only the client's own session is changed: a session you
    pass in keeps its behaviour. An aiohttp without the attribute has nothing to turn off.
    """
    if hasattr(http, "_retry_connection"):
        http._retry_connection = False


def _decoder(route: Route[R]) -> Callable[[bytes], R]:
    """The decoder calls of ``route`` use (the benchmarks time it)."""
    return _decoders(route)[1]


def _decoders(route: Route[R]) -> tuple[Callable[[bytes], R], Callable[[bytes], R]]:
    """The route's strict decoder, and the tolerant one calls use (it reads a stray null the
    model has no room for as absent: :mod:`ghl_async.nulls`)."""
    return _wrap_decoder(route, *_body_decoder(route))


def _wrap_decoder(
    route: Route[R], whole: Callable[[bytes], Any], envelope: type | None
) -> tuple[Callable[[bytes], R], Callable[[bytes], R]]:
    """:func:`_decoders` from the body decoder :func:`_body_decoder` made."""
    if envelope is None:
        return whole, tolerant(whole, route.response, route.name)
    lenient = tolerant(whole, envelope, route.name)
    payload = cast("Callable[[object], R]", attrgetter("payload"))
    return (lambda data: payload(whole(data))), (lambda data: payload(lenient(data)))


def _body_decoder(route: Route[R]) -> tuple[Callable[[bytes], Any], type | None]:
    """msgspec's decoder of the whole 2xx body, and the envelope type (``None``: the body is
    the model itself; otherwise the payload is the envelope's ``payload``)."""
    if route.envelope is None:
        return msgspec.json.Decoder(route.response).decode, None
    # One Struct per route with the payload as its only field: msgspec skips every other key
    # of the envelope without building it.
    envelope = msgspec.defstruct(
        "".join(part.title() for part in re.split(r"[._]", route.name)) + "Envelope",
        [("payload", route.response)],
        rename={"payload": route.envelope},
    )
    return msgspec.json.Decoder(envelope).decode, envelope


@dataclass(slots=True)
class _Spent:
    """A location whose daily quota is spent: calls fail at once until ``until`` (monotonic)."""

    until: float
    reset_at: datetime | None


class _Clock:
    """What a reconciliation lookup needs from its answer: the ``Date`` header, when it came."""

    __slots__ = ("date", "received")

    def __init__(self) -> None:
        self.date: str | None = None
        self.received = 0.0


class Transport:
    """The state ``with_options`` siblings share; also the auth's ``TokenTransport``."""

    def __init__(
        self,
        *,
        auth: Auth,
        base_url: str,
        version: str,
        user_agent: str,
        rate_limit: RateLimit | Unlimited | RateBudget | None,
        timeout: aiohttp.ClientTimeout,
        http: aiohttp.ClientSession | None,
        connector_limit: int,
        connector_limit_per_host: int,
        max_response_size: int = defaults.MAX_RESPONSE_SIZE,
    ) -> None:
        self.auth = auth
        # An auth's optional synchronous fast path (StaticToken, OAuthApp): a token at hand
        # costs no coroutine. A custom Auth without it is awaited on every request.
        self.cached_token: Callable[[str | None], str | None] | None = getattr(
            auth, "cached_token", None
        )
        self.base_url = base_url
        self.version = version
        self.user_agent = user_agent
        self.budget: RateBudget | None
        if isinstance(rate_limit, RateLimit):
            self.budget = RateLimiter(rate_limit)
        elif rate_limit is None or isinstance(rate_limit, Unlimited):
            self.budget = None
        else:
            self.budget = rate_limit
        # `rate_limit=None` turns everything off; otherwise the server's counters are kept
        # (Client.rate_limits) and a spent daily quota fails calls before they are sent.
        self.bookkeeping = rate_limit is not None
        # The in-memory bucket's synchronous fast path: a free slot costs no coroutine.
        self.try_acquire: Callable[[RateBucket], bool] | None = (
            cast("Callable[[RateBucket], bool]", Bucket.try_acquire)
            if isinstance(self.budget, RateLimiter)
            else None
        )
        # The last response headers per rate key, parsed only when someone asks: most calls
        # never look at them.
        self.rate_headers: dict[str, Mapping[str, str]] = {}
        self._parsed: dict[str, tuple[Mapping[str, str], RateLimitInfo | None]] = {}
        self.spent: dict[str, _Spent] = {}
        self.claimed = Claimed()
        self.max_response_size = max_response_size
        self.inflate = False
        self.timeout = timeout
        self._given = http
        self._http: aiohttp.ClientSession | None = None
        self._connector_limits = (connector_limit, connector_limit_per_host)
        self._plans: dict[int, _Plan[Any]] = {}
        self._forms: AiohttpTokenTransport | None = None
        self._plain = {"Accept": "application/json", "User-Agent": user_agent}
        self._static = self._plain  # the fixed headers each request must carry itself
        # token -> API version -> (headers without a body, headers with a JSON body); frozen
        # multidicts, which aiohttp takes as they are (a plain dict is copied into one).
        self._headers: dict[str, dict[str, tuple[_Headers, _Headers]]] = {}
        self.state = "new"

    def mark_spent(self, key: str, retry_after: float | None) -> _Spent:
        """Remember that ``key``'s daily quota is spent (until ``retry_after`` s, if known)."""
        now = time.monotonic()
        if retry_after is not None and retry_after <= 2 * 86_400:
            entry = _Spent(
                now + retry_after, datetime.now(timezone.utc) + timedelta(seconds=retry_after)
            )
        else:
            entry = _Spent(now + defaults.DAILY_QUOTA_PROBE, None)
        if self.bookkeeping:
            self.spent[key] = entry
        return entry

    @property
    def rate_limits(self) -> dict[str, RateLimitInfo]:
        """The last ``X-RateLimit-*`` headers seen per rate key, parsed."""
        infos = {}
        parsed = self._parsed
        for key, headers in self.rate_headers.items():
            # Parsed once per answer: a sync reading this before every record over many
            # locations would otherwise re-parse every location's headers each time.
            cached = parsed.get(key)
            if cached is None or cached[0] is not headers:
                cached = parsed[key] = (headers, RateLimitInfo.from_headers(headers))
            if cached[1] is not None:
                infos[key] = cached[1]
        return infos

    # --- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Create the aiohttp session (unless the caller gave one) and bind the auth."""
        if self._given is not None:
            self._http = self._given
            # A caller's session keeps its own decompression; we inflate only if it does not.
            self.inflate = not getattr(self._given, "auto_decompress", True)
            if self.inflate:
                self._static = {**self._plain, "Accept-Encoding": ACCEPT_ENCODING}
        else:
            limit, per_host = self._connector_limits
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=limit, limit_per_host=per_host),
                # Our own session carries the fixed headers, so each request adds only its
                # Authorization (aiohttp merges the two per request).
                headers={**self._plain, "Accept-Encoding": ACCEPT_ENCODING},
                # HighLevel's API is stateless; a jar would only carry cookies between calls.
                cookie_jar=aiohttp.DummyCookieJar(),
                # read_body inflates within max_response_size, on every aiohttp version.
                auto_decompress=False,
            )
            _no_silent_resend(self._http)
            self.inflate = True
            self._static = {}
        self.state = "open"
        self.auth.bind(self)

    async def close(self) -> None:
        """Close the aiohttp session if we created it; a caller's session stays open."""
        http, self._http = self._http, None
        self._forms = None
        self.state = "closed"
        self._headers.clear()
        self._plans.clear()  # their last tokens too
        if http is not None and self._given is None:
            await http.close()

    @property
    def http(self) -> aiohttp.ClientSession:
        """The open aiohttp session."""
        http = self._http
        if http is None:
            if self.state == "closed":
                raise RuntimeError("this ghl_async.Client is closed")
            raise RuntimeError(
                "this ghl_async.Client is not open: use `async with Client(...) as ghl:`"
            )
        return http

    # --- per route / per token caches -------------------------------------------------------

    def plan(self, route: Route[R]) -> _Plan[R]:
        """The cached plan of ``route``."""
        found: _Plan[Any] | None = self._plans.get(id(route))  # Any: no cast() call per request
        if found is None or found.route is not route:
            found = self._plans[id(route)] = _Plan(route, self.base_url)
        return found

    def headers(self, token: str, json_body: bool, version: str) -> _Headers:
        """The request headers for ``token`` and API ``version``; built once per pair."""
        by_version = self._headers.get(token)
        if by_version is None:
            if len(self._headers) >= 64:  # tokens rotate daily; never grow without bound
                self._headers.clear()
            by_version = self._headers[token] = {}
        pair = by_version.get(version)
        if pair is None:
            plain = CIMultiDict(
                {"Authorization": "Bearer " + token, "Version": version, **self._static}
            )
            with_body = CIMultiDict(plain)
            with_body["Content-Type"] = "application/json"
            pair = by_version[version] = (CIMultiDictProxy(plain), CIMultiDictProxy(with_body))
        return pair[1] if json_body else pair[0]

    # --- TokenTransport ---------------------------------------------------------------------

    async def post_form(
        self,
        path: str,
        form: Mapping[str, str],
        *,
        bearer: str | None = None,
        version: bool | str = False,
        as_json: bool = False,
    ) -> tuple[int, bytes]:
        """POST ``form`` (url-encoded or JSON) to ``base_url + path``: no limiter, auth, retries."""
        forms = self._forms
        if forms is None:
            # One implementation of the token-endpoint POST (auth's), over our session.
            from ghl_async.auth import AiohttpTokenTransport

            forms = self._forms = AiohttpTokenTransport(
                self.http,
                base_url=self.base_url,
                timeout=self.timeout,
                version=self.version,
                user_agent=self.user_agent,
                max_response_size=self.max_response_size,
            )
        return await forms.post_form(path, form, bearer=bearer, version=version, as_json=as_json)

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, state={self.state!r})"


class _Answer:
    """What a raw call keeps of the answer its result came from."""

    __slots__ = ("attempts", "content", "defer", "error", "headers", "reconciled", "status")

    def __init__(self, *, defer: bool) -> None:
        # defer: a 2xx that does not match the model is kept for RawResponse.parse to raise.
        self.defer = defer
        self.status = 0
        self.headers: Mapping[str, str] = _NO_HEADERS
        self.content = b""
        self.attempts = 0
        self.reconciled = False
        self.error: DecodeError | None = None

    def keep(self, status: int, headers: Mapping[str, str], content: bytes) -> None:
        """Remember one answer."""
        self.status = status
        self.headers = headers
        self.content = content


class Session:
    """One sibling's view of the shared :class:`Transport`: options plus the pipeline."""

    __slots__ = (
        "hooks",
        "location_id",
        "reconcile",
        "retry",
        "settle",
        "sink",
        "timeout",
        "transport",
    )

    def __init__(
        self,
        transport: Transport,
        *,
        location_id: str | None,
        timeout: aiohttp.ClientTimeout,
        retry: RetryPolicy,
        reconcile: bool = defaults.RECONCILE_WRITES,
        settle: float = defaults.RECONCILE_SETTLE,
        hooks: Hooks | None = None,
    ) -> None:
        self.transport = transport
        self.location_id = location_id
        self.timeout = timeout
        self.retry = retry
        self.reconcile = reconcile
        self.settle = settle
        # None when no hook is set, so the pipeline checks one attribute per step.
        self.hooks = None if hooks is None or hooks.empty else hooks
        # Where lookups made while reconciling a raw call put their answer (see _for_lookups).
        self.sink: _Answer | None = None

    def location(self, location_id: str | None) -> str:
        """``location_id`` if given (validated), else the client's; one is required."""
        if location_id is None:
            if self.location_id is None:
                raise ConfigError(
                    "no location_id: pass location_id= to the call or to ghl_async.Client()"
                )
            return self.location_id
        return check_id("location_id", location_id)

    def _prepare(
        self,
        route: Route[R],
        path: Sequence[str],
        query: Query | None,
        body: Body | None,
        location_id: str | None,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, QueryValue] | None,
        extra_body: Mapping[str, JSONValue] | None,
        timeout: float | aiohttp.ClientTimeout | None,
    ) -> tuple[_Plan[R], str, bytes | None, str | None, CallOptions | None]:
        """Check and encode one call: plan, URL, body bytes, location, per-call options."""
        plan = self.transport.plan(route)
        url = plan.url(path)
        if query is not None:
            url += _encode_query(plan, query)
        data = None if body is None and plan.body_check is None else _encode_body(plan, body)
        # An agency route names no location: the auth gives its company token.
        location = None if plan.company else location_id or self.location_id
        if extra_headers is None and extra_query is None and extra_body is None and timeout is None:
            return plan, url, data, location, None
        if extra_query is not None:
            found = encode_extra_query(plan.operation, extra_query, plan.query_names)
            if found:
                url += ("&" if "?" in url else "?") + found
        if extra_body is not None:
            if data is None:
                raise ConfigError(
                    f"{plan.operation} sends no body, so it takes no extra_body"
                )
            data = merge_body(data, encode_extra_body(plan.operation, extra_body, plan.body_names))
        headers = None if extra_headers is None else check_headers(plan.operation, extra_headers)
        options = CallOptions(headers or None, timeout_of(timeout))
        return plan, url, data, location, options

    def call(
        self,
        route: Route[R],
        path: Sequence[str] = (),
        *,
        query: Query | None = None,
        body: Body | None = None,
        location_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, QueryValue] | None = None,
        extra_body: Mapping[str, JSONValue] | None = None,
        timeout: float | aiohttp.ClientTimeout | None = None,
    ) -> Awaitable[R]:
        """Send one operation; the awaitable returns its decoded payload.

        A plain function returning the pipeline's coroutine, not a coroutine itself: one frame
        fewer on every request. Bad arguments therefore raise here, before anything is awaited.

        ``path`` holds the path parameters in the order of ``route.path_params``.
        ``location_id`` picks the token and rate-limit bucket (default: the client's).
        ``extra_headers``, ``extra_query``, ``extra_body`` and ``timeout`` are the per-call
        options of :mod:`ghl_async.options`.

        Raises:
            ConfigError: bad arguments; nothing was sent.
            APIError: HighLevel answered with an error status (after any retries);
                ``RateLimitError`` also when the server asked for a wait above
                ``retry_after_cap``, ``DailyQuotaExceeded`` when the day's quota is spent.
            TransportError: no response (``AmbiguousWriteError`` when a write may have been
                applied and no lookup could tell).
            DecodeError: a 2xx body did not match the route's model.
            ResponseTooLargeError: a body above ``max_response_size``.
        """
        if extra_headers is None and extra_query is None and extra_body is None and timeout is None:
            # The hot path, written out: no per-call option to check or apply.
            plan = self.transport.plan(route)
            url = plan.url(path)
            if query is not None:
                url += _encode_query(plan, query)
            data = None if body is None and plan.body_check is None else _encode_body(plan, body)
            location = None if plan.company else location_id or self.location_id
            return self._send(plan, url, data, location, path, body, None)
        plan, url, data, location, options = self._prepare(
            route, path, query, body, location_id, extra_headers, extra_query, extra_body, timeout
        )
        return self._send(plan, url, data, location, path, body, None, options)

    def call_raw(
        self,
        route: Route[R],
        path: Sequence[str] = (),
        *,
        query: Query | None = None,
        body: Body | None = None,
        location_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, QueryValue] | None = None,
        extra_body: Mapping[str, JSONValue] | None = None,
        timeout: float | aiohttp.ClientTimeout | None = None,
    ) -> Awaitable[RawResponse[R]]:
        """Like :meth:`call`, returning the answer around the result (:class:`RawResponse`).

        Arguments are checked now. A 2xx body that does not match the model does not raise
        here: ``RawResponse.parse()`` does.
        """
        plan, url, data, location, options = self._prepare(
            route, path, query, body, location_id, extra_headers, extra_query, extra_body, timeout
        )
        return self._raw(plan, url, data, location, path, body, options, _Answer(defer=True))

    async def _raw(
        self,
        plan: _Plan[R],
        url: str,
        data: bytes | None,
        location: str | None,
        path: Sequence[str],
        body: Body | None,
        options: CallOptions | None,
        sink: _Answer,
    ) -> RawResponse[R]:
        began = time.monotonic()
        result = await self._send(plan, url, data, location, path, body, None, options, sink)
        error = sink.error
        if error is None:
            parse: Callable[[], R] = lambda: result  # noqa: E731  (the result is ready)
        else:

            def parse() -> R:
                raise error

        return RawResponse(
            operation=plan.operation,
            method=plan.method,
            url=url,
            status=sink.status,
            headers=sink.headers,
            content=sink.content,
            elapsed=time.monotonic() - began,
            attempts=sink.attempts,
            parse=parse,
            reconciled=sink.reconciled,
        )

    async def lookup(
        self,
        route: Route[R],
        path: Sequence[str] = (),
        *,
        query: Query | None = None,
        body: Body | None = None,
        location_id: str | None = None,
    ) -> tuple[R, float | None]:
        """One read for :mod:`ghl_async.reconcile`: the payload, and a lower bound of (server
        clock - our clock) in seconds from the answer's ``Date`` header (``None``: no header).
        """
        plan = self.transport.plan(route)
        url = plan.url(path)
        if query is not None:
            url += _encode_query(plan, query)
        data = None if body is None else _encode_body(plan, body)
        clock = _Clock()
        outer = self.sink
        sink = None if outer is None else _Answer(defer=False)
        result = await self._send(
            plan, url, data, location_id or self.location_id, path, body, clock, None, sink
        )
        if outer is not None and sink is not None:
            # A raw create's result may come from this answer: keep it for its RawResponse.
            outer.keep(sink.status, sink.headers, sink.content)
        return result, clock_offset(clock.date, clock.received)

    def _for_lookups(self, sink: _Answer) -> Session:
        """A copy of this session whose lookups record their answers in ``sink``."""
        twin = Session(
            self.transport,
            location_id=self.location_id,
            timeout=self.timeout,
            retry=self.retry,
            reconcile=self.reconcile,
            settle=self.settle,
            hooks=self.hooks,
        )
        twin.sink = sink
        return twin

    def paginate(
        self,
        route: Route[Page[T]],
        path: Sequence[str],
        state: PageState,
        *,
        query: Query | None = None,
        body: Body | None = None,
        location_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, QueryValue] | None = None,
        extra_body: Mapping[str, JSONValue] | None = None,
        timeout: float | aiohttp.ClientTimeout | None = None,
    ) -> AsyncGenerator[T, None]:
        """Yield every item of a paged route, one page request at a time.

        Arguments are checked now, not at the first iteration. Nothing is held open between
        pages, so leaving the loop early is safe. The per-call options apply to every page.
        """
        options = self._check_walk(
            route, path, state, query, body, extra_headers, extra_query, extra_body, timeout
        )
        return self._walk(route, tuple(path), state, query, body, location_id, options)

    def pages(
        self,
        route: Route[P],
        path: Sequence[str],
        state: PageState,
        *,
        query: Query | None = None,
        body: Body | None = None,
        location_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, QueryValue] | None = None,
        extra_body: Mapping[str, JSONValue] | None = None,
        timeout: float | aiohttp.ClientTimeout | None = None,
    ) -> AsyncGenerator[PageResponse[P], None]:
        """Yield every page of a paged route with its answer (:class:`PageResponse`).

        Checked now, like :meth:`paginate`; nothing is held open between pages.
        """
        options = self._check_walk(
            route, path, state, query, body, extra_headers, extra_query, extra_body, timeout
        )
        return self._walk_pages(route, tuple(path), state, query, body, location_id, options)

    def _check_walk(
        self,
        route: Route[P],
        path: Sequence[str],
        state: PageState,
        query: Query | None,
        body: Body | None,
        extra_headers: Mapping[str, str] | None,
        extra_query: Mapping[str, QueryValue] | None,
        extra_body: Mapping[str, JSONValue] | None,
        timeout: float | aiohttp.ClientTimeout | None,
    ) -> _WalkOptions | None:
        plan = self.transport.plan(route)
        plan.url(path)
        first_query, first_body = state.request(query, body)
        if first_query is not None:
            _encode_query(plan, first_query)
        if first_body is not None:
            _encode_body(plan, first_body)
        if extra_headers is None and extra_query is None and extra_body is None and timeout is None:
            return None
        # Checked once here; each page's call encodes them again (cheap next to a page).
        self._prepare(
            route, path, first_query, first_body, None,
            extra_headers, extra_query, extra_body, timeout,
        )  # fmt: skip
        return _WalkOptions(extra_headers, extra_query, extra_body, timeout)

    async def _walk(
        self,
        route: Route[Page[T]],
        path: tuple[str, ...],
        state: PageState,
        query: Query | None,
        body: Body | None,
        location_id: str | None,
        options: _WalkOptions | None,
    ) -> AsyncGenerator[T, None]:
        current: PageState | None = state
        previous: object = None
        while current is not None:
            page_query, page_body = current.request(query, body)
            if options is None:
                page = await self.call(
                    route, path, query=page_query, body=page_body, location_id=location_id
                )
            else:
                page = await self.call(
                    route, path, query=page_query, body=page_body, location_id=location_id,
                    extra_headers=options.headers, extra_query=options.query,
                    extra_body=options.body, timeout=options.timeout,
                )  # fmt: skip
            previous = _check_advance(route, page.items, previous)
            for item in page.items:
                yield item
            current = current.next(page)

    async def _walk_pages(
        self,
        route: Route[P],
        path: tuple[str, ...],
        state: PageState,
        query: Query | None,
        body: Body | None,
        location_id: str | None,
        options: _WalkOptions | None,
    ) -> AsyncGenerator[PageResponse[P], None]:
        current: PageState | None = state
        previous: object = None
        number = 0
        o = options or _NO_WALK_OPTIONS
        while current is not None:
            page_query, page_body = current.request(query, body)
            plan, url, data, location, call_options = self._prepare(
                route, path, page_query, page_body, location_id,
                o.headers, o.query, o.body, o.timeout,
            )  # fmt: skip
            raw = await self._raw(
                plan, url, data, location, path, page_body, call_options, _Answer(defer=False)
            )
            page = raw.data
            previous = _check_advance(route, page.items, previous)
            following = current.next(page)
            number += 1
            yield PageResponse(raw, state=current, next_state=following, number=number)
            current = following

    async def _before(
        self,
        hooks: Hooks,
        plan: _Plan[R],
        url: str,
        data: bytes | None,
        headers: Mapping[str, str],
        key: str,
        tries: int,
        waited: float,
    ) -> None:
        """Fire ``on_wait`` (if the budget held this attempt back) and ``on_request``."""
        if hooks.on_wait is not None and waited >= WAIT_EVENT_MIN:
            wait = WaitEvent(operation=plan.operation, key=key, seconds=waited)
            await emit(hooks.on_wait, wait, "on_wait")
        if hooks.on_request is not None:
            shown = dict(self.transport.http.headers)  # the session's own (Accept, User-Agent)
            shown.update(headers)
            shown["Authorization"] = REDACTED
            event = RequestEvent(
                operation=plan.operation, method=plan.method, url=url,
                headers=MappingProxyType(shown), body=data, attempt=tries, key=key,
            )  # fmt: skip
            await emit(hooks.on_request, event, "on_request")

    async def _send(
        self,
        plan: _Plan[R],
        url: str,
        data: bytes | None,
        location: str | None,
        path: Sequence[str],
        body: Body | None,
        clock: _Clock | None,
        options: CallOptions | None = None,
        sink: _Answer | None = None,
    ) -> R:
        transport = self.transport
        http = transport.http
        auth = transport.auth
        cached_token = transport.cached_token
        try_acquire = transport.try_acquire
        key = auth.rate_key(location)
        budget = transport.budget
        bucket = None if budget is None else budget.bucket(key)
        write = plan.write if plan.flag is None else plan.flag.pick(body)
        policy = self.retry
        cap = policy.retry_after_cap
        limit = transport.max_response_size
        inflate = transport.inflate
        method = plan.method
        timeout = self.timeout
        extra_headers = None
        if options is not None:
            extra_headers = options.headers
            if options.timeout is not None:
                timeout = options.timeout
        hooks = self.hooks
        debug = log.isEnabledFor(logging.DEBUG)
        loop = asyncio.get_running_loop() if debug or hooks is not None else None
        # Our wall clock when a create began: what it may have created is younger.
        started = time.time() if write == "reconcile" else 0.0
        attempt = 0
        tries = 0  # requests sent; a 401's one re-send with a new token is not a retry
        # The token of the last 401 the auth renewed after. The first renewal is free; a later
        # one (the new token died too, e.g. revoked early again) costs a retry, so a server
        # refusing every fresh token cannot keep a call renewing forever.
        renewed: str | None = None
        maybe_applied = False  # an earlier attempt was sent and may have been applied
        while True:
            if transport.spent:
                _check_quota(plan, url, transport, key)
            waited = 0.0
            if bucket is not None and (try_acquire is None or not try_acquire(bucket)):
                if loop is not None and hooks is not None and hooks.on_wait is not None:
                    waited = loop.time()
                    refused = await bucket.acquire(cap)
                    waited = loop.time() - waited
                else:
                    refused = await bucket.acquire(cap)
                if refused is not None:
                    raise _budget_error(plan, url, transport.base_url, key, refused, cap)
            began = 0.0
            tries += 1
            try:
                token = cached_token(location) if cached_token is not None else None
                if token is None:
                    token = await auth.access_token(location)
                headers: Mapping[str, str]
                if token is plan.token:
                    headers = plan.headers
                else:
                    # A route always sends a body or never does: one header set per token.
                    headers = transport.headers(token, data is not None, plan.version)
                    plan.token, plan.headers = token, headers
                if extra_headers is not None:
                    headers = {**headers, **extra_headers}
                if hooks is not None:
                    # Inside the try: whatever a hook does, the slot acquired above is released.
                    await self._before(hooks, plan, url, data, headers, key, tries, waited)
                if loop is not None:
                    began = loop.time()
                # Awaited, not `async with`: read_body reads the whole body (which hands the
                # connection back) or closes the response, so the context manager's exit has
                # nothing left to do but cost a coroutine per request.
                response = await http.request(
                    method,
                    url,
                    data=data,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                )
                raw = await read_body(response, limit, inflate=inflate, operation=plan.operation)
                status = response.status
                response_headers = response.headers
            except _NO_RESPONSE as err:
                if bucket is not None:
                    bucket.release(None)
                outcome = outcome_of(err)
                failure: BaseException = err
                error: GHLError = _transport_error(plan, url, transport.base_url, outcome, err)
                if hooks is not None and hooks.on_response is not None:
                    assert loop is not None
                    event = ResponseEvent(
                        operation=plan.operation, method=method, url=url, attempt=tries,
                        status=None, headers=_NO_HEADERS, elapsed=loop.time() - began,
                        error=type(err).__name__,
                    )  # fmt: skip
                    await emit(hooks.on_response, event, "on_response")
                if debug:
                    assert loop is not None
                    log.debug(
                        "%s %s -> %s after %.1f ms (attempt %d)",
                        method,
                        _path_of(url, transport.base_url),
                        type(err).__name__,
                        (loop.time() - began) * 1000,
                        attempt + 1,
                    )
            except BaseException:
                if bucket is not None:
                    bucket.release(None)  # the slot counts from now: the latest the server saw it
                raise
            else:
                if bucket is not None:
                    bucket.release(response_headers)
                if transport.bookkeeping:
                    daily = response_headers.get("X-RateLimit-Daily-Remaining")
                    if daily is not None:
                        # The daily quota alone is worth reporting (a sync stops on it).
                        transport.rate_headers[key] = response_headers
                        if daily == "0" or (daily[:1] == "0" and header_count(daily) == 0):
                            transport.mark_spent(key, None)
                        elif transport.spent:
                            transport.spent.pop(key, None)
                    elif "X-RateLimit-Remaining" in response_headers:
                        transport.rate_headers[key] = response_headers
                if hooks is not None and hooks.on_response is not None:
                    assert loop is not None
                    event = ResponseEvent(
                        operation=plan.operation, method=method, url=url, attempt=tries,
                        status=status, headers=response_headers, elapsed=loop.time() - began,
                    )  # fmt: skip
                    await emit(hooks.on_response, event, "on_response")
                if debug:
                    assert loop is not None
                    log.debug(
                        "%s %s -> %d in %.1f ms (attempt %d)",
                        method,
                        _path_of(url, transport.base_url),
                        status,
                        (loop.time() - began) * 1000,
                        attempt + 1,
                    )
                if 200 <= status < 300:
                    try:
                        if clock is not None:
                            result = plan.strict(raw)
                        else:
                            try:
                                decoded = plan.whole(raw)
                                result = decoded.payload if plan.enveloped else decoded
                            except msgspec.ValidationError:
                                result = plan.decode(raw)  # the tolerant second pass
                    except msgspec.ValidationError as err:
                        # JSON of another shape: schema drift, the same on every attempt.
                        if sink is not None and sink.defer:
                            # A raw call: the bytes are the caller's, parse() raises this.
                            sink.keep(status, response_headers, raw)
                            sink.attempts = tries
                            sink.error = _decode_error(plan, status, raw, err)
                            return cast(R, None)
                        raise _decode_error(plan, status, raw, err) from err
                    except msgspec.DecodeError as err:
                        # Not JSON at all (cut short, garbage): an attempt that went wrong.
                        outcome = Outcome(status=status, undecodable=True)
                        failure = err
                        error = _decode_error(plan, status, raw, err)
                    else:
                        if clock is not None:
                            clock.date = response_headers.get("Date")
                            clock.received = time.time()
                        if write == "reconcile":
                            transport.claimed.add(created_id(result) or "")
                        if sink is not None:
                            sink.keep(status, response_headers, raw)
                            sink.attempts = tries
                        return result
                else:
                    timed_out = status == 401 and b"Command timed out" in raw
                    if (
                        status == 401
                        and not timed_out
                        and token != renewed
                        and (renewed is None or attempt < policy.max_retries)
                        and await auth.invalidate(location, token)
                    ):
                        if renewed is not None:
                            attempt += 1
                        renewed = token
                        continue
                    outcome, error = _status_outcome(
                        plan, url, transport, key, bucket, cap, status, raw, response_headers
                    )
                    if maybe_applied and plan.gone and isinstance(error, NotFoundError):
                        log.info("%s: already gone after an earlier attempt; done", plan.operation)
                        if sink is not None:
                            # The answer that settled it (a 404) is what a raw call sees.
                            sink.keep(status, response_headers, raw)
                            sink.attempts = tries
                        return cast(R, _DELETED)
                    if timed_out:
                        outcome = Outcome(status=status, command_timeout=True)
                    failure = error

            decision = decide(outcome, attempt, write, policy)
            action = decision.action
            if action == "retry":
                delay = cast(float, decision.delay)
                maybe_applied = maybe_applied or (outcome.sent and outcome.status != 429)
                cause = _cause(outcome, failure)
                _log_retry(plan, cause, attempt, policy, delay)
                if hooks is not None and hooks.on_retry is not None:
                    await emit(
                        hooks.on_retry, _retry_event(plan, cause, outcome, tries, policy, delay),
                        "on_retry",
                    )  # fmt: skip
                await asyncio.sleep(delay)
                attempt += 1
                continue
            if action == "reconcile":
                if not self.reconcile:
                    checked: tuple[str, ...] = ("nothing: reconcile_writes is off",)
                    raise _ambiguous(plan, url, transport.base_url, outcome, failure, checked)
                verdict = await reconcile(
                    self if sink is None else self._for_lookups(sink),
                    cast("Route[object]", plan.route),
                    path,
                    body,
                    location,
                    started,
                    applied=outcome.undecodable,
                    settle_until=_settle_until(outcome, timeout, self.settle),
                )
                cause = _cause(outcome, failure)
                if hooks is not None and hooks.on_reconcile is not None:
                    settled = ReconcileEvent(
                        operation=plan.operation, cause=cause, outcome=verdict.kind,
                        checked=verdict.checked,
                    )  # fmt: skip
                    await emit(hooks.on_reconcile, settled, "on_reconcile")
                if verdict.kind == "found":
                    log.info(
                        "%s: %s; found what it created: %s",
                        plan.operation,
                        cause,
                        verdict.checked[-1],
                    )
                    transport.claimed.add(created_id(verdict.found) or "")
                    if sink is not None:
                        sink.reconciled = True
                        sink.attempts = tries
                    return cast(R, verdict.found)
                if verdict.kind == "absent":
                    if decision.delay is not None:
                        log.info(
                            "%s: %s; not applied (%s); resending",
                            plan.operation,
                            cause,
                            verdict.checked[-1],
                        )
                        _log_retry(plan, cause, attempt, policy, decision.delay)
                        if hooks is not None and hooks.on_retry is not None:
                            again = _retry_event(
                                plan, cause, outcome, tries, policy, decision.delay
                            )
                            await emit(hooks.on_retry, again, "on_retry")
                        await asyncio.sleep(decision.delay)
                        attempt += 1
                        continue
                    # Certainly not applied, and no retry left: an ordinary failure.
                    if error is failure:
                        raise error
                    raise error from failure
                raise _ambiguous(plan, url, transport.base_url, outcome, failure, verdict.checked)
            if action == "ambiguous":
                raise _ambiguous(plan, url, transport.base_url, outcome, failure, ())
            if error is failure:
                raise error
            raise error from failure


# --- the failure path --------------------------------------------------------------------------


def _check_quota(plan: _Plan[R], url: str, transport: Transport, key: str) -> None:
    entry = transport.spent.get(key)
    if entry is None:
        return
    now = time.monotonic()
    if now >= entry.until:
        del transport.spent[key]  # let one request find out whether the quota is back
        return
    raise _quota_error(
        plan,
        url,
        transport.base_url,
        entry,
        message=f"the daily request quota of {key} is spent (an earlier answer said so); "
        "not sent",
    )


def _status_outcome(
    plan: _Plan[R],
    url: str,
    transport: Transport,
    key: str,
    bucket: RateBucket | None,
    cap: float,
    status: int,
    raw: bytes,
    headers: Mapping[str, str],
) -> tuple[Outcome, APIError]:
    info = RateLimitInfo.from_headers(headers)
    given = headers.get("Retry-After")
    retry_after = None
    if status == 429:
        retry_after = parse_retry_after(given, None if info is None else info.interval_ms)
        if info is not None and info.daily_remaining == 0:
            # Waiting seconds will not help, and retrying would spend nothing but time.
            entry = transport.mark_spent(key, retry_after)
            raise _quota_error(
                plan, url, transport.base_url, entry, raw=raw, headers=headers, info=info
            )
        if bucket is not None and retry_after is not None and retry_after <= cap:
            # Shared by every call to this location; a longer wait pauses nothing.
            bucket.pause(retry_after)
    elif given is not None:
        retry_after = parse_retry_after(given)
    error = _api_error(plan, url, transport.base_url, status, raw, headers, info, retry_after)
    return Outcome(status=status, retry_after=retry_after), error


def _settle_until(
    outcome: Outcome, timeout: aiohttp.ClientTimeout, settle: float
) -> float | None:
    """Until when a failed create may still be applied by a server that is still at it."""
    if not (outcome.timeout or outcome.status == 504 or outcome.command_timeout):
        return None  # a reset or a 500/502/503: the server is done with the request
    waited = timeout.total or timeout.sock_read or defaults.TIMEOUT_TOTAL
    return time.time() + max(settle, waited)


def _cause(outcome: Outcome, failure: BaseException) -> str:
    if outcome.status is None:
        return type(failure).__name__
    if outcome.undecodable:
        return f"an undecodable {outcome.status} body"
    if outcome.command_timeout:
        return "HTTP 401 Command timed out"
    if outcome.retry_after is not None:
        return f"HTTP {outcome.status} (Retry-After {outcome.retry_after:g} s)"
    return f"HTTP {outcome.status}"


def _retry_event(
    plan: _Plan[R], cause: str, outcome: Outcome, tries: int, policy: RetryPolicy, delay: float
) -> RetryEvent:
    return RetryEvent(
        operation=plan.operation,
        attempt=tries,
        max_retries=policy.max_retries,
        cause=cause,
        status=outcome.status,
        retry_after=outcome.retry_after,
        delay=delay,
    )


def _log_retry(
    plan: _Plan[R], cause: str, attempt: int, policy: RetryPolicy, delay: float
) -> None:
    # The operation name, never the URL: query strings carry e-mail addresses and phones.
    log.info(
        "%s: %s; retry %d of %d in %.2f s",
        plan.operation,
        cause,
        attempt + 1,
        policy.max_retries,
        delay,
    )


# --- encoding --------------------------------------------------------------------------------


def _encode_query(plan: _Plan[R], query: Query) -> str:
    expected = plan.query_type
    if expected is None or not isinstance(query, expected):
        raise ConfigError(
            f"{plan.operation} takes "
            f"{'no query' if expected is None else 'a ' + expected.__name__ + ' query'}, "
            f"not {type(query).__name__}"
        )
    fields = msgspec.to_builtins(query)
    try:
        # Struct construction does not check types; converting back does, strictly.
        msgspec.convert(fields, expected)
    except msgspec.ValidationError as err:
        raise ConfigError(f"{plan.operation}: invalid query: {err}") from err
    parts = []
    for name, value in fields.items():
        for item in value if isinstance(value, list) else (value,):
            parts.append(f"{name}={_query_value(item)}")
    return "?" + "&".join(parts) if parts else ""


def _encode_body(plan: _Plan[R], body: Body | None) -> bytes:
    check = plan.body_check
    if check is None:
        raise ConfigError(f"{plan.operation} takes no body")
    if body is None:
        raise ConfigError(f"{plan.operation} needs a {_type_name(plan.route.body)} body")
    try:
        data = _ENCODE(body)
        # Decoding what we are about to send with the route's strict body type catches wrong
        # types and unknown fields here, as HighLevel's validation (422) would.
        check.decode(data)
    except (msgspec.ValidationError, msgspec.EncodeError, TypeError) as err:
        raise ConfigError(f"{plan.operation}: invalid request body: {err}") from err
    return data


# --- errors ----------------------------------------------------------------------------------


def _type_name(tp: object) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


def _path_of(url: str, base_url: str) -> str:
    # The path only: query strings can carry e-mail addresses and phone numbers.
    return url[len(base_url) :].split("?", 1)[0]


def _where(plan: _Plan[R], url: str, base_url: str) -> str:
    return f"{plan.operation} ({plan.method} {_path_of(url, base_url)})"


def _transport_error(
    plan: _Plan[R], url: str, base_url: str, outcome: Outcome, err: BaseException
) -> TransportError:
    where = _where(plan, url, base_url)
    if outcome.timeout:
        return RequestTimeout(f"{where}: timed out", operation=plan.operation, sent=outcome.sent)
    return TransportError(
        f"{where}: {type(err).__name__}: {err}", operation=plan.operation, sent=outcome.sent
    )


def _ambiguous(
    plan: _Plan[R],
    url: str,
    base_url: str,
    outcome: Outcome,
    failure: BaseException,
    checked: tuple[str, ...],
) -> AmbiguousWriteError:
    what = _cause(outcome, failure)
    if checked:
        text = "; ".join(checked)
        ending = f"no lookup settled it, so it was not resent (checked: {text})"
    else:
        ending = "nothing can be looked up to tell, so it was not resent (check before retrying)"
    return AmbiguousWriteError(
        f"{_where(plan, url, base_url)}: {what} after the request was sent; it may have been "
        f"applied, and {ending}",
        operation=plan.operation,
        sent=True,
        checked=checked,
        status=outcome.status,
    )


def _decode_error(plan: _Plan[R], status: int, raw: bytes, err: Exception) -> DecodeError:
    return DecodeError(
        f"{plan.operation}: the {status} response did not match "
        f"{_type_name(plan.route.response)}: {err}",
        operation=plan.operation,
        body=raw,
    )


def _budget_error(
    plan: _Plan[R], url: str, base_url: str, key: str, wait: float, cap: float
) -> RateLimitError:
    # Waiting would park this call (and the bucket) for as long as the server says; the
    # caller decides instead.
    exc = RateLimitError(
        status=429,
        operation=plan.operation,
        method=plan.method,
        url=_path_of(url, base_url),
        messages=[
            f"the server's limits for {key} ask for a wait of {wait:.1f} s, more than "
            f"retry_after_cap ({cap:g} s); not sent"
        ],
    )
    exc.retry_after = wait
    return exc


def _quota_error(
    plan: _Plan[R],
    url: str,
    base_url: str,
    entry: _Spent,
    *,
    message: str = "",
    raw: bytes = b"",
    headers: Mapping[str, str] | None = None,
    info: RateLimitInfo | None = None,
) -> DailyQuotaExceeded:
    if headers is not None:
        exc = cast(
            DailyQuotaExceeded,
            _api_error(plan, url, base_url, 429, raw, headers, info, None, DailyQuotaExceeded),
        )
    else:
        exc = DailyQuotaExceeded(
            status=429,
            operation=plan.operation,
            method=plan.method,
            url=_path_of(url, base_url),
            messages=[message],
        )
    exc.reset_at = entry.reset_at
    if entry.reset_at is not None:
        exc.retry_after = max((entry.reset_at - datetime.now(timezone.utc)).total_seconds(), 0.0)
    return exc


@dataclass(slots=True)
class _ErrorFields:
    """What an error answer's body says, whichever of HighLevel's shapes it has."""

    messages: list[str]
    error: str | None = None
    trace_id: str | None = None
    meta: dict[str, object] = field(default_factory=dict)
    # v3's AIP envelope {"error": {code, message, details, resolution}}
    code: str | None = None
    details: dict[str, object] = field(default_factory=dict)
    resolution: str | None = None


def _error_fields(raw: bytes, content_type: str) -> _ErrorFields:
    try:
        data: object = msgspec.json.decode(raw) if raw else None
    except msgspec.DecodeError:
        title = _TITLE.search(raw)
        text = f"non-JSON response ({content_type or 'no content type'}, {len(raw)} bytes)"
        if title:
            text += ": " + " ".join(title.group(1).decode("utf-8", "replace").split())[:120]
        return _ErrorFields([text])
    if not isinstance(data, dict):
        return _ErrorFields([])
    message = data.get("message")
    error = data.get("error")
    if isinstance(message, list):
        messages = [str(item) for item in message]
    elif message is not None:
        messages = [str(message)]
    else:
        messages = []
    trace = data.get("traceId")
    meta = data.get("meta")
    found = _ErrorFields(
        messages,
        error if isinstance(error, str) else None,
        trace if isinstance(trace, str) else None,
        meta if isinstance(meta, dict) else {},
    )
    if isinstance(error, dict):  # the v3 AIP envelope
        if not messages and error.get("message") is not None:
            found.messages = [str(error["message"])]
        code, details, resolution = error.get("code"), error.get("details"), error.get("resolution")
        found.code = found.error = code if isinstance(code, str) else None
        found.details = details if isinstance(details, dict) else {}
        found.resolution = resolution if isinstance(resolution, str) else None
    return found


def _api_error(
    plan: _Plan[R],
    url: str,
    base_url: str,
    status: int,
    raw: bytes,
    headers: Mapping[str, str],
    info: RateLimitInfo | None,
    retry_after: float | None,
    cls: type[APIError] | None = None,
) -> APIError:
    fields = _error_fields(raw, headers.get("Content-Type", ""))
    trace_id = fields.trace_id or headers.get("traceId") or headers.get("X-Trace-Id")
    if cls is None:
        cls = error_class_for(status, fields.messages)
    exc = cls(
        status=status,
        operation=plan.operation,
        method=plan.method,
        url=_path_of(url, base_url),
        messages=fields.messages,
        error=fields.error,
        trace_id=trace_id,
        body=raw,
        rate_limit=info,
        meta=fields.meta,
        code=fields.code,
        details=fields.details,
        resolution=fields.resolution,
    )
    if isinstance(exc, PermissionDeniedError):
        exc.scope = plan.scope
        exc.args = (f"{exc.args[0]} (the operation needs scope {plan.scope})",)
    exc.retry_after = retry_after
    return exc

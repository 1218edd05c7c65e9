"""``ghl_async.Client``: settings, lifecycle and the resource namespaces.

::

    async with ghl_async.Client(auth=StaticToken("pit-..."), location_id="loc_1") as ghl:
        contact = await ghl.contacts.get("abc123")

The constructor only validates (``ConfigError``); the aiohttp session opens in ``__aenter__``
or ``open()``, inside the running loop, and closes in ``__aexit__``/``aclose()``.
``with_options()`` makes siblings that share the session, the rate-limit buckets and the tokens.

A long-lived client (a web app's startup and shutdown hooks) pairs ``open()`` with ``aclose()``::

    ghl = await ghl_async.Client(auth=..., location_id="loc_1").open()
    ...
    await ghl.aclose()

API versions are namespaces of one client, not clients: ``ghl.contacts`` speaks ``2021-07-28``
and ``ghl.v3.contacts`` speaks ``v3``, each route sending its own ``Version`` header. Why not
``Client(api="v3")``: HighLevel's rate limits are per app per location whatever the version, so
v2 and v3 calls must share one budget, one session and one token store (two clients would each
keep 100 requests per 10 s and together overrun it); a migration can move one call at a time;
and every namespace is a plain attribute with one static type, where a version-picking
constructor would need overloads or a generic ``Client`` to type ``contacts`` per version. The
namespaces (``contacts``, ``oauth``, ``v3``, and any API added to the route table) come from the
generated ``_endpoints.Namespaces``, which ``Client`` inherits.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType, TracebackType
from typing import TypeVar

import aiohttp

from ghl_async import _endpoints, defaults, logs
from ghl_async.auth import Auth
from ghl_async.errors import ConfigError
from ghl_async.hooks import Hooks
from ghl_async.models import UNSET, Body, Query, UnsetType
from ghl_async.options import JSONValue, QueryValue, timeout_of
from ghl_async.ratelimit import RateBudget, RateLimit, RateLimitInfo, Unlimited
from ghl_async.responses import RawResponse
from ghl_async.retry import RetryPolicy
from ghl_async.routes import Route
from ghl_async.session import Session, Transport, check_id

# ``ghl.contacts``'s class (generated, with ``get_bundle`` mixed in from ghl_async.composites).
Contacts = _endpoints.ContactsEndpoints

__all__ = ["Client", "Contacts"]

R = TypeVar("R")
_DEFAULT_RATE_LIMIT = RateLimit()


def _number(name: str, value: object, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= minimum:
        raise ConfigError(f"{name} must be a number >= {minimum:g}, not {value!r}")
    return float(value)


def _count(name: str, value: object, *, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ConfigError(f"{name} must be an int in 0..{maximum}, not {value!r}")
    return value


def _timeout(value: object) -> aiohttp.ClientTimeout:
    given = timeout_of(value)
    if given is None:
        return aiohttp.ClientTimeout(total=defaults.TIMEOUT_TOTAL, connect=defaults.TIMEOUT_CONNECT)
    return given


def _hooks(value: object) -> Hooks | None:
    if value is None or isinstance(value, Hooks):
        return value
    raise ConfigError(f"hooks must be a ghl_async.Hooks or None, not {value!r}")


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, not {value!r}")
    return value


def _optional_id(name: str, value: object) -> str | None:
    return None if value is None else check_id(name, value)


def _retry_policy(
    base: RetryPolicy,
    max_retries: object,
    backoff_base: object,
    backoff_max: object,
    retry_after_cap: object,
) -> RetryPolicy:
    def pick(name: str, value: object, current: float) -> float:
        return current if value is UNSET else _number(name, value)

    retries = base.max_retries
    if max_retries is not UNSET:
        retries = _count("max_retries", max_retries, maximum=100)
    return RetryPolicy(
        max_retries=retries,
        backoff_base=pick("backoff_base", backoff_base, base.backoff_base),
        backoff_max=pick("backoff_max", backoff_max, base.backoff_max),
        retry_after_cap=pick("retry_after_cap", retry_after_cap, base.retry_after_cap),
        retry_after_jitter=base.retry_after_jitter,
        jitter=base.jitter,
    )


def _text(value: object) -> str | None:
    """``value`` if it is a non-empty one-line str."""
    if isinstance(value, str) and value.strip() and not set(value) & {"\r", "\n"}:
        return value
    return None


class Client(_endpoints.Namespaces):
    """An asyncio client for HighLevel's Contacts API, v2 (``ghl.contacts``) and v3 (``ghl.v3``).

    Args:
        auth: a ``StaticToken`` (private integration token) or an ``OAuthApp``.
        location_id: the default location (sub-account) of every call.
        company_id: the agency (company) id, for agency tokens.
        base_url: the API root (a ``FakeHighLevel`` URL in tests).
        version: deprecated, only ``"2021-07-28"``: each route sends its own ``Version``
            (``ghl.contacts`` v2, ``ghl.v3.contacts`` v3); other values raise ``ConfigError``.
        timeout: seconds, or an ``aiohttp.ClientTimeout`` (default 30 s total, 5 s connect).
        max_retries: retries after the first attempt (429, 502/503/504, connection errors).
        backoff_base: seconds of the first exponential backoff step (full jitter).
        backoff_max: the longest backoff step.
        retry_after_cap: a server asking to wait longer than this (``Retry-After``, a 429's
            interval) gets ``RateLimitError`` at once instead of a wait.
        rate_limit: the per-location burst rule to keep to (default: HighLevel's 100 per
            10 s); ``RateLimit.unlimited()`` to wait for nothing but keep ``rate_limits`` and
            the daily-quota check; ``None`` to turn both off; or a
            :class:`~ghl_async.ratelimit.RateBudget` of your own (e.g. one shared on Redis).
        reconcile_writes: after an ambiguous failure of a create, look the object up by its
            natural key (return it if found, resend if certainly absent) instead of raising
            ``AmbiguousWriteError`` at once (see :mod:`ghl_async.reconcile`).
        reconcile_settle: seconds after a timed-out create (or a 504) during which a lookup
            that finds nothing is repeated before it is believed: the server may still be
            applying the request (default 10 s, or the request timeout if longer).
        max_response_size: the largest response body read, in bytes after gzip/deflate;
            larger ones raise ``ResponseTooLargeError`` (default 32 MiB).
        session: an ``aiohttp.ClientSession`` to use; it is never closed by the client.
        connector_limit: most open connections (own session only; 0 = no limit).
        connector_limit_per_host: most open connections per host (own session only).
        user_agent: the ``User-Agent`` header.
        hooks: callables told of each request, response, retry, rate-limit wait and
            reconciliation (:class:`~ghl_async.hooks.Hooks`); ``None`` for none.

    Raises:
        ConfigError: a setting is invalid (nothing is opened or sent), or so is the
            ``GHL_ASYNC_LOG`` environment variable (read when the first client is made, see
            :mod:`ghl_async.logs`).
    """

    __slots__ = ("_company_id", "_root", "_transport")

    def __init__(
        self,
        *,
        auth: Auth,
        location_id: str | None = None,
        company_id: str | None = None,
        base_url: str = defaults.BASE_URL,
        version: str = defaults.API_VERSION,
        timeout: aiohttp.ClientTimeout | float | None = None,
        max_retries: int = defaults.MAX_RETRIES,
        backoff_base: float = defaults.BACKOFF_BASE,
        backoff_max: float = defaults.BACKOFF_MAX,
        retry_after_cap: float = defaults.RETRY_AFTER_CAP,
        rate_limit: RateLimit | Unlimited | RateBudget | None = _DEFAULT_RATE_LIMIT,
        reconcile_writes: bool = defaults.RECONCILE_WRITES,
        reconcile_settle: float = defaults.RECONCILE_SETTLE,
        max_response_size: int = defaults.MAX_RESPONSE_SIZE,
        session: aiohttp.ClientSession | None = None,
        connector_limit: int | None = None,
        connector_limit_per_host: int | None = None,
        user_agent: str | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        logs.configure_from_env()
        for method in ("bind", "access_token", "invalidate", "rate_key"):
            if not callable(getattr(auth, method, None)):
                raise ConfigError(
                    f"auth must be a StaticToken, an OAuthApp or another ghl_async.auth.Auth "
                    f"(missing {method}()), not {type(auth).__name__}"
                )
        url = _text(base_url)
        if url is None or not url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url must be an http(s) URL, not {base_url!r}")
        if version != defaults.API_VERSION:
            # Before v3 this set the Version header of every call, so "v3" sent v2 paths and
            # bodies under a v3 header. Versions are namespaces now.
            hint = (
                "the Version header is chosen per route: call ghl.v3.contacts... for v3 (and "
                "use OAuthApp(api_version='v3') for v3 token requests)"
                if version == defaults.API_V3
                else f"the only value is {defaults.API_VERSION!r}, and each route sends its own"
            )
            raise ConfigError(f"version={version!r} is not accepted: {hint}")
        if not (
            rate_limit is None
            or isinstance(rate_limit, (RateLimit, Unlimited))
            or callable(getattr(rate_limit, "bucket", None))
        ):
            raise ConfigError(
                "rate_limit must be a RateLimit, RateLimit.unlimited(), None or a "
                f"ghl_async.ratelimit.RateBudget, not {rate_limit!r}"
            )
        _flag("reconcile_writes", reconcile_writes)
        size: object = max_response_size
        if isinstance(size, bool) or not isinstance(size, int) or size < 1024:
            raise ConfigError(
                f"max_response_size must be an int of at least 1024 bytes, not "
                f"{max_response_size!r}"
            )
        if session is not None:
            if not isinstance(session, aiohttp.ClientSession):
                raise ConfigError(f"session must be an aiohttp.ClientSession, not {session!r}")
            if connector_limit is not None or connector_limit_per_host is not None:
                raise ConfigError(
                    "connector_limit/connector_limit_per_host apply to the session the client "
                    "creates; configure the connector of your own session instead"
                )
        if user_agent is None:
            from ghl_async import __version__

            user_agent = f"{defaults.USER_AGENT}/{__version__}"
        if _text(user_agent) is None:
            raise ConfigError(f"user_agent must be a one-line str, not {user_agent!r}")
        location = _optional_id("location_id", location_id)
        self._company_id = _optional_id("company_id", company_id)
        self._transport = Transport(
            auth=auth,
            base_url=url.rstrip("/"),
            version=version,
            user_agent=user_agent,
            rate_limit=rate_limit,
            timeout=_timeout(timeout),
            http=session,
            connector_limit=_count(
                "connector_limit",
                100 if connector_limit is None else connector_limit,
                maximum=100_000,
            ),
            connector_limit_per_host=_count(
                "connector_limit_per_host",
                0 if connector_limit_per_host is None else connector_limit_per_host,
                maximum=100_000,
            ),
            max_response_size=max_response_size,
        )
        policy = _retry_policy(
            RetryPolicy(), max_retries, backoff_base, backoff_max, retry_after_cap
        )
        self._root = True
        super().__init__(
            Session(
                self._transport,
                location_id=location,
                timeout=self._transport.timeout,
                retry=policy,
                reconcile=reconcile_writes,
                settle=_number("reconcile_settle", reconcile_settle),
                hooks=_hooks(hooks),
            )
        )

    # --- lifecycle ------------------------------------------------------------------------------

    async def open(self) -> Client:
        """Open the client for use outside ``async with``; return it. Pair with :meth:`aclose`.

        For a client that lives as long as an application (open it in the startup hook, close
        it in the shutdown hook). Must run inside the event loop that will use the client.
        On a ``with_options()`` sibling it only checks that the client it came from is open.

        Raises:
            RuntimeError: the client was already opened (or entered), or closed: a client is
                opened once.
        """
        return await self.__aenter__()

    async def __aenter__(self) -> Client:
        if not self._root:
            # A sibling shares its parent's session: entering it just checks the parent is open.
            self._transport.http  # noqa: B018  (raises if the parent is not open)
            return self
        if self._transport.state != "new":
            raise RuntimeError(
                f"this ghl_async.Client was already {self._transport.state}; a client is "
                "opened (or entered) once (make a new one, or use with_options() for variants)"
            )
        await self._transport.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._root:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the client's own aiohttp session (a session you passed in stays open).

        Safe to call more than once, and on a client that was never opened. Closing a
        ``with_options()`` sibling does nothing: close the client it came from.
        """
        if self._root and self._transport.state != "closed":
            await self._transport.close()

    @property
    def closed(self) -> bool:
        """Whether the client was closed."""
        return self._transport.state == "closed"

    # --- options --------------------------------------------------------------------------------

    def with_options(
        self,
        *,
        location_id: str | None | UnsetType = UNSET,
        timeout: aiohttp.ClientTimeout | float | UnsetType = UNSET,
        max_retries: int | UnsetType = UNSET,
        backoff_base: float | UnsetType = UNSET,
        backoff_max: float | UnsetType = UNSET,
        retry_after_cap: float | UnsetType = UNSET,
        reconcile_writes: bool | UnsetType = UNSET,
        reconcile_settle: float | UnsetType = UNSET,
        hooks: Hooks | None | UnsetType = UNSET,
    ) -> Client:
        """Return a sibling with other per-call options, sharing session, buckets and tokens.

        The sibling needs no ``async with``; it works while this client is open.
        ``hooks=None`` turns this client's hooks off for the sibling.
        """
        session = self._session
        sibling = object.__new__(Client)
        sibling._transport = self._transport
        sibling._company_id = self._company_id
        sibling._root = False
        _endpoints.Namespaces.__init__(sibling, Session(
            self._transport,
            location_id=session.location_id
            if location_id is UNSET
            else _optional_id("location_id", location_id),
            timeout=session.timeout if timeout is UNSET else _timeout(timeout),
            retry=_retry_policy(session.retry, max_retries, backoff_base, backoff_max,
                                retry_after_cap),
            reconcile=session.reconcile if reconcile_writes is UNSET
            else _flag("reconcile_writes", reconcile_writes),
            settle=session.settle if reconcile_settle is UNSET
            else _number("reconcile_settle", reconcile_settle),
            hooks=session.hooks if hooks is UNSET else _hooks(hooks),
        ))  # fmt: skip
        return sibling

    @property
    def location_id(self) -> str | None:
        """The default location of calls."""
        return self._session.location_id

    @property
    def company_id(self) -> str | None:
        """The agency (company) id given to the client."""
        return self._company_id

    @property
    def base_url(self) -> str:
        """The API root."""
        return self._transport.base_url

    @property
    def timeout(self) -> aiohttp.ClientTimeout:
        """The timeout of each request."""
        return self._session.timeout

    @property
    def max_retries(self) -> int:
        """Retries after the first attempt."""
        return self._session.retry.max_retries

    @property
    def hooks(self) -> Hooks | None:
        """The event hooks of this client's calls (``None``: none)."""
        return self._session.hooks

    @property
    def retry_after_cap(self) -> float:
        """The longest server-asked wait slept on; a longer one fails the call at once."""
        return self._session.retry.retry_after_cap

    @property
    def reconcile_writes(self) -> bool:
        """Whether ambiguous creates are reconciled by natural key (see ``Client``)."""
        return self._session.reconcile

    @property
    def rate_limits(self) -> Mapping[str, RateLimitInfo]:
        """The last ``X-RateLimit-*`` headers seen, per location (or company) id.

        Check ``daily_remaining`` to stop a long sync before it spends the day's quota.
        Empty with ``rate_limit=None``; malformed header values are left out (``None``).
        """
        return MappingProxyType(self._transport.rate_limits)

    # --- the escape hatch -----------------------------------------------------------------------

    async def call(
        self,
        route: Route[R],
        *,
        path: Mapping[str, str] | None = None,
        query: Query | None = None,
        body: Body | None = None,
        location_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, QueryValue] | None = None,
        extra_body: Mapping[str, JSONValue] | None = None,
        timeout: float | aiohttp.ClientTimeout | None = None,
    ) -> R:
        """Call any route of :mod:`ghl_async.routes` (or your own ``Route``) directly.

        ``path`` maps the route's placeholders (``{"contact_id": ...}``) to values; the
        per-call options are those of every generated method (:mod:`ghl_async.options`).
        """
        args, location = self._call_args(route, path, location_id)
        return await self._session.call(
            route, args, query=query, body=body, location_id=location,
            extra_headers=extra_headers, extra_query=extra_query, extra_body=extra_body,
            timeout=timeout,
        )  # fmt: skip

    async def call_raw(
        self,
        route: Route[R],
        *,
        path: Mapping[str, str] | None = None,
        query: Query | None = None,
        body: Body | None = None,
        location_id: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        extra_query: Mapping[str, QueryValue] | None = None,
        extra_body: Mapping[str, JSONValue] | None = None,
        timeout: float | aiohttp.ClientTimeout | None = None,
    ) -> RawResponse[R]:
        """:meth:`call`, returning the answer around the result (:class:`RawResponse`)."""
        args, location = self._call_args(route, path, location_id)
        return await self._session.call_raw(
            route, args, query=query, body=body, location_id=location,
            extra_headers=extra_headers, extra_query=extra_query, extra_body=extra_body,
            timeout=timeout,
        )  # fmt: skip

    def _call_args(
        self, route: Route[R], path: Mapping[str, str] | None, location_id: str | None
    ) -> tuple[tuple[str, ...], str | None]:
        if not isinstance(route, Route):
            raise ConfigError(f"route must be a ghl_async.routes.Route, not {route!r}")
        given = dict(path or {})
        missing = [name for name in route.path_params if name not in given]
        extra = sorted(set(given) - set(route.path_params))
        if missing or extra:
            raise ConfigError(
                f"{route.name}: path needs {list(route.path_params)}"
                + (f", missing {missing}" if missing else "")
                + (f", unexpected {extra}" if extra else "")
            )
        location = None if location_id is None else check_id("location_id", location_id)
        return tuple(given[name] for name in route.path_params), location

    def __repr__(self) -> str:
        return (
            f"ghl_async.Client(base_url={self.base_url!r}, location_id={self.location_id!r}, "
            f"auth={type(self._transport.auth).__name__}, state={self._transport.state!r})"
        )

"""Authentication: static tokens, and OAuth apps that exchange codes, refresh and mint tokens.

Two protocols connect this module to the request pipeline. The pipeline asks an :class:`Auth`
for a bearer token before every attempt and reports a 401 back through ``invalidate``; the auth
object reaches HighLevel's token endpoints through the pipeline's :class:`TokenTransport`, which
sends one form POST and nothing else (no limiter, no auth, no retries), because only this module
knows which token calls are safe to resend.

Refresh tokens rotate: a refresh spends the old refresh token. Hence the rules here:

* one refresh per token at a time (single-flight per key inside the process, ``TokenStore.lock``
  across processes), re-loading the store after taking the lock since another process may have
  refreshed already;
* the new pair is saved in the store before anyone uses it, and before the lock is released;
* every token call is resent (:data:`TOKEN_RETRY`: up to 3 times, honouring ``Retry-After``)
  after a 429, a 500/502/503/504, or no answer (refused, reset, timeout), and never after a
  2xx or another 4xx. That is safe for each grant, even though codes and refresh tokens are
  single-use:

  - *refresh*: if the lost attempt was applied, the old refresh token is spent and the new
    pair is lost whether or not we ask again; the retry then gets ``invalid_grant``
    (:class:`~ghl_async.errors.ReauthorizationRequired`, saying an earlier attempt may have
    used it), the same end as not retrying. If it was not applied (a gateway's 502/503, a
    429, a reset before the server read it), the retry succeeds. Even a server that revokes
    a token family on reuse revokes only a pair we never received. So a retry is never
    worse than giving up;
  - *code exchange*: the same reasoning (a code is single-use; a reused code gets
    ``invalid_grant``, and tokens issued for it may be revoked: tokens we never received);
  - *location token mint*: spends nothing (the agency token stays valid); resending only
    mints another.
* the refresh runs in its own task, so a caller cancelled mid-refresh cannot lose the new pair.

Two wire dialects, chosen by ``OAuthApp(api_version=...)``: ``2021-07-28`` (form bodies with
snake_case fields, ``POST /oauth/locationToken``) and ``v3`` (``Version: v3`` on every token call,
JSON bodies with camelCase fields, ``POST /oauth/location-token``; CONTACTS-API.md §5, §7).
Responses of either dialect decode; refusals are recognised in both (``invalid_grant`` /
``"Invalid grant: ..."``, and the AIP envelope ``{"error": {"code", "message", ...}}``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from typing import Final, Literal, Protocol, TypeVar
from urllib.parse import quote, urlencode

import aiohttp
import msgspec

from ghl_async import defaults
from ghl_async.bodies import read_body
from ghl_async.errors import (
    ConfigError,
    ReauthorizationRequired,
    RequestTimeout,
    ResponseTooLargeError,
    TokenRefreshError,
    TransportError,
)
from ghl_async.retry import Outcome, RetryPolicy, decide, outcome_of, parse_retry_after
from ghl_async.tokenstore import FileTokenStore, MemoryTokenStore, Token, TokenStore

__all__ = [
    "TOKEN_RETRY",
    "AiohttpTokenTransport",
    "Auth",
    "FileTokenStore",
    "MemoryTokenStore",
    "OAuthApp",
    "StaticToken",
    "Token",
    "TokenReply",
    "TokenStore",
    "TokenTransport",
    "UserType",
]

log = logging.getLogger("ghl_async.auth")

UserType = Literal["Location", "Company"]
T = TypeVar("T")

TOKEN_PATH = "/oauth/token"
LOCATION_TOKEN_PATH = "/oauth/locationToken"
LOCATION_TOKEN_PATH_V3 = "/oauth/location-token"
ApiVersion = Literal["2021-07-28", "v3"]

TOKEN_RETRY: Final = RetryPolicy(max_retries=3, backoff_base=0.25, backoff_max=4.0)
"""How token calls are resent (after a 429, a 500/502/503/504 or no answer; Retry-After is
honoured up to 60 s): why that is safe for every grant is in the module docstring."""
_REDACTED = "<redacted>"


class TokenReply(tuple[int, bytes]):
    """A token endpoint's answer: ``(status, body)``, plus the ``Retry-After`` it asked for.

    A plain ``(status, body)`` tuple is a valid answer too; returning a ``TokenReply`` lets a
    retried token call wait as long as the server asked (``retry_after``, seconds).
    """

    retry_after: float | None

    def __new__(cls, status: int, body: bytes, retry_after: float | None = None) -> TokenReply:
        reply = super().__new__(cls, (status, body))
        reply.retry_after = retry_after
        return reply


class TokenTransport(Protocol):
    """One form POST to a HighLevel token endpoint; implemented by the client's session."""

    async def post_form(
        self,
        path: str,
        form: Mapping[str, str],
        *,
        bearer: str | None = None,
        version: bool | str = False,
        as_json: bool = False,
    ) -> tuple[int, bytes]:
        """POST ``form`` url-encoded (or as a JSON object) to ``base_url + path``.

        No limiter, no auth, no retries (the auth decides those). ``version=True`` adds the
        transport's ``Version`` (``2021-07-28`` by default), a str adds that ``Version``.
        Return a :class:`TokenReply` to pass ``Retry-After`` on.

        Raises:
            TransportError: no response; ``sent`` says whether the request may have left.
            ResponseTooLargeError: the answer exceeded the size cap (no prefix is kept).
        """
        ...


class Auth(Protocol):
    """What the request pipeline needs from an authentication scheme.

    An implementation may also offer ``cached_token(location_id) -> str | None``, a synchronous
    ``access_token`` for the common case (``None``: await :meth:`access_token` instead), as
    :class:`StaticToken` and :class:`OAuthApp` do; the pipeline then spends no coroutine on a
    token at hand. It is looked up once, when the client is made.
    """

    def bind(self, transport: TokenTransport) -> None:
        """Use ``transport`` for token endpoint calls (called by the client on open)."""
        ...

    async def access_token(self, location_id: str | None) -> str:
        """Return a bearer token valid for ``location_id`` (``None``: the default)."""
        ...

    async def invalidate(self, location_id: str | None, token: str) -> bool:
        """Mark ``token`` dead after a 401; return whether a retry with a new token may work."""
        ...

    def rate_key(self, location_id: str | None) -> str:
        """Return the burst-limit bucket key for ``location_id`` (a location or company id)."""
        ...


class StaticToken:
    """A token you already hold, e.g. a Private Integration Token; it is never refreshed.

    ``location_id`` names the location the token belongs to; it keys the rate-limit bucket for
    calls that name no location.
    """

    __slots__ = ("_token", "location_id")

    def __init__(self, token: str, *, location_id: str | None = None) -> None:
        if not token or not token.strip():
            raise ConfigError("StaticToken needs a non-empty token")
        self._token = token
        self.location_id = location_id

    def bind(self, transport: TokenTransport) -> None:
        """Ignore the transport: a static token never calls the token endpoint."""

    async def access_token(self, location_id: str | None) -> str:
        """Return the token."""
        return self._token

    def cached_token(self, location_id: str | None) -> str | None:
        """Return the token (the pipeline's synchronous fast path: nothing to await)."""
        return self._token

    async def invalidate(self, location_id: str | None, token: str) -> bool:
        """Return False: a rejected static token stays rejected."""
        return False

    def rate_key(self, location_id: str | None) -> str:
        """Return ``location_id``, else the token's own location, else ``"default"``."""
        return location_id or self.location_id or "default"

    def __repr__(self) -> str:
        return f"StaticToken(location_id={self.location_id!r}, token={_REDACTED})"


class AiohttpTokenTransport:
    """A :class:`TokenTransport` over an ``aiohttp.ClientSession`` you own.

    For using an :class:`OAuthApp` outside a client, e.g. in a web app's OAuth callback::

        async with aiohttp.ClientSession() as http:
            app.bind(AiohttpTokenTransport(http))
            token = await app.exchange_code(code)
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str = defaults.BASE_URL,
        timeout: aiohttp.ClientTimeout | None = None,
        version: str = defaults.API_VERSION,
        user_agent: str = defaults.USER_AGENT,
        max_response_size: int = defaults.MAX_RESPONSE_SIZE,
    ) -> None:
        self._session = session
        self._max_response_size = max_response_size
        self._base_url = _check_url("base_url", base_url)
        self._timeout = timeout or aiohttp.ClientTimeout(
            total=defaults.TIMEOUT_TOTAL, connect=defaults.TIMEOUT_CONNECT
        )
        self._version = check_version(version)
        self._user_agent = user_agent

    async def post_form(
        self,
        path: str,
        form: Mapping[str, str],
        *,
        bearer: str | None = None,
        version: bool | str = False,
        as_json: bool = False,
    ) -> tuple[int, bytes]:
        """POST ``form`` url-encoded (or as JSON) to ``base_url + path``; return status, body."""
        headers = {"Accept": "application/json", "User-Agent": self._user_agent}
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        if version is True:
            headers["Version"] = self._version
        elif isinstance(version, str):
            headers["Version"] = check_version(version)
        payload = {"json": dict(form)} if as_json else {"data": dict(form)}
        try:
            # No redirects: a 307 would resend the client secret to wherever it points.
            async with self._session.post(
                self._base_url + path,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
                **payload,
            ) as response:
                # Token answers hold secrets: an oversized one keeps no prefix.
                body = await read_body(
                    response,
                    self._max_response_size,
                    inflate=not getattr(self._session, "auto_decompress", True),
                    operation=f"POST {path}",
                    keep_prefix=False,
                )
                return TokenReply(
                    response.status, body, parse_retry_after(response.headers.get("Retry-After"))
                )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as err:
            # The same classification as the request pipeline: whether the form may have left
            # this machine decides whether a refresh token may have been spent.
            outcome = outcome_of(err)
            if outcome.timeout:
                raise RequestTimeout(f"POST {path} timed out", sent=outcome.sent) from err
            if not outcome.sent:
                raise TransportError(
                    f"cannot connect for POST {path}: {type(err).__name__}", sent=False
                ) from err
            raise TransportError(f"POST {path} failed: {type(err).__name__}") from err

    @property
    def base_url(self) -> str:
        """The root the token endpoints are posted to."""
        return self._base_url

    def __repr__(self) -> str:
        return f"AiohttpTokenTransport(base_url={self._base_url!r})"


def check_version(version: object) -> str:
    """Return ``version`` if this SDK speaks it (``2021-07-28``, ``v3``), else raise.

    Raises:
        ConfigError: any other value (a typo would send a header HighLevel rejects, or worse,
            one whose shapes differ from what this SDK sends).
    """
    if version not in defaults.API_VERSIONS:
        raise ConfigError(
            f"unknown API version {version!r}: use one of {', '.join(defaults.API_VERSIONS)}"
        )
    return str(version)


class OAuthApp:
    """A HighLevel Marketplace app: consent URL, code exchange, refresh, agency location tokens.

    ``user_type="Location"`` (default) works with sub-account tokens, one per location, each
    saved under ``"location:<id>"``. ``user_type="Company"`` holds an agency token (saved under
    ``"company:<id>"``) and mints a location token for each ``location_id`` a call names
    (``POST /oauth/locationToken``), caching it under ``"location:<id>"``; a location token
    that cannot be refreshed is minted again. A call without a location gets the token of the
    location (Location) or company (Company) of the last ``exchange_code``, or of ``company_id=``.

    Tokens are refreshed ``refresh_skew`` seconds before they expire, and once after a 401.
    ``store`` must be per-key: ``lock(a)`` never waits for ``lock(b)`` (a location refresh may
    need the company token).

    ``api_version`` picks the token endpoints' dialect: ``"2021-07-28"`` (default; form bodies,
    snake_case fields, ``/oauth/locationToken``) or ``"v3"`` (``Version: v3``, JSON bodies with
    camelCase fields, ``/oauth/location-token``). It does not limit which routes a client
    calls with the tokens: a token works for v2 and v3 routes alike.

    Where token calls go, first match wins: the ``transport=``/``base_url=`` given to
    :meth:`exchange_code`; the app's own ``base_url`` (e.g. a ``FakeHighLevel`` URL); the client
    the app is bound to (its session and ``base_url``); HighLevel's API. With an app
    ``base_url`` that differs from the bound client's, each token call opens a short-lived
    session of its own. A refresh with neither an app ``base_url`` nor a bound client raises
    :class:`~ghl_async.errors.ConfigError` rather than guess.

    Raises:
        ConfigError: a setting is invalid (an unknown ``api_version`` included).
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        store: TokenStore,
        redirect_uri: str | None = None,
        scopes: Sequence[str] = (),
        user_type: UserType = "Location",
        refresh_skew: float = defaults.REFRESH_SKEW,
        chooser_url: str = defaults.CHOOSER_URL,
        company_id: str | None = None,
        api_version: ApiVersion = "2021-07-28",
        base_url: str | None = None,
    ) -> None:
        self.api_version: ApiVersion = "v3" if check_version(api_version) == "v3" else (
            "2021-07-28"
        )
        if not client_id or not client_secret:
            raise ConfigError("OAuthApp needs client_id and client_secret")
        if user_type not in ("Location", "Company"):
            raise ConfigError(f"user_type must be 'Location' or 'Company', not {user_type!r}")
        if refresh_skew < 0:
            raise ConfigError("refresh_skew must be >= 0 seconds")
        if not isinstance(store, TokenStore):
            raise ConfigError(f"store must implement TokenStore, got {type(store).__name__}")
        self.client_id = client_id
        self._client_secret = client_secret
        self.store = store
        self.redirect_uri = redirect_uri
        # A single string is a common slip; joining its characters would make a bogus scope.
        self.scopes = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
        self.user_type: UserType = user_type
        self.refresh_skew = refresh_skew
        self.chooser_url = chooser_url
        self.company_id = company_id
        self.base_url = None if base_url is None else _check_url("base_url", base_url)
        self.default_location_id: str | None = None
        self._transport: TokenTransport | None = None
        self._cache: dict[str, Token] = {}
        self._dead: dict[str, str] = {}  # key -> the access token a 401 rejected
        self._unsaved: dict[str, Token] = {}  # key -> a new pair whose save failed
        self._refused: dict[str, str] = {}  # key -> a refresh token answered by invalid_grant
        self._flights: dict[str, asyncio.Future[Token]] = {}

    def __repr__(self) -> str:
        where = "" if self.base_url is None else f", base_url={self.base_url!r}"
        return (
            f"OAuthApp(client_id={self.client_id!r}, user_type={self.user_type!r}, "
            f"scopes={' '.join(self.scopes)!r}, api_version={self.api_version!r}, "
            f"store={self.store!r}{where})"
        )

    def authorization_url(self, state: str | None = None) -> str:
        """Build the consent ("choose location") URL to send the installing user to.

        HighLevel then redirects to ``redirect_uri?code=...``; pass that code to
        :meth:`exchange_code`. ``state`` is passed through for CSRF protection.
        """
        params = {"response_type": "code"}
        if self.redirect_uri:
            params["redirect_uri"] = self.redirect_uri
        params["client_id"] = self.client_id
        if self.scopes:
            params["scope"] = " ".join(self.scopes)
        if state is not None:
            params["state"] = state
        joiner = "&" if "?" in self.chooser_url else "?"
        return self.chooser_url + joiner + urlencode(params, quote_via=quote)

    def bind(self, transport: TokenTransport) -> None:
        """Send token calls through ``transport``; the last client to bind wins."""
        self._transport = transport

    async def exchange_code(
        self,
        code: str,
        *,
        transport: TokenTransport | None = None,
        base_url: str | None = None,
    ) -> Token:
        """Exchange an authorization code for tokens, save them and return them.

        Sends through ``transport`` if given, else to ``base_url`` if given, else as the app's
        token calls go (its ``base_url``, its bound client, HighLevel's API). Without a usable
        bound client it opens a short-lived aiohttp session.
        The token becomes the default for calls that name no location (or company).

        Raises:
            ReauthorizationRequired: HighLevel refused the code (``invalid_grant``: used,
                expired, or another redirect URI or user type); the message quotes its reason.
            TokenRefreshError: any other refusal, or no answer after the code was sent.
        """
        if not code:
            raise ConfigError("exchange_code needs the code from the OAuth redirect")
        form = self._grant_form("authorization_code", code=code, user_type=self.user_type)
        if self.redirect_uri:
            form[self._field("redirect_uri")] = self.redirect_uri
        if transport is not None and base_url is not None:
            raise ConfigError("pass transport= or base_url=, not both")
        if base_url is not None:
            base_url = _check_url("base_url", base_url)
        return await _run_to_completion(self._exchange(form, transport, base_url))

    async def _exchange(
        self, form: dict[str, str], transport: TokenTransport | None, base_url: str | None
    ) -> Token:
        if transport is None:
            async with self._channel(base_url, fallback=defaults.BASE_URL) as channel:
                token = await self._token_call(channel, "oauth.exchange_code", TOKEN_PATH, form)
        else:
            token = await self._token_call(transport, "oauth.exchange_code", TOKEN_PATH, form)
        key = _key_of(token)
        async with self.store.lock(key):
            await self.store.save(key, token)
        self._adopt(key, token)
        if token.user_type == "Company":
            self.company_id = token.company_id
        else:
            self.default_location_id = token.location_id
        log.debug("exchanged an authorization code for a %s token (%s)", token.user_type, key)
        return token

    async def access_token(self, location_id: str | None) -> str:
        """Return a valid access token for ``location_id``, refreshing or minting it if needed."""
        return (await self.token(location_id)).access_token

    def cached_token(self, location_id: str | None) -> str | None:
        """The access token for ``location_id`` if a usable one is at hand, else ``None``.

        The pipeline's synchronous fast path: a token that needs no refresh, mint or wait is
        taken without a coroutine; ``None`` sends the caller to :meth:`access_token`.
        """
        key = self._key(location_id)
        cached = self._cache.get(key)
        if cached is not None and self._usable(key, cached):
            return cached.access_token
        return None

    async def token(self, location_id: str | None = None) -> Token:
        """Return the current :class:`Token` for ``location_id``, refreshed if needed."""
        key = self._key(location_id)
        cached = self._cache.get(key)
        if cached is not None and self._usable(key, cached):
            return cached
        flight = self._flights.get(key)
        if flight is None:
            # One renewal per key; every caller awaits it. shield(): a caller's cancellation
            # must not abort a refresh whose request may already have spent the refresh token.
            flight = asyncio.ensure_future(self._renew(key))
            self._flights[key] = flight
            flight.add_done_callback(lambda done: self._land(key, done))
        return await asyncio.shield(flight)

    def _land(self, key: str, flight: asyncio.Future[Token]) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]
        if not flight.cancelled():
            flight.exception()  # mark retrieved: every waiter may have been cancelled

    async def invalidate(self, location_id: str | None, token: str) -> bool:
        """Mark ``token`` rejected; return True if a new token may be obtained.

        Concurrent 401s with the same token cause one renewal; a 401 with a token that was
        already replaced returns True at once.
        """
        key = self._key(location_id)
        cached = self._cache.get(key)
        if cached is not None and cached.access_token != token:
            return True
        self._dead[key] = token
        if self._mints(key) or cached is None:
            return True
        return cached.refresh_token is not None

    def rate_key(self, location_id: str | None) -> str:
        """Return the location id, else the default location or company id."""
        return location_id or self._default_id() or "default"

    def _default_id(self) -> str | None:
        if self.user_type == "Company":
            return self.company_id
        return self.default_location_id

    def _key(self, location_id: str | None) -> str:
        if location_id:
            return f"location:{location_id}"
        if self.user_type == "Company":
            if not self.company_id:
                raise ConfigError(
                    "OAuthApp(user_type='Company') needs company_id=... or a prior exchange_code()"
                )
            return f"company:{self.company_id}"
        if not self.default_location_id:
            raise ConfigError("no location_id: pass location_id= to the client or to the call")
        return f"location:{self.default_location_id}"

    def _mints(self, key: str) -> bool:
        return self.user_type == "Company" and key.startswith("location:")

    def _usable(self, key: str, token: Token) -> bool:
        return self._dead.get(key) != token.access_token and not token.expires_within(
            self.refresh_skew
        )

    def _adopt(self, key: str, token: Token) -> None:
        self._cache[key] = token
        if self._dead.get(key) != token.access_token:
            self._dead.pop(key, None)
        if self._refused.get(key) != token.refresh_token:
            self._refused.pop(key, None)

    async def _renew(self, key: str) -> Token:
        async with self.store.lock(key):
            current = self._unsaved.get(key)
            if current is not None:
                await self.store.save(key, current)
                del self._unsaved[key]
            else:
                current = await self.store.load(key)
            if current is not None and self._usable(key, current):
                self._adopt(key, current)  # another process renewed it while we waited
                return current
            fresh = await self._obtain(key, current)
            try:
                await self.store.save(key, fresh)
            except Exception:
                # Keep the pair: its refresh token is the only live one. Saved on the next try.
                self._unsaved[key] = fresh
                log.warning("could not save the renewed token for %s; will retry", key)
                raise
            self._adopt(key, fresh)
            return fresh

    async def _obtain(self, key: str, current: Token | None) -> Token:
        kind, ident = key.split(":", 1)
        refusal: ReauthorizationRequired | None = None
        spent = self._refused.get(key)
        if current is not None and spent is not None and current.refresh_token == spent:
            # Refused before: sending it again cannot succeed, and a spent token stays unsent.
            refusal = _reauthorize(kind, ident, "its refresh token was refused (invalid_grant)")
        elif current is not None and current.refresh_token:
            try:
                return await self._refresh(current)
            except TokenRefreshError as err:
                if isinstance(err, ReauthorizationRequired):
                    self._refused[key] = current.refresh_token
                if not self._mints(key):
                    raise
                log.info(
                    "refreshing the token of location %s failed (%s); minting a new one from "
                    "the company token",
                    ident,
                    type(err).__name__,
                )
        if self._mints(key):
            return await self._mint(ident)
        if current is None:
            raise ConfigError(
                f"no OAuth token stored for {kind} {ident!r}: send the user through "
                "authorization_url() and exchange_code() first"
            )
        raise refusal or _reauthorize(kind, ident, "it has no refresh token")

    async def _refresh(self, current: Token) -> Token:
        assert current.refresh_token is not None
        form = self._grant_form(
            "refresh_token",
            refresh_token=current.refresh_token,
            user_type=current.user_type or self.user_type,
        )
        log.debug(
            "refreshing the %s token of %s",
            current.user_type,
            current.location_id or current.company_id,
        )
        async with self._channel() as channel:
            fresh = await self._token_call(channel, "oauth.refresh", TOKEN_PATH, form)
        # Not every answer repeats every field; an absent refresh token was not rotated.
        return msgspec.structs.replace(
            fresh,
            refresh_token=fresh.refresh_token or current.refresh_token,
            scope=fresh.scope or current.scope,
            user_type=fresh.user_type or current.user_type,
            location_id=fresh.location_id or current.location_id,
            company_id=fresh.company_id or current.company_id,
            user_id=fresh.user_id or current.user_id,
        )

    async def _mint(self, location_id: str) -> Token:
        log.debug("minting a location token for %s from the company token", location_id)
        for attempt in (1, 2):
            company = await self.token(None)
            # The same two camelCase fields in both versions; form-encoded in both (the only
            # body oauth-v3.json declares for this endpoint).
            form = {
                "companyId": company.company_id or self.company_id or "",
                "locationId": location_id,
            }
            v3 = self.api_version == "v3"
            try:
                async with self._channel() as channel:
                    fresh = await self._token_call(
                        channel,
                        "v3.oauth.location_token" if v3 else "oauth.location_token",
                        LOCATION_TOKEN_PATH_V3 if v3 else LOCATION_TOKEN_PATH,
                        form,
                        bearer=company.access_token,
                        version=self.api_version,
                    )
            except TokenRefreshError as err:
                # The company token may have been revoked or expired early: renew it once.
                if err.status == 401 and attempt == 1:
                    await self.invalidate(None, company.access_token)
                    continue
                raise
            return msgspec.structs.replace(
                fresh,
                user_type="Location",
                location_id=fresh.location_id or location_id,
                company_id=fresh.company_id or company.company_id,
            )
        raise AssertionError("unreachable")  # pragma: no cover

    @contextlib.asynccontextmanager
    async def _channel(
        self, base_url: str | None = None, *, fallback: str | None = None
    ) -> AsyncIterator[TokenTransport]:
        """The transport of one token call: see the class docstring for the order."""
        url = base_url or self.base_url
        bound = self._transport
        # A bound client pointing elsewhere (or not saying where) is skipped for an explicit
        # URL: the app's own base_url is the more specific setting.
        if bound is not None and (url is None or getattr(bound, "base_url", None) == url):
            yield bound
            return
        url = url or fallback
        if url is None:
            raise ConfigError(
                "OAuthApp has no transport: use it through a Client, give it base_url=..., "
                "or call bind(AiohttpTokenTransport(session))"
            )
        log.debug("token call through a short-lived session to %s", url)
        async with aiohttp.ClientSession() as http:
            yield AiohttpTokenTransport(http, base_url=url)

    def _field(self, name: str) -> str:
        """A token request field as this app's API version spells it."""
        return _CAMEL.get(name, name) if self.api_version == "v3" else name

    def _grant_form(self, grant_type: str, **fields: str) -> dict[str, str]:
        form = {
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "grant_type": grant_type,
            **fields,
        }
        return {self._field(name): value for name, value in form.items()}

    async def _token_call(
        self,
        transport: TokenTransport,
        operation: str,
        path: str,
        form: Mapping[str, str],
        *,
        bearer: str | None = None,
        version: bool | str = False,
    ) -> Token:
        # A minted location token spends nothing; a code or refresh token is single-use.
        spends_grant = path == TOKEN_PATH
        as_json = False
        if spends_grant and self.api_version == "v3":
            # v3's token endpoint wants its Version header and takes JSON (oauth-v3.json).
            version, as_json = "v3", True
        secrets = [v for k, v in form.items() if k in _SECRET_FIELDS]
        if bearer is not None:
            secrets.append(bearer)
        attempt = 0
        earlier: str | None = None  # the first failure that may have spent the grant
        while True:
            try:
                if as_json:
                    answer = await transport.post_form(
                        path, form, bearer=bearer, version=version, as_json=True
                    )
                else:  # a TokenTransport written before v3 need not know `as_json`
                    answer = await transport.post_form(path, form, bearer=bearer, version=version)
            except ResponseTooLargeError as err:
                raise TokenRefreshError(
                    status=err.status,
                    operation=operation,
                    method="POST",
                    url=path,
                    messages=[
                        f"the token endpoint answered with more than {err.limit:,} bytes; "
                        "nothing of it was used"
                    ],
                ) from err
            except TransportError as err:
                outcome = Outcome(sent=err.sent, timeout=isinstance(err, RequestTimeout))
                decision = decide(outcome, attempt, "idempotent", TOKEN_RETRY)
                cause = type(err).__name__
                if decision.action == "retry" and decision.delay is not None:
                    earlier = earlier or (cause if err.sent else None)
                    await _token_pause(operation, cause, attempt, decision.delay)
                    attempt += 1
                    continue
                if not err.sent or not spends_grant:
                    raise
                raise TokenRefreshError(
                    status=0,
                    operation=operation,
                    method="POST",
                    url=path,
                    messages=[
                        f"no answer from the token endpoint ({cause}) after {attempt + 1} "
                        "attempt(s); the grant may have been used"
                    ],
                ) from err
            status, body = answer
            if 200 <= status < 300:
                break
            retry_after = getattr(answer, "retry_after", None)
            decision = decide(
                Outcome(status=status, retry_after=retry_after), attempt, "idempotent", TOKEN_RETRY
            )
            if decision.action != "retry" or decision.delay is None:
                raise _token_error(status, body, operation, path, secrets, earlier=earlier)
            if status != 429:
                earlier = earlier or f"HTTP {status}"  # a 5xx may come after the grant was used
            await _token_pause(operation, f"HTTP {status}", attempt, decision.delay)
            attempt += 1
        try:
            return _decode_token(body)
        except (msgspec.DecodeError, ValueError) as err:
            # The body may hold tokens: never keep it on the exception. Not resent: a 2xx means
            # the grant was used, and its new pair is what could not be read.
            raise TokenRefreshError(
                status=status,
                operation=operation,
                method="POST",
                url=path,
                messages=[f"unreadable token response: {_scrub(str(err), secrets)}"],
            ) from err


async def _token_pause(operation: str, cause: str, attempt: int, delay: float) -> None:
    log.info(
        "%s: %s; retry %d of %d in %.2f s",
        operation,
        cause,
        attempt + 1,
        TOKEN_RETRY.max_retries,
        delay,
    )
    await asyncio.sleep(delay)


_SECRET_FIELDS = frozenset(
    {"client_secret", "refresh_token", "code", "clientSecret", "refreshToken"}
)
# v3 token request fields (GetAccessTokenBodyDto): the v2 names in camelCase.
_CAMEL = {
    "client_id": "clientId",
    "client_secret": "clientSecret",
    "grant_type": "grantType",
    "refresh_token": "refreshToken",
    "user_type": "userType",
    "redirect_uri": "redirectUri",
}


async def _run_to_completion(work: Awaitable[T]) -> T:
    # The task finishes (and saves the new token) even if the caller is cancelled meanwhile.
    task = asyncio.ensure_future(work)
    task.add_done_callback(lambda done: done.cancelled() or done.exception())
    return await asyncio.shield(task)


def _check_url(name: str, value: object) -> str:
    if (
        not isinstance(value, str)
        or not value.startswith(("http://", "https://"))
        or any(c.isspace() for c in value)
    ):
        raise ConfigError(f"{name} must be an http(s) URL, not {value!r}")
    return value.rstrip("/")


def _reauthorize(kind: str, ident: str, why: str) -> ReauthorizationRequired:
    return ReauthorizationRequired(
        status=401,
        operation="oauth.refresh",
        method="POST",
        url=TOKEN_PATH,
        messages=[
            f"the token of {kind} {ident} cannot be renewed ({why}): re-authorise the app "
            "(send the user to authorization_url(), then exchange_code())"
        ],
    )


def _key_of(token: Token) -> str:
    if token.user_type == "Company" and token.company_id:
        return f"company:{token.company_id}"
    if token.location_id:
        return f"location:{token.location_id}"
    if token.company_id:
        return f"company:{token.company_id}"
    raise TokenRefreshError(
        status=200,
        operation="oauth.exchange_code",
        method="POST",
        url=TOKEN_PATH,
        messages=["the token response names neither a locationId nor a companyId"],
    )


class _TokenWire(msgspec.Struct, kw_only=True):
    """A token response in v2 (snake_case tokens, camelCase ids) or v3 (all camelCase) form."""

    access_token: str | None = None
    access_token_camel: str | None = msgspec.field(default=None, name="accessToken")
    refresh_token: str | None = None
    refresh_token_camel: str | None = msgspec.field(default=None, name="refreshToken")
    expires_in: float | None = None
    expires_in_camel: float | None = msgspec.field(default=None, name="expiresIn")
    scope: str | list[str] | None = None
    user_type: str | None = msgspec.field(default=None, name="userType")
    user_type_snake: str | None = msgspec.field(default=None, name="user_type")
    location_id: str | None = msgspec.field(default=None, name="locationId")
    location_id_snake: str | None = msgspec.field(default=None, name="location_id")
    company_id: str | None = msgspec.field(default=None, name="companyId")
    company_id_snake: str | None = msgspec.field(default=None, name="company_id")
    user_id: str | None = msgspec.field(default=None, name="userId")
    user_id_snake: str | None = msgspec.field(default=None, name="user_id")


_WIRE_DECODER = msgspec.json.Decoder(_TokenWire, strict=False)


def _decode_token(body: bytes, *, now: float | None = None) -> Token:
    wire = _WIRE_DECODER.decode(body)
    access = wire.access_token or wire.access_token_camel
    if not access:
        raise ValueError("no access token in the response")
    expires_in = wire.expires_in if wire.expires_in is not None else wire.expires_in_camel
    issued = time.time() if now is None else now
    scope = " ".join(wire.scope) if isinstance(wire.scope, list) else (wire.scope or "")
    return Token(
        access_token=access,
        refresh_token=wire.refresh_token or wire.refresh_token_camel,
        expires_at=None if expires_in is None else issued + expires_in,
        scope=scope,
        user_type=wire.user_type or wire.user_type_snake,
        location_id=wire.location_id or wire.location_id_snake,
        company_id=wire.company_id or wire.company_id_snake,
        user_id=wire.user_id or wire.user_id_snake,
    )


class _AipError(msgspec.Struct, kw_only=True):
    """v3's AIP error body, ``{"error": {"code", "message", "details", "resolution"}}``."""

    code: str | None = None
    message: str | None = None
    details: dict[str, object] | None = None
    resolution: str | None = None


class _ErrorWire(msgspec.Struct, kw_only=True):
    error: str | _AipError | None = None
    error_description: str | None = None
    message: str | list[str] | None = None
    trace_id: str | None = msgspec.field(default=None, name="traceId")


# v3 words a spent or unknown grant "Invalid grant: ..." (oauth-v3.json examples).
_INVALID_GRANT = re.compile(r"invalid[_ ]grant", re.IGNORECASE)


def _token_error(
    status: int,
    body: bytes,
    operation: str,
    path: str,
    secrets: Sequence[str],
    *,
    earlier: str | None = None,
) -> TokenRefreshError:
    body = _scrub_bytes(body, secrets)
    try:
        wire = msgspec.json.decode(body, type=_ErrorWire, strict=False)
    except (msgspec.DecodeError, msgspec.ValidationError):
        wire = _ErrorWire()
    # HighLevel's own words first: they name the real cause (a suspended location, a user type
    # that does not match the install, ...), which no hint of ours can guess.
    messages = [wire.message] if isinstance(wire.message, str) else list(wire.message or [])
    if wire.error_description:
        messages.insert(0, wire.error_description)
    aip = wire.error if isinstance(wire.error, _AipError) else None
    error = wire.error if isinstance(wire.error, str) else None
    if aip is not None:
        messages += [text for text in (aip.message, aip.resolution) if text]
        error = aip.code
    messages = [_scrub(str(m), secrets) for m in messages]
    invalid_grant = error == "invalid_grant" or any(_INVALID_GRANT.search(m) for m in messages)
    if not messages and isinstance(error, str) and error:
        messages.append(_scrub(error, secrets))
    cls: type[TokenRefreshError] = TokenRefreshError
    if invalid_grant and 400 <= status < 500:
        cls = ReauthorizationRequired
        messages.append(_INVALID_GRANT_HINTS.get(operation, _INVALID_GRANT_HINTS["oauth.refresh"]))
        if earlier is not None:
            messages.append(
                f"an earlier attempt of this call ended in {earlier} and may have used it"
            )
    return cls(
        status=status,
        operation=operation,
        method="POST",
        url=path,
        messages=messages,
        error=error,
        trace_id=wire.trace_id,
        body=body,
        code=None if aip is None else aip.code,
        details=None if aip is None else aip.details,
        resolution=None if aip is None else aip.resolution,  # from the scrubbed body
    )


_INVALID_GRANT_HINTS = {
    "oauth.exchange_code": (
        "HighLevel refused the authorization code (invalid_grant): a code works once, for a few "
        "minutes, and only with the redirect_uri and user_type of its install "
        "(OAuthApp(user_type='Company') for an agency install); re-authorise to get a new code "
        "(send the user to authorization_url())"
    ),
    "oauth.refresh": (
        "HighLevel refused the refresh token (invalid_grant): re-authorise the app "
        "(send the user to authorization_url(), then exchange_code())"
    ),
}


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, _REDACTED)
    return text


def _scrub_bytes(body: bytes, secrets: Sequence[str]) -> bytes:
    for secret in secrets:
        if secret:
            body = body.replace(secret.encode(), _REDACTED.encode())
    return body

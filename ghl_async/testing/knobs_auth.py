"""Credentials and wiring: tokens, codes, installs, and clients already pointed at the fake."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypedDict
from urllib.parse import urlencode

import aiohttp

from ghl_async import defaults
from ghl_async.errors import ConfigError
from ghl_async.testing.core import FakeCore
from ghl_async.testing.installs import install, uninstall
from ghl_async.testing.oauth import UserType

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ghl_async.auth import ApiVersion, Auth, OAuthApp, TokenStore
    from ghl_async.client import Client
    from ghl_async.hooks import Hooks
    from ghl_async.ratelimit import RateBudget, RateLimit, Unlimited

# The client side (ghl_async.client, .auth, .ratelimit) is imported when a knob needs it: a fake
# that serves other clients should not carry ours, nor make the cyclic GC walk its objects.

__all__ = ["DEFAULT_REDIRECT_URI", "AuthKnobs", "ClientOptions", "IssuedToken"]

DEFAULT_REDIRECT_URI: Final = "http://127.0.0.1/oauth/callback"
"""The redirect URI the fake's app is registered with (loopback URIs on any port work too)."""


class ClientOptions(TypedDict, total=False):
    """Keyword arguments of :class:`ghl_async.Client` that :meth:`AuthKnobs.client` passes on."""

    location_id: str | None
    company_id: str | None
    base_url: str
    version: str
    timeout: aiohttp.ClientTimeout | float | None
    max_retries: int
    backoff_base: float
    backoff_max: float
    retry_after_cap: float
    rate_limit: RateLimit | Unlimited | RateBudget | None
    reconcile_writes: bool
    reconcile_settle: float
    max_response_size: int
    session: aiohttp.ClientSession | None
    connector_limit: int | None
    connector_limit_per_host: int | None
    user_agent: str | None
    hooks: Hooks | None


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


class AuthKnobs(FakeCore):
    """Addresses, credentials, OAuth knobs, installs, and ready-made clients."""

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

    def url(self, path: str) -> str:
        """``base_url`` + ``path``."""
        return self.base_url + path

    @property
    def chooser_url(self) -> str:
        """The fake consent page, ``GET /oauth/chooselocation`` (``/v2/oauth/...`` works too).

        Give it to ``OAuthApp(chooser_url=...)``. It consents at once: a 302 to
        ``redirect_uri?code=...`` (plus ``state`` when given), installing the app on the
        default location. Two query parameters of its own stand for what a user would click:
        ``user_type=Company`` for an agency-level install, ``location_id=...`` for another
        location; :meth:`chooser_url_for` builds them in.
        """
        return f"{self.base_url}/oauth/chooselocation"

    def chooser_url_for(
        self, user_type: UserType = "Location", *, location_id: str | None = None
    ) -> str:
        """:attr:`chooser_url` preset to install as ``user_type`` (on ``location_id``).

        ``OAuthApp(chooser_url=fake.chooser_url_for("Company"), user_type="Company")`` is an
        agency app whose consent page installs it at agency level.
        """
        if user_type not in ("Location", "Company"):
            raise ConfigError(f"user_type must be 'Location' or 'Company', not {user_type!r}")
        params: dict[str, str] = {"user_type": user_type}
        if location_id is not None:
            self._sync(lambda: self._location(location_id))
            params["location_id"] = location_id
        return f"{self.chooser_url}?{urlencode(params)}"

    @property
    def private_token(self) -> str:
        """A private-integration token for the default location with both contacts scopes."""
        return self._private.value

    def headers(
        self, token: str | None = None, *, version: str = defaults.API_VERSION
    ) -> dict[str, str]:
        """``Authorization`` (the private token by default) and ``Version`` headers.

        ``version`` picks the API: ``"2021-07-28"`` (default) or ``"v3"``.
        """
        if version not in defaults.API_VERSIONS:
            raise ConfigError(
                f"unknown API version {version!r}: use one of {', '.join(defaults.API_VERSIONS)}"
            )
        return {"Authorization": f"Bearer {token or self.private_token}", "Version": version}

    @property
    def webhook_public_key(self) -> str | None:
        """The Ed25519 public key (PEM) that verifies the fake's webhooks, when enabled.

        Also served at ``GET /.well-known/ghl-fake/webhook-public-key`` and printed by
        ``python -m ghl_async.testing --webhook-url ...``.
        """
        return self.webhooks.public_key_pem if self.webhooks is not None else None

    # --- clients wired to the fake ----------------------------------------------------------

    def client_rate_limit(self) -> RateLimit | Unlimited:
        """A client rule matching the fake's burst rule, or ``RateLimit.unlimited()`` when the
        fake has none (no waiting, but the daily-quota bookkeeping stays on)."""
        from ghl_async.ratelimit import RateLimit

        rule = self.limiter.rule
        if rule is None:
            return RateLimit.unlimited()
        return RateLimit(requests=rule[0], period=rule[1])

    def client(self, *, auth: Auth | None = None, **overrides: Unpack[ClientOptions]) -> Client:
        """A :class:`ghl_async.Client` for this fake (not yet opened: use ``async with``).

        Defaults: the private-integration token of the default location, that location,
        :attr:`base_url`, and a ``rate_limit`` equal to the fake's own burst rule (unlimited when
        the fake's limit is off, so a test does not wait on a limit nobody enforces). Any
        keyword of ``Client`` overrides them, e.g. ``fake.client(max_retries=0)`` or
        ``fake.client(auth=fake.oauth_app())``.
        """
        from ghl_async.auth import StaticToken
        from ghl_async.client import Client

        location_id = overrides.get("location_id", self.location_id)
        options: ClientOptions = {
            "location_id": location_id,
            "base_url": self.base_url,
            "rate_limit": self.client_rate_limit(),
        }
        options.update(overrides)
        if auth is None:
            auth = StaticToken(self.private_token, location_id=location_id or self.location_id)
        return Client(auth=auth, **options)

    def oauth_app(
        self,
        user_type: UserType = "Location",
        *,
        store: TokenStore | None = None,
        scopes: Sequence[str] | None = None,
        location_id: str | None = None,
        api_version: ApiVersion = "2021-07-28",
    ) -> OAuthApp:
        """An :class:`~ghl_async.OAuthApp` registered with this fake.

        Its client id and secret, :data:`DEFAULT_REDIRECT_URI` (or the fake's
        ``redirect_uri``), and a consent page that installs it as ``user_type`` (on
        ``location_id``): ``authorization_url()`` then leads to a code for
        ``exchange_code()``. ``store`` defaults to a fresh ``MemoryTokenStore``; ``scopes`` to
        what the fake grants by default. ``api_version="v3"`` makes its token requests v3's
        (``Version: v3``, camelCase JSON, ``/oauth/location-token``).
        """
        from ghl_async.auth import MemoryTokenStore, OAuthApp

        return OAuthApp(
            client_id=self.client_id,
            client_secret=self.client_secret,
            store=store if store is not None else MemoryTokenStore(),
            redirect_uri=self.redirect_uri,
            scopes=tuple(scopes or ()),
            user_type=user_type,
            chooser_url=self.chooser_url_for(user_type, location_id=location_id),
            company_id=self.company_id if user_type == "Company" else None,
            api_version=api_version,
        )

    # --- OAuth knobs ------------------------------------------------------------------------

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
        for a Company; the default location. Like a consent, the first one for a location (or
        the agency) installs the app there and sends an ``INSTALL`` webhook.
        """

        def mint() -> str:
            grant = self._grant(scopes, user_type, location_id)
            code = self.tokens.mint_code(grant, redirect_uri, time.time())
            install(self, grant)
            return code

        return self._sync(mint)

    def issue_token(
        self,
        scopes: Sequence[str] | None = None,
        user_type: UserType = "Location",
        *,
        location_id: str | None = None,
        lifetime: float | None = None,
    ) -> IssuedToken:
        """Mint an access/refresh pair directly, skipping consent and code exchange."""

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

        The private-integration token does not expire. To kill one token mid-run instead,
        see :meth:`~ghl_async.testing.knobs_faults.FaultKnobs.revoke_early`.
        """
        return self._sync(lambda: self.tokens.expire_all(time.time()))

    def revoke_tokens(self, *, private: bool = True) -> None:
        """Kill every access and refresh token (a refresh then gets ``invalid_grant``).

        ``private=False`` spares the private-integration token.
        """
        self._sync(lambda: self.tokens.revoke_all(private=private))

    def uninstall(self, location_id: str | None = None, *, company: bool = False) -> int:
        """Uninstall the app from a location (default: the default one) or, with
        ``company=True``, from the agency; returns how many access tokens died.

        Every OAuth token of that install is revoked (an agency uninstall takes the location
        tokens minted from it too) and an ``UNINSTALL`` webhook is sent when the fake has a
        webhook URL. The private-integration token is not an install and keeps working.
        """
        if company and location_id is not None:
            raise ConfigError("pass location_id or company=True, not both")

        def run() -> int:
            if company:
                return uninstall(self, "Company", self.company_id)
            return uninstall(self, "Location", self._location(location_id).id)

        return self._sync(run)

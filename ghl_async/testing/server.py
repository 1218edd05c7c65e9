"""FakeHighLevel: construction, lifecycle (in-process, on a thread), and its sections together.

The class is assembled from modules named after their job:

* :mod:`~ghl_async.testing.pipeline` — the aiohttp app, routing, the per-request steps, faults
  and the request log; :mod:`~ghl_async.testing.apis` picks the API version (and its handlers
  in :mod:`~ghl_async.testing.handlers`) by the ``Version`` header;
* :mod:`~ghl_async.testing.oauth_http` — token endpoint, location tokens, consent page
  (grant logic in :mod:`~ghl_async.testing.oauth`, installs in
  :mod:`~ghl_async.testing.installs`);
* the knobs: :mod:`~ghl_async.testing.knobs_faults` (faults and the chaos profile),
  :mod:`~ghl_async.testing.knobs_auth` (credentials, OAuth, installs, ready-made clients),
  :mod:`~ghl_async.testing.knobs_state` (rate limits, locations, seed data, inspection, log);
* :mod:`~ghl_async.testing.core` — the state they share.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import threading
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, TypedDict

from aiohttp import web

from ghl_async import defaults
from ghl_async.errors import ConfigError
from ghl_async.testing.chaos import Ingredient
from ghl_async.testing.faults import FaultPlan, RequestLog
from ghl_async.testing.knobs_auth import DEFAULT_REDIRECT_URI, AuthKnobs, IssuedToken
from ghl_async.testing.knobs_faults import FaultKnobs
from ghl_async.testing.knobs_state import ContactsView, StateKnobs
from ghl_async.testing.oauth import LOCATION_SCOPES, Grant, TokenRegistry
from ghl_async.testing.oauth_http import OAuthEndpoints
from ghl_async.testing.pipeline import WEBHOOK_PUBLIC_KEY_PATH, Pipeline
from ghl_async.testing.ratelimit import RateLimiter, RateRule, parse_rate_rule
from ghl_async.testing.store import Store

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "WEBHOOK_PUBLIC_KEY_PATH",
    "ContactsView",
    "FakeHighLevel",
    "FakeOptions",
    "IssuedToken",
]


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
    faults: str | Mapping[Ingredient, float] | None
    log_payloads: bool


class FakeHighLevel(FaultKnobs, AuthKnobs, StateKnobs):
    """A stateful, strict fake of the HighLevel Contacts API (v2 and v3) and its OAuth endpoints.

    Use it in-process (``async with FakeHighLevel() as fake``), on a background thread
    (``with FakeHighLevel.serve_in_thread() as fake``), from the ``fake_highlevel`` pytest
    fixture, or standalone (``python -m ghl_async.testing --port 8080``). ``fake.client()``
    returns a :class:`ghl_async.Client` wired to it.

    Args:
        host: interface to bind (loopback by default).
        port: TCP port; 0 picks a free one.
        client_id: the app's client id (``<appId>-<suffix>``); generated when omitted.
        client_secret: the app's client secret; random when omitted.
        location_id: the default location; generated (deterministically from ``seed``).
        company_id: the agency owning every location; generated likewise.
        redirect_uri: the app's registered redirect URI (:data:`DEFAULT_REDIRECT_URI`).
            Loopback ``http`` URIs on any port are accepted too (RFC 8252 §7.3).
        token_lifetime: seconds an OAuth access token lives (HighLevel: 86399).
        camel_case_tokens: answer the token endpoint v3-style (``accessToken`` ...).
        rate_limit: the burst rule, ``(100, 10.0)`` or ``"100/10"``; ``None`` disables it.
        daily_limit: requests per location per UTC day; ``None`` disables it.
        retry_after_header: send ``Retry-After`` with rate-limit 429s (HighLevel's is unknown).
        allow_duplicates: the default location's "Allow Duplicate Contact" setting.
        webhook_url: deliver signed webhook events there (needs ``ghl-async[webhooks]``).
        seed: makes generated ids, seed data and fault draws reproducible.
        faults: a fault profile to start with, ``"heavy"`` (about 25% of requests) or
            ``"light"``; see :meth:`chaos`.
        log_payloads: keep each request's headers (``Authorization`` redacted) and body in
            :attr:`requests` (``RequestRecord.headers``/``.body``). Off by default: a long run
            would keep a kilobyte or two per request.
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
        faults: str | Mapping[Ingredient, float] | None = None,
        log_payloads: bool = False,
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
        self.seed = seed
        self.client_id = client_id or f"{app_id}-{alnum(8).lower()}"
        self.app_id = self.client_id.split("-", 1)[0]
        self.client_secret = client_secret or os.urandom(16).hex()
        self.company_id = company_id or alnum(20)
        self.location_id = location_id or alnum(20)
        self.user_id = alnum(20)
        self.plan_id = f"{identity.getrandbits(96):024x}"
        self.redirect_uri = redirect_uri
        self.token_lifetime = float(token_lifetime)
        self.camel_case_tokens = camel_case_tokens
        self.retry_after_header = retry_after_header
        self.webhook_url = webhook_url
        self.log_payloads = log_payloads
        self.store = Store(seed=seed)
        self.store.add_location(
            self.location_id, self.company_id, allow_duplicates=allow_duplicates
        )
        self.tokens = TokenRegistry(token_lifetime=self.token_lifetime)
        self.limiter = RateLimiter(rule=parse_rate_rule(rate_limit), daily_limit=daily_limit)
        self.faults = FaultPlan()
        self.chaos_mix = None
        self.installs = set()
        self._log = RequestLog()
        self._private = self.tokens.mint_private(
            Grant("Location", self.company_id, self.location_id, LOCATION_SCOPES, self.user_id)
        )
        self.webhooks = None
        self._pipeline = Pipeline(self, OAuthEndpoints(self))
        self._app: web.Application | None = None
        self._runner: web.AppRunner | None = None
        self._base_url = None
        self._loop = None
        self._thread = None
        self._thread_ident = None
        if faults is not None:
            self.chaos(faults)

    def __repr__(self) -> str:
        where = self._base_url or "not started"
        return f"FakeHighLevel({where}, location_id={self.location_id!r})"

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def app(self) -> web.Application:
        """The aiohttp application (built on first access)."""
        if self._app is None:
            app = self._pipeline.build_app()
            app.on_startup.append(self._on_startup)
            app.on_cleanup.append(self._on_cleanup)
            self._app = app
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

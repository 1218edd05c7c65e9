"""The state every part of FakeHighLevel shares, and how other threads reach it.

:class:`FakeCore` is the base of :class:`~ghl_async.testing.FakeHighLevel` and of its knob
mixins; the pipeline and the OAuth endpoints hold a reference to it. The attributes are set by
``FakeHighLevel.__init__``; they are declared here so every section sees the same names.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from ghl_async.errors import ConfigError
from ghl_async.testing.faults import FaultPlan, RequestLog
from ghl_async.testing.oauth import (
    COMPANY_SCOPES,
    LOCATION_SCOPES,
    AccessToken,
    Grant,
    TokenRegistry,
    UserType,
)
from ghl_async.testing.ratelimit import RateLimiter
from ghl_async.testing.store import ContactRecord, LocationRecord, Store

if TYPE_CHECKING:
    from ghl_async.testing.chaos import Chaos
    from ghl_async.webhooks.emitter import WebhookEmitter

__all__ = ["FakeCore"]

T = TypeVar("T")


class FakeCore:
    """Identity, settings and state of one fake, plus marshalling onto its loop."""

    # Addresses and identity (fake credentials: printed by the CLI, safe to share).
    host: str
    port: int
    client_id: str
    app_id: str
    client_secret: str
    company_id: str
    location_id: str
    user_id: str
    plan_id: str
    redirect_uri: str
    # Settings.
    seed: int
    token_lifetime: float
    camel_case_tokens: bool
    retry_after_header: bool
    webhook_url: str | None
    log_payloads: bool  # the request log keeps headers and bodies
    # State.
    store: Store
    tokens: TokenRegistry
    limiter: RateLimiter
    faults: FaultPlan
    chaos_mix: Chaos | None
    installs: set[str]  # "location:<id>" / "company:<id>" where the app is installed
    webhooks: WebhookEmitter | None
    _log: RequestLog
    _private: AccessToken
    _base_url: str | None
    _loop: asyncio.AbstractEventLoop | None
    _thread: threading.Thread | None
    _thread_ident: int | None

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

    def _location(self, location_id: str | None) -> LocationRecord:
        found = self.store.locations.get(location_id or self.location_id)
        if found is None:
            raise ConfigError(f"unknown location {location_id!r}")
        return found

    def _record(self, contact_id: str) -> ContactRecord:
        record = self.store.contacts.get(contact_id)
        if record is None:
            raise KeyError(contact_id)
        return record

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

    def _emit(self, event_type: str, data: Mapping[str, object]) -> None:
        """Deliver a webhook when the fake has a webhook URL (on the server's loop)."""
        if self.webhooks is not None:
            self.webhooks.emit(event_type, data)

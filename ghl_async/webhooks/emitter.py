"""The sending half: deliver signed webhooks the way HighLevel does (used by FakeHighLevel).

Each event becomes one JSON body with ``type``, ``locationId``, ``timestamp``, ``webhookId`` and
``appId`` added, signed once with Ed25519 (``x-ghl-signature``) and optionally RSA
(``x-wh-signature``). Deliveries go out one at a time, in order, from a background task. Like
HighLevel, only a 429 answer causes redelivery (same body, same signature, same ``webhookId``),
but after short, configurable delays instead of ~10 minutes.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Final

import aiohttp
import msgspec

from ghl_async.errors import ConfigError
from ghl_async.webhooks.crypto import (
    Algorithm,
    KeyPair,
    generate_ed25519_keys,
    generate_rsa_keys,
    require_cryptography,
)

__all__ = ["DEFAULT_RETRY_DELAYS", "Delivery", "WebhookEmitter"]

logger = logging.getLogger("ghl_async.webhooks")

DEFAULT_RETRY_DELAYS: Final = (0.05, 0.1, 0.2, 0.4, 0.8)
"""Seconds before each redelivery after a 429: five retries, six tries in all, like HighLevel."""

_ED25519_ONLY: Final[tuple[Algorithm, ...]] = ("ed25519",)


@dataclass
class Delivery:
    """The log entry of one event: updated in place as attempts are made."""

    event_type: str
    webhook_id: str
    body: bytes = field(repr=False)
    status: int | None = None
    """The last HTTP status received; ``None`` until answered or when the request failed."""
    error: str | None = None
    """Why the last attempt got no HTTP answer (connection refused, timeout, closed emitter)."""
    attempts: int = 0
    done: bool = False
    """No further attempt will be made."""

    @property
    def ok(self) -> bool:
        """True when the receiver finally answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


class WebhookEmitter:
    """Send HighLevel-style signed webhooks to ``url``.

    The key pairs are made here, so the receiver under test is configured with
    :attr:`public_key_pem` (and :attr:`rsa_public_key_pem` when ``"rsa"`` is among
    ``signatures``). A ``session`` you pass is used and never closed; otherwise the emitter opens
    one on first delivery and closes it in :meth:`aclose`.

    Args:
        url: the receiver's endpoint.
        location_id: added as ``locationId`` when the event data has none.
        app_id: added as ``appId``.
        session: an aiohttp session to send with.
        retry_delays: seconds to wait before each redelivery after a 429.
        signatures: which headers to sign: ``"ed25519"`` (``x-ghl-signature``) and/or ``"rsa"``
            (legacy ``x-wh-signature``).
        timeout: seconds per attempt.

    Raises:
        CryptographyMissingError: the ``ghl-async[webhooks]`` extra is not installed.
    """

    def __init__(
        self,
        url: str,
        *,
        location_id: str,
        app_id: str = "fake-app",
        session: aiohttp.ClientSession | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        signatures: Collection[Algorithm] = _ED25519_ONLY,
        timeout: float = 10.0,
    ) -> None:
        require_cryptography()
        unknown = set(signatures) - {"ed25519", "rsa"}
        if unknown or not signatures:
            raise ConfigError(f"signatures must name 'ed25519' and/or 'rsa', got {signatures!r}")
        self.url = url
        self.location_id = location_id
        self.app_id = app_id
        self.retry_delays = tuple(retry_delays)
        self.signatures = tuple(signatures)
        self.deliveries: list[Delivery] = []
        self._session = session
        self._owns_session = session is None
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._ed25519 = generate_ed25519_keys()
        self._rsa: KeyPair | None = None
        self._queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def public_key_pem(self) -> str:
        """The Ed25519 public key (PEM) that verifies ``x-ghl-signature``."""
        return self._ed25519.public_key_pem

    @property
    def ed25519_keys(self) -> KeyPair:
        """The Ed25519 pair, e.g. to sign hand-made deliveries in tests."""
        return self._ed25519

    @property
    def rsa_keys(self) -> KeyPair:
        """The RSA pair for ``x-wh-signature``, generated on first use."""
        if self._rsa is None:
            self._rsa = generate_rsa_keys()
        return self._rsa

    @property
    def rsa_public_key_pem(self) -> str:
        """The RSA public key (PEM) that verifies ``x-wh-signature``."""
        return self.rsa_keys.public_key_pem

    def signed_headers(self, body: bytes) -> dict[str, str]:
        """The signature headers this emitter would send with ``body``."""
        headers = {"Content-Type": "application/json"}
        if "ed25519" in self.signatures:
            headers.update(self._ed25519.headers(body))
        if "rsa" in self.signatures:
            headers.update(self.rsa_keys.headers(body))
        return headers

    def emit(self, event_type: str, data: Mapping[str, object]) -> None:
        """Queue one event for delivery and return at once.

        ``data`` is the event's flat object as HighLevel's docs show it (contact fields, task or
        note fields, ``{"appointment": {...}}``). ``type`` is set to ``event_type``; ``locationId``,
        ``timestamp``, ``webhookId`` and ``appId`` are added unless ``data`` has them (tests pass
        an old ``timestamp`` or a repeated ``webhookId`` that way); ``"locationId": None`` leaves
        the key out (agency-level app events). Must be called from a running event loop.

        Raises:
            RuntimeError: the emitter is closed, or no event loop is running.
        """
        if self._closed:
            raise RuntimeError("WebhookEmitter is closed")
        loop = asyncio.get_running_loop()
        # ``type`` leads, as in HighLevel's bodies, and data cannot override it.
        payload: dict[str, object] = {"type": event_type, **data}
        payload["type"] = event_type
        if payload.setdefault("locationId", self.location_id) is None:
            del payload["locationId"]  # agency-level events (INSTALL/UNINSTALL) name no location
        payload.setdefault("timestamp", _now_iso())
        payload.setdefault("webhookId", str(uuid.uuid4()))
        payload.setdefault("appId", self.app_id)
        body = msgspec.json.encode(payload)
        delivery = Delivery(event_type=event_type, webhook_id=str(payload["webhookId"]), body=body)
        self.deliveries.append(delivery)
        self._queue.put_nowait(delivery)
        if self._task is None:
            self._task = loop.create_task(self._run(), name="ghl-webhook-emitter")

    async def drain(self) -> None:
        """Wait until every event emitted so far was delivered or given up on."""
        await self._queue.join()

    async def aclose(self) -> None:
        """Stop delivering (undelivered events are marked failed) and close an owned session."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for delivery in self.deliveries:
            if not delivery.done:
                delivery.done = True
                delivery.error = delivery.error or "emitter closed before delivery"
        if self._owns_session and self._session is not None:
            await self._session.close()

    async def _run(self) -> None:
        while True:
            delivery = await self._queue.get()
            try:
                await self._deliver(delivery)
            finally:
                self._queue.task_done()

    async def _deliver(self, delivery: Delivery) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = self.signed_headers(delivery.body)
        delays = iter(self.retry_delays)
        while True:
            delivery.attempts += 1
            try:
                async with self._session.post(
                    self.url, data=delivery.body, headers=headers, timeout=self._timeout
                ) as response:
                    await response.read()
                    delivery.status, delivery.error = response.status, None
            except (aiohttp.ClientError, asyncio.TimeoutError) as err:
                # HighLevel redelivers only on 429, so a failed connection is final too.
                delivery.status, delivery.error = None, f"{type(err).__name__}: {err}"
                logger.warning(
                    "webhook %s %s not delivered: %s",
                    delivery.event_type,
                    delivery.webhook_id,
                    delivery.error,
                )
                break
            if delivery.status != 429:
                break
            delay = next(delays, None)
            if delay is None:
                break
            await asyncio.sleep(delay)
        delivery.done = True


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")

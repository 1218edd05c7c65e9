"""Deciding whether a delivery is genuine, fresh and new; failing closed with a typed error."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import timezone
from typing import TYPE_CHECKING, TypeAlias

from ghl_async.errors import ConfigError
from ghl_async.webhooks import crypto
from ghl_async.webhooks.errors import (
    AppMismatchError,
    DuplicateEventError,
    PayloadError,
    SignatureError,
    StaleEventError,
)
from ghl_async.webhooks.events import Event, WebhookEvent, parse
from ghl_async.webhooks.keys import HIGHLEVEL_ED25519_PUBLIC_KEY, HIGHLEVEL_RSA_PUBLIC_KEY
from ghl_async.webhooks.seen import MemorySeenStore, SeenStore

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

__all__ = ["DEFAULT_TOLERANCE", "PublicKeys", "WebhookVerifier"]

DEFAULT_TOLERANCE = 300.0
"""Seconds an event's ``timestamp`` may differ from now: HighLevel suggests 5 minutes."""

PublicKeys: TypeAlias = str | bytes | Sequence[str | bytes]
"""One PEM public key, or several (e.g. old and new while HighLevel rotates its key)."""


def _pems(keys: PublicKeys) -> tuple[str | bytes, ...]:
    return (keys,) if isinstance(keys, (str, bytes)) else tuple(keys)


class WebhookVerifier:
    """Check a delivery's signature, freshness and novelty; every failure raises.

    ``x-ghl-signature`` (Ed25519) is checked when present, and only it: a bad Ed25519 signature is
    not rescued by a good legacy one. Otherwise ``x-wh-signature`` (RSA-SHA256) is checked, unless
    ``accept_rsa`` is false. The signature covers the raw body bytes, so pass the body exactly as
    received, before any JSON parsing.

    Args:
        ed25519_public_key: PEM key(s) for ``x-ghl-signature``; HighLevel's published key if
            omitted.
        rsa_public_key: PEM key(s) for ``x-wh-signature``; HighLevel's published key if omitted.
        accept_rsa: whether the legacy RSA header alone is enough.
        tolerance: seconds the body's ``timestamp`` may be from now; ``None`` skips the check
            (and then the ``timestamp`` is not required).
        dedupe: reject a ``webhookId`` seen before (and require one).
        seen_store: where seen ids are kept; an in-memory store by default.
        seen_ttl: how long ids are remembered; by default twice the tolerance plus a minute (an id
            older than that would fail the timestamp check anyway), or a day without tolerance.
        app_id: if set, events addressed to another ``appId`` are refused. HighLevel signs every
            app's deliveries with the same key; your app id is the part of the OAuth client id
            before the first ``-``.
        clock: the current Unix time, for tests.

    Raises:
        CryptographyMissingError: the ``ghl-async[webhooks]`` extra is not installed.
        ConfigError: a key is not a PEM public key of the right kind, or a setting is out of range.
    """

    def __init__(
        self,
        *,
        ed25519_public_key: PublicKeys | None = None,
        rsa_public_key: PublicKeys | None = None,
        accept_rsa: bool = True,
        tolerance: float | None = DEFAULT_TOLERANCE,
        dedupe: bool = True,
        seen_store: SeenStore | None = None,
        seen_ttl: float | None = None,
        app_id: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if tolerance is not None and tolerance <= 0:
            raise ConfigError("tolerance must be positive (or None to skip the timestamp check)")
        if seen_ttl is not None and seen_ttl <= 0:
            raise ConfigError("seen_ttl must be positive")
        crypto.require_cryptography()
        if ed25519_public_key is None:
            ed25519_public_key = HIGHLEVEL_ED25519_PUBLIC_KEY
        if rsa_public_key is None:
            rsa_public_key = HIGHLEVEL_RSA_PUBLIC_KEY
        self._ed25519: tuple[Ed25519PublicKey, ...] = tuple(
            crypto.load_ed25519_public_key(pem) for pem in _pems(ed25519_public_key)
        )
        if not self._ed25519:
            raise ConfigError("at least one Ed25519 public key is needed")
        self._rsa: tuple[RSAPublicKey, ...] = ()
        if accept_rsa:
            self._rsa = tuple(crypto.load_rsa_public_key(pem) for pem in _pems(rsa_public_key))
            if not self._rsa:
                raise ConfigError("at least one RSA public key is needed (or accept_rsa=False)")
        self.tolerance = tolerance
        self.dedupe = dedupe
        self.seen_store: SeenStore = seen_store if seen_store is not None else MemorySeenStore()
        if seen_ttl is None:
            seen_ttl = 86_400.0 if tolerance is None else 2 * tolerance + 60.0
        self.seen_ttl = seen_ttl
        self.app_id = app_id
        self._clock = clock

    def check_signature(self, body: bytes, headers: Mapping[str, str]) -> crypto.Algorithm:
        """Verify the signature header against ``body``; return which scheme matched.

        Raises:
            SignatureError: no usable header, or the signature is malformed or wrong.
        """
        ghl = _single_header(headers, crypto.ED25519_HEADER)
        if ghl is not None:
            crypto.verify_ed25519(self._ed25519, body, ghl)
            return "ed25519"
        legacy = _single_header(headers, crypto.RSA_HEADER)
        if legacy is not None and self._rsa:
            crypto.verify_rsa(self._rsa, body, legacy)
            return "rsa"
        if legacy is not None:
            raise SignatureError(
                f"only the legacy {crypto.RSA_HEADER} was sent and RSA is not accepted"
            )
        raise SignatureError(f"no {crypto.ED25519_HEADER} or {crypto.RSA_HEADER} header")

    def authenticate(self, body: bytes, headers: Mapping[str, str]) -> Event:
        """Check signature, app id and timestamp, then return the parsed event.

        Does not consult the seen-store; :meth:`verify` does.

        Raises:
            SignatureError: see :meth:`check_signature`.
            PayloadError: not a JSON object, or ``timestamp``/``webhookId`` missing (or of a
                shape the lenient decoder cannot read) where required.
            AppMismatchError: ``appId`` is not the configured ``app_id``.
            StaleEventError: ``timestamp`` is outside the window.
        """
        self.check_signature(body, headers)
        event = parse(body)
        if self.app_id is not None and event.app_id != self.app_id:
            raise AppMismatchError(
                f"event is for appId {event.app_id!r}, this receiver is {self.app_id!r}"
            )
        if self.dedupe and not event.webhook_id:
            raise PayloadError(
                "event has no webhookId, so replays could not be detected",
                event_type=event.type,
            )
        self._check_fresh(event)
        return event

    def _check_fresh(self, event: WebhookEvent) -> None:
        if self.tolerance is None:
            return
        if event.timestamp is None:
            raise PayloadError(
                "event has no ISO-8601 timestamp, so its age is unknown",
                webhook_id=event.webhook_id,
                event_type=event.type,
            )
        stamp = event.timestamp
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=timezone.utc)
        age = self._clock() - stamp.timestamp()
        if abs(age) > self.tolerance:
            direction = "old" if age > 0 else "in the future"
            raise StaleEventError(
                f"event timestamp is {abs(age):.0f}s {direction}; "
                f"the window is {self.tolerance:.0f}s",
                age=age,
            )

    async def remember(self, event: WebhookEvent) -> None:
        """Record the event's ``webhookId`` as accepted (no-op when ``dedupe`` is off).

        Raises:
            DuplicateEventError: it was already recorded.
        """
        if not self.dedupe or not event.webhook_id:
            return
        if not await self.seen_store.add(event.webhook_id, self.seen_ttl):
            raise DuplicateEventError(event.webhook_id)

    async def forget(self, event: WebhookEvent) -> None:
        """Undo :meth:`remember`, so a redelivery of this event is accepted."""
        if self.dedupe and event.webhook_id:
            await self.seen_store.discard(event.webhook_id)

    async def verify(self, body: bytes, headers: Mapping[str, str]) -> Event:
        """Authenticate a delivery and record it as seen; return the event.

        Raises:
            WebhookError: a subclass naming the reason (see :meth:`authenticate`), or
                :class:`DuplicateEventError` for a ``webhookId`` accepted before.
        """
        event = self.authenticate(body, headers)
        await self.remember(event)
        return event


def _single_header(headers: Mapping[str, str], name: str) -> str | None:
    values = [value for key, value in headers.items() if key.lower() == name]
    if len(values) > 1:
        raise SignatureError(f"{len(values)} {name} headers; expected one")
    return values[0] if values else None

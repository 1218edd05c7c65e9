"""Webhook exceptions: every way a delivery can be refused, each its own type.

::

    GHLError
    └── WebhookError
        ├── SignatureError            missing, malformed or wrong signature  -> 401
        ├── AppMismatchError          signed by HighLevel, but for another app -> 401
        ├── PayloadError              verified, but not a JSON object, or no timestamp/webhookId
        │                             where required -> 400 (logged at ERROR)
        ├── StaleEventError           ``timestamp`` outside the accepted window -> 400
        ├── DuplicateEventError       ``webhookId`` already seen -> 200, handlers not run
        └── CryptographyMissingError  the ``ghl-async[webhooks]`` extra is not installed

Messages never quote the body (it carries contacts' personal data) nor the signature.
"""

from __future__ import annotations

from ghl_async.errors import GHLError

__all__ = [
    "AppMismatchError",
    "CryptographyMissingError",
    "DuplicateEventError",
    "PayloadError",
    "SignatureError",
    "StaleEventError",
    "WebhookError",
]


class WebhookError(GHLError):
    """A webhook delivery was refused."""


class SignatureError(WebhookError):
    """The signature header is missing, malformed, or does not match the body."""


class AppMismatchError(WebhookError):
    """The delivery is genuine but addressed to another app (``appId`` differs).

    HighLevel signs every app's deliveries with the same key, so a signature alone does not
    prove the event was meant for you.
    """


class PayloadError(WebhookError):
    """The body is not a webhook event: not JSON, not an object, or lacking required fields.

    Raised after the signature was checked, so the delivery did come from HighLevel; a body
    that is JSON but has odd values is not an error (see :func:`~ghl_async.webhooks.parse`).
    """

    def __init__(
        self, message: str, *, webhook_id: str | None = None, event_type: str | None = None
    ) -> None:
        super().__init__(message)
        self.webhook_id = webhook_id
        """The delivery's ``webhookId`` when it could be read, for logs."""
        self.event_type = event_type
        """The delivery's ``type`` when it could be read, for logs."""


class StaleEventError(WebhookError):
    """The event's ``timestamp`` is further from now than the accepted window."""

    def __init__(self, message: str, *, age: float) -> None:
        super().__init__(message)
        self.age = age
        """Seconds between the event's timestamp and now (negative: from the future)."""


class DuplicateEventError(WebhookError):
    """An event with this ``webhookId`` was already accepted: a replay or a redelivery."""

    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"webhookId {webhook_id!r} was already accepted")
        self.webhook_id = webhook_id


class CryptographyMissingError(WebhookError, ImportError):
    """Signature work needs the optional ``cryptography`` package."""

    def __init__(self) -> None:
        super().__init__(
            "webhook signatures need the 'cryptography' package: "
            "pip install 'ghl-async[webhooks]'"
        )

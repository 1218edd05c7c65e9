"""Every exception ghl_async raises, and the table from HTTP status to exception class.

::

    GHLError
    ├── ConfigError                 bad or missing settings, raised before any I/O
    ├── TransportError              no HTTP response (DNS, refused, reset, TLS)
    │   ├── RequestTimeout          also a builtin TimeoutError
    │   └── AmbiguousWriteError     a non-idempotent write failed after it may have been applied
    ├── APIError                    .status .operation .method .url .messages .trace_id .body
    │   ├── BadRequestError 400         .rate_limit
    │   ├── AuthenticationError 401
    │   │   └── TokenRefreshError       the token endpoint refused a refresh or code exchange
    │   │       └── ReauthorizationRequired   invalid_grant: the user must authorise again
    │   ├── PermissionDeniedError 403   .scope names the scope the route needs
    │   ├── NotFoundError 404 (and HighLevel's 400 "... not found")
    │   ├── ConflictError 409
    │   ├── UnprocessableEntityError 422   .messages is HighLevel's list
    │   ├── RateLimitError 429          .retry_after
    │   └── ServerError 5xx
    ├── DecodeError                 a 2xx body did not match the model; keeps the raw bytes
    ├── PaginationError             a page did not advance
    ├── LockTimeoutError            a TokenStore lock was not obtained in time (also TimeoutError)
    └── WebhookError                (ghl_async.webhooks) SignatureError, AppMismatchError,
                                    PayloadError, StaleEventError, DuplicateEventError,
                                    CryptographyMissingError

No exception message or repr ever contains a token, a client secret or an Authorization header:
messages are built from HighLevel's error text, the operation name and the URL path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ghl_async.ratelimit import RateLimitInfo

__all__ = [
    "APIError",
    "AmbiguousWriteError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "DecodeError",
    "GHLError",
    "LockTimeoutError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReauthorizationRequired",
    "RequestTimeout",
    "ServerError",
    "TokenRefreshError",
    "TransportError",
    "UnprocessableEntityError",
    "error_class_for",
]


class GHLError(Exception):
    """Base of every error raised by ghl_async."""


class ConfigError(GHLError, ValueError):
    """Bad or missing settings or arguments, found before any request was sent."""


class TransportError(GHLError):
    """No HTTP response arrived: the connection failed, was reset, or timed out.

    ``sent`` tells whether the request may have reached the server (``False`` only when it
    certainly did not, e.g. the connection was refused).
    """

    def __init__(self, message: str, *, operation: str = "", sent: bool = True) -> None:
        super().__init__(message)
        self.operation = operation
        self.sent = sent


class RequestTimeout(TransportError, TimeoutError):
    """The request did not complete within its timeout."""


class AmbiguousWriteError(TransportError):
    """A create-style POST failed after it may have been applied, so it was not retried.

    Retrying could create a duplicate (e.g. a second contact). Look the object up (for contacts:
    ``ghl.contacts.find_duplicate`` or an upsert) before trying again.
    """


@dataclass(frozen=True, slots=True)
class _ErrorContext:
    status: int
    operation: str
    method: str
    url: str


class APIError(GHLError):
    """HighLevel answered with a non-2xx status."""

    status: int
    operation: str
    method: str
    url: str
    messages: list[str]
    error: str | None
    trace_id: str | None
    body: bytes
    rate_limit: RateLimitInfo | None
    meta: dict[str, object]

    def __init__(
        self,
        *,
        status: int,
        operation: str,
        method: str,
        url: str,
        messages: list[str] | None = None,
        error: str | None = None,
        trace_id: str | None = None,
        body: bytes = b"",
        rate_limit: RateLimitInfo | None = None,
        meta: dict[str, object] | None = None,
    ) -> None:
        self.status = status
        self.operation = operation
        self.method = method
        self.url = url
        self.messages = list(messages or [])
        self.error = error
        self.trace_id = trace_id
        self.body = body
        self.rate_limit = rate_limit
        self.meta = dict(meta or {})
        super().__init__(self._describe())

    @property
    def message(self) -> str:
        """HighLevel's message(s) joined into one line."""
        return "; ".join(self.messages) if self.messages else (self.error or "")

    def _describe(self) -> str:
        where = f"{self.operation} ({self.method} {self.url})" if self.operation else self.url
        text = f"HTTP {self.status} from {where}"
        if self.message:
            text += f": {self.message}"
        if self.trace_id:
            text += f" [traceId {self.trace_id}]"
        return text

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, operation={self.operation!r})"


class BadRequestError(APIError):
    """HTTP 400."""

    @property
    def duplicate_contact_id(self) -> str | None:
        """The existing contact's id when a create was refused as a duplicate."""
        value = self.meta.get("contactId")
        return value if isinstance(value, str) else None


class AuthenticationError(APIError):
    """HTTP 401: the token is missing, expired, revoked or lacks the scope."""


class TokenRefreshError(AuthenticationError):
    """The OAuth token endpoint refused a refresh or a code exchange."""


class ReauthorizationRequired(TokenRefreshError):
    """The refresh token is spent or revoked (``invalid_grant``): run the OAuth consent again."""


class PermissionDeniedError(APIError):
    """HTTP 403. ``scope`` is the OAuth scope the operation needs."""

    scope: str | None = None


class NotFoundError(APIError):
    """HTTP 404, or HighLevel's 400 whose message says the object was not found."""


class ConflictError(APIError):
    """HTTP 409."""


class UnprocessableEntityError(APIError):
    """HTTP 422: the body failed HighLevel's validation; ``messages`` lists each problem."""


class RateLimitError(APIError):
    """HTTP 429 after the retries were spent. ``retry_after`` is in seconds, when known."""

    retry_after: float | None = None


class ServerError(APIError):
    """HTTP 5xx."""


class DecodeError(GHLError):
    """A 2xx response body did not match the expected model. ``body`` keeps the raw bytes."""

    def __init__(self, message: str, *, operation: str, body: bytes) -> None:
        super().__init__(message)
        self.operation = operation
        self.body = body


class PaginationError(GHLError):
    """A page request did not advance the cursor; raised instead of looping forever."""

    def __init__(self, operation: str, detail: str) -> None:
        super().__init__(f"{operation}: pagination did not advance ({detail})")
        self.operation = operation


class LockTimeoutError(GHLError, TimeoutError):
    """A token store's ``lock(key)`` was still held by someone else when the wait ran out.

    ``key`` is the store key (``"location:<id>"``); ``waited`` the seconds spent trying.
    """

    def __init__(self, key: str, waited: float) -> None:
        super().__init__(f"lock on {key!r} still held by another holder after {waited:.1f}s")
        self.key = key
        self.waited = waited


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_class_for(status: int, messages: list[str] | None = None) -> type[APIError]:
    """Pick the exception class for a non-2xx status.

    HighLevel answers an unknown id with 400 ``"Contact with id ... not found"`` on some
    endpoints; that is a not-found, not a malformed request.
    """
    if status == 400 and messages and any("not found" in m.lower() for m in messages):
        return NotFoundError
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return APIError

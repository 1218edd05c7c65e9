"""Every exception ghl_async raises, and the table from HTTP status to exception class.

::

    GHLError
    ├── ConfigError                 bad or missing settings, raised before any I/O
    ├── TransportError              no HTTP response (DNS, refused, reset, TLS)
    │   ├── RequestTimeout          also a builtin TimeoutError
    │   └── AmbiguousWriteError     a write may have been applied and no lookup could tell;
    │                               .checked says what was looked up, .status the answer if any
    ├── APIError                    .status .operation .method .url .messages .trace_id .body
    │   ├── BadRequestError 400         .rate_limit
    │   ├── AuthenticationError 401
    │   │   └── TokenRefreshError       the token endpoint refused a refresh or code exchange
    │   │       └── ReauthorizationRequired   invalid_grant: the user must authorise again
    │   ├── PermissionDeniedError 403   .scope names the scope the route needs
    │   ├── NotFoundError 404 (and HighLevel's 400 "... not found")
    │   ├── ConflictError 409
    │   ├── UnprocessableEntityError 422   .messages is HighLevel's list
    │   ├── RateLimitError 429          .retry_after (also: a wait longer than retry_after_cap)
    │   │   └── DailyQuotaExceeded      the day's quota is spent; .reset_at when known
    │   └── ServerError 5xx
    ├── DecodeError                 a 2xx body did not match the model; keeps the raw bytes
    ├── ResponseTooLargeError       a body above max_response_size; keeps a 4 KiB prefix
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
    from datetime import datetime

    from ghl_async.ratelimit import RateLimitInfo

__all__ = [
    "APIError",
    "AmbiguousWriteError",
    "AuthenticationError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "DailyQuotaExceeded",
    "DecodeError",
    "GHLError",
    "LockTimeoutError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReauthorizationRequired",
    "RequestTimeout",
    "ResponseTooLargeError",
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
    """A write may have been applied, and nothing the client could look up settled it.

    Raised only when the outcome is undecidable: creates are first reconciled by natural key
    (see :mod:`ghl_async.reconcile`), and resent only when the object is certainly absent.
    ``checked`` lists, in plain words, what was looked up and what it showed (empty when
    reconciliation is off or the route has nothing to look up, e.g. ``add_to_workflow``);
    ``status`` is the HTTP status of the ambiguous answer (``None``: no answer arrived).
    Resending blindly could create a duplicate: look the object up first.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str = "",
        sent: bool = True,
        checked: tuple[str, ...] = (),
        status: int | None = None,
    ) -> None:
        super().__init__(message, operation=operation, sent=sent)
        self.checked = checked
        self.status = status


@dataclass(frozen=True, slots=True)
class _ErrorContext:
    status: int
    operation: str
    method: str
    url: str


class APIError(GHLError):
    """HighLevel answered with a non-2xx status.

    ``retry_after`` is the wait in seconds the answer asked for (``Retry-After``, on any
    status, e.g. a 503), when it did. ``code``, ``details`` and ``resolution`` come from v3's
    AIP error envelope (``{"error": {"code", "message", "details", "resolution"}}``): a
    machine-readable code such as ``"RESOURCE_NOT_FOUND"``, its context, and what HighLevel
    suggests doing; ``None``/empty on answers without it.
    """

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
    code: str | None
    details: dict[str, object]
    resolution: str | None
    retry_after: float | None = None

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
        code: str | None = None,
        details: dict[str, object] | None = None,
        resolution: str | None = None,
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
        self.code = code
        self.details = dict(details or {})
        self.resolution = resolution
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
        if self.resolution and self.resolution not in self.messages:
            text += f" ({self.resolution})"
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
    """HTTP 429 after the retries were spent, or a wait longer than ``retry_after_cap``.

    ``retry_after`` is in seconds, when known. A server asking for more than the client's
    ``retry_after_cap`` (``Retry-After: 3600``, an HTTP date next year, a huge
    ``X-RateLimit-Interval-Milliseconds``) gets this error at once, without waiting and without
    holding up other calls to the same location.
    """

    retry_after: float | None = None


class DailyQuotaExceeded(RateLimitError):
    """The location's daily request quota is spent: raised at once, never retried.

    Raised for a 429 whose ``X-RateLimit-Daily-Remaining`` is 0, and before sending anything
    once a response said the quota is spent (until ``reset_at``, or for a short probe interval
    when HighLevel did not say when the quota resets). ``reset_at`` (UTC) is ``None`` when
    unknown; ``retry_after`` is the same moment in seconds from when the error was raised.
    """

    reset_at: datetime | None = None


class ServerError(APIError):
    """HTTP 5xx."""


class DecodeError(GHLError):
    """A 2xx response body did not match the expected model. ``body`` keeps the raw bytes."""

    def __init__(self, message: str, *, operation: str, body: bytes) -> None:
        super().__init__(message)
        self.operation = operation
        self.body = body


class ResponseTooLargeError(GHLError):
    """A response body (decoded, after gzip/deflate) was larger than ``max_response_size``.

    Reading stopped at the limit, so memory stays bounded whatever the server sends. ``body``
    keeps at most the first 4 KiB (nothing for token-endpoint answers, which hold secrets).
    """

    def __init__(
        self, message: str, *, operation: str, status: int, limit: int, body: bytes
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.status = status
        self.limit = limit
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

"""Asyncio SDK for the HighLevel Contacts API v2.

::

    import ghl_async

    async with ghl_async.Client(auth=ghl_async.StaticToken("pit-..."), location_id="...") as ghl:
        contact = await ghl.contacts.get("...")

Models live in :mod:`ghl_async.models`, the route table in :mod:`ghl_async.routes`, the fake
server in :mod:`ghl_async.testing`, webhooks in :mod:`ghl_async.webhooks`.
"""

__version__ = "0.1.0"

from ghl_async.auth import (
    AiohttpTokenTransport,
    Auth,
    FileTokenStore,
    MemoryTokenStore,
    OAuthApp,
    StaticToken,
    Token,
    TokenStore,
    TokenTransport,
)
from ghl_async.client import Client, Contacts
from ghl_async.errors import (
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    ConflictError,
    DecodeError,
    GHLError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ReauthorizationRequired,
    RequestTimeout,
    ServerError,
    TokenRefreshError,
    TransportError,
    UnprocessableEntityError,
)
from ghl_async.models import (
    UNSET,
    Ack,
    Appointment,
    Contact,
    ContactBundle,
    ContactsPage,
    Note,
    Task,
    UnsetType,
    UpsertResult,
)
from ghl_async.ratelimit import RateLimit, RateLimitInfo
from ghl_async.routes import Route

__all__ = [
    "UNSET",
    "APIError",
    "Ack",
    "AiohttpTokenTransport",
    "AmbiguousWriteError",
    "Appointment",
    "Auth",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConfigError",
    "ConflictError",
    "Contact",
    "ContactBundle",
    "Contacts",
    "ContactsPage",
    "DecodeError",
    "FileTokenStore",
    "GHLError",
    "MemoryTokenStore",
    "NotFoundError",
    "Note",
    "OAuthApp",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RateLimitInfo",
    "ReauthorizationRequired",
    "RequestTimeout",
    "Route",
    "ServerError",
    "StaticToken",
    "Task",
    "Token",
    "TokenRefreshError",
    "TokenStore",
    "TokenTransport",
    "TransportError",
    "UnprocessableEntityError",
    "UnsetType",
    "UpsertResult",
    "__version__",
]

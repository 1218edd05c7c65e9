"""Asyncio SDK for the HighLevel Contacts API, v2 (``2021-07-28``) and v3.

::

    import ghl_async

    async with ghl_async.Client(auth=ghl_async.StaticToken("pit-..."), location_id="...") as ghl:
        contact = await ghl.contacts.get("...")      # Version: 2021-07-28
        contact = await ghl.v3.contacts.get("...")   # Version: v3, same client and budget

Models live in :mod:`ghl_async.models` (v3 request bodies in :mod:`ghl_async.models_v3`,
installed locations in :mod:`ghl_async.models_oauth`), the route table in
:mod:`ghl_async.routes`, the fake server in :mod:`ghl_async.testing`, webhooks in
:mod:`ghl_async.webhooks`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
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
        DailyQuotaExceeded,
        DecodeError,
        GHLError,
        LockTimeoutError,
        NotFoundError,
        PaginationError,
        PermissionDeniedError,
        RateLimitError,
        ReauthorizationRequired,
        RequestTimeout,
        ResponseTooLargeError,
        ServerError,
        TokenRefreshError,
        TransportError,
        UnprocessableEntityError,
    )
    from ghl_async.hooks import Hooks
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
    from ghl_async.responses import PageResponse, RawResponse
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
    "DailyQuotaExceeded",
    "DecodeError",
    "FileTokenStore",
    "GHLError",
    "Hooks",
    "LockTimeoutError",
    "MemoryTokenStore",
    "NotFoundError",
    "Note",
    "OAuthApp",
    "PageResponse",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RateLimitInfo",
    "RawResponse",
    "ReauthorizationRequired",
    "RequestTimeout",
    "ResponseTooLargeError",
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

# Imported on first use (PEP 562): `import ghl_async` stays cheap, e.g. for the pytest plugin
# that only needs `ghl_async.testing`, and nothing is imported before coverage starts.
_LAZY: dict[str, str] = {
    "AiohttpTokenTransport": "ghl_async.auth",
    "Auth": "ghl_async.auth",
    "FileTokenStore": "ghl_async.auth",
    "MemoryTokenStore": "ghl_async.auth",
    "OAuthApp": "ghl_async.auth",
    "StaticToken": "ghl_async.auth",
    "Token": "ghl_async.auth",
    "TokenStore": "ghl_async.auth",
    "TokenTransport": "ghl_async.auth",
    "Client": "ghl_async.client",
    "Contacts": "ghl_async.client",
    "APIError": "ghl_async.errors",
    "AmbiguousWriteError": "ghl_async.errors",
    "AuthenticationError": "ghl_async.errors",
    "BadRequestError": "ghl_async.errors",
    "ConfigError": "ghl_async.errors",
    "ConflictError": "ghl_async.errors",
    "DailyQuotaExceeded": "ghl_async.errors",
    "DecodeError": "ghl_async.errors",
    "GHLError": "ghl_async.errors",
    "LockTimeoutError": "ghl_async.errors",
    "NotFoundError": "ghl_async.errors",
    "PaginationError": "ghl_async.errors",
    "PermissionDeniedError": "ghl_async.errors",
    "RateLimitError": "ghl_async.errors",
    "ReauthorizationRequired": "ghl_async.errors",
    "RequestTimeout": "ghl_async.errors",
    "ResponseTooLargeError": "ghl_async.errors",
    "ServerError": "ghl_async.errors",
    "TokenRefreshError": "ghl_async.errors",
    "TransportError": "ghl_async.errors",
    "UnprocessableEntityError": "ghl_async.errors",
    "Ack": "ghl_async.models",
    "Appointment": "ghl_async.models",
    "Contact": "ghl_async.models",
    "ContactBundle": "ghl_async.models",
    "ContactsPage": "ghl_async.models",
    "Note": "ghl_async.models",
    "Task": "ghl_async.models",
    "UNSET": "ghl_async.models",
    "UnsetType": "ghl_async.models",
    "UpsertResult": "ghl_async.models",
    "RateLimit": "ghl_async.ratelimit",
    "RateLimitInfo": "ghl_async.ratelimit",
    "Hooks": "ghl_async.hooks",
    "PageResponse": "ghl_async.responses",
    "RawResponse": "ghl_async.responses",
    "Route": "ghl_async.routes",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ghl_async' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

"""FakeHighLevel: a stateful, strict fake of the HighLevel Contacts API v2 and its OAuth.

A real aiohttp server on 127.0.0.1 that serves the 32 Contacts operations of
``ghl_async.routes`` with HighLevel's status codes, envelopes, error bodies, rate-limit headers
and quirks, plus ``/oauth/token``, ``/oauth/locationToken`` and a consent page::

    async with FakeHighLevel() as fake:
        ids = fake.seed_contacts(250)
        ...  # point any HTTP client (or ghl_async.Client) at fake.base_url

    with FakeHighLevel.serve_in_thread(rate_limit=None) as fake:  # sync code, any loop
        ...

Also a pytest fixture, ``fake_highlevel`` (installed with the package), and a command line:
``python -m ghl_async.testing --port 8080 --seed 100``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ghl_async.testing.faults import Fault, RequestRecord
    from ghl_async.testing.server import (
        DEFAULT_REDIRECT_URI,
        FakeHighLevel,
        FakeOptions,
        IssuedToken,
    )

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "FakeHighLevel",
    "FakeOptions",
    "Fault",
    "IssuedToken",
    "RequestRecord",
]

# Imported on first use: pytest loads this package's plugin (a submodule) at start-up, and
# the server, aiohttp included, should cost nothing until a test asks for the fake.
_HOMES = {
    "DEFAULT_REDIRECT_URI": "ghl_async.testing.server",
    "FakeHighLevel": "ghl_async.testing.server",
    "FakeOptions": "ghl_async.testing.server",
    "IssuedToken": "ghl_async.testing.server",
    "Fault": "ghl_async.testing.faults",
    "RequestRecord": "ghl_async.testing.faults",
}


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])

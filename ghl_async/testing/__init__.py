"""FakeHighLevel: a stateful, strict fake of the HighLevel Contacts API (v2 and v3) and its OAuth.

A real aiohttp server on 127.0.0.1 that serves the Contacts operations of ``ghl_async.routes``,
v2 (32) and v3 (31) on the same paths by each request's ``Version`` header, with HighLevel's
status codes, envelopes, error bodies, rate-limit headers and quirks, plus the OAuth endpoints of
both versions (token, location tokens, installed locations) and a consent page::

    async with FakeHighLevel() as fake:
        ids = fake.seed_contacts(250)
        ...  # point any HTTP client (or ghl_async.Client) at fake.base_url

    with FakeHighLevel.serve_in_thread(rate_limit=None) as fake:  # sync code, any loop
        ...

``fake.client()`` is a :class:`ghl_async.Client` wired to it; knobs break it the way HighLevel's
edge does (``fake.fail``, ``drop``, ``slow``, ``truncate``, ``reset``, ``revoke_early``,
``mutate``, or ``fake.chaos("heavy", seed=7)`` for a seeded mix over ~25% of requests).

Also a pytest fixture, ``fake_highlevel`` (installed with the package), and a command line:
``python -m ghl_async.testing --port 8080 --seed 100``.

Layout: :mod:`.server` (``FakeHighLevel``: construction and lifecycle) assembles
:mod:`.pipeline` (app, routing, per-request steps, faults, log), :mod:`.apis` (API versions by
``Version`` header) with :mod:`.handlers` and :mod:`.handlers_v3` (the v2 and v3 Contacts
handlers), :mod:`.oauth_http` and
:mod:`.oauth` (OAuth), :mod:`.installs`, and the knob mixins :mod:`.knobs_faults`,
:mod:`.knobs_auth`, :mod:`.knobs_state` over the shared state in :mod:`.core`. Faults are
:mod:`.faults` (records, plan), :mod:`.edge` (broken answers on the wire), :mod:`.mutations` and
:mod:`.chaos` (profiles).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ghl_async.testing.faults import Fault, RequestRecord
    from ghl_async.testing.knobs_auth import ClientOptions
    from ghl_async.testing.server import (
        DEFAULT_REDIRECT_URI,
        WEBHOOK_PUBLIC_KEY_PATH,
        FakeHighLevel,
        FakeOptions,
        IssuedToken,
    )

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "WEBHOOK_PUBLIC_KEY_PATH",
    "ClientOptions",
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
    "WEBHOOK_PUBLIC_KEY_PATH": "ghl_async.testing.server",
    "ClientOptions": "ghl_async.testing.knobs_auth",
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

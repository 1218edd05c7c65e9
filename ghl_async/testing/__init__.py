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

from ghl_async.testing.faults import Fault, RequestRecord
from ghl_async.testing.server import DEFAULT_REDIRECT_URI, FakeHighLevel, FakeOptions, IssuedToken

__all__ = [
    "DEFAULT_REDIRECT_URI",
    "FakeHighLevel",
    "FakeOptions",
    "Fault",
    "IssuedToken",
    "RequestRecord",
]

"""Shared fixtures: ``fake`` is a FakeHighLevel serving on the test's loop over a real socket,
``ghl`` a ``ghl_async.Client`` bound to it; the Redis fixtures come from ``redis_plugin.py``.

Options for the fake come from the ``fake_highlevel`` marker (registered by the package's pytest
plugin), e.g. ``@pytest.mark.fake_highlevel(rate_limit="20/1")``. The client keeps its real
defaults (retries, the 100-per-10-s bucket) except for near-zero backoff, so tests stay fast.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from client_helpers import make_client

from ghl_async import Client
from ghl_async.testing import FakeHighLevel

# redis_url / redis_client / redis_prefix: a real Redis, or a private one, or a skip outside CI.
pytest_plugins = ["redis_plugin"]


@pytest.fixture
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeHighLevel]:
    """A running FakeHighLevel on 127.0.0.1 (this test's loop)."""
    marker = request.node.get_closest_marker("fake_highlevel")
    options = dict(marker.kwargs) if marker is not None else {}
    async with FakeHighLevel(**options) as server:
        yield server


@pytest.fixture
async def ghl(fake: FakeHighLevel) -> AsyncIterator[Client]:
    """A client of ``fake`` with its private-integration token and default location."""
    async with make_client(fake) as client:
        yield client

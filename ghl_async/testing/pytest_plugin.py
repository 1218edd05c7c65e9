"""pytest plugin (registered as the ``pytest11`` entry point ``ghl_async``).

Provides the ``fake_highlevel`` fixture: a :class:`~ghl_async.testing.FakeHighLevel` serving
on a background thread, so sync tests and async tests under any plugin (pytest-asyncio, anyio,
trio-over-HTTP...) can use it. Configure it per test with the marker::

    @pytest.mark.fake_highlevel(rate_limit=None, allow_duplicates=True)
    def test_something(fake_highlevel):
        fake_highlevel.seed_contacts(10)

    async def test_with_the_client(fake_highlevel):
        async with fake_highlevel.client() as ghl:  # token, location, the fake's own limit
            ...

The fake is imported lazily, so merely having the package installed costs pytest nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ghl_async.testing import FakeHighLevel

MARKER = "fake_highlevel"


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker so ``--strict-markers`` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): keyword arguments for the fake_highlevel fixture's FakeHighLevel",
    )


@pytest.fixture
def fake_highlevel(request: pytest.FixtureRequest) -> Iterator[FakeHighLevel]:
    """A running FakeHighLevel (background thread), fresh for each test."""
    from ghl_async.testing import FakeHighLevel

    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    fake = FakeHighLevel(**options)
    fake.start_in_thread()
    try:
        yield fake
    finally:
        fake.stop_in_thread()

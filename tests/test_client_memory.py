"""Walking a large listing keeps memory flat: one page at a time, nothing kept between pages."""

from __future__ import annotations

import tracemalloc

import pytest
from client_helpers import make_client

from ghl_async.testing import FakeHighLevel


@pytest.mark.fake_highlevel(rate_limit=None, daily_limit=None)
async def test_walk_memory_is_flat(fake: FakeHighLevel) -> None:
    fake.seed_contacts(500, business_id="small", tasks=0, notes=0, appointments=0)
    fake.seed_contacts(5_000, business_id="large", tasks=0, notes=0, appointments=0)
    peaks = []
    async with make_client(fake, rate_limit=None) as ghl:
        for business in ("small", "large"):
            # The fake caches each contact's wire form on first use: fill that cache before
            # measuring, so the peaks below are what a walk allocates, client and server.
            async for _contact in ghl.contacts.iter_by_business(business):
                pass
        for business in ("small", "large"):
            tracemalloc.start()
            try:
                seen = 0
                async for contact in ghl.contacts.iter_by_business(business):
                    seen += bool(contact.id)
                peaks.append(tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
            assert seen == (500 if business == "small" else 5_000)
    # Ten times the contacts, about the same peak (one page, client and server side).
    assert peaks[1] < peaks[0] * 1.5, peaks

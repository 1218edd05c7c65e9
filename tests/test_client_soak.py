"""A small soak: 300 mixed single calls at concurrency 20 against the fake with about a quarter
of the requests failing (5xx JSON and HTML, Retry-After, resets before and after the write,
slow answers past the client's timeout, failing lookups). Every call ends with a result or a
typed ghl_async error; the fake ends with no duplicate contact, task or note.
"""

from __future__ import annotations

import pytest
from client_helpers import make_client
from soak_helpers import CALLS, duplicates, soak

from ghl_async import RateLimit
from ghl_async.testing import FakeHighLevel


def _arm(fake: FakeHighLevel) -> int:
    """Arm the faults; return how many requests they will hit."""
    faults = [
        fake.fail("contacts.get", 500, times=10),
        fake.fail("contacts.get", 502, html=True, times=6),
        fake.delay("contacts.get", 0.6, times=6),  # past the client's 0.3 s timeout
        fake.fail("contacts.update", 503, retry_after=0.05, times=8),
        fake.drop("contacts.update", when="after", times=5),
        fake.drop("contacts.upsert", when="after", times=6),
        fake.fail("contacts.upsert", 504, times=4),
        fake.drop("contacts.create", when="after", times=8),
        fake.drop("contacts.create", when="before", times=5),
        fake.fail("contacts.create", 502, html=True, times=4),
        fake.fail("contacts.create", 500, times=3),
        fake.drop("contacts.tasks.create", when="after", times=6),
        fake.fail("contacts.tasks.create", 500, times=4),
        fake.drop("contacts.notes.create", when="after", times=6),
        fake.drop("contacts.notes.create", when="before", times=4),
        fake.fail("contacts.find_duplicate", 503, times=3),  # the lookups fail too
        fake.fail("contacts.tasks.list", 502, times=2),
        fake.drop("contacts.notes.list", when="before", times=2),
    ]
    return sum(f.remaining or 0 for f in faults)


@pytest.mark.fake_highlevel(rate_limit=None, daily_limit=None)
async def test_300_mixed_calls_under_faults(fake: FakeHighLevel) -> None:
    ids = fake.seed_contacts(30, business_id=None, tasks=1, notes=1, appointments=0)
    planned = _arm(fake)
    # The bucket stays on, with a rule the run never reaches (HighLevel's would take 40 s).
    async with make_client(fake, timeout=0.3, rate_limit=RateLimit(5000, 1.0)) as ghl:
        outcomes = await soak(ghl, ids)

    faulted = sum(1 for r in fake.requests if r.status is None or r.status >= 500)
    assert faulted >= planned * 0.8  # the faults really fired (a delay is answered late: 200)
    assert faulted / len(fake.requests) > 0.15
    assert sum(outcomes.values()) == CALLS
    assert outcomes["ok"] >= CALLS * 0.97, outcomes
    # Not one duplicate, whatever happened to each call.
    assert duplicates(fake, ids) == []
    created = sum(1 for c in fake.contacts.values() if (c.email or "").startswith("new"))
    assert created == CALLS // 6 - sum(v for k, v in outcomes.items() if k.startswith("create"))

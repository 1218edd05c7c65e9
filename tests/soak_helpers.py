"""The mixed-call soak of issue 9, shared by the tests and by anyone measuring more seeds.

``await soak(fake, ghl)`` sends 300 single calls (get, update, upsert, create contact, create
task, create note, in turn) at concurrency 20 and returns what became of each: ``"ok"`` or
``"<kind>: <ghl_async error class>"``. Anything outside the ``ghl_async`` error tree is not
caught: it ends the test. ``duplicates(fake, ids)`` counts what the fake holds twice.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence

from ghl_async import Client
from ghl_async.errors import GHLError
from ghl_async.testing import FakeHighLevel

DUE = "2026-03-01T09:00:00Z"
CALLS = 300
CONCURRENCY = 20
KINDS = ("get", "update", "upsert", "create", "task", "note")


def _jobs(
    ghl: Client, ids: Sequence[str], calls: int, seed: int
) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    rng = random.Random(seed)
    jobs: list[tuple[str, Callable[[], Awaitable[object]]]] = []
    for i in range(calls):
        cid = rng.choice(ids)
        kind = KINDS[i % len(KINDS)]
        call: Callable[[], Awaitable[object]] = {
            "get": lambda cid=cid: ghl.contacts.get(cid),
            "update": lambda cid=cid, i=i: ghl.contacts.update(cid, city=f"City {i}"),
            "upsert": lambda i=i: ghl.contacts.upsert(email=f"up{i}@example.com"),
            "create": lambda i=i: ghl.contacts.create(email=f"new{i}@example.com"),
            "task": lambda cid=cid, i=i: ghl.contacts.tasks.create(
                cid, title=f"task {i}", due_date=DUE, completed=False),
            "note": lambda cid=cid, i=i: ghl.contacts.notes.create(cid, body=f"note {i}"),
        }[kind]  # fmt: skip
        jobs.append((kind, call))
    return jobs


async def soak(
    ghl: Client,
    ids: Sequence[str],
    *,
    calls: int = CALLS,
    concurrency: int = CONCURRENCY,
    seed: int = 9,
    errors: list[GHLError] | None = None,
) -> Counter[str]:
    """Run the mix; return ``Counter({"ok": n, "create: AmbiguousWriteError": m, ...})``.

    The typed errors are also appended to ``errors`` when given.
    """
    outcomes: Counter[str] = Counter()
    queue = iter(_jobs(ghl, ids, calls, seed))

    async def worker() -> None:
        for kind, call in queue:
            try:
                await call()
            except GHLError as err:  # typed: counted against the completion rate
                outcomes[f"{kind}: {type(err).__name__}"] += 1
                if errors is not None:
                    errors.append(err)
            else:
                outcomes["ok"] += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return outcomes


def duplicates(fake: FakeHighLevel, ids: Sequence[str]) -> list[str]:
    """What the fake holds more than once: contacts by e-mail, tasks by title, notes by body."""
    emails = Counter((c.email or "").lower() for c in fake.contacts.values() if c.email)
    titles = Counter(t.title for cid in ids for t in fake.tasks_of(cid) if "task " in t.title)
    bodies = Counter(n.body for cid in ids for n in fake.notes_of(cid) if "note " in n.body)
    return [
        f"{what} {value!r} x{n}"
        for what, counter in (("contact", emails), ("task", titles), ("note", bodies))
        for value, n in counter.items()
        if n > 1
    ]

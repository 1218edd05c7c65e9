"""Scenario sizes and the workloads, written once and shared by every contender."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from benchmarks import payloads
from benchmarks.contenders import Contender, ident


@dataclass(frozen=True)
class Sizes:
    """How big each scenario is. `FULL` is what `make bench` runs; `QUICK` is a smoke run."""

    get_sequential: int = 2_000
    get_concurrent: int = 10_000
    concurrency: int = 64
    walk_business: int = 20_000
    page_limit: int = 100
    post_concurrent: int = 2_000
    decode_loops: int = 10
    decode_batches: int = 40
    memory_small: int = 10_000
    memory_large: int = 100_000
    rate_limited_requests: int = 200
    rate_limited_runs: int = 3
    rate_limited_concurrency: int = 16
    rule_max: int = 20
    rule_interval_ms: int = 1_000
    capacity_requests: int = 10_000
    # Each throughput run is cut into this many slices, run contender after contender, so
    # load from elsewhere on the machine lands on all contenders alike. POST has fewer: a
    # slice should hold many times `concurrency` requests.
    parts: int = 10
    post_parts: int = 4

    def parts_of(self, name: str) -> int:
        """How many interleaved slices a throughput scenario is cut into."""
        return self.post_parts if name == "post_concurrent" else self.parts

    def as_dict(self) -> dict[str, int]:
        """Plain dict for the JSON report."""
        return asdict(self)


FULL = Sizes()
QUICK = Sizes(
    get_sequential=30, get_concurrent=200, concurrency=16, walk_business=500,
    post_concurrent=40, decode_loops=10, decode_batches=2, memory_small=200, memory_large=1_000,
    rate_limited_requests=30, rate_limited_runs=1, rate_limited_concurrency=8, rule_max=10,
    rule_interval_ms=150, capacity_requests=200, parts=2, post_parts=2,
)

# The four throughput scenarios: (name, description template, request count).
THROUGHPUT = ("get_sequential", "get_concurrent", "walk_business", "post_concurrent")
# Decoding one page, without I/O: the spec's contact, and the wide one live pages carry.
DECODE = ("decode_page", "decode_page_wide")
ALL_SCENARIOS = (*THROUGHPUT, *DECODE, "memory_walk", "rate_limited_sync",
                 "server_capacity", "scale_out")


def describe(name: str, s: Sizes) -> str:
    """One line saying exactly what a scenario does at these sizes."""
    pages = requests_of("walk_business", s)
    return {
        "get_sequential": f"{s.get_sequential:,} sequential GET /contacts/{{id}}",
        "get_concurrent": f"{s.get_concurrent:,} GET /contacts/{{id}} at concurrency "
                          f"{s.concurrency}",
        "walk_business": f"walk {s.walk_business:,} business contacts, {s.page_limit} per page "
                         f"({pages} sequential GETs; {s.parts} businesses of "
                         f"{s.walk_business // s.parts:,})",
        "post_concurrent": f"{s.post_concurrent:,} POST /contacts/ at concurrency "
                           f"{s.concurrency}",
        "decode_page": f"decode one {s.page_limit}-contact page (µs per page)",
        "decode_page_wide": f"decode one {s.page_limit}-contact page of wide contacts (36 "
                            "declared fields, some lists absent, some nulls; µs per page)",
        "memory_walk": f"tracemalloc peak walking {s.memory_small:,} vs {s.memory_large:,} "
                       "contacts",
        "rate_limited_sync": f"{s.rate_limited_requests} GETs at concurrency "
                             f"{s.rate_limited_concurrency} against a {s.rule_max} requests / "
                             f"{s.rule_interval_ms} ms per-location rule, fresh client each "
                             f"run, {s.rate_limited_runs} run(s)",
        "server_capacity": f"baseline client, {s.capacity_requests:,} GETs at concurrency "
                           f"{s.concurrency} from 1 vs 2 load processes",
        "scale_out": "worker processes sharing one import, the rate budget and OAuth tokens on "
                     "Redis, against FakeHighLevel (benchmarks/scale.py)",
    }[name]


def requests_of(name: str, s: Sizes) -> int:
    """HTTP requests one run of a throughput scenario makes."""
    if name == "walk_business":
        # one request per page, none extra: a walk stops once skip reaches `count`
        parts = s.parts_of(name)
        return sum(-(-len(part_range(s.walk_business, k, parts)) // s.page_limit)
                   for k in range(parts))
    return {
        "get_sequential": s.get_sequential,
        "get_concurrent": s.get_concurrent,
        "post_concurrent": s.post_concurrent,
    }[name]


async def _workers(indices: range, concurrency: int,
                   job: Callable[[int], Awaitable[None]]) -> None:
    # A fixed set of workers pulling from one counter: the same scheduling cost for every
    # contender, without 10,000 pending tasks.
    counter = iter(indices)

    async def worker() -> None:
        for i in counter:
            await job(i)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(indices)))))


def part_range(n: int, part: int, parts: int) -> range:
    """The indices of slice `part` (0-based) when `n` items are cut into `parts` slices."""
    return range(n * part // parts, n * (part + 1) // parts)


async def get_sequential(c: Contender, s: Sizes, part: int = 0, parts: int = 1) -> None:
    """Fetch contacts one after another, checking each answer."""
    ids = payloads.contact_ids()
    for i in part_range(s.get_sequential, part, parts):
        cid = ids[i % len(ids)]
        contact = await c.get(cid)
        if ident(contact) != cid:
            raise AssertionError(f"request {i}: asked {cid}, got {ident(contact)}")


async def get_concurrent(c: Contender, s: Sizes, part: int = 0, parts: int = 1,
                         n: int | None = None, concurrency: int | None = None) -> None:
    """Fetch contacts from `concurrency` workers, checking each answer."""
    ids = payloads.contact_ids()

    async def job(i: int) -> None:
        cid = ids[i % len(ids)]
        contact = await c.get(cid)
        if ident(contact) != cid:
            raise AssertionError(f"request {i}: asked {cid}, got {ident(contact)}")

    await _workers(part_range(s.get_concurrent if n is None else n, part, parts),
                   s.concurrency if concurrency is None else concurrency, job)


async def walk(c: Contender, size: int, limit: int) -> int:
    """Walk a business of `size` contacts; return how many were yielded (contacts dropped)."""
    count = 0
    async for contact in c.walk(payloads.business_id(size), limit):
        if not ident(contact):
            raise AssertionError("contact without id")
        count += 1
    if count != size:
        raise AssertionError(f"walked {count} contacts, expected {size}")
    return count


async def walk_business(c: Contender, s: Sizes, part: int = 0, parts: int = 1) -> None:
    """Walk a business holding this slice's share of the contacts."""
    await walk(c, len(part_range(s.walk_business, part, parts)), s.page_limit)


async def post_concurrent(c: Contender, s: Sizes, part: int = 0, parts: int = 1) -> None:
    """Create contacts from `concurrency` workers."""
    async def job(i: int) -> None:
        created = await c.create(i)
        if not ident(created):
            raise AssertionError("created contact without id")

    await _workers(part_range(s.post_concurrent, part, parts), s.concurrency, job)


WORKLOADS: dict[str, Callable[[Contender, Sizes, int, int], Awaitable[Any]]] = {
    "get_sequential": get_sequential,
    "get_concurrent": get_concurrent,
    "walk_business": walk_business,
    "post_concurrent": post_concurrent,
}


def warmup_sizes(s: Sizes) -> Sizes:
    """Tiny sizes that touch every code path once before timing starts."""
    return Sizes(get_sequential=5, get_concurrent=min(s.concurrency * 2, 128),
                 concurrency=s.concurrency, walk_business=2 * s.page_limit,
                 page_limit=s.page_limit, post_concurrent=min(s.concurrency, 64))

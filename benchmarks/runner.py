"""`python -m benchmarks`: start the server process, run every scenario, report.

Throughput scenarios run every contender once per repetition, in an order rotated each
repetition, so slow drifts of a shared machine hit all contenders alike.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import multiprocessing as mp
import os
import statistics
import sys
import time
import tracemalloc
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from benchmarks import baseline_models, payloads, report, scenarios
from benchmarks.contenders import Baseline, Contender
from benchmarks.ghl import GHL_CONTENDERS
from benchmarks.scenarios import ALL_SCENARIOS, FULL, QUICK, THROUGHPUT, Sizes
from benchmarks.server import Rule, ServerProcess

RESULTS = Path(__file__).resolve().parent / "results"


def _all_contenders() -> list[type[Contender]]:
    from benchmarks.contenders import ALL

    return [*ALL, *GHL_CONTENDERS]


def _say(msg: str) -> None:
    print(msg, flush=True)


class _Stats:
    """Reads the server's counters over the open listener."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url + "/__bench/stats"
        self.session: aiohttp.ClientSession | None = None

    async def get(self) -> dict[str, Any]:
        if self.session is None:
            self.session = aiohttp.ClientSession()
        async with self.session.get(self.url) as resp:
            data: dict[str, Any] = await resp.json()
            return data

    async def reset(self, base_url: str, rule: Rule) -> None:
        assert self.session is not None
        url = f"{base_url}/__bench/reset?max={rule.max}&interval_ms={rule.interval_ms}"
        async with self.session.post(url) as resp:
            await resp.read()

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


async def _open(cls: type[Contender], url: str) -> Contender:
    contender = cls()
    await contender.start(url)
    await contender.get(payloads.contact_ids()[0])  # connection open, lazy state built
    return contender


async def _slice(contender: Contender, scen: str, sizes: Sizes, part: int, parts: int,
                 stats: _Stats, limit_s: float | None) -> dict[str, float]:
    before = await stats.get()
    cpu0, t0 = time.process_time(), time.perf_counter()
    timed_out = False
    try:
        await asyncio.wait_for(scenarios.WORKLOADS[scen](contender, sizes, part, parts), limit_s)
    except asyncio.TimeoutError:
        timed_out = True
    t1, cpu1 = time.perf_counter(), time.process_time()
    after = await stats.get()
    return {"timed_out": timed_out, "seconds": t1 - t0, "cpu": cpu1 - cpu0,
            "server_cpu": after["cpu_s"] - before["cpu_s"],
            "server_wall": after["wall_s"] - before["wall_s"],
            "server_429": after["rejected_429"] - before["rejected_429"]}


async def _throughput(runnable: list[type[Contender]], sizes: Sizes, reps: int, ref_reps: int,
                      ref_timeout: float, wanted: list[str], server: ServerProcess,
                      stats: _Stats) -> dict[str, Any]:
    def reps_of(cls: type[Contender]) -> int:
        # httpx-based clients run 15-20x slower at concurrency 64; all their repetitions
        # would blow the 10-minute budget, so they get `ref_reps` (the table says how many).
        return reps if cls.full_reps else min(reps, ref_reps)

    url = server.url("open")
    warm = scenarios.warmup_sizes(sizes)
    for cls in runnable:
        contender = await _open(cls, url)
        try:
            for scen in wanted:
                await scenarios.WORKLOADS[scen](contender, warm, 0, 1)
        finally:
            await contender.stop()
    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        scen: {cls.name: [] for cls in runnable} for scen in wanted}
    for rep in range(reps):
        active = [cls for cls in runnable if rep < reps_of(cls)]
        for scen in wanted:
            parts = sizes.parts_of(scen)
            clients = {cls.name: await _open(cls, url) for cls in active}
            totals: dict[str, dict[str, Any]] = {
                name: {"timed_out": False, "seconds": 0.0, "cpu": 0.0, "server_cpu": 0.0,
                       "server_wall": 0.0, "server_429": 0} for name in clients}
            gc.collect()
            try:
                # One run = `parts` slices; each slice goes round all contenders, starting
                # with a different one each time.
                for part in range(parts):
                    k = (rep + part) % len(active)
                    for cls in active[k:] + active[:k]:
                        total = totals[cls.name]
                        if total["timed_out"]:
                            continue
                        limit = None if cls.full_reps else ref_timeout / parts
                        got = await _slice(clients[cls.name], scen, sizes, part, parts, stats,
                                           limit)
                        total["timed_out"] = total["timed_out"] or got["timed_out"]
                        for key in ("seconds", "cpu", "server_cpu", "server_wall",
                                    "server_429"):
                            total[key] += got[key]
            finally:
                for contender in clients.values():
                    await contender.stop()
            for name, total in totals.items():
                samples[scen][name].append({
                    "timed_out": total["timed_out"],
                    "seconds": total["seconds"],
                    "client_cpu": total["cpu"] / total["seconds"],
                    "server_cpu": total["server_cpu"] / total["server_wall"],
                    "server_429": total["server_429"],
                })
            line = ", ".join(f"{name} {rows[-1]['seconds']:.3f}s"
                             + (" (timed out)" if rows[-1]["timed_out"] else "")
                             for name, rows in samples[scen].items() if len(rows) == rep + 1)
            _say(f"  rep {rep + 1}/{reps} {scen}: {line}")
    out: dict[str, Any] = {}
    for scen in wanted:
        n = scenarios.requests_of(scen, sizes)
        rows = {name: report.summarise(s, n) for name, s in samples[scen].items()}
        report.add_ratios(rows)
        report.add_paired_ratios(rows)
        out[scen] = {"description": scenarios.describe(scen, sizes), "requests": n,
                     "slices": sizes.parts_of(scen), "results": rows}
    return out


def _page_bytes(sizes: Sizes, scen: str = "decode_page") -> bytes:
    contacts = (payloads.pool()[:sizes.page_limit] if scen == "decode_page"
                else payloads.wide_page(sizes.page_limit))
    items = [msgspec.json.encode(c) for c in contacts]
    return (b'{"contacts":[' + b",".join(items) + b'],"count":%d}' % sizes.walk_business)


def _baseline_decoder(scen: str) -> Any:
    if scen == "decode_page":
        return Baseline.decoder()
    page = msgspec.json.Decoder(baseline_models.WideContactsPage)
    return lambda data: page.decode(data).contacts


def _decode(runnable: list[type[Contender]], sizes: Sizes, reps: int,
            scen: str = "decode_page") -> dict[str, Any]:
    data = _page_bytes(sizes, scen)
    decoders: dict[str, Any] = {"baseline (msgspec Structs)": _baseline_decoder(scen),
                                "stdlib json (dicts)": json.loads}
    for cls in runnable:
        dec = cls.decoder()
        if dec is not None and cls.name == "ghl_async-default":
            decoders["ghl_async"] = dec
    for dec in decoders.values():  # warm-up, and a check that each one really decodes
        got = dec(data)
        n = len(got["contacts"]) if isinstance(got, dict) else len(got)
        if n != sizes.page_limit:
            raise AssertionError(f"decoder returned {n} contacts")
    per_call: dict[str, list[float]] = {name: [] for name in decoders}
    names = list(decoders)
    # Many short batches, round-robin: a burst of load from elsewhere on the machine lands
    # on every decoder alike instead of on whichever happened to be running.
    for batch in range(reps * sizes.decode_batches):
        for name in names[batch % len(names):] + names[:batch % len(names)]:
            dec = decoders[name]
            t0 = time.perf_counter()
            for _ in range(sizes.decode_loops):
                dec(data)
            per_call[name].append((time.perf_counter() - t0) / sizes.decode_loops * 1e6)
    rows = {name: {"median_us": statistics.median(v), "min_us": min(v), "samples": len(v)}
            for name, v in per_call.items()}
    base = rows["baseline (msgspec Structs)"]["median_us"]
    for row in rows.values():
        row["ratio"] = row["median_us"] / base
    # the ghl_async row is keyed by contender name for the target check
    results = {("baseline" if k.startswith("baseline") else
                "ghl_async-default" if k == "ghl_async" else k): v for k, v in rows.items()}
    return {"description": scenarios.describe(scen, sizes),
            "page_bytes": len(data), "results": results}


async def _memory(runnable: list[type[Contender]], sizes: Sizes,
                  server: ServerProcess) -> dict[str, Any]:
    wanted = [c for c in runnable if c.name in ("baseline", "ghl_async-default")]
    results: dict[str, Any] = {}
    for cls in wanted:
        peaks = []
        for size in (sizes.memory_small, sizes.memory_large):
            contender = cls()
            await contender.start(server.url("open"))
            try:
                await scenarios.walk(contender, 2 * sizes.page_limit, sizes.page_limit)
                gc.collect()
                tracemalloc.start()
                await scenarios.walk(contender, size, sizes.page_limit)
                peaks.append(tracemalloc.get_traced_memory()[1])
                tracemalloc.stop()
            finally:
                await contender.stop()
        results[cls.name] = {"peak_small_b": peaks[0], "peak_large_b": peaks[1],
                             "growth": peaks[1] / peaks[0]}
        _say(f"  memory {cls.name}: {peaks[0] / 1024:,.0f} KiB at {sizes.memory_small:,}, "
             f"{peaks[1] / 1024:,.0f} KiB at {sizes.memory_large:,}")
    return {"description": scenarios.describe("memory_walk", sizes),
            "sizes": [sizes.memory_small, sizes.memory_large], "results": results}


async def _rate_limited(runnable: list[type[Contender]], sizes: Sizes, server: ServerProcess,
                        stats: _Stats) -> dict[str, Any]:
    rule = Rule(max=sizes.rule_max, interval_ms=sizes.rule_interval_ms)
    n = sizes.rate_limited_requests
    ideal = (math.ceil(n / rule.max) - 1) * rule.interval_ms / 1000
    results: dict[str, Any] = {}
    for cls in runnable:
        if cls.name != "ghl_async-default":
            continue
        runs = []
        for _ in range(sizes.rate_limited_runs):
            # A new client and a new server window each run: a sync starts cold.
            contender = cls()
            await stats.reset(server.url("open"), rule)
            await contender.start(server.url("limited"),
                                  rule=(rule.max, rule.interval_ms / 1000))
            try:
                t0 = time.perf_counter()
                await scenarios.get_concurrent(contender, sizes, n=n,
                                               concurrency=sizes.rate_limited_concurrency)
                elapsed = time.perf_counter() - t0
            finally:
                await contender.stop()
            after = await stats.get()
            runs.append({"elapsed_s": round(elapsed, 4), "server_429": after["rejected_429"]})
            _say(f"  rate-limited {cls.name}: {elapsed:.2f}s (ideal {ideal:.2f}s), "
                 f"{after['rejected_429']} × 429")
        elapsed = statistics.median(r["elapsed_s"] for r in runs)
        results[cls.name] = {"elapsed_s": elapsed, "ideal_s": ideal,
                             "fraction_of_allowed": ideal / elapsed if elapsed else 0.0,
                             "achieved_rps": n / elapsed,
                             "server_429": sum(r["server_429"] for r in runs),
                             "runs": runs}
    return {
        "description": scenarios.describe("rate_limited_sync", sizes),
        "rule": {"max": rule.max, "interval_ms": rule.interval_ms},
        "method": (f"The server admits {rule.max} requests per fixed {rule.interval_ms} ms "
                   "window per token (the window opens at the first request that arrives after "
                   f"the last one closed) and answers 429 past that. {n} requests need at least "
                   f"{math.ceil(n / rule.max)} windows, so the fastest legal run takes "
                   f"{ideal:.2f} s (ideal); fraction of allowed rate = ideal / median elapsed; "
                   "429s are summed over all runs."),
        "results": results,
    }


def _load_process(url: str, n: int, concurrency: int, barrier: Any, queue: Any) -> None:
    async def run() -> tuple[float, float]:
        sizes = Sizes(get_concurrent=n, concurrency=concurrency)
        client = Baseline()
        await client.start(url)
        try:
            await scenarios.get_concurrent(client, sizes, n=concurrency, concurrency=concurrency)
            await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
            cpu0, t0 = time.process_time(), time.perf_counter()
            await scenarios.get_concurrent(client, sizes)
            return time.perf_counter() - t0, time.process_time() - cpu0
        finally:
            await client.stop()

    queue.put(asyncio.run(run()))


def _stats_sync(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(base_url + "/__bench/stats", timeout=10) as resp:
        data: dict[str, Any] = json.loads(resp.read())
        return data


def _capacity(sizes: Sizes, server: ServerProcess) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    runs = []
    for k in (1, 2):
        barrier, queue = ctx.Barrier(k + 1), ctx.Queue()
        procs = [ctx.Process(target=_load_process,
                             args=(server.url("open"), sizes.capacity_requests,
                                   sizes.concurrency, barrier, queue)) for _ in range(k)]
        for p in procs:
            p.start()
        barrier.wait(timeout=60)
        before = _stats_sync(server.url("open"))
        timings = [queue.get(timeout=300) for _ in procs]
        elapsed = [wall for wall, _ in timings]
        after = _stats_sync(server.url("open"))
        for p in procs:
            p.join(timeout=30)
        total = k * sizes.capacity_requests
        cpu = after["cpu_s"] - before["cpu_s"]
        wall = after["wall_s"] - before["wall_s"]
        runs.append({"processes": k, "requests": total,
                     "requests_per_s": total / max(elapsed),
                     "server_cpu_share": cpu / wall,
                     "server_cpu_us_per_request": cpu / total * 1e6,
                     "client_cpu_share": statistics.mean(c / w for w, c in timings)})
        _say(f"  capacity, {k} load process(es): {runs[-1]['requests_per_s']:,.0f} req/s, "
             f"server CPU {runs[-1]['server_cpu_share']:.0%}")
    one, two = runs
    # Conservative: the dearer of the two per-request costs (one load process gives the
    # server fewer requests per wake-up, so each costs more).
    worst_us = max(one["server_cpu_us_per_request"], two["server_cpu_us_per_request"])
    ceiling = 1e6 / worst_us
    verdict = (f"The server is not the bottleneck: one baseline load process drives "
               f"{one['requests_per_s']:,.0f} req/s with the server {one['server_cpu_share']:.0%} "
               f"busy and the load process {one['client_cpu_share']:.0%}. At ≤ {worst_us:.0f} µs "
               "CPU per "
               f"request its ceiling is ≥ {ceiling:,.0f} req/s on one core, "
               f"{ceiling / one['requests_per_s']:.1f}× what the fastest client asks of it. "
               f"Two load processes drive {two['requests_per_s']:,.0f} req/s "
               f"({two['requests_per_s'] / one['requests_per_s']:.2f}×) with the server "
               f"{two['server_cpu_share']:.0%} busy; with {os.cpu_count()} cores shared by "
               "three processes the clients compete for CPU, so the sum cannot double.")
    return {"description": scenarios.describe("server_capacity", sizes), "runs": runs,
            "ceiling_rps": ceiling, "verdict": verdict}


async def _run_async(runnable: list[type[Contender]], sizes: Sizes, reps: int, ref_reps: int,
                     ref_timeout: float, wanted: list[str],
                     server: ServerProcess) -> dict[str, Any]:
    stats = _Stats(server.url("open"))
    out: dict[str, Any] = {}
    try:
        await stats.get()
        tp = [s for s in THROUGHPUT if s in wanted]
        if tp:
            _say(f"throughput: {', '.join(tp)} × {len(runnable)} contenders × {reps} reps")
            out.update(await _throughput(runnable, sizes, reps, ref_reps, ref_timeout, tp,
                                         server, stats))
        for scen in scenarios.DECODE:
            if scen in wanted:
                _say(scen)
                out[scen] = _decode(runnable, sizes, reps, scen)
        if "memory_walk" in wanted:
            _say("memory_walk")
            out["memory_walk"] = await _memory(runnable, sizes, server)
        if "rate_limited_sync" in wanted:
            _say("rate_limited_sync")
            out["rate_limited_sync"] = await _rate_limited(runnable, sizes, server, stats)
    finally:
        await stats.close()
    return out


def _scale_out(quick: bool) -> dict[str, Any]:
    """The scale-out scenario (benchmarks/scale.py), when a Redis answers at REDIS_URL."""
    import redis

    from benchmarks import scale

    url = os.environ.get("REDIS_URL") or scale.DEFAULT_REDIS
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except (redis.RedisError, OSError, ValueError) as err:
        _say(f"  skipping scale_out: no Redis at REDIS_URL ({type(err).__name__})")
        return {"description": scenarios.describe("scale_out", QUICK if quick else FULL),
                "skipped": "no Redis answered at REDIS_URL (default redis://127.0.0.1:6379/0)",
                "results": {}}
    return scale.scenario(quick, url, _say)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks",
                                description="Compare ghl_async with other HighLevel clients "
                                            "against a loopback server in its own process.")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of seconds")
    p.add_argument("--reps", type=int, default=None,
                   help="repetitions per throughput scenario (default 5, quick 1)")
    p.add_argument("--ref-reps", type=int, default=1,
                   help="repetitions for the slow httpx-based reference contenders (default 1)")
    p.add_argument("--ref-timeout", type=float, default=120.0, metavar="SECONDS",
                   help="abandon one run of a slow reference after this long (default 120), "
                        "so `make bench` stays within its 10-minute budget")
    p.add_argument("--only", action="append", choices=ALL_SCENARIOS, metavar="SCENARIO",
                   help=f"run only this scenario (repeatable): {', '.join(ALL_SCENARIOS)}")
    p.add_argument("--contender", action="append", metavar="NAME",
                   help="run only these contenders (the baseline always runs)")
    p.add_argument("--out", type=Path, default=RESULTS, help="where to write the results")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target fails")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; print and write the report."""
    args = _parse(argv)
    sizes = QUICK if args.quick else FULL
    reps = args.reps or (1 if args.quick else 5)
    wanted = list(args.only or ALL_SCENARIOS)
    runnable: list[type[Contender]] = []
    skipped: dict[str, str] = {}
    for cls in _all_contenders():
        if args.contender and cls.name not in args.contender and cls is not Baseline:
            continue
        why = cls.unavailable()
        if why is None:
            runnable.append(cls)
        else:
            skipped[cls.name] = why
            _say(f"skipping {cls.name}: {why}")
    started = time.perf_counter()
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    out: dict[str, Any] = {}
    with ServerProcess(Rule(sizes.rule_max, sizes.rule_interval_ms)) as server:
        _say(f"server pid {server.pid} on {server.url('open')} (open) and "
             f"{server.url('limited')} (rate-limited)")
        # (scale_out runs its own FakeHighLevel, after this server is gone)
        if "server_capacity" in wanted:
            _say("server_capacity")
            out["server_capacity"] = _capacity(sizes, server)
        out.update(asyncio.run(_run_async(runnable, sizes, reps, args.ref_reps,
                                          args.ref_timeout, wanted, server)))
    if "scale_out" in wanted:
        _say("scale_out")
        out["scale_out"] = _scale_out(args.quick)
    result: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "reps": reps,
        "ref_reps": min(reps, args.ref_reps),
        "sizes": sizes.as_dict(),
        "machine": report.machine_info(),
        "contenders": {c.name: c.description for c in runnable},
        "skipped": skipped,
        "scenarios": {s: out[s] for s in ALL_SCENARIOS if s in out},
        "duration_s": round(time.perf_counter() - started, 1),
    }
    result["machine"]["load_average_at_start"] = load_at_start
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["targets"] = report.targets(result)
    stem = "quick" if args.quick else ("latest" if not args.only and not args.contender
                                       else "partial")
    if not args.quick and args.only == ["scale_out"]:
        stem = "scale_out"  # its own file: it needs Redis and is run on its own
    md_path, json_path = report.write(result, args.out, stem)
    _say("")
    _say(report.markdown(result))
    _say(f"written: {md_path} and {json_path} ({result['duration_s']} s)")
    failed = [t for t in result["targets"] if not t["pass"]]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""`python -m benchmarks.profile SCENARIO CONTENDER`: where one contender spends its time.

Runs one throughput scenario (full sizes unless `--quick`) against the benchmark server under
cProfile, then prints the functions with the most own time, grouped by package, so the cost
of the client's pipeline can be told from aiohttp's and asyncio's. `--pyinstrument FILE.html`
also writes a pyinstrument call tree (`pip install pyinstrument`; not a dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import payloads, scenarios
from benchmarks.runner import _all_contenders
from benchmarks.scenarios import FULL, QUICK, THROUGHPUT, Sizes
from benchmarks.server import Rule, ServerProcess


def _bucket(filename: str) -> str:
    for marker, name in (("/ghl_async/", "ghl_async"), ("/benchmarks/", "benchmarks"),
                         ("/aiohttp/", "aiohttp"), ("/yarl/", "yarl"),
                         ("/multidict/", "multidict"), ("/asyncio/", "asyncio"),
                         ("/aiolimiter/", "aiolimiter"), ("/httpx/", "httpx"),
                         ("/httpcore/", "httpcore"), ("/highlevel/", "official-sdk")):
        if marker in filename:
            return name
    if filename == "~":
        return "builtins (C: msgspec, sockets, json, ...)"
    return "stdlib/other"


async def _run(name: str, scen: str, sizes: Sizes, url: str, begin: Callable[[], object],
               end: Callable[[], object]) -> float:
    cls = {c.name: c for c in _all_contenders()}[name]
    contender = cls()
    await contender.start(url)
    try:
        await contender.get(payloads.contact_ids()[0])
        await scenarios.WORKLOADS[scen](contender, scenarios.warmup_sizes(sizes), 0, 1)
        begin()
        t0 = time.perf_counter()
        await scenarios.WORKLOADS[scen](contender, sizes, 0, 1)
        elapsed = time.perf_counter() - t0
        end()
    finally:
        await contender.stop()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Profile one contender in one scenario and print the hot functions."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    p.add_argument("scenario", choices=THROUGHPUT)
    p.add_argument("contender", choices=[c.name for c in _all_contenders()])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--package", action="append", default=[],
                   help="also list every function of this package (e.g. ghl_async)")
    p.add_argument("--pyinstrument", type=Path, metavar="FILE.html")
    args = p.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    with ServerProcess(Rule(sizes.rule_max, sizes.rule_interval_ms)) as server:
        if args.pyinstrument:
            from pyinstrument import Profiler

            sampler = Profiler(interval=0.0005, async_mode="enabled")
            elapsed = asyncio.run(_run(args.contender, args.scenario, sizes, server.url(),
                                       sampler.start, sampler.stop))
            args.pyinstrument.write_text(sampler.output_html(), encoding="utf-8")
            print(sampler.output_text(unicode=True, show_all=False))
            print(f"pyinstrument tree: {args.pyinstrument}")
        prof = cProfile.Profile()
        elapsed = asyncio.run(_run(args.contender, args.scenario, sizes, server.url(),
                                   prof.enable, prof.disable))
    stats = pstats.Stats(prof)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]  # pstats keeps it untyped
    total = sum(v[2] for v in raw.values())
    by_pkg: dict[str, float] = defaultdict(float)
    rows = []
    per_pkg: dict[str, list[tuple[float, int, float, str]]] = defaultdict(list)
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in raw.items():
        pkg = _bucket(filename)
        by_pkg[pkg] += tottime
        row = (tottime, ncalls, cumtime, f"{Path(filename).name}:{line}({func})")
        rows.append(row)
        per_pkg[pkg].append(row)
    print(f"{args.contender} / {args.scenario}: {elapsed:.3f} s under cProfile, "
          f"{total:.3f} s profiled own time")
    print("\nown time by package:")
    for pkg, t in sorted(by_pkg.items(), key=lambda kv: -kv[1]):
        print(f"  {t / total:6.1%}  {t:7.3f} s  {pkg}")
    print(f"\ntop {args.top} functions by own time:")
    for tottime, ncalls, cumtime, where in sorted(rows, reverse=True)[:args.top]:
        print(f"  {tottime / total:6.1%}  own {tottime:6.3f} s  cum {cumtime:6.3f} s  "
              f"{ncalls:>8} calls  {where}")
    n = scenarios.requests_of(args.scenario, sizes)
    for pkg in args.package:
        print(f"\nevery {pkg} function (µs per request over {n:,} requests, under cProfile):")
        for tottime, ncalls, cumtime, where in sorted(per_pkg.get(pkg, []), reverse=True):
            print(f"  own {tottime / n * 1e6:7.2f}  cum {cumtime / n * 1e6:8.2f}  "
                  f"{ncalls:>8} calls  {where}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`python -m benchmarks.instructions`: CPU instructions per request, counted by callgrind.

Wall-clock ratios on a shared 2-core machine move by several hundredths between runs; an
instruction count does not (the same binary, inputs and environment give the same total, whatever
else the machine does). Each contender's client runs in its own process under
`valgrind --tool=callgrind` against the benchmark server (its own process, not counted), once
with a small and once with a large number of requests; the difference divided by the difference
in requests is the cost of one request, start-up and imports excluded. Needs valgrind on PATH.

Modes: `seq` (sequential GET /contacts/{id}), `conc` (the same at concurrency 64), `post`
(sequential POST /contacts/).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks import payloads
from benchmarks.runner import _all_contenders
from benchmarks.server import Rule, ServerProcess

MODES = ("seq", "conc", "post")
_COLLECTED = re.compile(rb"Collected : (\d+)")


async def _client(name: str, n: int, url: str, mode: str) -> None:
    contender = {c.name: c for c in _all_contenders()}[name]()
    await contender.start(url)
    try:
        ids = payloads.contact_ids()
        for i in range(50):  # warm: connections, caches, the route's plan
            await contender.get(ids[i % len(ids)])
        if mode == "seq":
            for i in range(n):
                await contender.get(ids[i % len(ids)])
        elif mode == "post":
            for i in range(n):
                await contender.create(i)
        else:
            gate = asyncio.Semaphore(64)

            async def one(i: int) -> None:
                async with gate:
                    await contender.get(ids[i % len(ids)])

            await asyncio.gather(*(one(i) for i in range(n)))
    finally:
        await contender.stop()


def _count(name: str, n: int, url: str, mode: str) -> int:
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-m", "benchmarks.instructions", "--client", name, str(n), url, mode],
        cwd=root, capture_output=True, check=True)
    found = _COLLECTED.findall(done.stderr)
    if not found:
        raise RuntimeError(f"no callgrind total for {name}: {done.stderr[-500:]!r}")
    return int(found[-1])


def main(argv: list[str] | None = None) -> int:
    """Print instructions per request for each contender and mode, and the ratio to baseline."""
    p = argparse.ArgumentParser(prog="python -m benchmarks.instructions", description=__doc__)
    p.add_argument("--mode", action="append", choices=MODES)
    p.add_argument("--contender", action="append",
                   help="default: baseline, ghl_async-nolimit, ghl_async-default")
    p.add_argument("--small", type=int, default=300)
    p.add_argument("--large", type=int, default=1300)
    p.add_argument("--client", nargs=4, help=argparse.SUPPRESS)  # the measured child
    args = p.parse_args(argv)
    if args.client:
        name, n, url, mode = args.client
        asyncio.run(_client(name, int(n), url, mode))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    names = args.contender or ["baseline", "ghl_async-nolimit", "ghl_async-default"]
    if "baseline" not in names:
        names.insert(0, "baseline")
    modes = args.mode or list(MODES)
    print(f"instructions per request ({args.large} - {args.small} requests, callgrind)")
    print(f"{'mode':<6} {'contender':<20} {'instr/request':>14} {'× baseline':>11}")
    with ServerProcess(Rule(20, 1000)) as server:
        url = server.url()
        for mode in modes:
            base = 0.0
            for name in names:
                small = _count(name, args.small, url, mode)
                large = _count(name, args.large, url, mode)
                per = (large - small) / (args.large - args.small)
                base = base or per
                print(f"{mode:<6} {name:<20} {per:>14,.0f} {per / base:>11.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

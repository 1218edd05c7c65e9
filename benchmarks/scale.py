"""Scale-out scenario: worker processes share one import, the rate budget and the tokens on Redis.

Each run starts FakeHighLevel (on a thread of this process) with a burst rule per location and
short-lived OAuth tokens, saves one token per location in a RedisTokenStore, submits an import of
`records` contacts spread over the locations (a `location` column), and starts worker processes
(`python -m benchmarks.scale worker ...`), each with a Client on a shared RedisRateBudget and the
shared token store. One run may `kill -9` a worker mid-run. Everything is counted at the server:

* 429s, and refresh tokens used twice (the fake answers 400 invalid_grant on reuse);
* upserts per contact (a middleware on the fake's aiohttp app reads each upsert's e-mail): every
  record exactly once, except records the killed worker had in hand, which may be sent twice
  (the report still counts them once: see ghl_async.redis.jobs);
* the rate: per location, upserts over the most a window rule allows in the span they took
  (`requests * (span / period + 1)`), summed over the locations;
* no token lost: after the run each location's stored refresh token is spent once more.

`python -m benchmarks.scale [--quick] [--only NAME]` prints the figures as JSON; the runner
(`python -m benchmarks --only scale_out`) puts them in the report; tests/test_redis_scale.py runs
the small sizes and asserts the correctness figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import redis.asyncio
from aiohttp import web

from ghl_async import Client, OAuthApp, RateLimit
from ghl_async.auth import AiohttpTokenTransport
from ghl_async.mapping import ContactMapping
from ghl_async.redis import RedisKeys, RedisRateBudget, RedisTokenStore
from ghl_async.redis.jobs import GROUP, RedisImport
from ghl_async.testing import FakeHighLevel
from ghl_async.tokenstore import Token

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
TARGET_RATE = 0.95


@dataclass(frozen=True)
class ScaleRun:
    """One run of the scenario."""

    name: str
    workers: int
    locations: int
    per_location: int  # records per location
    requests: int  # the burst rule per location: `requests` per `period` seconds
    period: float
    concurrency: int  # records in flight per worker
    token_lifetime: float  # seconds an access token lives at the fake
    refresh_skew: float
    kill: bool = False
    kill_at: float = 0.35  # kill once this share of the records is done
    hold: float = 3.0  # RedisRateBudget.hold: a killed worker's slots free after this
    lease: float = 2.0  # claim lease: a killed worker's entries are taken over after this
    token_lease: float = 2.0  # RedisTokenStore.lease

    @property
    def records(self) -> int:
        return self.locations * self.per_location

    def describe(self) -> str:
        kill = ", one killed with SIGKILL mid-run" if self.kill else ""
        return (f"{self.workers} worker process(es) × concurrency {self.concurrency}, "
                f"{self.locations} locations × {self.per_location} records, "
                f"{self.requests} requests / {self.period:g} s per location, tokens living "
                f"{self.token_lifetime:g} s{kill}")


FULL_RUNS = (
    ScaleRun("4 workers × 10 locations", 4, 10, 400, 20, 1.0, 32, 3.0, 1.0),
    ScaleRun("4 workers × 10 locations, kill -9", 4, 10, 150, 20, 1.0, 32, 3.0, 1.0, kill=True),
    ScaleRun("1 worker × 50 locations", 1, 50, 300, 10, 1.0, 200, 3.0, 1.0),
)
# hold 5 s: on a loaded test machine a request can take seconds; it must keep its slot.
QUICK_RUNS = (
    ScaleRun("4 workers × 10 locations", 4, 10, 40, 20, 1.0, 24, 1.5, 0.5, hold=5.0),
    ScaleRun("4 workers × 10 locations, kill -9", 4, 10, 40, 20, 1.0, 24, 1.5, 0.5,
             kill=True, hold=5.0),
    ScaleRun("1 worker × 50 locations", 1, 50, 12, 5, 1.0, 160, 1.5, 0.5, hold=5.0),
)


# --- the worker process ----------------------------------------------------------------------


async def _worker(args: argparse.Namespace) -> int:
    budget = RedisRateBudget.from_url(args.redis, RateLimit(args.requests, args.period),
                                      prefix=args.prefix, hold=args.hold)
    store = RedisTokenStore.from_url(args.redis, prefix=args.prefix, lease=args.token_lease)
    job = RedisImport.from_url(args.redis, args.job, prefix=args.prefix, lease=args.lease)
    try:
        app = OAuthApp(client_id=os.environ["SCALE_CLIENT_ID"],
                       client_secret=os.environ["SCALE_CLIENT_SECRET"], store=store,
                       refresh_skew=args.skew)
        async with Client(auth=app, base_url=args.base_url, rate_limit=budget) as ghl:
            print("ready", flush=True)
            # Every worker starts at the same moment, as after a deploy: the harness says go.
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            report = await job.work(ghl, concurrency=args.concurrency, consumer=args.consumer)
    finally:
        await budget.aclose()
        await store.aclose()
        await job.aclose()
    print(json.dumps({**report.as_dict(), "cpu_s": round(time.process_time(), 3),
                      "budget_round_trips": budget.round_trips}), flush=True)
    return 0


# --- the harness -----------------------------------------------------------------------------


class _UpsertCounter:
    """Counts the upserts the fake applied, per e-mail (a middleware on its aiohttp app)."""

    def __init__(self) -> None:
        self.applied: Counter[str] = Counter()

    @web.middleware
    async def middleware(self, request: web.Request,
                         handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                         ) -> web.StreamResponse:
        email = None
        if request.method == "POST" and request.path == "/contacts/upsert":
            with contextlib.suppress(msgspec.DecodeError, AttributeError):  # not an object
                email = msgspec.json.decode(await request.read()).get("email")
        response = await handler(request)
        if email and 200 <= response.status < 300:
            self.applied[str(email).lower()] += 1
        return response


def rate_fraction(stamps: dict[str, list[float]], requests: int, period: float) -> float:
    """The fastest legal time for the import over the time it took (arrivals at the server).

    Each location's upserts need at least ``ceil(n / requests)`` windows, so the fastest legal
    import lasts ``(ceil(n / requests) - 1) * period`` from its first upsert to its last, for the
    location with the most; the same method as the ``rate_limited_sync`` scenario.
    """
    if not stamps:
        return 0.0
    most = max(len(times) for times in stamps.values())
    ideal = (math.ceil(most / requests) - 1) * period
    first = min(min(times) for times in stamps.values())
    last = max(max(times) for times in stamps.values())
    return ideal / (last - first) if last > first else 0.0


def turnover(stamps: dict[str, list[float]], requests: int, period: float) -> float:
    """The steady-state share of the allowed rate: how fast each slot of the window is reused.

    Under a rule of ``requests`` per ``period``, request ``i + requests`` of a location can
    arrive ``period`` after request ``i`` at the earliest. Summed over every such pair of every
    location: ``period`` over the time the pair actually took. Unlike :func:`rate_fraction`
    it does not count the one-off cost of the first burst (a client cannot send the
    ``locations × requests`` requests of the first window in no time).
    """
    pairs = 0
    took = 0.0
    for times in stamps.values():
        ordered = sorted(times)
        for i in range(len(ordered) - requests):
            pairs += 1
            took += ordered[i + requests] - ordered[i]
    return pairs * period / took if took else 0.0


async def _start_workers(run: ScaleRun, fake: Any, redis_url: str, prefix: str,
                         job: str) -> list[asyncio.subprocess.Process]:
    env = {**os.environ, "SCALE_CLIENT_ID": fake.client_id,
           "SCALE_CLIENT_SECRET": fake.client_secret}
    procs = []
    for n in range(run.workers):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.scale", "worker", "--redis", redis_url,
            "--prefix", prefix, "--job", job, "--base-url", fake.base_url,
            "--requests", str(run.requests), "--period", str(run.period),
            "--concurrency", str(run.concurrency), "--hold", str(run.hold),
            "--lease", str(run.lease), "--token-lease", str(run.token_lease),
            "--skew", str(run.refresh_skew), "--consumer", f"w{n}",
            cwd=ROOT, env=env, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        procs.append(proc)
    for proc in procs:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=120)
        if line.strip() != b"ready":
            err = b"" if proc.stderr is None else await proc.stderr.read()
            raise RuntimeError(f"a worker did not start: {line!r} {err[-2000:]!r}")
    return procs


async def _kill_outside_refresh(proc: asyncio.subprocess.Process, redis: Any,
                                prefix: str) -> int:
    """SIGKILL `proc` at a moment it holds no token lease, so it cannot be between
    HighLevel's refresh answer and saving the new pair (the one loss no store prevents).

    Stopped with SIGSTOP first: if no lease key exists while it is frozen, it is not inside a
    refresh. Returns how many tries it took.
    """
    pattern = RedisKeys(prefix).lock("*")
    for tries in range(1, 1000):
        proc.send_signal(signal.SIGSTOP)
        held = [key async for key in redis.scan_iter(match=pattern)]
        if not held:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            return tries
        proc.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.02)
    raise RuntimeError("no moment without a token lease")


async def run_one(run: ScaleRun, redis_url: str) -> dict[str, Any]:
    """Run one scenario; return its figures (see the module docstring)."""
    prefix = f"ghlbench:{uuid.uuid4().hex[:12]}:"
    client = redis.asyncio.Redis.from_url(redis_url)
    counter = _UpsertCounter()
    fake = FakeHighLevel(rate_limit=(run.requests, run.period),
                         token_lifetime=run.token_lifetime, daily_limit=None)
    fake.app.middlewares.append(counter.middleware)
    fake.start_in_thread()
    procs: list[asyncio.subprocess.Process] = []
    store = RedisTokenStore(client, prefix=prefix, lease=run.token_lease)
    try:
        locations = [fake.location_id] + [fake.add_location() for _ in range(run.locations - 1)]
        for location in locations:
            issued = fake.issue_token(location_id=location)
            await store.save(f"location:{location}", Token(
                access_token=issued.access_token, refresh_token=issued.refresh_token,
                expires_at=time.time() + issued.expires_in, scope=issued.scope,
                user_type="Location", location_id=location, company_id=fake.company_id))
        records = [{"email": f"c{i}@scale.example", "first": f"C{i}",
                    "location": locations[i % run.locations]} for i in range(run.records)]
        mapping = ContactMapping(fields={"email": "email", "first_name": "first"})
        name = f"scale-{uuid.uuid4().hex[:8]}"
        job = RedisImport(client, name, prefix=prefix, lease=run.lease)
        procs = await _start_workers(run, fake, redis_url, prefix, name)
        # The whole input up front (the workers start after it): a backlog as large as it.
        submitted = await job.submit(records, mapping, location_column="location",
                                     backlog=len(records) + 1)
        started = time.perf_counter()
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            await proc.stdin.drain()
        victim_keys: set[str] = set()
        kill_tries = 0
        if run.kill:
            while (await job.state()).done < run.kill_at * run.records:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            kill_tries = await _kill_outside_refresh(procs[0], client, prefix)
            # What the victim had in hand: those records may be sent twice, counted once.
            pending = await client.xpending_range(job.keys.job(name, "queue"), GROUP, "-", "+",
                                                  10_000, consumername="w0")
            for row in pending:
                for _, fields in await client.xrange(job.keys.job(name, "queue"),
                                                     row["message_id"], row["message_id"]):
                    for item in msgspec.json.decode(fields[b"d"]):
                        victim_keys.add(item[3].removeprefix("email:"))
        report = await asyncio.wait_for(
            job.wait(poll=0.2, give_up=lambda: all(p.returncode is not None for p in procs)),
            timeout=600)
        elapsed = time.perf_counter() - started
        outputs = []
        for proc in procs:
            out, err = await proc.communicate()
            lines = out.decode().strip().splitlines()
            outputs.append({"exit": proc.returncode, "last": lines[-1] if lines else "",
                            "stderr": err.decode()[-1000:]})
        # No token lost: every location's stored pair still refreshes.
        app = OAuthApp(client_id=fake.client_id, client_secret=fake.client_secret, store=store)
        lost = 0
        async with aiohttp.ClientSession() as http:
            app.bind(AiohttpTokenTransport(http, base_url=fake.base_url))
            for location in locations:
                try:
                    old = await app.token(location)
                    await app.invalidate(location, old.access_token)
                    await app.token(location)
                except Exception:
                    lost += 1
        log = fake.requests
        stamps: dict[str, list[float]] = {}
        for rec in log:
            if rec.operation == "contacts.upsert" and rec.status != 429 and rec.location_id:
                stamps.setdefault(rec.location_id, []).append(rec.timestamp)
        wanted = {r["email"] for r in records}
        applied = counter.applied
        twice = {k for k, n in applied.items() if n > 1}
        figures: dict[str, Any] = {
            "description": run.describe(),
            "settings": asdict(run),
            "records": run.records,
            "entries": submitted.entries,
            "elapsed_s": round(elapsed, 3),
            "report": {k: v for k, v in report.as_dict().items() if k != "failures"},
            "failures": report.as_dict()["failures"][:5],
            "done_once": report.created + report.updated == run.records
            and not report.failed and report.total == run.records,
            "server_429": fake.count(status=429),
            "refreshes": fake.count("POST", "/oauth/token", status=200),
            "refresh_reused": fake.count("POST", "/oauth/token", status=400),
            "tokens_lost": lost,
            "upserts": sum(applied.values()),
            "keys_missing": len(wanted - set(applied)),
            "keys_twice": len(twice),
            "keys_twice_outside_victim": len(twice - victim_keys),
            "keys_over_twice": sum(1 for n in applied.values() if n > 2),
            "victim_in_hand": len(victim_keys),
            "kill_tries": kill_tries,
            "fraction_of_allowed": round(rate_fraction(stamps, run.requests, run.period), 4),
            "steady_fraction": round(turnover(stamps, run.requests, run.period), 4),
            "achieved_rps": round(sum(len(v) for v in stamps.values())
                                  / max(max(max(v) for v in stamps.values())
                                        - min(min(v) for v in stamps.values()), 1e-9), 1),
            "allowed_rps": run.locations * run.requests / run.period,
            "round_trips_per_request": _trips(outputs),
            "workers": outputs,
        }
        return figures
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        fake.stop_in_thread()
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.unlink(*keys)
        await client.aclose()


def _trips(outputs: list[dict[str, Any]]) -> float | None:
    """Budget script calls per request, over the workers that reported (the killed one did
    not)."""
    trips = requests = 0
    for out in outputs:
        with contextlib.suppress(ValueError, KeyError, TypeError):
            data = json.loads(out["last"])
            trips += int(data["budget_round_trips"])
            requests += int(data["requests"])
    return round(trips / requests, 3) if requests else None


def checks(fig: dict[str, Any], *, kill: bool) -> dict[str, bool]:
    """The scenario's promises, one boolean each (the test asserts them; the report shows them)."""
    out = {
        "every record done exactly once in the report": fig["done_once"],
        "no record left unsent": fig["keys_missing"] == 0,
        "0 × 429": fig["server_429"] == 0,
        "0 refresh tokens used twice": fig["refresh_reused"] == 0,
        "tokens expired mid-run": fig["refreshes"] > 0,
        "no token lost": fig["tokens_lost"] == 0,
        "sent once (twice only if in the killed worker's hands)":
            fig["keys_twice_outside_victim"] == 0 and fig["keys_over_twice"] == 0,
    }
    if kill:
        out["the killed worker died of SIGKILL, the others exited 0"] = (
            fig["workers"][0]["exit"] == -signal.SIGKILL
            and all(w["exit"] == 0 for w in fig["workers"][1:]))
    else:
        out["every worker exited 0"] = all(w["exit"] == 0 for w in fig["workers"])
    return out


async def run_all(runs: tuple[ScaleRun, ...], redis_url: str,
                  say: Callable[[str], None] = print) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for run in runs:
        fig = await run_one(run, redis_url)
        fig["checks"] = checks(fig, kill=run.kill)
        results[run.name] = fig
        say(f"  scale_out {run.name}: {fig['fraction_of_allowed']:.1%} of the allowed rate "
            f"(steady {fig['steady_fraction']:.1%}) "
            f"({fig['achieved_rps']:.0f} of {fig['allowed_rps']:.0f} req/s), "
            f"{fig['server_429']} × 429, {fig['refresh_reused']} refresh reused, "
            f"{fig['keys_twice']} sent twice, checks "
            f"{'ok' if all(fig['checks'].values()) else 'FAILED'}")
    return results


def scenario(quick: bool, redis_url: str | None = None,
             say: Callable[[str], None] = print) -> dict[str, Any]:
    """The runner's entry: every run, with the method spelled out."""
    runs = QUICK_RUNS if quick else FULL_RUNS
    url = redis_url or os.environ.get("REDIS_URL") or DEFAULT_REDIS
    return {
        "description": "worker processes sharing one import, the rate budget and OAuth tokens "
                       "on Redis, against FakeHighLevel",
        "method": ("Rate, whole run = the fastest legal time for the import over the time it "
                   "took: each location's n upserts need ceil(n / requests) windows, so "
                   "(ceil(n / requests) - 1) × period from the first upsert to the last, over "
                   "the measured first-to-last (arrival times at the fake; the same method as "
                   "rate_limited_sync). It includes the one-off cost of the first burst (one "
                   "client cannot send locations × requests upserts in no time). Rate, steady "
                   "state = period / the mean time between upsert i and upsert i + requests of "
                   "a location: how fast each slot of the window is reused. 429s and refresh "
                   "tokens used twice (400 invalid_grant) are counted by the fake, upserts per "
                   "contact by a middleware on its aiohttp app. The killed worker is stopped "
                   "with SIGKILL at a moment it holds no token lease (SIGSTOP, look for lease "
                   "keys, then SIGKILL, or SIGCONT and retry): see README, Scaling out, for the "
                   "window that choice avoids. Budget round trips per request: script calls of "
                   "the workers that exited normally / their requests."),
        "target_rate": TARGET_RATE,
        "results": asyncio.run(run_all(runs, url, say)),
    }


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.scale")
    sub = p.add_subparsers(dest="command")
    w = sub.add_parser("worker")
    w.add_argument("--redis", required=True)
    w.add_argument("--prefix", required=True)
    w.add_argument("--job", required=True)
    w.add_argument("--base-url", required=True)
    w.add_argument("--requests", type=int, required=True)
    w.add_argument("--period", type=float, required=True)
    w.add_argument("--concurrency", type=int, required=True)
    w.add_argument("--hold", type=float, required=True)
    w.add_argument("--lease", type=float, required=True)
    w.add_argument("--token-lease", type=float, required=True)
    w.add_argument("--skew", type=float, required=True)
    w.add_argument("--consumer", required=True)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", action="append", help="run only the run(s) of this name")
    p.add_argument("--redis-url", default=None)
    p.add_argument("--json", type=Path, default=None, help="write the figures here")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.command == "worker":
        return asyncio.run(_worker(args))
    runs = QUICK_RUNS if args.quick else FULL_RUNS
    if args.only:
        runs = tuple(r for r in runs if r.name in args.only)
    url = args.redis_url or os.environ.get("REDIS_URL") or DEFAULT_REDIS
    results = asyncio.run(run_all(runs, url, lambda line: print(line, file=sys.stderr)))
    text = json.dumps(results, indent=2, ensure_ascii=False)
    if args.json is not None:
        args.json.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


__all__ = ["FULL_RUNS", "QUICK_RUNS", "ScaleRun", "checks", "main", "rate_fraction",
           "run_one", "scenario", "turnover"]

if __name__ == "__main__":
    sys.exit(main())

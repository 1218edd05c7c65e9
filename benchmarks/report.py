"""Machine facts, medians and ratios, targets, and the Markdown / JSON outputs."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from benchmarks.scenarios import DECODE, THROUGHPUT

BASELINE = "baseline"
GHL_CONTENDERS = ("ghl_async-nolimit", "ghl_async-default")
# Time relative to the baseline, same run, medians.
RATIO_TARGETS = {
    "get_sequential": 1.10,
    "get_concurrent": 1.10,
    "post_concurrent": 1.10,
    "walk_business": 1.10,
    "decode_page": 1.05,
    "decode_page_wide": 1.05,
}
MEMORY_FLAT = 1.25  # peak at the large N may exceed the small N's by at most 25 %
RATE_FRACTION = 0.98
SCALE_FRACTION = 0.95  # issue 12: shared budgets reach 95 % of the sum of the allowed rates
_PACKAGES = ("ghl-async", "aiohttp", "msgspec", "aiolimiter", "backoff", "httpx", "yarl",
             "multidict", "gohighlevel-api-client", "pydantic")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    # Set when running from an exported snapshot (`git archive`), which has no .git.
    pinned = os.environ.get("GHL_BENCH_COMMIT")
    if pinned:
        return pinned
    root = Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, check=True,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on."""
    versions: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count() or 0
    return {
        "cpu_model": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "packages": versions,
        "ghl_async_commit": _git_commit(),
        "event_loop": "asyncio (default selector loop)",
        "date_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "argv": sys.argv[1:],
    }


def summarise(samples: list[dict[str, float]], requests: int) -> dict[str, Any]:
    """Median time and derived figures of one contender in one scenario."""
    times = [s["seconds"] for s in samples]
    med = statistics.median(times)
    timed_out = any(s.get("timed_out") for s in samples)
    return {
        "times_s": [round(t, 6) for t in times],
        # A run abandoned at its time limit only says "slower than this": no rate, no ratio.
        "timed_out": timed_out,
        "median_s": med,
        "requests_per_s": None if timed_out or not med else requests / med,
        "client_cpu_share": statistics.median(s["client_cpu"] for s in samples),
        "server_cpu_share": statistics.median(s["server_cpu"] for s in samples),
        "server_429": sum(int(s["server_429"]) for s in samples),
    }


def add_ratios(rows: dict[str, dict[str, Any]], key: str = "median_s") -> None:
    """Put each contender's ratio to the baseline next to its median."""
    base = rows.get(BASELINE)
    for row in rows.values():
        if base is None or not base[key] or row.get("timed_out"):
            row["ratio"] = None
        else:
            row["ratio"] = row[key] / base[key]


def add_paired_ratios(rows: dict[str, dict[str, Any]]) -> None:
    """Median over repetitions of (contender time / baseline time in the same repetition).

    Runs of one repetition are seconds apart, so load from elsewhere that comes and goes
    over tens of seconds cancels out of each pair; shown beside the ratio of medians.
    """
    base = rows.get(BASELINE)
    for row in rows.values():
        pairs = []
        if base is not None and not row.get("timed_out"):
            # a contender with fewer repetitions ran in the first ones
            pairs = [t / b for t, b in zip(row["times_s"], base["times_s"], strict=False) if b]
        row["paired_ratio"] = statistics.median(pairs) if pairs else None


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Evaluate every target that the scenarios run here can decide."""
    out: list[dict[str, Any]] = []
    sc = report["scenarios"]
    for scen, limit in RATIO_TARGETS.items():
        rows = sc.get(scen, {}).get("results", {})
        for name in GHL_CONTENDERS:
            if scen in DECODE and name != "ghl_async-default":
                continue  # one decoder, whichever limiter the client has
            row = rows.get(name)
            if row is None or row.get("ratio") is None:
                continue
            out.append({"target": f"{scen} ≤ {limit:.2f}× baseline", "contender": name,
                        "value": round(row["ratio"], 3), "pass": row["ratio"] <= limit})
    mem = sc.get("memory_walk", {}).get("results", {})
    for name in GHL_CONTENDERS:
        row = mem.get(name)
        if row is not None:
            out.append({"target": f"memory flat in N (peak large ≤ {MEMORY_FLAT:.2f}× small)",
                        "contender": name, "value": round(row["growth"], 3),
                        "pass": row["growth"] <= MEMORY_FLAT})
    rl = sc.get("rate_limited_sync", {}).get("results", {})
    for name, row in rl.items():
        out.append({"target": f"rate-limited ≥ {RATE_FRACTION:.0%} of allowed rate, 0 × 429",
                    "contender": name,
                    "value": f"{row['fraction_of_allowed']:.1%}, {row['server_429']} × 429",
                    "pass": row["fraction_of_allowed"] >= RATE_FRACTION
                    and row["server_429"] == 0})
    for name, row in sc.get("scale_out", {}).get("results", {}).items():
        checks_ok = all(row["checks"].values())
        if row["settings"]["kill"]:
            out.append({"target": "scale-out, kill -9: every record once, no token lost, "
                                  "0 × 429, 0 refresh reused", "contender": name,
                        "value": f"{sum(row['checks'].values())}/{len(row['checks'])} checks",
                        "pass": checks_ok})
            continue
        out.append({"target": f"scale-out ≥ {SCALE_FRACTION:.0%} of the allowed rate, "
                              "0 × 429, 0 refresh reused, every record once",
                    "contender": name,
                    "value": f"{row['fraction_of_allowed']:.1%}, {row['server_429']} × 429, "
                             f"{row['refresh_reused']} reused",
                    "pass": row["fraction_of_allowed"] >= SCALE_FRACTION and checks_ok})
    return out


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.0%}"


def _num(x: float | None, fmt: str = ",.0f") -> str:
    return "–" if x is None else format(x, fmt)


def markdown(report: dict[str, Any]) -> str:
    """The whole report as Markdown (also what stdout shows)."""
    m = report["machine"]
    lines = [
        "# ghl_async benchmarks",
        "",
        f"Run {m['date_utc']} · {m['cpu_model']} · {m['usable_cores']} usable cores "
        f"(load average at start {m['load_average_at_start']}, at end "
        f"{m.get('load_average_at_end')}) · {m['python']} · "
        f"ghl_async {m['packages'].get('ghl-async')} @ {m['ghl_async_commit']} · "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items()
                    if v and k != "ghl-async"),
        "",
        f"Mode: {report['mode']}, {report['reps']} repetitions ({report['ref_reps']} for the "
        "slow httpx-based references); medians. Contenders are interleaved: each run is cut "
        f"into {report['sizes']['parts']} slices ({report['sizes']['post_parts']} for POST) "
        "that go round all contenders, starting with a different one each time, and a run's "
        "time is the sum of its slices. Server: own process, pre-serialised answers, "
        "loopback only. "
        "× baseline = median time / baseline's median time (the targets use it); paired × = "
        "median over repetitions of the time / the baseline's time in the same repetition. "
        "CPU columns are shares of one core during the timed run.",
        "",
        "Contenders:",
        "",
    ]
    for name, desc in report["contenders"].items():
        lines.append(f"- **{name}**: {desc}")
    for name, why in report["skipped"].items():
        lines.append(f"- ~~{name}~~ skipped: {why}")
    lines.append("")
    sc = report["scenarios"]
    for scen in THROUGHPUT:
        if scen not in sc:
            continue
        lines += [f"## {scen}: {sc[scen]['description']}", "",
                  "| contender | runs | median s | req/s | × baseline | paired × | client CPU | "
                  "server CPU |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, row in sc[scen]["results"].items():
            lines.append(
                f"| {name} | {len(row['times_s'])} | "
                f"{'> ' if row['timed_out'] else ''}{row['median_s']:.3f} | "
                f"{_num(row['requests_per_s'])} | "
                f"{_num(row['ratio'], '.2f')} | {_num(row['paired_ratio'], '.2f')} | "
                f"{_pct(row['client_cpu_share'])} | "
                f"{_pct(row['server_cpu_share'])} |")
        lines.append("")
    for scen in DECODE:
        if scen not in sc:
            continue
        d = sc[scen]
        lines += [f"## {scen}: {d['description']}", "",
                  "| decoder | samples | median µs | min µs | pages/s | × baseline |",
                  "|---|---:|---:|---:|---:|---:|"]
        for name, row in d["results"].items():
            lines.append(f"| {name} | {row['samples']} | {row['median_us']:.0f} | "
                         f"{row['min_us']:.0f} | {_num(1e6 / row['median_us'])} "
                         f"| {_num(row['ratio'], '.2f')} |")
        lines.append("")
    if "memory_walk" in sc:
        mw = sc["memory_walk"]
        small, large = mw["sizes"]
        lines += [f"## memory_walk: {mw['description']}", "",
                  f"| contender | peak at {small:,} (KiB) | peak at {large:,} (KiB) | growth |",
                  "|---|---:|---:|---:|"]
        for name, row in mw["results"].items():
            lines.append(f"| {name} | {row['peak_small_b'] / 1024:,.0f} | "
                         f"{row['peak_large_b'] / 1024:,.0f} | {row['growth']:.2f}× |")
        lines.append("")
    if "rate_limited_sync" in sc:
        rl = sc["rate_limited_sync"]
        lines += [f"## rate_limited_sync: {rl['description']}", "",
                  rl["method"], "",
                  "| contender | runs (elapsed s, 429s) | median elapsed s | ideal s | "
                  "fraction of allowed rate | 429s seen |",
                  "|---|---|---:|---:|---:|---:|"]
        for name, row in rl["results"].items():
            each = ", ".join(f"{r['elapsed_s']:.2f} s/{r['server_429']}" for r in row["runs"])
            lines.append(f"| {name} | {each} | {row['elapsed_s']:.2f} | {row['ideal_s']:.2f} | "
                         f"{row['fraction_of_allowed']:.1%} | {row['server_429']} |")
        lines.append("")
    if "server_capacity" in sc:
        cap = sc["server_capacity"]
        lines += [f"## server_capacity: {cap['description']}", "",
                  "| load processes | requests | aggregate req/s | CPU share per load process | "
                  "server CPU share | server CPU µs / request |", "|---:|---:|---:|---:|---:|---:|"]
        for row in cap["runs"]:
            lines.append(f"| {row['processes']} | {row['requests']:,} | "
                         f"{row['requests_per_s']:,.0f} | {row['client_cpu_share']:.0%} | "
                         f"{row['server_cpu_share']:.0%} | "
                         f"{row['server_cpu_us_per_request']:.1f} |")
        lines += ["", cap["verdict"], ""]
    if "scale_out" in sc:
        so = sc["scale_out"]
        lines += [f"## scale_out: {so['description']}", ""]
        if so.get("skipped"):
            lines += [f"Skipped: {so['skipped']}.", ""]
        else:
            lines += [so["method"], "",
                      "| run | records | rate, whole run | rate, steady state | req/s first to "
                      "last upsert / allowed on average | 429s | refresh tokens reused / "
                      "refreshes | tokens lost | "
                      "sent twice (in the killed worker's hands) | budget round trips per "
                      "request | checks |",
                      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
            for name, row in so["results"].items():
                trips = row.get("round_trips_per_request")
                failed = [k for k, v in row["checks"].items() if not v]
                verdict = "FAILED: " + ", ".join(failed) if failed else "all pass"
                lines.append(
                    f"| {name} | {row['records']:,} | {row['fraction_of_allowed']:.1%} | "
                    f"{row['steady_fraction']:.1%} | {row['achieved_rps']:.0f} / "
                    f"{row['allowed_rps']:.0f} | {row['server_429']} | "
                    f"{row['refresh_reused']} / {row['refreshes']} | {row['tokens_lost']} | "
                    f"{row['keys_twice']} ({row['victim_in_hand']}) | "
                    f"{_num(trips, '.2f')} | "
                    f"{verdict} |")
            lines.append("")
            for name, row in so["results"].items():
                lines.append(f"- **{name}**: {row['description']}.")
            lines.append("")
    if report["targets"]:
        lines += ["## Targets", "", "| target | contender | value | result |",
                  "|---|---|---:|---|"]
        for t in report["targets"]:
            lines.append(f"| {t['target']} | {t['contender']} | {t['value']} | "
                         f"{'PASS' if t['pass'] else 'FAIL'} |")
        lines.append("")
    lines += ["Rerun: `make bench` (or `.venv/bin/python -m benchmarks --reps 5`); "
              "`--quick` for a smoke run, `--only SCENARIO` for one scenario.", ""]
    return "\n".join(lines)


def write(report: dict[str, Any], out_dir: Path, stem: str) -> tuple[Path, Path]:
    """Write `<stem>.md` and `<stem>.json` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / f"{stem}.md", out_dir / f"{stem}.json"
    md.write_text(markdown(report), encoding="utf-8")
    js.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return md, js

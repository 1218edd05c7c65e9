"""Smoke run of `python -m benchmarks --quick`: every scenario must produce figures.

The benchmark itself is not part of the test suite; this only proves the runner, the server
process and every ghl_async contender still work end to end, with tiny sizes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {"get_sequential", "get_concurrent", "walk_business", "post_concurrent",
             "decode_page", "decode_page_wide", "memory_walk", "rate_limited_sync",
             "server_capacity"}
GHL = ("ghl_async-nolimit", "ghl_async-default")


def test_quick_run_reports_every_scenario(tmp_path: Path) -> None:
    # The httpx-based references are left out: they add seconds and test nothing of ours.
    # scale_out (Redis, worker processes) has its own test: tests/test_redis_scale.py.
    only = [arg for name in sorted(SCENARIOS) for arg in ("--only", name)]
    cmd = [sys.executable, "-m", "benchmarks", "--quick", "--out", str(tmp_path),
           "--contender", "baseline", "--contender", GHL[0], "--contender", GHL[1], *only]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]

    report = json.loads((tmp_path / "quick.json").read_text(encoding="utf-8"))
    assert report["mode"] == "quick"
    assert report["skipped"] == {}
    assert set(report["scenarios"]) == SCENARIOS
    for key in ("cpu_model", "usable_cores", "python", "packages"):
        assert report["machine"][key]
    assert report["machine"]["packages"]["ghl-async"]

    sc = report["scenarios"]
    for name in ("get_sequential", "get_concurrent", "walk_business", "post_concurrent"):
        rows = sc[name]["results"]
        assert set(rows) == {"baseline", *GHL}, name
        assert rows["baseline"]["ratio"] == 1.0
        for row in rows.values():
            assert row["median_s"] > 0
            assert row["requests_per_s"] > 0
            assert row["server_429"] == 0
    for name in ("decode_page", "decode_page_wide"):
        assert {"baseline", "ghl_async-default"} <= set(sc[name]["results"]), name
        assert sc[name]["results"]["baseline"]["ratio"] == 1.0
    for row in sc["memory_walk"]["results"].values():
        assert row["peak_small_b"] > 0
        assert row["peak_large_b"] > 0
    limited = sc["rate_limited_sync"]["results"]["ghl_async-default"]
    assert 0 < limited["fraction_of_allowed"] <= 1.0
    assert isinstance(limited["server_429"], int)
    assert [run["processes"] for run in sc["server_capacity"]["runs"]] == [1, 2]

    decided = {(t["target"].split(" ")[0], t["contender"]) for t in report["targets"]}
    assert ("get_sequential", "ghl_async-default") in decided
    assert ("rate-limited", "ghl_async-default") in decided
    assert ("decode_page_wide", "ghl_async-default") in decided
    assert all(isinstance(t["pass"], bool) for t in report["targets"])

    table = (tmp_path / "quick.md").read_text(encoding="utf-8")
    assert "## Targets" in table
    assert "PASS" in table or "FAIL" in table


def test_instruction_counts_run_when_valgrind_is_there() -> None:
    # The measured child alone (no valgrind needed): every mode with every ghl_async contender.
    from benchmarks.server import Rule, ServerProcess

    with ServerProcess(Rule(20, 1000)) as server:
        for mode in ("seq", "conc", "post"):
            for name in ("baseline", *GHL):
                cmd = [sys.executable, "-m", "benchmarks.instructions", "--client", name, "20",
                       server.url(), mode]
                proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                                      timeout=60, check=False)
                assert proc.returncode == 0, proc.stderr[-2000:]

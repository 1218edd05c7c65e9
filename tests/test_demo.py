"""The demo, end to end: in-process for its numbers, and through `ghl-async demo`."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from ghl_async.cli.inputs import parse_rate
from ghl_async.demo import run_demo, window_stats
from ghl_async.errors import ConfigError


async def test_demo_in_process() -> None:
    out, err = io.StringIO(), io.StringIO()
    summary = await run_demo(out=out, err=err, rate=(1000, 1.0), records=160, quiet=True)
    text = out.getvalue()
    assert summary.ok, text
    assert (summary.rows, summary.created, summary.invalid) == (160, 152, 8)
    assert (summary.rerun_skipped, summary.rerun_sent, summary.duplicates) == (152, 0, 0)
    assert summary.walked == summary.contacts == 152
    assert summary.task_id is not None
    assert summary.bundle_tasks == 1
    assert summary.webhooks_received >= 152
    assert summary.rate_limited == 0
    for step in (
        "1. OAuth",
        "2. Import",
        "3. Run the same import again",
        "4. Walk",
        "5. Webhook",
        "6. Bundle",
        "429s seen: 0",
        "OK",
    ):
        assert step in text
    assert err.getvalue() == ""  # quiet: no progress bar


def test_demo_command() -> None:
    ghl = str(Path(sys.executable).parent / "ghl-async")
    result = subprocess.run(
        [ghl, "demo", "--records", "60", "--rate", "1000/1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "429s seen: 0" in result.stdout


@pytest.mark.parametrize("text", ["100", "x/10", "0/10", "100/0", "100/-1"])
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(ConfigError, match="100/10"):
        parse_rate(text)


def test_parse_rate_and_window_stats() -> None:
    assert parse_rate("100/10") == (100, 10.0)
    assert window_stats([], 1.0) == (0.0, 0)
    assert window_stats([0.0, 0.1, 0.2, 1.5, 2.5, 3.5], 1.0) == (1.0, 3)


async def test_demo_without_the_webhooks_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # A None entry makes `import cryptography` fail, as without `ghl-async[webhooks]`.
    monkeypatch.setitem(sys.modules, "cryptography", None)
    out = io.StringIO()
    summary = await run_demo(out=out, err=io.StringIO(), rate=(1000, 1.0), records=40, quiet=True)
    assert summary.ok
    assert summary.webhooks_skipped
    assert (summary.task_id, summary.webhooks_received) == (None, 0)
    assert "pip install 'ghl-async[webhooks]'" in out.getvalue()

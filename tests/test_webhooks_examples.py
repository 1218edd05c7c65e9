"""The webhook examples run end to end against FakeHighLevel, as a user would run them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.mark.parametrize(
    ("script", "in_stdout", "in_stderr"),
    [
        (
            "webhook_task_on_contact_update.py",
            "now: ['Review the changes to Grace Hopper']",
            "",
        ),
        (
            "webhook_note_alert.py",
            "alerts raised: 2;",
            # The failing handler is logged with its traceback, and the example still succeeds.
            "ConnectionError: the SMS gateway is down",
        ),
        (
            "webhook_enrich_new_contact.py",
            "notes=['Met at the trade fair.'], tasks=['Send the brochure']",
            "",
        ),
    ],
)
def test_example_runs(script: str, in_stdout: str, in_stderr: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert in_stdout in done.stdout
    if in_stderr:
        assert in_stderr in done.stderr
    else:
        assert "Traceback" not in done.stderr

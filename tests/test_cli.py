"""`ghl-async` through its entry point, against the standalone fake in its own process."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GHL = str(Path(sys.executable).parent / "ghl-async")
DEMO_CSV = ROOT / "ghl_async" / "data" / "demo_submissions.csv"
DEMO_MAPPING = ROOT / "ghl_async" / "data" / "demo_mapping.toml"
FAST = "2000/1"


@pytest.fixture(scope="module")
def fake() -> Iterator[dict[str, str]]:
    """`python -m ghl_async.testing --port 0` in a subprocess; its printed facts."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ghl_async.testing",
            "--port",
            "0",
            "--json",
            "--seed",
            "12",
            "--rate-limit",
            "2000/1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    facts = json.loads(proc.stdout.readline())
    try:
        yield facts
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=10)


@pytest.fixture
def env(fake: dict[str, str], tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GHL_")}
    return {
        **base,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "GHL_TOKEN": fake["private_token"],
        "GHL_LOCATION_ID": fake["location_id"],
        "GHL_BASE_URL": fake["base_url"],
        "GHL_RATE_LIMIT": FAST,
    }


def ghl(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [GHL, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def out(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.stdout, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def test_help_documents_commands_env_and_exit_codes(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ghl_async", "--help"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    for text in (
        "auth",
        "contacts",
        "tasks",
        "notes",
        "fake",
        "demo",
        "GHL_TOKEN",
        "GHL_CLIENT_SECRET",
        "exit codes:",
        "5    quota",
    ):
        assert text in result.stdout
    usage = ghl("contacts", "get", env=env)
    assert usage.returncode == 2
    assert "contact_id" in usage.stderr


def test_contact_lifecycle(env: dict[str, str]) -> None:
    created = out(
        ghl(
            "contacts",
            "upsert",
            "--set",
            "email=Ada@Example.com",
            "--set",
            "firstName=Ada",
            "--set",
            "tags=math,engines",
            "--set",
            "cf.era=1840s",
            env=env,
        )
    )
    assert created["new"] is True
    contact = created["contact"]
    assert isinstance(contact, dict)
    contact_id = str(contact["id"])
    fetched = out(ghl("contacts", "get", contact_id, env=env))
    assert (fetched["firstName"], fetched["tags"]) == ("Ada", ["math", "engines"])
    assert out(ghl("contacts", "delete", contact_id, env=env)) == {
        "id": contact_id,
        "deleted": True,
    }
    gone = ghl("contacts", "get", contact_id, env=env)
    assert gone.returncode == 4
    assert "not found" in gone.stderr
    assert env["GHL_TOKEN"] not in gone.stderr + gone.stdout


def demo_rows(path: Path, rows: int, start: int = 0) -> Path:
    """The header and ``rows`` rows of the bundled CSV from row ``start`` on (one in twenty
    is bad on purpose)."""
    with DEMO_CSV.open(newline="") as source, path.open("w", newline="") as target:
        lines = source.readlines()
        target.writelines([lines[0], *lines[1 + start : 1 + start + rows]])
    return path


def done_entries(journal: Path) -> int:
    text = journal.read_text()
    return text.count('"s":"created"') + text.count('"s":"updated"')


def test_import_rerun_and_export(env: dict[str, str], tmp_path: Path) -> None:
    data = demo_rows(tmp_path / "rows.csv", 200)
    journal = tmp_path / "import.journal"
    args = [
        "contacts",
        "import",
        str(data),
        "--mapping",
        str(DEMO_MAPPING),
        "--journal",
        str(journal),
        "--business",
        "biz_cli",
    ]
    first = ghl(*args, env=env)
    assert first.returncode == 1, first.stderr  # some rows are bad on purpose
    report = out(first)
    assert (report["total"], report["created"], report["failed"]) == (200, 190, 10)
    failures = report["failures"]
    assert isinstance(failures, list)
    assert {f["stage"] for f in failures} == {"mapping"}
    second = out(ghl(*args, env=env))
    assert (second["skipped"], second["created"], second["requests"]) == (190, 0, 0)
    exported = tmp_path / "biz.csv"
    assert out(
        ghl("contacts", "export", "--business", "biz_cli", "--out", str(exported), env=env)
    ) == {"exported": 190, "file": str(exported)}
    with exported.open(newline="") as f:
        emails = [row["email"] for row in csv.DictReader(f)]
    assert len(emails) == len(set(emails)) == 190
    lines = ghl("contacts", "export", "--business", "biz_cli", env=env).stdout.splitlines()
    assert len(lines) == 190
    dry = ghl(
        "contacts",
        "import",
        str(data),
        "--mapping",
        str(DEMO_MAPPING),
        "--dry-run",
        "-o",
        "table",
        env=env,
    )
    assert dry.returncode == 1
    assert "phone" in dry.stdout


def test_import_killed_with_sigkill_resumes_from_its_journal(
    env: dict[str, str], tmp_path: Path
) -> None:
    data = demo_rows(tmp_path / "rows.csv", 400, start=1000)
    journal = tmp_path / "import.journal"
    args = [
        GHL,
        "contacts",
        "import",
        str(data),
        "--mapping",
        str(DEMO_MAPPING),
        "--journal",
        str(journal),
        "--business",
        "biz_kill",
        "-q",
    ]
    slow = {**env, "GHL_RATE_LIMIT": "100/1"}  # about 4 s for the whole file
    proc = subprocess.Popen(args, env=slow, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if journal.exists() and done_entries(journal) >= 100:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    done = done_entries(journal)
    assert 100 <= done < 380
    rerun = out(ghl(*args[1:], env=env))
    assert rerun["skipped"] == done
    assert rerun["created"] + rerun["updated"] + done == 380
    exported = ghl("contacts", "export", "--business", "biz_kill", env=env).stdout.splitlines()
    emails = [json.loads(line)["email"] for line in exported]
    assert len(emails) == len(set(emails)) == 380


def test_oauth_login_status_refresh_logout(fake: dict[str, str], tmp_path: Path) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GHL_")}
    env = {
        **base,
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "GHL_CLIENT_ID": fake["client_id"],
        "GHL_CLIENT_SECRET": fake["client_secret"],
    }
    login = subprocess.Popen(
        [
            GHL,
            "auth",
            "login",
            "--no-browser",
            "--chooser-url",
            fake["chooser_url"],
            "--base-url",
            fake["base_url"],
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert login.stderr is not None
    url = ""
    for line in login.stderr:
        if "chooselocation" in line:
            url = line.strip()
            break
    assert fake["client_secret"] not in url
    with urllib.request.urlopen(url, timeout=10) as page:  # plays the browser
        assert b"Authorised" in page.read()
    stdout, stderr = login.communicate(timeout=20)
    assert login.returncode == 0, stderr
    status = json.loads(stdout)
    assert (status["logged_in"], status["location_id"]) == (True, fake["location_id"])
    assert fake["client_secret"] not in stdout + stderr
    store = tmp_path / "config" / "ghl-async" / "tokens.json"
    assert store.stat().st_mode & 0o777 == 0o600
    again = out(ghl("auth", "status", env=env))
    assert again["refresh_token"] is True
    assert "access_token" not in json.dumps(again)
    # Later commands find the location and server in the profile `auth login` saved.
    listed = ghl("contacts", "export", "--business", "biz_1", env={**env, "GHL_RATE_LIMIT": FAST})
    assert listed.returncode == 0, listed.stderr
    assert len(listed.stdout.splitlines()) == 12
    assert out(ghl("auth", "refresh", env=env))["refreshed"] is True
    assert out(ghl("auth", "logout", env=env))["logged_out"] is True
    gone = ghl("auth", "status", env=env)
    assert gone.returncode == 3
    assert out(gone)["logged_in"] is False


def test_exit_codes_for_credentials_and_network(env: dict[str, str]) -> None:
    bare = {k: v for k, v in env.items() if k not in ("GHL_TOKEN",)}
    missing = ghl("contacts", "get", "abc", env=bare)
    assert missing.returncode == 3
    assert "GHL_TOKEN" in missing.stderr
    refused = ghl("contacts", "get", "abc", env={**env, "GHL_TOKEN": "pit-wrong"})
    assert refused.returncode == 3
    assert "pit-wrong" not in refused.stderr
    nowhere = ghl(
        "contacts",
        "get",
        "abc",
        "--retries",
        "0",
        env={**env, "GHL_BASE_URL": "http://127.0.0.1:9"},
    )
    assert nowhere.returncode == 6


def test_fake_command_serves_until_terminated(env: dict[str, str]) -> None:
    proc = subprocess.Popen(
        [GHL, "fake", "--port", "0", "--json"], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    with proc.stdout:
        facts = json.loads(proc.stdout.readline())
        assert facts["base_url"].startswith("http://127.0.0.1:")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0

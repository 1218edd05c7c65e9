"""`ghl-async contacts import --redis` and `ghl-async worker`, in-process against FakeHighLevel on
a background thread; the local workers are real `python -m ghl_async worker` processes."""

from __future__ import annotations

import io
import json
import socket
import threading
from pathlib import Path

import pytest

from ghl_async.cli import main
from ghl_async.testing import FakeHighLevel

ENV = ("GHL_TOKEN", "GHL_LOCATION_ID", "GHL_BASE_URL", "GHL_CLIENT_ID", "GHL_CLIENT_SECRET",
       "GHL_TOKEN_STORE", "GHL_CHOOSER_URL", "GHL_REDIS_URL", "GHL_REDIS_PREFIX")


@pytest.fixture(scope="module")
def fake() -> FakeHighLevel:
    with FakeHighLevel.serve_in_thread(rate_limit=(5000, 1.0)) as server:
        yield server  # type: ignore[misc]


@pytest.fixture
def env(
    fake: FakeHighLevel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, redis_url: str,
    redis_prefix: str,
) -> Path:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("GHL_TOKEN", fake.private_token)
    monkeypatch.setenv("GHL_LOCATION_ID", fake.location_id)
    monkeypatch.setenv("GHL_BASE_URL", fake.base_url)
    monkeypatch.setenv("GHL_RATE_LIMIT", "5000/1")
    monkeypatch.setenv("GHL_REDIS_URL", redis_url)
    monkeypatch.setenv("GHL_REDIS_PREFIX", redis_prefix)
    (tmp_path / "map.toml").write_text('[fields]\nemail = "email"\nfirst_name = "first"\n')
    return tmp_path


def write_csv(path: Path, n: int, location: str, *, bad: bool = True) -> Path:
    # The fake lives for the module: each file gets its own addresses.
    lines = ["email,first,loc"] + [f"{path.stem}{i}@example.com,S{i},{location}" for i in range(n)]
    if bad:
        lines.append(f",nobody,{location}")
    path.write_text("\n".join(lines) + "\n")
    return path


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_a_shared_import_with_local_workers_then_a_rerun(env: Path, fake: FakeHighLevel) -> None:
    source = write_csv(env / "a.csv", 30, fake.location_id)
    args = ("contacts", "import", str(source), "--mapping", str(env / "map.toml"), "-q")
    code, out, err = run(*args, "--workers", "2")
    assert code == 1, err  # one record without e-mail or phone
    report = json.loads(out)
    assert (report["total"], report["created"], report["workers"], report["run"]) == (31, 30, 2, 1)
    assert report["failures"][0]["line"] == 32
    assert report["job"].startswith("import-")
    assert f"ghl-async worker --redis URL --job {report['job']}" in err
    assert "redis://" not in err  # the URL may hold a password: never printed
    code, out, _ = run(*args, "--workers", "1")
    again = json.loads(out)
    assert (again["skipped"], again["created"], again["run"], again["job"]) == (
        30, 0, 2, report["job"])


def test_a_worker_from_another_machine_does_the_work(env: Path, fake: FakeHighLevel) -> None:
    source = write_csv(env / "b.csv", 12, fake.location_id, bad=False)
    results: dict[str, tuple[int, str, str]] = {}

    def coordinator() -> None:
        results["import"] = run("contacts", "import", str(source), "--mapping",
                                str(env / "map.toml"), "-q", "--workers", "0", "--job", "b1",
                                "--location-column", "LOC", "--loose-columns")

    thread = threading.Thread(target=coordinator)
    thread.start()
    code, out, err = run("worker", "--job", "b1", "--wait", "30", "--concurrency", "3")
    thread.join(60)
    assert code == 0, err
    mine = json.loads(out)
    assert (mine["jobs"], mine["created"]) == (["b1"], 12)
    code, out, err = results["import"]
    assert code == 0, err
    assert json.loads(out)["created"] == 12


def test_a_worker_without_a_job_waits_then_stops(env: Path) -> None:
    code, out, _ = run("worker", "--wait", "0")
    assert code == 0
    assert json.loads(out)["jobs"] == []


def test_refused_credentials_stop_the_import_with_the_auth_exit_code(
    env: Path, fake: FakeHighLevel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GHL_TOKEN", "pit-not-a-token")
    source = write_csv(env / "c.csv", 3, fake.location_id, bad=False)
    code, _, err = run("contacts", "import", str(source), "--mapping", str(env / "map.toml"),
                       "-q", "--job", "c1")
    assert code == 3
    assert "token was refused" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--journal", "j.jsonl"], "--journal"),
        (["--business", "biz_1"], "--business"),
        (["--workers", "-1"], "--workers"),
        (["--location-column", "nope"], "nope"),
    ],
)
def test_shared_import_options_are_checked_before_anything_runs(
    env: Path, fake: FakeHighLevel, extra: list[str], message: str
) -> None:
    source = write_csv(env / "d.csv", 1, fake.location_id)
    code, _, err = run("contacts", "import", str(source), "--mapping", str(env / "map.toml"),
                       *extra)
    assert code == 2
    assert message in err


@pytest.mark.parametrize("flag", [["--workers", "2"], ["--job", "x"], ["--location-column", "loc"]])
def test_shared_import_options_need_redis(
    env: Path, fake: FakeHighLevel, monkeypatch: pytest.MonkeyPatch, flag: list[str]
) -> None:
    monkeypatch.delenv("GHL_REDIS_URL")
    source = write_csv(env / "e.csv", 1, fake.location_id)
    code, _, err = run("contacts", "import", str(source), "--mapping", str(env / "map.toml"),
                       *flag)
    assert code == 2
    assert "need --redis" in err


@pytest.mark.parametrize(
    "argv",
    [["worker", "--concurrency", "0"], ["worker", "--wait", "-1"]],
)
def test_worker_settings_are_checked(env: Path, argv: list[str]) -> None:
    code, _, err = run(*argv)
    assert code == 2, err


def test_a_worker_needs_redis(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GHL_REDIS_URL")
    code, _, err = run("worker")
    assert code == 2
    assert "--redis" in err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_redis_is_a_network_error_not_a_traceback(
    env: Path, fake: FakeHighLevel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GHL_REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")
    source = write_csv(env / "f.csv", 1, fake.location_id)
    code, _, err = run("contacts", "import", str(source), "--mapping", str(env / "map.toml"))
    assert code == 6
    assert "Redis: ConnectionError" in err
    assert "Traceback" not in err
    code, _, err = run("worker", "--wait", "0")
    assert code == 6


def test_other_commands_share_the_budget_and_tokens_through_redis(
    env: Path, fake: FakeHighLevel, monkeypatch: pytest.MonkeyPatch
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None)
    code, out, err = run("contacts", "get", cid)
    assert code == 0, err
    assert json.loads(out)["id"] == cid
    monkeypatch.delenv("GHL_TOKEN")
    monkeypatch.setenv("GHL_CLIENT_ID", fake.client_id)
    monkeypatch.setenv("GHL_CLIENT_SECRET", fake.client_secret)
    code, out, _ = run("auth", "status")
    assert code == 3  # nothing saved in this Redis yet
    status = json.loads(out)
    assert status["logged_in"] is False
    assert status["path"].startswith("redis (")
    code, _, err = run("auth", "logout")
    assert code == 0, err

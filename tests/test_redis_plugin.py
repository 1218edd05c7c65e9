"""The rule that picks a Redis for the tests, as a table and in real pytest subprocesses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from redis_plugin import Plan, ci_enabled, decide, free_port, ping, redact

TESTS_DIR = Path(__file__).resolve().parent


@pytest.mark.parametrize(
    ("reachable", "binary", "ci", "plan"),
    [
        (True, None, False, Plan.USE),
        (True, None, True, Plan.USE),
        (True, "/usr/bin/redis-server", True, Plan.USE),
        (False, "/usr/bin/redis-server", False, Plan.START),
        (False, "/usr/bin/redis-server", True, Plan.START),
        (False, None, True, Plan.FAIL),
        (False, None, False, Plan.SKIP),
        (False, "", False, Plan.SKIP),
    ],
)
def test_decide(reachable: bool, binary: str | None, ci: bool, plan: Plan) -> None:
    assert decide(reachable=reachable, server_binary=binary, ci=ci) is plan


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        (" 1 ", True),
        ("yes", True),
        ("false", False),
        ("0", False),
        ("", False),
        (None, False),
    ],
)
def test_ci_enabled(value: str | None, expected: bool) -> None:
    assert ci_enabled(value) is expected


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://:s3cret@host:6380/1", "redis://:***@host:6380/1"),
        ("rediss://app:s3cret@host/2", "rediss://app:***@host/2"),
    ],
)
def test_redact(url: str, shown: str) -> None:
    assert redact(url) == shown


def test_ping_of_nothing_is_false() -> None:
    assert not ping(f"redis://127.0.0.1:{free_port()}/0", timeout=0.5)
    assert not ping("not-a-url")


_PROBE = textwrap.dedent(
    """
    import redis

    def test_needs_redis(redis_url):
        assert redis.Redis.from_url(redis_url).ping()

    def test_needs_nothing():
        assert 1 + 1 == 2
    """
)


def run_pytest(tmp_path: Path, *, path: str, ci: bool) -> subprocess.CompletedProcess[str]:
    """Run the probe tests in a fresh pytest whose REDIS_URL answers nothing."""
    (tmp_path / "test_probe.py").write_text(_PROBE)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env.pop("CI", None)
    env.update(
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        PATH=path,
        PYTHONPATH=str(TESTS_DIR),
    )
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "redis_plugin",
            "-p",
            "no:cacheprovider",
            "-q",
            "-rs",
            "test_probe.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_ci_without_redis_fails_the_redis_tests(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    run = run_pytest(tmp_path, path=str(empty), ci=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 passed, 1 error" in run.stdout
    assert "CI=true forbids skipping" in run.stdout
    assert "skipped" not in run.stdout


def test_a_developer_without_redis_skips_only_the_redis_tests(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    run = run_pytest(tmp_path, path=str(empty), ci=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed, 1 skipped" in run.stdout
    assert "Redis tests skipped: no Redis at redis://127.0.0.1:" in run.stdout
    assert "set REDIS_URL=" in run.stdout


def test_a_private_redis_server_is_started_and_stopped(
    tmp_path: Path, redis_server_binary: str
) -> None:
    run = run_pytest(tmp_path, path=str(Path(redis_server_binary).parent), ci=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
    found = re.search(r"private redis-server at (redis://127\.0\.0\.1:\d+/0)", run.stdout)
    assert found is not None, run.stdout
    assert not ping(found.group(1), timeout=0.5)  # stopped with the session


def test_this_session_found_a_redis(redis_url: str) -> None:
    # Holds in CI (CI=true turns a missing Redis into errors) and wherever Redis tests run.
    assert ping(redis_url)

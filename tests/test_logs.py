"""``GHL_ASYNC_LOG`` and the CLI's ``-v``/``-vv``: what gets printed, where, and never a secret."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghl_async import logs
from ghl_async.cli import main
from ghl_async.errors import ConfigError
from ghl_async.testing import FakeHighLevel


@pytest.mark.parametrize(
    ("environ", "level"),
    [
        ({}, None),
        ({"GHL_ASYNC_LOG": ""}, None),
        ({"GHL_ASYNC_LOG": "  "}, None),
        ({"GHL_ASYNC_LOG": "debug"}, logging.DEBUG),
        ({"GHL_ASYNC_LOG": "DEBUG"}, logging.DEBUG),
        ({"GHL_ASYNC_LOG": " info "}, logging.INFO),
        ({"OTHER": "debug"}, None),
    ],
)
def test_level_from_env(environ: dict[str, str], level: int | None) -> None:
    assert logs.level_from_env(environ) == level


@pytest.mark.parametrize("value", ["verbose", "1", "warning", "debug,info"])
def test_an_unknown_level_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="GHL_ASYNC_LOG must be one of debug, info"):
        logs.level_from_env({"GHL_ASYNC_LOG": value})


@pytest.fixture
def lonely() -> logging.Logger:
    """A logger outside the hierarchy with the default level, as in an app that set up nothing.

    (Not a child of the root: pytest attaches its capture handlers to the loggers it knows.)
    """
    logger = logging.Logger("ghl_async_logs_test")
    logger.setLevel(logging.WARNING)
    return logger


def test_apply_level_adds_a_handler_only_when_none_would_print(lonely: logging.Logger) -> None:
    handler = logs.apply_level(logging.DEBUG, lonely)
    assert handler is not None
    assert lonely.handlers == [handler]
    assert lonely.level == logging.DEBUG
    assert handler.formatter is not None
    assert handler.formatter._fmt == logs.FORMAT
    assert logs.apply_level(logging.DEBUG, lonely) is None  # now one exists
    assert lonely.handlers == [handler]


def test_apply_level_never_makes_logging_quieter(lonely: logging.Logger) -> None:
    lonely.addHandler(logging.NullHandler())
    lonely.setLevel(logging.DEBUG)
    assert logs.apply_level(logging.INFO, lonely) is None
    assert lonely.level == logging.DEBUG
    lonely.setLevel(logging.WARNING)
    logs.apply_level(logging.INFO, lonely)
    assert lonely.level == logging.INFO


# --- a real process: the variable is read when the first Client is made ------------------------

SCRIPT = r"""
import asyncio, json, logging, sys
import ghl_async
from ghl_async.testing import FakeHighLevel

async def run() -> None:
    if sys.argv[1] == "app-configured":
        logging.basicConfig(stream=sys.stdout, level=logging.WARNING, format="APP %(message)s")
    async with FakeHighLevel(rate_limit=None) as fake:
        (cid,) = fake.seed_contacts(1, business_id=None)
        app = ghl_async.OAuthApp(client_id=fake.client_id, client_secret=fake.client_secret,
                                 store=ghl_async.MemoryTokenStore(), base_url=fake.base_url)
        try:
            client = ghl_async.Client(auth=app, base_url=fake.base_url)
        except ghl_async.ConfigError as err:
            print(json.dumps({"error": str(err)}))
            return
        async with client as ghl:
            token = await app.exchange_code(fake.issue_code())
            await ghl.contacts.get(cid)
        secrets = [fake.client_secret, token.access_token, token.refresh_token]
        print(json.dumps({"secrets": secrets, "cid": cid,
                          "level": logging.getLogger("ghl_async").level}))

asyncio.run(run())
"""


def _run(tmp_path: Path, setting: str | None, mode: str = "plain") -> tuple[dict[str, object], str]:
    script = tmp_path / "app.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "GHL_ASYNC_LOG"}
    if setting is not None:
        env["GHL_ASYNC_LOG"] = setting
    done = subprocess.run(
        [sys.executable, str(script), mode], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    *app_lines, last = done.stdout.strip().splitlines()
    result = json.loads(last)
    result["app_lines"] = app_lines
    return result, done.stderr


def test_debug_prints_requests_to_stderr_without_secrets(tmp_path: Path) -> None:
    result, stderr = _run(tmp_path, "debug")
    lines = stderr.splitlines()
    assert any(
        " ghl_async DEBUG GET /contacts/" in line and f"{result['cid']} -> 200" in line
        for line in lines
    ), stderr
    assert any(" ghl_async.auth DEBUG exchanged an authorization code" in line for line in lines)
    assert result["level"] == logging.DEBUG
    secrets = result["secrets"]
    assert isinstance(secrets, list)
    for secret in secrets:
        assert secret
        assert secret not in stderr


def test_info_leaves_out_the_request_lines(tmp_path: Path) -> None:
    result, stderr = _run(tmp_path, "info")
    assert result["level"] == logging.INFO
    assert " DEBUG " not in stderr


def test_unset_prints_nothing(tmp_path: Path) -> None:
    result, stderr = _run(tmp_path, None)
    assert result["level"] == logging.NOTSET
    assert stderr == ""


def test_an_app_with_its_own_logging_gets_the_lines_through_its_handlers(tmp_path: Path) -> None:
    result, stderr = _run(tmp_path, "debug", "app-configured")
    assert stderr == ""  # no second handler of ours
    app_lines = result["app_lines"]
    assert isinstance(app_lines, list)
    assert any(line.startswith("APP GET /contacts/") for line in app_lines), app_lines


def test_a_bad_value_stops_client_creation(tmp_path: Path) -> None:
    result, _ = _run(tmp_path, "loud")
    assert "GHL_ASYNC_LOG must be one of debug, info" in str(result["error"])


# --- the CLI ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHighLevel]:
    with FakeHighLevel.serve_in_thread(rate_limit=None) as server:
        yield server


@pytest.fixture
def cli_env(fake: FakeHighLevel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("GHL_ASYNC_LOG", "GHL_CLIENT_ID", "GHL_CLIENT_SECRET", "GHL_TOKEN_STORE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("GHL_TOKEN", fake.private_token)
    monkeypatch.setenv("GHL_LOCATION_ID", fake.location_id)
    monkeypatch.setenv("GHL_BASE_URL", fake.base_url)
    (cid,) = fake.seed_contacts(1, business_id=None)
    return cid


def _cli(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    if code == 0:
        assert json.loads(out.getvalue())["id"] == argv[2]  # the command did its job
    return code, err.getvalue()


def _request_lines(err: str, cid: str) -> list[str]:
    return [line for line in err.splitlines() if f"DEBUG GET /contacts/{cid} -> 200" in line]


def test_cli_verbosity(cli_env: str, fake: FakeHighLevel, monkeypatch: pytest.MonkeyPatch) -> None:
    cid = cli_env
    code, err = _cli("contacts", "get", cid)
    assert (code, err) == (0, "")
    code, err = _cli("contacts", "get", cid, "-v")
    assert code == 0
    assert _request_lines(err, cid) == []  # -v is INFO: no per-request lines
    code, err = _cli("contacts", "get", cid, "-vv")
    assert code == 0
    (line,) = _request_lines(err, cid)
    assert " ghl_async DEBUG GET " in line  # the FORMAT shared with GHL_ASYNC_LOG
    assert fake.private_token not in err
    monkeypatch.setenv("GHL_ASYNC_LOG", "debug")
    code, err = _cli("contacts", "get", cid, "-v")  # the more verbose setting wins
    assert len(_request_lines(err, cid)) == 1
    code, err = _cli("contacts", "get", cid)
    assert len(_request_lines(err, cid)) == 1  # printed once: no second handler
    assert logging.getLogger("ghl_async").handlers == []  # and none left behind


def test_cli_bad_log_setting_is_a_usage_error(
    cli_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GHL_ASYNC_LOG", "chatty")
    code, err = _cli("contacts", "get", cli_env)
    assert code == 2
    assert "GHL_ASYNC_LOG must be one of debug, info" in err

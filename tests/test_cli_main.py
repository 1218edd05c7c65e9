"""`ghl_async.cli.main([...])` in-process, against FakeHighLevel on a background thread."""

from __future__ import annotations

import io
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ghl_async.cli import exit_code_for, main
from ghl_async.cli.output import ExitCode, emit, render_table
from ghl_async.cli.progress import ProgressBar, format_duration
from ghl_async.cli.settings import MissingCredentials, Profile, load_profile
from ghl_async.errors import (
    APIError,
    AuthenticationError,
    ConfigError,
    RateLimitError,
    RequestTimeout,
    TransportError,
)
from ghl_async.testing import FakeHighLevel

ROOT = Path(__file__).resolve().parent.parent
DEMO_MAPPING = ROOT / "ghl_async" / "data" / "demo_mapping.toml"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeHighLevel]:
    with FakeHighLevel.serve_in_thread(rate_limit=(5000, 1.0)) as server:
        server.seed_contacts(15, business_id="biz_main")
        yield server


@pytest.fixture
def env(fake: FakeHighLevel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in (
        "GHL_TOKEN",
        "GHL_LOCATION_ID",
        "GHL_BASE_URL",
        "GHL_CLIENT_ID",
        "GHL_CLIENT_SECRET",
        "GHL_TOKEN_STORE",
        "GHL_CHOOSER_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("GHL_TOKEN", fake.private_token)
    monkeypatch.setenv("GHL_LOCATION_ID", fake.location_id)
    monkeypatch.setenv("GHL_BASE_URL", fake.base_url)
    monkeypatch.setenv("GHL_RATE_LIMIT", "5000/1")
    return tmp_path


def run(*argv: str, stdout: io.StringIO | None = None) -> tuple[int, str, str]:
    out, err = stdout or io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def data(*argv: str) -> dict[str, object]:
    code, out, err = run(*argv)
    assert code == 0, err
    parsed = json.loads(out)
    assert isinstance(parsed, dict)
    return parsed


def test_contacts_from_json_files_stdin_and_fields(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = env / "body.json"
    body.write_text(json.dumps({"email": "lin@example.com", "tags": ["x"]}))
    created = data(
        "contacts",
        "create",
        "--json",
        str(body),
        "--set",
        "dnd=yes",
        "--set",
        "customFields.level=3",
    )
    contact_id = str(created["id"])
    assert created["dnd"] is True
    monkeypatch.setattr("sys.stdin", io.StringIO('{"firstName": "Lin"}'))
    updated = data("contacts", "update", contact_id, "--json", "-")
    assert updated["firstName"] == "Lin"
    upserted = data("contacts", "upsert", "--set", "email=lin@example.com", "--set", "last_name=Wu")
    assert upserted["new"] is False
    code, table, _ = run("contacts", "bundle", contact_id, "-o", "table")
    assert code == 0
    assert table.startswith("FIELD")
    assert data("contacts", "delete", contact_id)["deleted"] is True


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["contacts", "create", "--set", "email"], "expects FIELD=VALUE"),
        (["contacts", "create", "--set", "emial=x"], "did you mean 'email'"),
        (["contacts", "create", "--set", "dnd=perhaps"], "not a yes/no value"),
        (["contacts", "create", "--json", "missing.json"], "missing.json"),
        (["contacts", "import", "x.xml", "--mapping", str(DEMO_MAPPING)], "records come from"),
        (["contacts", "import", "missing.csv", "--mapping", str(DEMO_MAPPING)], "missing.csv"),
        (["contacts", "import", "x.csv", "--mapping", "nope.toml"], "cannot read mapping"),
        (
            ["contacts", "import", "x.csv", "--mapping", str(DEMO_MAPPING), "--concurrency", "0"],
            "at least 1",
        ),
        (["contacts", "get", "a", "--rate-limit", "fast"], "rate must look like"),
        (["contacts", "get", "a/b"], "not a valid id"),
    ],
)
def test_usage_errors_exit_2(env: Path, argv: list[str], message: str) -> None:
    code, _, err = run(*argv)
    assert code == ExitCode.USAGE, err
    assert message in err


def test_bad_json_bodies(env: Path) -> None:
    broken = env / "broken.json"
    broken.write_text("{\n  'email': 1\n}")
    assert "broken.json:2: invalid JSON" in run("contacts", "create", "--json", str(broken))[2]
    listed = env / "list.json"
    listed.write_text("[1]")
    assert "expected a JSON object" in run("contacts", "upsert", "--json", str(listed))[2]
    wrong = env / "wrong.json"
    wrong.write_text('{"dnd": "often"}')
    assert "bad body" in run("contacts", "upsert", "--json", str(wrong))[2]


def test_tasks_and_notes(env: Path, fake: FakeHighLevel) -> None:
    contact_id = str(data("contacts", "create", "--set", "email=ken@example.com")["id"])
    task = data(
        "tasks",
        "create",
        contact_id,
        "--title",
        "Call",
        "--due",
        "2030-01-01T09:00:00Z",
        "--body",
        "about Unix",
        "--assigned-to",
        "u1",
    )
    assert data("tasks", "complete", contact_id, str(task["id"]))["completed"] is True
    assert data("tasks", "complete", contact_id, str(task["id"]), "--undo")["completed"] is False
    code, listed, _ = run("tasks", "list", contact_id, "-o", "table")
    assert code == 0
    assert "about Unix" in listed
    assert data("tasks", "delete", contact_id, str(task["id"]))["deleted"] is True
    note = data("notes", "create", contact_id, "--body", "wrote ed", "--title", "history")
    plain = data("notes", "create", contact_id, "--body", "no title")
    assert "title" not in plain
    code, notes, _ = run("notes", "list", contact_id)
    assert "wrote ed" in notes
    assert data("notes", "delete", contact_id, str(note["id"]))["deleted"] is True
    assert len(fake.notes_of(contact_id)) == 1


SMALL_MAPPING = (
    'version = 1\ndefault_country = "US"\nfull_name = "Full Name"\n'
    '[fields]\nemail = "Email"\nphone = "Phone"\n'
)


def small_mapping(env: Path) -> str:
    path = env / "small.toml"
    path.write_text(SMALL_MAPPING)
    return str(path)


def test_import_formats_keys_and_table_report(env: Path) -> None:
    mapping = small_mapping(env)
    jsonl = env / "rows.jsonl"
    jsonl.write_text(
        "\n".join(
            json.dumps({"Email": f"r{i}@example.com", "Full Name": "A B", "Phone": ""})
            for i in range(5)
        )
        + "\n\n"
    )
    report = data(
        "contacts", "import", str(jsonl), "--mapping", mapping, "--key", "Email", "--reserve", "10"
    )
    assert report["created"] == 5
    listed = env / "rows.json"
    listed.write_text(json.dumps([{"Email": "r0@example.com", "Phone": "bad", "Full Name": "x"}]))
    code, table, _ = run(
        "contacts", "import", str(listed), "--mapping", mapping, "--key", "hash", "-o", "table"
    )
    assert code == ExitCode.PARTIAL
    assert "FIELD" in table
    assert "bad phone 'bad': not a phone number" in table  # the reason in full
    dry = data("contacts", "import", str(jsonl), "--mapping", mapping, "--dry-run")
    assert (dry["total"], dry["skipped"], dry["failed"]) == (5, 5, 0)
    # A line that is not a JSON object fails that record, on its line; the rest go through.
    bad_line = env / "bad.jsonl"
    bad_line.write_text('{"Email": "a@b.co", "Phone": "", "Full Name": "A"}\n[1]\n{"Email"\n')
    code, out, _ = run("contacts", "import", str(bad_line), "--mapping", mapping)
    assert code == ExitCode.PARTIAL
    failures = json.loads(out)["failures"]
    assert [(f["line"], f["field"]) for f in failures] == [(2, "input"), (3, "input")]
    assert failures[0]["reason"] == "input: expected a JSON object, got a list"
    assert failures[1]["reason"].startswith("input: invalid JSON: Expecting ':' delimiter")
    # A file that is not a list of objects, or a JSON array that does not parse: exit 2.
    not_list = env / "obj.json"
    not_list.write_text('{"Email": "a@b.co"}')
    assert (
        "holds a list of objects"
        in run("contacts", "import", str(not_list), "--mapping", mapping)[2]
    )
    broken = env / "broken.json"
    broken.write_text("[\n{")
    code, _, err = run("contacts", "import", str(broken), "--mapping", mapping)
    assert code == ExitCode.USAGE
    assert "broken.json:2: invalid JSON" in err


def test_import_from_stdin(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("Email,Phone,Full Name\nx1@example.com,,X\n"))
    report = data("contacts", "import", "-", "--mapping", small_mapping(env))
    assert report["created"] == 1


def test_import_stops_on_the_daily_quota(env: Path, fake: FakeHighLevel) -> None:
    rows = env / "rows.csv"
    rows.write_text(
        "Email,Phone,Full Name\n" + "".join(f"q{i}@example.com,,Q\n" for i in range(30))
    )
    fake.reset_rate_limits()  # earlier tests spent part of today's quota
    fake.set_daily_limit(20)
    try:
        code, out, _ = run(
            "contacts",
            "import",
            str(rows),
            "--mapping",
            small_mapping(env),
            "--reserve",
            "15",
            "--concurrency",
            "1",
        )
    finally:
        fake.set_daily_limit(None)
        fake.reset_rate_limits()
    assert code == ExitCode.QUOTA
    assert json.loads(out)["stopped"] == "quota"


def test_import_stops_on_a_refused_token_with_its_report(env: Path, fake: FakeHighLevel) -> None:
    rows = env / "rows.csv"
    rows.write_text("Email,Phone,Full Name\n" + "".join(f"a{i}@example.com,,A\n" for i in range(9)))
    issued = fake.issue_token()
    fake.revoke_tokens(private=False)  # a token of an OAuth app, revoked: no refresh from here
    journal = env / "stop.journal"
    code, out, err = run(
        "contacts", "import", str(rows), "--mapping", small_mapping(env), "--token",
        issued.access_token, "--concurrency", "1", "--journal", str(journal),
    )  # fmt: skip
    assert code == ExitCode.AUTH
    report = json.loads(out)  # the report is printed all the same
    assert report["stopped"] == "auth"
    assert report["failures"][0]["status"] == 401
    assert "stopped early" in err
    assert "Traceback" not in err
    assert journal.read_text().startswith('{"journal":"ghl_async.bulk"')


def test_export_to_stdout_as_csv(env: Path) -> None:
    code, out, _ = run(
        "contacts", "export", "--business", "biz_main", "--format", "csv", "--columns", "id, email"
    )
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "id,email"
    assert len(lines) == 16


def test_api_errors_map_to_exit_codes(env: Path, fake: FakeHighLevel) -> None:
    fake.fail("contacts.get", status=429, times=None)
    try:
        code, _, err = run("contacts", "get", "abc", "--retries", "0")
    finally:
        fake.clear_faults()
    assert code == ExitCode.QUOTA
    assert "429" in err
    fake.fail("contacts.get", status=422, times=1)
    assert run("contacts", "get", "abc")[0] == ExitCode.API
    assert run("contacts", "get", "abc", "--token", "pit-nope")[0] == ExitCode.AUTH
    code, _, err = run("contacts", "get", "abc", "-vv")
    assert code == ExitCode.API
    assert "GET /contacts/abc" in err  # -vv logs each request


class BrokenPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError


def test_a_closed_pipe_ends_quietly(env: Path) -> None:
    code, _, err = run("contacts", "export", "--business", "biz_main", stdout=BrokenPipe())
    assert (code, err) == (0, "")


class Browser(io.StringIO):
    """Stands in for the user: opens the consent URL as soon as the CLI prints it."""

    def __init__(self, tamper: str | None = None) -> None:
        super().__init__()
        self.tamper = tamper
        self.thread: threading.Thread | None = None
        self.statuses: list[int] = []

    def write(self, text: str) -> int:
        for line in text.splitlines():
            if "chooselocation" in line and self.thread is None:
                self.thread = threading.Thread(target=self.visit, args=(line.strip(),))
                self.thread.start()
        return super().write(text)

    def visit(self, url: str) -> None:
        urls = [url]
        if self.tamper is not None:
            redirect = urllib.request.unquote(url.split("redirect_uri=")[1].split("&")[0])
            state = url.split("state=")[1]
            # A forged state and a redirect without a code are refused; the wait goes on.
            urls = [
                redirect + "?state=forged&code=x",
                redirect + "?state=" + state,
                redirect + self.tamper.replace("STATE", state),
            ]
        for target in urls:
            try:
                with urllib.request.urlopen(target, timeout=10) as page:
                    page.read()
                    self.statuses.append(page.status)
            except urllib.error.HTTPError as err:
                self.statuses.append(err.code)


def login(fake: FakeHighLevel, browser: Browser, *extra: str) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(
        [
            "auth",
            "login",
            "--no-browser",
            "--client-id",
            fake.client_id,
            "--chooser-url",
            fake.chooser_url,
            "--base-url",
            fake.base_url,
            *extra,
        ],
        stdout=out,
        stderr=browser,
    )
    if browser.thread is not None:
        browser.thread.join(10)
    return code, out.getvalue(), browser.getvalue()


def test_oauth_login_in_process(
    env: Path, fake: FakeHighLevel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GHL_TOKEN")
    monkeypatch.delenv("GHL_LOCATION_ID")
    monkeypatch.delenv("GHL_BASE_URL")
    monkeypatch.setenv("GHL_CLIENT_SECRET", fake.client_secret)
    browser = Browser()
    code, out, err = login(fake, browser)
    assert code == 0, err
    assert browser.statuses == [200]
    assert json.loads(out)["location_id"] == fake.location_id
    profile = load_profile(_namespace(None))
    assert profile.location_id == fake.location_id
    assert profile.client_id == fake.client_id
    assert data("auth", "status")["logged_in"] is True
    assert data("auth", "refresh")["refreshed"] is True
    code, out, _ = run("contacts", "export", "--business", "biz_main")
    assert code == 0
    assert len(out.splitlines()) == 15
    assert data("auth", "logout")["logged_out"] is True
    assert run("auth", "status")[0] == ExitCode.AUTH
    browser = Browser("?error=access_denied&state=STATE")
    refused = login(fake, browser)
    assert refused[0] == ExitCode.AUTH
    assert "consent refused: access_denied" in refused[2]
    assert browser.statuses == [400, 400, 400]
    browser = Browser("?skip")
    code, _, err = login(fake, browser, "--timeout", "0.5")
    assert code == ExitCode.AUTH
    assert "timed out" in err
    assert browser.statuses == [400, 400, 400]


def _namespace(store: str | None) -> object:
    import argparse

    return argparse.Namespace(token_store=store)


def test_auth_settings_edges(
    env: Path, fake: FakeHighLevel, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert data("auth", "status", "--token", "pit-x")["source"] == "--token"
    assert data("auth", "status")["source"] == "GHL_TOKEN"
    monkeypatch.delenv("GHL_TOKEN")
    assert run("auth", "refresh", "--client-id", "cid")[0] == ExitCode.AUTH
    assert (
        run("auth", "refresh", "--client-id", "c", "--client-secret", "s", "--location-id", "")[0]
        == ExitCode.USAGE
    )
    store = env / "elsewhere" / "tokens.json"
    profile = store.with_name("tokens.profile.json")
    profile.parent.mkdir()
    profile.write_text("{not json")
    code, _, err = run(
        "contacts",
        "get",
        "x",
        "--token-store",
        str(store),
        "--client-id",
        "c",
        "--client-secret",
        "s",
    )
    assert code == ExitCode.USAGE
    assert "unreadable CLI profile" in err
    assert load_profile(_namespace(str(env / "none.json"))) == Profile()  # type: ignore[arg-type]


def test_exit_code_table() -> None:
    def api(cls: type[APIError], status: int) -> APIError:
        return cls(status=status, operation="op", method="GET", url="/x")

    assert exit_code_for(MissingCredentials("x")) == ExitCode.AUTH
    assert exit_code_for(api(AuthenticationError, 401)) == ExitCode.AUTH
    assert exit_code_for(ConfigError("x")) == ExitCode.USAGE
    assert exit_code_for(FileNotFoundError()) == ExitCode.USAGE
    assert exit_code_for(api(RateLimitError, 429)) == ExitCode.QUOTA
    assert exit_code_for(RequestTimeout("slow")) == ExitCode.NETWORK
    assert exit_code_for(TransportError("reset")) == ExitCode.NETWORK
    assert exit_code_for(TimeoutError()) == ExitCode.AUTH
    assert exit_code_for(api(APIError, 418)) == ExitCode.API


def test_output_rendering() -> None:
    assert render_table([]) == "(none)"
    table = render_table([{"a": "x" * 60, "b": [1, 2], "c": {"k": 1}, "d": None, "e": True}])
    assert "…" in table
    assert "1, 2" in table
    assert '{"k":1}' in table
    stream = io.StringIO()
    emit([1, 2], stream, output="table")
    emit("plain", stream, output="table")
    emit({"a": 1, "b": 2}, stream, output="table", columns=["a"])
    text = stream.getvalue()
    assert "VALUE" in text
    assert "plain" in text
    assert " b " not in text


def test_progress_bar() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, "importing", total=200, enabled=True, interval=0)
    bar.started -= 10
    bar.update(100, extra="created 100")
    assert "[##############..............] 100/200  50%" in stream.getvalue()
    assert "ETA 10s" in stream.getvalue()
    bar.update(200)
    bar.close()
    assert stream.getvalue().endswith("in 10s\n")
    open_ended = ProgressBar(stream, "exporting", enabled=True)
    assert open_ended.render(5, now=open_ended.started).startswith("exporting 5 0.0/s")
    quiet = io.StringIO()
    hidden = ProgressBar(quiet, "x", total=1)
    hidden.update(1)
    hidden.close()
    assert quiet.getvalue() == ""
    never = ProgressBar(stream, "y", enabled=True)
    never.close()
    assert (format_duration(59), format_duration(75), format_duration(3700)) == (
        "59s",
        "1m15s",
        "1h01m",
    )


def test_version_and_help_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "ghl-async" in capsys.readouterr().out
    assert main(["contacts"]) == 2


def test_python_dash_m_runs_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import runpy

    monkeypatch.setattr("sys.argv", ["ghl_async", "--version"])
    with pytest.raises(SystemExit) as stop:
        # run_path, not run_module: the file is executed as-is, whatever import hooks the
        # rest of the test session installed.
        runpy.run_path(str(ROOT / "ghl_async" / "__main__.py"), run_name="__main__")
    assert stop.value.code == 0
    assert capsys.readouterr().out.startswith("ghl-async ")

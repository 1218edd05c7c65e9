"""The ``ghl-async`` command line: every command, option and environment variable."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

from ghl_async import __version__
from ghl_async.cli.output import ExitCode

__all__ = ["ENV", "build_parser"]

# Flag destination -> environment variable it falls back to.
ENV = {
    "token": "GHL_TOKEN",
    "location_id": "GHL_LOCATION_ID",
    "base_url": "GHL_BASE_URL",
    "client_id": "GHL_CLIENT_ID",
    "client_secret": "GHL_CLIENT_SECRET",
    "token_store": "GHL_TOKEN_STORE",
    "chooser_url": "GHL_CHOOSER_URL",
    "rate_limit": "GHL_RATE_LIMIT",
    "redis": "GHL_REDIS_URL",
    "redis_prefix": "GHL_REDIS_PREFIX",
}

_EPILOG = """\
credentials, first found wins: flags, then environment variables GHL_TOKEN (a Private
Integration or access token), GHL_LOCATION_ID, GHL_BASE_URL, GHL_CLIENT_ID, GHL_CLIENT_SECRET,
GHL_TOKEN_STORE, then the token store written by `ghl-async auth login`. Secrets are never
printed; prefer environment variables to flags, which other users can see in `ps`.
With --redis URL [GHL_REDIS_URL] (needs ghl-async[redis]), OAuth tokens and each location's
rate budget are shared through Redis with every other process using it, and `contacts import`
is shared by workers (`ghl-async worker` joins from other machines).

exit codes:
""" + "\n".join(
    f"  {code.value:<4} {line.split(None, 1)[1]}"
    for code, line in zip(
        ExitCode,
        [ln.strip() for ln in (ExitCode.__doc__ or "").splitlines() if ln.strip()[:1].isdigit()],
        strict=True,
    )
)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)


def _common() -> argparse.ArgumentParser:
    """Options every command accepts, after the command name too."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("connection")
    group.add_argument("--token", help="access or Private Integration token [GHL_TOKEN]")
    group.add_argument("--location-id", help="the sub-account (location) id [GHL_LOCATION_ID]")
    group.add_argument("--base-url", help="API base URL [GHL_BASE_URL]")
    group.add_argument("--client-id", help="OAuth app client id [GHL_CLIENT_ID]")
    group.add_argument("--client-secret", help="OAuth app client secret [GHL_CLIENT_SECRET]")
    group.add_argument(
        "--token-store",
        metavar="PATH",
        help="OAuth token file [GHL_TOKEN_STORE; default ~/.config/ghl-async/tokens.json]",
    )
    group.add_argument(
        "--rate-limit",
        metavar="N/SECONDS",
        help="the burst rule to keep to, or 'off' to wait for nothing but the server's "
        "429s [GHL_RATE_LIMIT; default 100/10, HighLevel's]",
    )
    group.add_argument(
        "--redis",
        metavar="URL",
        help="share tokens, rate budgets and imports through this Redis [GHL_REDIS_URL]",
    )
    group.add_argument(
        "--redis-prefix",
        metavar="PREFIX",
        help="key prefix in Redis, one per app [GHL_REDIS_PREFIX; default ghl:]",
    )
    group.add_argument(
        "--retries",
        type=int,
        metavar="N",
        help="retries after a failed attempt (429, 5xx, connection errors; default 3)",
    )
    out = common.add_argument_group("output")
    out.add_argument(
        "-o",
        "--output",
        choices=("json", "table"),
        default="json",
        help="print JSON (default) or a table",
    )
    out.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    out.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="log retries, waits and token renewals (-v) and every request (-vv) to stderr "
        "[GHL_ASYNC_LOG=info|debug]",
    )
    return common


def _fields(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set",
        dest="fields",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a contact field (firstName=Ada or first_name=Ada; tags=a,b); repeat",
    )
    parser.add_argument(
        "--json",
        dest="json_file",
        metavar="FILE",
        help="read the body from a JSON file ('-' = stdin)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    common = _common()
    parser = argparse.ArgumentParser(
        prog="ghl-async",
        description="HighLevel Contacts API (v2, Version 2021-07-28) from the shell: contacts, "
        "tasks, notes, bulk import/export, OAuth login, a local fake server and a demo.",
        epilog=_EPILOG,
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"ghl-async {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def leaf(
        group: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help: str
    ) -> argparse.ArgumentParser:
        return group.add_parser(
            name, help=help, description=help, parents=[common], formatter_class=_Formatter
        )

    # -- auth ------------------------------------------------------------------------------
    auth = commands.add_parser("auth", help="OAuth login, refresh and token status")
    auth_cmds = auth.add_subparsers(dest="action", metavar="ACTION", required=True)
    login = leaf(auth_cmds, "login", "authorise this machine through the OAuth consent page")
    login.add_argument(
        "--scope",
        action="append",
        default=None,
        help="scope to ask for; repeat (default: contacts.readonly contacts.write)",
    )
    login.add_argument(
        "--port",
        type=int,
        default=0,
        help="loopback port for the redirect (default: any free port)",
    )
    login.add_argument(
        "--redirect-uri",
        help="the registered redirect URI, when it differs from the loopback "
        "URL (it must still reach this machine's port)",
    )
    login.add_argument("--chooser-url", help="consent page URL [GHL_CHOOSER_URL]")
    login.add_argument("--user-type", choices=("Location", "Company"), default="Location")
    login.add_argument("--no-browser", action="store_true", help="only print the URL")
    login.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds to wait for the redirect (default 300)",
    )
    leaf(auth_cmds, "refresh", "refresh the stored token now")
    leaf(auth_cmds, "status", "show the stored token (never its value)")
    leaf(auth_cmds, "logout", "forget the stored token")

    # -- contacts --------------------------------------------------------------------------
    contacts = commands.add_parser("contacts", help="get, create, update, import, export ...")
    c = contacts.add_subparsers(dest="action", metavar="ACTION", required=True)
    leaf(c, "get", "print one contact").add_argument("contact_id")
    _fields(leaf(c, "create", "create a contact"))
    update = leaf(c, "update", "update a contact's fields")
    update.add_argument("contact_id")
    _fields(update)
    leaf(c, "delete", "delete a contact").add_argument("contact_id")
    _fields(leaf(c, "upsert", "create or update a contact by email/phone"))
    leaf(c, "bundle", "a contact with its tasks, notes and appointments").add_argument("contact_id")
    export = leaf(c, "export", "stream every contact of a business to JSON lines or CSV")
    export.add_argument("--business", required=True, metavar="BUSINESS_ID")
    export.add_argument(
        "--out", default="-", metavar="PATH", help="output file; '-' = stdout (default)"
    )
    export.add_argument(
        "--format", choices=("jsonl", "csv"), help="default: from --out's suffix, else jsonl"
    )
    export.add_argument("--columns", help="CSV columns, comma-separated contact fields")
    imp = leaf(c, "import", "upsert records from CSV / JSON lines through a mapping file")
    imp.add_argument("file", help="records: .csv, .jsonl or .json (a list); '-' = CSV on stdin")
    imp.add_argument("--mapping", required=True, metavar="FILE", help=".toml or .json mapping")
    imp.add_argument(
        "--journal", metavar="PATH", help="resume file: a rerun skips records already done"
    )
    imp.add_argument("--fsync", action="store_true", help="fsync the journal after each record")
    imp.add_argument(
        "--force",
        action="store_true",
        help="use the journal although it was last used with another mapping or input",
    )
    imp.add_argument(
        "--rejects",
        metavar="FILE",
        help="write the records that failed, as they were, with an import_error column "
        "(same format as the input: fix them and import that file)",
    )
    imp.add_argument(
        "--encoding",
        default="utf-8-sig",
        help="the input's text encoding (default utf-8-sig: UTF-8, with or without a BOM; "
        "Excel on Windows writes cp1252)",
    )
    imp.add_argument(
        "--loose-columns",
        action="store_true",
        help="match the mapping's column names ignoring case and spaces",
    )
    imp.add_argument(
        "--max-field-size",
        type=int,
        default=131_072,
        metavar="CHARS",
        help="longest value accepted; longer ones fail their record (default 131072)",
    )
    imp.add_argument(
        "--max-record-size",
        type=int,
        default=1_048_576,
        metavar="CHARS",
        help="longest record (CSV row, JSON line) accepted (default 1048576)",
    )
    imp.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    imp.add_argument(
        "--business",
        metavar="BUSINESS_ID",
        help="also attach every contact to this business (bulk calls)",
    )
    imp.add_argument(
        "--key",
        help="record identity: comma-separated columns, or 'hash' "
        "(default: the contact's email, else phone)",
    )
    imp.add_argument(
        "--reserve",
        type=int,
        default=None,
        help="stop when the daily quota left falls to this many requests",
    )
    dist = imp.add_argument_group("shared import (with --redis)")
    dist.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes to start here (default 1; 0: only workers started elsewhere "
        "with `ghl-async worker`)",
    )
    dist.add_argument(
        "--job",
        metavar="NAME",
        help="the import's name in Redis (default: from the file's path and the mapping); "
        "rerun with the same name to resume",
    )
    dist.add_argument(
        "--location-column",
        metavar="COLUMN",
        help="each record's location id is in this column (one import, many locations)",
    )
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="check the file and the mapping, report bad records; send nothing",
    )

    # -- tasks -----------------------------------------------------------------------------
    tasks = commands.add_parser("tasks", help="a contact's tasks")
    t = tasks.add_subparsers(dest="action", metavar="ACTION", required=True)
    leaf(t, "list", "list a contact's tasks").add_argument("contact_id")
    create = leaf(t, "create", "create a task")
    create.add_argument("contact_id")
    create.add_argument("--title", required=True)
    create.add_argument(
        "--due", required=True, metavar="DATETIME", help="ISO-8601, e.g. 2024-07-01T09:00:00Z"
    )
    create.add_argument("--body")
    create.add_argument("--assigned-to", metavar="USER_ID")
    complete = leaf(t, "complete", "mark a task completed")
    complete.add_argument("contact_id")
    complete.add_argument("task_id")
    complete.add_argument("--undo", action="store_true", help="mark it not completed")
    delete = leaf(t, "delete", "delete a task")
    delete.add_argument("contact_id")
    delete.add_argument("task_id")

    # -- notes -----------------------------------------------------------------------------
    notes = commands.add_parser("notes", help="a contact's notes")
    n = notes.add_subparsers(dest="action", metavar="ACTION", required=True)
    leaf(n, "list", "list a contact's notes").add_argument("contact_id")
    note = leaf(n, "create", "create a note")
    note.add_argument("contact_id")
    note.add_argument("--body", required=True)
    note.add_argument("--title")
    note_delete = leaf(n, "delete", "delete a note")
    note_delete.add_argument("contact_id")
    note_delete.add_argument("note_id")

    # -- worker ----------------------------------------------------------------------------
    worker = commands.add_parser(
        "worker",
        help="work on the shared imports in Redis (`contacts import --redis`) until done",
        description="Join the imports submitted with `ghl-async contacts import --redis URL` "
        "from this machine: upsert their records until every record has its outcome. Needs "
        "--redis (GHL_REDIS_URL) and the same credentials as the import. Prints this "
        "worker's share as JSON.",
        parents=[common],
        formatter_class=_Formatter,
    )
    worker.add_argument(
        "--job", metavar="NAME", help="this import only (default: every unfinished one)"
    )
    worker.add_argument("--concurrency", type=int, default=8, help="records in flight (default 8)")
    worker.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="wait this long for an import to be submitted (default 30)",
    )

    # -- fake, demo ------------------------------------------------------------------------
    fake = commands.add_parser(
        "fake",
        help="serve FakeHighLevel on 127.0.0.1 (options: ghl-async fake --help)",
        add_help=False,
    )
    # Everything after `fake` belongs to `python -m ghl_async.testing` (main() hands it over).
    fake.add_argument("fake_args", nargs=argparse.REMAINDER)
    demo = commands.add_parser(
        "demo", help="the end-to-end demo against an in-process fake", formatter_class=_Formatter
    )
    demo.add_argument(
        "--rate",
        default="100/1",
        metavar="N/SECONDS",
        help="the fake's burst rule (HighLevel: 100/10; default 100/1)",
    )
    demo.add_argument(
        "--records", type=int, default=None, help="import only the first N rows of the bundled CSV"
    )
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


def resolve_env(args: argparse.Namespace, environ: Mapping[str, str]) -> None:
    """Fill unset connection options from their environment variables.

    ``args.from_env`` records which ones came from there (for ``auth status``).
    """
    filled = []
    for dest, var in ENV.items():
        if hasattr(args, dest) and getattr(args, dest) is None and environ.get(var):
            setattr(args, dest, environ[var])
            filled.append(dest)
    args.from_env = tuple(filled)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse ``argv`` (``None``: the process arguments)."""
    return build_parser().parse_args(argv)

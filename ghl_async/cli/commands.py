"""One handler per command: call the SDK with the parsed arguments, print the result.

Handlers return an :class:`~ghl_async.cli.output.ExitCode`; errors are raised and turned into
exit codes in one place (:func:`ghl_async.cli.main`).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import time
import webbrowser
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TextIO

import aiohttp

from ghl_async import defaults, routes
from ghl_async.auth import AiohttpTokenTransport, OAuthApp, Token
from ghl_async.bulk import (
    DEFAULT_QUOTA_RESERVE,
    Journal,
    Progress,
    SyncReport,
    upsert_contacts,
)
from ghl_async.bulk._report import mapping_failure
from ghl_async.cli import settings, shared
from ghl_async.cli.inputs import body_from, parse_rate
from ghl_async.cli.loopback import RedirectCatcher
from ghl_async.cli.output import ExitCode, OutputFormat, emit
from ghl_async.cli.progress import ProgressBar
from ghl_async.client import Client
from ghl_async.errors import ConfigError
from ghl_async.export import DEFAULT_COLUMNS, export_contacts, format_for, write_contacts
from ghl_async.mapping import (
    ColumnMatch,
    ContactMapping,
    RecordSource,
    SourceLimits,
    load,
    write_rejects,
)
from ghl_async.mapping._columns import check_columns
from ghl_async.mapping._rejects import check_rejects_path
from ghl_async.models import UNSET, CreateContact, UpdateContact, UpsertContact

__all__ = ["HANDLERS", "Context"]

DEFAULT_SCOPES = ["contacts.readonly", "contacts.write"]


@dataclass(slots=True)
class Context:
    """What handlers print to, and how."""

    args: argparse.Namespace
    out: TextIO
    err: TextIO

    @property
    def output(self) -> OutputFormat:
        return "table" if getattr(self.args, "output", "json") == "table" else "json"

    def emit(self, data: object, columns: list[str] | None = None) -> None:
        emit(data, self.out, output=self.output, columns=columns)

    def bar(self, label: str, total: int | None = None) -> ProgressBar:
        enabled = False if getattr(self.args, "quiet", False) else None
        return ProgressBar(self.err, label, total=total, enabled=enabled)


Handler = Callable[[Context], Coroutine[Any, Any, ExitCode]]
_CONTACT_COLUMNS = ["id", "firstName", "lastName", "email", "phone", "tags"]


def _with_client(work: Callable[[Context, Client], Awaitable[ExitCode]]) -> Handler:
    async def run(ctx: Context) -> ExitCode:
        settings.apply_profile(ctx.args)
        async with settings.open_client(ctx.args) as ghl:
            return await work(ctx, ghl)

    return run


# -- contacts ------------------------------------------------------------------------------


async def _contact_get(ctx: Context, ghl: Client) -> ExitCode:
    ctx.emit(await ghl.contacts.get(ctx.args.contact_id))
    return ExitCode.OK


async def _contact_create(ctx: Context, ghl: Client) -> ExitCode:
    body = body_from(
        CreateContact, ctx.args.fields, ctx.args.json_file, location_id=ghl.location_id
    )
    ctx.emit(await ghl.call(routes.CREATE_CONTACT, body=body, location_id=body.location_id))
    return ExitCode.OK


async def _contact_update(ctx: Context, ghl: Client) -> ExitCode:
    body = body_from(UpdateContact, ctx.args.fields, ctx.args.json_file)
    contact = await ghl.call(
        routes.UPDATE_CONTACT, path={"contact_id": ctx.args.contact_id}, body=body
    )
    ctx.emit(contact)
    return ExitCode.OK


async def _contact_upsert(ctx: Context, ghl: Client) -> ExitCode:
    body = body_from(
        UpsertContact, ctx.args.fields, ctx.args.json_file, location_id=ghl.location_id
    )
    result = await ghl.call(routes.UPSERT_CONTACT, body=body, location_id=body.location_id)
    # Spelled out: the model leaves `new: false` out of its JSON, and here it is the answer.
    ctx.emit({"new": result.new, "contact": result.contact, "traceId": result.trace_id})
    return ExitCode.OK


async def _contact_delete(ctx: Context, ghl: Client) -> ExitCode:
    ack = await ghl.contacts.delete(ctx.args.contact_id)
    ctx.emit({"id": ctx.args.contact_id, "deleted": ack.ok})
    return ExitCode.OK


async def _contact_bundle(ctx: Context, ghl: Client) -> ExitCode:
    ctx.emit(await ghl.contacts.get_bundle(ctx.args.contact_id))
    return ExitCode.OK


async def _contact_export(ctx: Context, ghl: Client) -> ExitCode:
    args = ctx.args
    columns = [c.strip() for c in args.columns.split(",")] if args.columns else DEFAULT_COLUMNS
    bar = ctx.bar("exporting")
    contacts = ghl.contacts.iter_by_business(args.business)
    try:
        if args.out == "-":
            count = await write_contacts(
                contacts,
                ctx.out,
                format=args.format or "jsonl",
                columns=columns,
                on_progress=bar.update,
            )
        else:
            count = await export_contacts(
                contacts,
                args.out,
                format=args.format or format_for(args.out),
                columns=columns,
                on_progress=bar.update,
            )
    finally:
        bar.close()
    if args.out != "-":
        ctx.emit({"exported": count, "file": args.out})
    return ExitCode.OK


_FAILURE_COLUMNS = ["line", "stage", "field", "value", "reason", "message"]


def _report_out(ctx: Context, report: SyncReport, extra: dict[str, object]) -> ExitCode:
    summary = {**report.as_dict(), **extra}
    if ctx.output == "table":
        failures = summary.pop("failures")
        ctx.emit({k: v for k, v in summary.items() if v is not None})
        if isinstance(failures, list) and failures:
            ctx.out.write("\n")
            emit(failures, ctx.out, output="table", columns=_FAILURE_COLUMNS, full=["reason"])
    else:
        ctx.emit(summary)
    if report.stopped is not None:
        # The report above is complete; say on stderr why the run ended early.
        hint = " (check the token, or run `ghl-async auth login` again)"
        ctx.err.write(
            f"ghl-async: stopped early: {report.stop_error or report.stopped}"
            f"{hint if report.stopped == 'auth' else ''}\n"
        )
        return ExitCode.QUOTA if report.stopped == "quota" else ExitCode.AUTH
    return ExitCode.PARTIAL if report.failed else ExitCode.OK


def _same_file(a: str, b: str | None) -> bool:
    return b is not None and os.path.abspath(a) == os.path.abspath(b)


def _open_source(ctx: Context) -> tuple[RecordSource, ContactMapping, dict[str, object]]:
    """The input and the mapping, checked against each other; exit 2 before anything is sent."""
    args = ctx.args
    mapping = load(args.mapping)
    limits = SourceLimits(max_field=args.max_field_size, max_record=args.max_record_size)
    source = RecordSource(args.file, encoding=args.encoding, limits=limits)
    if args.rejects is not None:
        check_rejects_path(args.rejects, source)
        if _same_file(args.rejects, args.mapping) or _same_file(args.rejects, args.journal):
            raise ConfigError(f"--rejects {args.rejects}: that is the mapping or the journal")
    summary = source.check()
    match: ColumnMatch | None = "loose" if args.loose_columns else None
    check = mapping.check_columns(summary.columns, match=match)
    mapping = mapping.bind_columns(summary.columns, match=match, origin=source.name)
    extra: dict[str, object] = {}
    if check.unused:
        extra["unused_columns"] = list(check.unused)
        names = ", ".join(repr(c) for c in check.unused)
        ctx.err.write(
            f"ghl-async: note: {source.name}: columns the mapping does not read: {names}\n"
        )
    return source, mapping, extra


def _rejects(ctx: Context, source: RecordSource, report: SyncReport) -> dict[str, object]:
    path = ctx.args.rejects
    if path is None:
        return {}
    reasons = {failure.index: failure.reason for failure in report.failed}
    return {"rejects": {"file": path, "records": write_rejects(source, reasons, path)}}


async def _contact_import(ctx: Context) -> ExitCode:
    args = ctx.args
    if args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    shared.check_shared_options(args)
    key: str | list[str] = "contact"
    if args.key:
        key = "hash" if args.key == "hash" else [c.strip() for c in args.key.split(",")]
    source, mapping, extra = _open_source(ctx)
    if isinstance(key, list):
        # Key columns are checked like the mapping's: a typo would make every record "blank".
        wanted = dict.fromkeys(key, ("--key",))
        match: ColumnMatch = "loose" if args.loose_columns else mapping.match_columns
        keys = check_columns(wanted, source.columns, match=match)
        if not keys.ok:
            raise ConfigError(keys.explain(source.name))
        key = [keys.found[column] for column in key]
    if args.location_column is not None:
        located = check_columns(
            {args.location_column: ("--location-column",)},
            source.columns,
            match="loose" if args.loose_columns else mapping.match_columns,
        )
        if not located.ok:
            raise ConfigError(located.explain(source.name))
        args.location_column = located.found[args.location_column]
    if args.dry_run:
        report = _dry_run(ctx, mapping, source)
        return _report_out(ctx, report, {**extra, **_rejects(ctx, source, report)})
    if args.redis:
        report, more, code = await shared.run_shared_import(ctx, source, mapping, key)
        exit_code = _report_out(ctx, report, {**extra, **more, **_rejects(ctx, source, report)})
        return exit_code if code is None else code
    journal = None
    if args.journal:
        journal = Journal(
            args.journal,
            fsync=args.fsync,
            input_id=source.identity,
            mapping_id=mapping.fingerprint,
            force=args.force,
        )
    try:
        report = await _send(ctx, source, mapping, key, journal)
    finally:
        if journal is not None:
            journal.close()
    return _report_out(ctx, report, {**extra, **_rejects(ctx, source, report)})


async def _send(
    ctx: Context,
    source: RecordSource,
    mapping: ContactMapping,
    key: str | list[str],
    journal: Journal | None,
) -> SyncReport:
    args = ctx.args
    bar = ctx.bar("importing")
    total = source.check().records
    bar.total = total

    def show(progress: Progress) -> None:
        bar.update(
            progress.done,
            extra=f"new {progress.created} upd {progress.updated} "
            f"skip {progress.skipped} fail {progress.failed}",
        )

    settings.apply_profile(args)
    reserve = DEFAULT_QUOTA_RESERVE if args.reserve is None else args.reserve
    async with settings.open_client(args) as ghl:
        try:
            return await upsert_contacts(
                ghl,
                source,
                mapping,
                concurrency=args.concurrency,
                journal=journal,
                key=key,
                business_id=args.business,
                on_progress=show,
                total=total,
                quota_reserve=reserve,
            )
        finally:
            bar.close()


def _dry_run(ctx: Context, mapping: ContactMapping, source: RecordSource) -> SyncReport:
    report = SyncReport()
    started = time.monotonic()
    location = ctx.args.location_id or mapping.location_id or "dry-run"
    for record in source:
        report.total += 1
        result = mapping.map(record, index=record.index, location_id=location)
        if result.ok:
            report.skipped += 1  # valid, not sent
        else:
            report.failed.append(mapping_failure(result))
    report.elapsed = time.monotonic() - started
    return report


# -- tasks and notes -----------------------------------------------------------------------


async def _tasks_list(ctx: Context, ghl: Client) -> ExitCode:
    ctx.emit(await ghl.contacts.tasks.list(ctx.args.contact_id))
    return ExitCode.OK


async def _tasks_create(ctx: Context, ghl: Client) -> ExitCode:
    a = ctx.args
    task = await ghl.contacts.tasks.create(
        a.contact_id,
        title=a.title,
        due_date=a.due,
        body=UNSET if a.body is None else a.body,
        assigned_to=UNSET if a.assigned_to is None else a.assigned_to,
    )
    ctx.emit(task)
    return ExitCode.OK


async def _tasks_complete(ctx: Context, ghl: Client) -> ExitCode:
    a = ctx.args
    ctx.emit(await ghl.contacts.tasks.complete(a.contact_id, a.task_id, completed=not a.undo))
    return ExitCode.OK


async def _tasks_delete(ctx: Context, ghl: Client) -> ExitCode:
    ack = await ghl.contacts.tasks.delete(ctx.args.contact_id, ctx.args.task_id)
    ctx.emit({"id": ctx.args.task_id, "deleted": ack.ok})
    return ExitCode.OK


async def _notes_list(ctx: Context, ghl: Client) -> ExitCode:
    ctx.emit(await ghl.contacts.notes.list(ctx.args.contact_id))
    return ExitCode.OK


async def _notes_create(ctx: Context, ghl: Client) -> ExitCode:
    a = ctx.args
    title = UNSET if a.title is None else a.title
    ctx.emit(await ghl.contacts.notes.create(a.contact_id, body=a.body, title=title))
    return ExitCode.OK


async def _notes_delete(ctx: Context, ghl: Client) -> ExitCode:
    ack = await ghl.contacts.notes.delete(ctx.args.contact_id, ctx.args.note_id)
    ctx.emit({"id": ctx.args.note_id, "deleted": ack.ok})
    return ExitCode.OK


# -- auth ----------------------------------------------------------------------------------


def _token_view(token: Token, path: object) -> dict[str, object]:
    view: dict[str, object] = {
        "source": "token store",
        "path": str(path),
        "user_type": token.user_type,
        "location_id": token.location_id,
        "company_id": token.company_id,
        "scope": token.scope,
        "refresh_token": token.refresh_token is not None,
    }
    if token.expires_at is not None:
        view["expires_at"] = dt.datetime.fromtimestamp(token.expires_at, dt.timezone.utc).isoformat(
            timespec="seconds"
        )
        view["expires_in"] = int(token.expires_at - time.time())
    return {k: v for k, v in view.items() if v is not None}


async def _auth_login(ctx: Context) -> ExitCode:
    args = ctx.args
    settings.apply_profile(args)
    base_url = args.base_url or defaults.BASE_URL
    app: OAuthApp | None = None
    try:
        async with RedirectCatcher(port=args.port) as catcher:
            app = settings.oauth_app(
                args,
                redirect_uri=args.redirect_uri or catcher.redirect_uri,
                scopes=args.scope or DEFAULT_SCOPES,
            )
            url = app.authorization_url(state=catcher.state)
            ctx.err.write(
                f"Open this URL to authorise ghl-async:\n\n  {url}\n\n"
                f"Waiting for the redirect to {catcher.redirect_uri} ...\n"
            )
            ctx.err.flush()
            if not args.no_browser:
                with contextlib.suppress(Exception):  # no browser is fine: the URL is printed
                    webbrowser.open(url)
            code = await catcher.wait(args.timeout)
        token = await app.exchange_code(code, base_url=base_url)
        settings.save_profile(
            args,
            settings.Profile(
                location_id=token.location_id or args.location_id,
                base_url=None if base_url == defaults.BASE_URL else base_url,
                client_id=args.client_id,
                chooser_url=None if app.chooser_url == defaults.CHOOSER_URL else app.chooser_url,
            ),
        )
        ctx.emit({"logged_in": True, **_token_view(token, _store_name(args))})
        return ExitCode.OK
    finally:
        if app is not None:
            await settings.close_store(app.store)


def _store_name(args: argparse.Namespace) -> object:
    """Where the tokens are, for humans: the token file, or Redis (never its URL: a password)."""
    return f"redis ({settings.redis_prefix(args)})" if args.redis else settings.store_path(args)


def _key(args: argparse.Namespace) -> str:
    if not args.location_id:
        raise ConfigError("no location: pass --location-id or log in first")
    return f"location:{args.location_id}"


async def _auth_refresh(ctx: Context) -> ExitCode:
    args = ctx.args
    settings.apply_profile(args)
    app = settings.oauth_app(args)
    try:
        async with aiohttp.ClientSession() as http:
            app.bind(AiohttpTokenTransport(http, base_url=args.base_url or defaults.BASE_URL))
            _key(args)
            old = await app.token(args.location_id)
            await app.invalidate(args.location_id, old.access_token)
            fresh = await app.token(args.location_id)
    finally:
        await settings.close_store(app.store)
    ctx.emit({"refreshed": True, **_token_view(fresh, _store_name(args))})
    return ExitCode.OK


async def _auth_status(ctx: Context) -> ExitCode:
    args = ctx.args
    if args.token:
        source = "GHL_TOKEN" if "token" in getattr(args, "from_env", ()) else "--token"
        ctx.emit({"source": source, "token": "set (not shown)", "location_id": args.location_id})
        return ExitCode.OK
    settings.apply_profile(args)
    path = _store_name(args)
    store = settings.token_store(args)
    try:
        token = await store.load(_key(args)) if args.location_id else None
    finally:
        await settings.close_store(store)
    if token is None:
        ctx.emit({"source": "token store", "path": str(path), "logged_in": False})
        return ExitCode.AUTH
    ctx.emit({"logged_in": True, **_token_view(token, path)})
    return ExitCode.OK


async def _auth_logout(ctx: Context) -> ExitCode:
    args = ctx.args
    settings.apply_profile(args)
    store = settings.token_store(args)
    try:
        await store.delete(_key(args))
    finally:
        await settings.close_store(store)
    settings.profile_path(args).unlink(missing_ok=True)
    ctx.emit({"logged_out": True, "location_id": args.location_id})
    return ExitCode.OK


# -- fake and demo -------------------------------------------------------------------------


async def _demo(ctx: Context) -> ExitCode:
    from ghl_async.demo import run_demo

    summary = await run_demo(
        out=ctx.out,
        err=ctx.err,
        rate=parse_rate(ctx.args.rate),
        records=ctx.args.records,
        quiet=ctx.args.quiet,
    )
    return ExitCode.OK if summary.ok else ExitCode.PARTIAL


HANDLERS: dict[tuple[str, str | None], Handler] = {
    ("contacts", "get"): _with_client(_contact_get),
    ("contacts", "create"): _with_client(_contact_create),
    ("contacts", "update"): _with_client(_contact_update),
    ("contacts", "upsert"): _with_client(_contact_upsert),
    ("contacts", "delete"): _with_client(_contact_delete),
    ("contacts", "bundle"): _with_client(_contact_bundle),
    ("contacts", "export"): _with_client(_contact_export),
    ("contacts", "import"): _contact_import,
    ("tasks", "list"): _with_client(_tasks_list),
    ("tasks", "create"): _with_client(_tasks_create),
    ("tasks", "complete"): _with_client(_tasks_complete),
    ("tasks", "delete"): _with_client(_tasks_delete),
    ("notes", "list"): _with_client(_notes_list),
    ("notes", "create"): _with_client(_notes_create),
    ("notes", "delete"): _with_client(_notes_delete),
    ("auth", "login"): _auth_login,
    ("auth", "refresh"): _auth_refresh,
    ("auth", "status"): _auth_status,
    ("auth", "logout"): _auth_logout,
    ("demo", None): _demo,
    ("worker", None): shared.worker,
}

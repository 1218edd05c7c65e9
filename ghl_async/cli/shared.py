"""``contacts import --redis`` and ``worker``: one import shared by worker processes on Redis.

The import command submits the file (:class:`~ghl_async.redis.jobs.RedisImport`), starts
``--workers`` local ``ghl-async worker`` processes, and follows the shared report until every
record has its outcome; ``ghl-async worker`` on any machine with the same Redis URL and
credentials joins in. The work itself is in :mod:`ghl_async.redis.jobs`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from ghl_async.bulk import KeySpec, Progress, SyncReport
from ghl_async.cli import settings
from ghl_async.cli.output import ExitCode
from ghl_async.cli.parser import ENV
from ghl_async.errors import ConfigError, TransportError
from ghl_async.mapping import ContactMapping, RecordSource

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from ghl_async.cli.commands import Context

__all__ = ["check_shared_options", "run_shared_import", "worker"]

_POLL = 0.25


def check_shared_options(args: argparse.Namespace) -> None:
    """Refuse the shared-import options without ``--redis``, and what it cannot do yet.

    Raises:
        ConfigError: a combination that would not do what it says.
    """
    shared = {
        "--workers": args.workers,
        "--job": args.job,
        "--location-column": args.location_column,
    }
    if not args.redis:
        given = [flag for flag, value in shared.items() if value is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} need --redis URL (a shared import)")
        return
    if args.dry_run:
        return
    if args.journal:
        raise ConfigError(
            "--journal: with --redis the import's journal is kept in Redis (see --job)"
        )
    if args.business:
        raise ConfigError("--business is not supported with --redis yet; import without it")
    if args.workers is not None and args.workers < 0:
        raise ConfigError("--workers must be 0 or more")


@contextlib.contextmanager
def _redis_errors() -> Iterator[None]:
    """Redis failures become :class:`TransportError` (exit code 6), never a traceback."""
    from redis.exceptions import RedisError

    try:
        yield
    except RedisError as err:
        raise TransportError(f"Redis: {type(err).__name__}: {err}") from err


def _worker_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment of a local worker: ours, plus every connection setting in use (secrets
    go through the environment, never the command line, which others can read in ``ps``)."""
    env = dict(os.environ)
    for dest, var in ENV.items():
        value = getattr(args, dest, None)
        if value:
            env[var] = str(value)
    return env


@contextlib.asynccontextmanager
async def _local_workers(
    args: argparse.Namespace, name: str, count: int
) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    argv = [sys.executable, "-m", "ghl_async", "worker", "--job", name, "--wait", "0", "-q"]
    argv += ["--concurrency", str(args.concurrency)]
    if args.retries is not None:
        argv += ["--retries", str(args.retries)]
    argv += ["-v"] * args.verbose
    env = _worker_env(args)
    procs: list[asyncio.subprocess.Process] = []
    try:
        for _ in range(count):
            procs.append(
                await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    env=env,
                )
            )
        yield procs
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                await asyncio.wait_for(proc.wait(), timeout=10)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()


async def run_shared_import(
    ctx: Context, source: RecordSource, mapping: ContactMapping, key: KeySpec
) -> tuple[SyncReport, dict[str, object], ExitCode | None]:
    """Submit the import, run the local workers, follow it to the end.

    Returns the shared report, what to add to the printed summary, and an exit code that
    overrides the report's (``AUTH`` when a worker's token was refused).
    """
    from ghl_async.redis.jobs import RedisImport, default_job_name

    args = ctx.args
    settings.apply_profile(args)
    location = args.location_id or mapping.location_id
    if args.location_column is None and not location:
        raise ConfigError("no location id: pass --location-id, or --location-column")
    count = 1 if args.workers is None else args.workers
    name = args.job or default_job_name(source.identity, mapping.fingerprint)
    prefix = settings.redis_prefix(args)
    bar = ctx.bar("importing", total=source.check().records)

    def show(progress: Progress) -> None:
        bar.update(
            progress.done,
            extra=f"new {progress.created} upd {progress.updated} "
            f"skip {progress.skipped} fail {progress.failed}",
        )

    with _redis_errors():
        async with RedisImport.from_url(args.redis, name, prefix=prefix) as job:
            submitted = await job.submit(
                source,
                mapping,
                location_id=None if args.location_column else location,
                location_column=args.location_column,
                key=key,
                input_id=source.identity,
                force=args.force,
            )
            again = " (resumed)" if submitted.resumed else ""
            ctx.err.write(
                f"ghl-async: import {name}{again}: {submitted.total} records, "
                f"{count} local worker(s); join from other machines with: "
                f"ghl-async worker --redis URL --job {name}\n"
            )
            try:
                async with _local_workers(args, name, count) as procs:

                    def gone() -> bool:
                        return bool(procs) and all(p.returncode is not None for p in procs)

                    report = await job.wait(poll=_POLL, on_progress=show, give_up=gone)
                    codes = [p.returncode for p in procs]
            finally:
                bar.close()
            state = await job.state()
    extra: dict[str, object] = {"job": name, "run": submitted.run, "workers": count}
    if state.stopped == "auth":
        ctx.err.write(
            "ghl-async: error: a worker's token was refused; the import stopped "
            "(authorise again, then rerun the same command to resume)\n"
        )
        return report, extra, ExitCode.AUTH
    if not state.finished and state.state != "stopped":
        failed = [code for code in codes if code]
        ctx.err.write(
            f"ghl-async: error: the local workers exited (codes {codes}) before the import "
            "finished; rerun the same command to resume\n"
        )
        return (
            report,
            extra,
            ExitCode(failed[0]) if failed and failed[0] in _CODES else (ExitCode.INTERNAL),
        )
    return report, extra, None


_CODES = frozenset(code.value for code in ExitCode)


async def worker(ctx: Context) -> ExitCode:
    """``ghl-async worker``: work on shared imports until they are done; print this share."""
    from ghl_async.redis import connect
    from ghl_async.redis.jobs import RedisImport

    args = ctx.args
    if not args.redis:
        raise ConfigError("worker needs --redis URL (or GHL_REDIS_URL)")
    if args.concurrency < 1:
        raise ConfigError("--concurrency must be at least 1")
    if args.wait < 0:
        raise ConfigError("--wait must be >= 0 seconds")
    settings.apply_profile(args)
    prefix = settings.redis_prefix(args)
    total = SyncReport()
    handled: list[str] = []
    stopped: set[str] = set()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + args.wait
    with _redis_errors():
        redis = connect(args.redis)
        try:
            async with settings.open_client(args) as ghl:
                while True:
                    names = (
                        [args.job] if args.job else await RedisImport.active(redis, prefix=prefix)
                    )
                    todo = [n for n in names if n not in handled]
                    ready = [n for n in todo if await _open(redis, n, prefix)]
                    if not ready:
                        if handled or loop.time() >= deadline:
                            break
                        await asyncio.sleep(_POLL)
                        continue
                    for name in ready:
                        job = RedisImport(redis, name, prefix=prefix)
                        share = await job.work(ghl, concurrency=args.concurrency)
                        handled.append(name)
                        _add(total, share)
                        state = await job.state()
                        if state.stopped:
                            stopped.add(state.stopped)
        finally:
            await redis.aclose()
    ctx.emit({"jobs": handled, **total.as_dict()})
    if "auth" in stopped:
        ctx.err.write("ghl-async: error: a token was refused; the import stopped\n")
        return ExitCode.AUTH
    if total.stopped == "quota" or "quota" in stopped:
        return ExitCode.QUOTA
    return ExitCode.PARTIAL if total.failed else ExitCode.OK


async def _open(redis: Redis, name: str, prefix: str) -> bool:
    from ghl_async.redis.jobs import RedisImport

    job = RedisImport(redis, name, prefix=prefix)
    return (await job.state()).state in ("enqueuing", "enqueued")


def _add(total: SyncReport, share: SyncReport) -> None:
    total.total += share.total
    total.created += share.created
    total.updated += share.updated
    total.skipped += share.skipped
    total.failed.extend(share.failed)
    total.requests += share.requests
    total.elapsed += share.elapsed
    total.stopped = total.stopped or share.stopped

"""A bulk import shared by many workers through Redis: :class:`RedisImport`.

One process **submits** the import: it maps every record (the same
:func:`~ghl_async.bulk.prepare_record` as a local import), reports the records that do not map,
and puts the others on a Redis stream. Any number of **workers** (processes, machines) then
take entries from the stream's consumer group and upsert them with the same per-record logic
as :func:`~ghl_async.bulk.upsert_contacts` (retries, failures with reasons and line numbers, the
daily quota). Progress and the report live in Redis, so anyone can read them while it runs.

Why Redis Streams and not a job-queue library (arq, rq, saq...): a consumer group already is
the queue with claims (``XREADGROUP``), acknowledgements (``XACK``) and reclaiming a dead
consumer's entries after a lease (``XAUTOCLAIM``), with nothing more than the ``redis`` package
the extra already has; the libraries add a dependency, pickle or import paths of functions, and
their own retry semantics, while what this needs on top (idempotent enqueue, outcomes recorded
once, per-key ordering) is a few lines of Lua either way.

**Nothing twice.**

* *Enqueue*: entries get explicit stream ids (``1-0``, ``2-0``, ... in input order), so a rerun
  of the submit (after a crash, or by mistake) skips what the stream already holds; Redis itself
  refuses an id it has seen.
* *Same key*: all records of one key (the same e-mail twice in the file) travel in one entry,
  in input order, so no two workers upsert one contact at once (that could create it twice) and
  the contact ends as the last row says. The submit reads the input twice for this.
* *Outcomes*: a record's outcome is written by a script that first sets the record's bit in a
  bitmap: a record is counted once however often it is delivered. The same script keeps the
  journal (``done``: key -> hash of the last body accepted, as the file journal does, so a later
  import of the same data skips it) and acknowledges and deletes the entry with its last record.
* *Crashes*: an entry is acknowledged only after its records' outcomes are written; a worker
  killed with entries in hand stops renewing its claim on them, and after ``lease`` seconds
  another worker takes them over. A record whose upsert was sent but whose outcome was not yet
  written is sent again then (HighLevel's upsert is idempotent: same contact, same data): *at
  least once* to HighLevel for the records in flight at the crash, *exactly once* in the report.

**A rerun resumes**: submitting an unfinished import again (same input, mapping and settings)
enqueues only what is missing and workers finish the rest; submitting a finished one starts a
new run with a fresh report, in which records whose data did not change are skipped.

Keys (``<name>`` is the import's name; the braces make them one Redis Cluster slot):

=====================================  ======  ===============================================
``<prefix>jobs:{<name>}:meta``         hash    input, mapping, state, run, total, settings
``<prefix>jobs:{<name>}:queue``        stream  entries: one key's records, as upsert bodies
``<prefix>jobs:{<name>}:report``       hash    created, updated, skipped, failed, done, requests
``<prefix>jobs:{<name>}:failures``     list    one JSON :class:`~ghl_async.bulk.RecordFailure`
``<prefix>jobs:{<name>}:bits``         string  bitmap: record index -> outcome written
``<prefix>jobs:{<name>}:done``         hash    record key -> hash of the last body accepted
``<prefix>jobs:active``                set     the names of unfinished imports
=====================================  ======  ===============================================
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

import msgspec

from ghl_async.bulk._report import Progress, RecordFailure, SyncReport
from ghl_async.bulk._sync import (
    DEFAULT_QUOTA_RESERVE,
    KeySpec,
    Prepared,
    prepare_record,
)
from ghl_async.client import Client
from ghl_async.errors import ConfigError
from ghl_async.mapping import ContactMapping, Record
from ghl_async.models import UpsertContact
from ghl_async.redis._client import DEFAULT_MAX_CONNECTIONS, RedisUser, connect, require_redis
from ghl_async.redis._keys import DEFAULT_PREFIX, RedisKeys
from ghl_async.redis.budget import positive_seconds

require_redis()

from redis.exceptions import ResponseError  # noqa: E402  (after the check naming the extra)

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.typing import EncodableT, FieldT

__all__ = [
    "DEFAULT_BACKLOG",
    "DEFAULT_CLAIM_LEASE",
    "JobState",
    "RedisImport",
    "Submitted",
    "default_job_name",
]

DEFAULT_CLAIM_LEASE: Final = 30.0
"""Seconds a worker's claim on an entry lasts without renewal (renewed every third of it)."""
DEFAULT_BACKLOG: Final = 10_000
"""Entries the submit keeps in Redis ahead of the workers (bounds Redis's memory)."""
GROUP: Final = "workers"
_BATCH: Final = 200
_BLOCK_MS: Final = 500

State = Literal["new", "enqueuing", "enqueued", "stopped", "finished"]


class _Item(msgspec.Struct, array_like=True):
    index: int
    line: int | None
    location: str
    key: str
    digest: str
    body: UpsertContact


_ENTRY_ENCODER = msgspec.json.Encoder()
_ENTRY_DECODER = msgspec.json.Decoder(list[_Item])
_FAILURE_ENCODER = msgspec.json.Encoder()
_FAILURE_DECODER = msgspec.json.Decoder(RecordFailure)

# KEYS: bits, report, done, failures, queue. ARGV: index ('' = only ack), status, key, digest,
# failure JSON, requests made, entry id to ack ('' = none), group.
# Returns 1 when the outcome was written now, 0 when it had been already.
_RECORD: Final = """
local written = 0
if ARGV[1] ~= '' then
  if redis.call('SETBIT', KEYS[1], ARGV[1], 1) == 0 then
    redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
    redis.call('HINCRBY', KEYS[2], 'done', 1)
    if ARGV[2] == 'created' or ARGV[2] == 'updated' then
      redis.call('HSET', KEYS[3], ARGV[3], ARGV[4])
    elseif ARGV[2] == 'failed' then
      redis.call('RPUSH', KEYS[4], ARGV[5])
    end
    written = 1
  end
  local requests = tonumber(ARGV[6])
  if requests > 0 then redis.call('HINCRBY', KEYS[2], 'requests', requests) end
end
if ARGV[7] ~= '' then
  redis.call('XACK', KEYS[5], ARGV[8], ARGV[7])
  redis.call('XDEL', KEYS[5], ARGV[7])
end
return written
"""
# KEYS: meta, report, queue. Marks the import finished once every record has an outcome.
_FINISH: Final = """
if redis.call('HGET', KEYS[1], 'state') ~= 'enqueued' then return 0 end
local total = tonumber(redis.call('HGET', KEYS[1], 'total') or '-1')
local done = tonumber(redis.call('HGET', KEYS[2], 'done') or '0')
if done < total or redis.call('XLEN', KEYS[3]) > 0 then return 0 end
redis.call('HSET', KEYS[1], 'state', 'finished', 'finished', ARGV[1])
return 1
"""


@dataclass(frozen=True, slots=True)
class Submitted:
    """What :meth:`RedisImport.submit` did."""

    name: str
    run: int  # 1 for the first run; a finished import submitted again starts the next
    resumed: bool  # an unfinished run was taken up again
    total: int  # records read
    entries: int  # stream entries of this run (records of one key share an entry)
    added: int  # entries this call put on the stream (0 when a rerun found them all there)
    invalid: int  # records that did not map (reported, never sent)


@dataclass(frozen=True, slots=True)
class JobState:
    """Where an import stands."""

    name: str
    state: State
    run: int
    total: int | None  # records in the input, known once all are enqueued
    done: int  # records with an outcome
    stopped: str | None  # why it stopped: "quota", "auth"

    @property
    def finished(self) -> bool:
        """Every record has its outcome."""
        return self.state == "finished"


def default_job_name(input_id: str, mapping_id: str | None) -> str:
    """The name an import gets unless given one: the same input and mapping, the same import."""
    digest = hashlib.sha256(f"{input_id}\0{mapping_id or ''}".encode()).hexdigest()[:12]
    return f"import-{digest}"


class RedisImport(RedisUser):
    """One distributed import: submit it once, run :meth:`work` in as many workers as you like.

    ::

        job = RedisImport.from_url(REDIS_URL, "leads-2025-06")
        await job.submit(RecordSource("leads.csv"), load("mapping.toml"), location_id=loc)
        report = await job.wait()                       # in the submitting process
        mine = await job.work(ghl, concurrency=16)      # in each worker, with its own Client

    A worker's :class:`~ghl_async.Client` should share a
    :class:`~ghl_async.redis.RedisRateBudget` and, for OAuth, a
    :class:`~ghl_async.redis.RedisTokenStore` with the others.

    Args:
        client: a ``redis.asyncio.Redis`` on the primary; yours to close.
        name: the import's name (letters, digits, ``-_.:``); see :func:`default_job_name`.
        prefix: put before every key.
        lease: seconds a worker's claim on an entry lasts without renewal; a killed worker's
            entries are taken over after it.

    Raises:
        ConfigError: a bad name, prefix or lease.
    """

    def __init__(
        self,
        client: Redis,
        name: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        lease: float = DEFAULT_CLAIM_LEASE,
    ) -> None:
        _check_name(name, lease)
        self.keys = RedisKeys(prefix)
        super().__init__(client)
        self.name = name
        self.lease = lease
        self._record = client.register_script(_RECORD)
        self._finish = client.register_script(_FINISH)

    @classmethod
    def from_url(
        cls,
        url: str,
        name: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        lease: float = DEFAULT_CLAIM_LEASE,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
    ) -> RedisImport:
        """Make an import handle with its own client for ``url``, closed by :meth:`aclose`.

        Raises:
            ConfigError: ``url`` is not a Redis URL, or a setting is bad.
        """
        _check_name(name, lease)
        RedisKeys(prefix)
        job = cls(connect(url, max_connections=max_connections), name, prefix=prefix, lease=lease)
        job._owns_client = True
        return job

    def __repr__(self) -> str:
        return f"RedisImport({self.name!r}, prefix={self.keys.prefix!r})"

    def _key(self, part: str) -> str:
        return self.keys.job(self.name, part)

    # -- submitting ------------------------------------------------------------------------

    async def submit(
        self,
        records: Iterable[Record],
        mapping: ContactMapping,
        *,
        location_id: str | None = None,
        location_column: str | None = None,
        key: KeySpec = "contact",
        input_id: str | None = None,
        force: bool = False,
        backlog: int = DEFAULT_BACKLOG,
    ) -> Submitted:
        """Map every record and put the import on Redis for the workers; return what it did.

        ``records`` is read twice (a :class:`~ghl_async.mapping.RecordSource` or a list, not a
        generator). Each record goes to ``location_id`` (or the mapping's), or to the location
        named in its ``location_column``. At most ``backlog`` entries wait in Redis at a time:
        with a large input this returns once the last one is on the stream.

        Raises:
            ConfigError: no location, a generator as input, bad settings, or an unfinished
                import of another input, mapping or settings under this name (``force=True``
                starts it over: its finished records are skipped by their data).
        """
        if iter(records) is records:
            raise ConfigError("submit() reads the records twice: pass a RecordSource or a list")
        if location_column is None and not (location_id or mapping.location_id):
            raise ConfigError("no location id: pass location_id= or location_column=")
        if backlog < 1:
            raise ConfigError(f"backlog must be at least 1, not {backlog}")
        if input_id is None:
            input_id = getattr(records, "identity", None)
        plan = _plan(input_id, mapping, location_id, location_column, key)
        run, resumed = await self._begin(plan, input_id, mapping.fingerprint, force)
        queue = self._key("queue")
        with contextlib.suppress(ResponseError):  # BUSYGROUP: made by an earlier run
            await self.client.xgroup_create(queue, GROUP, id="0", mkstream=True)
        last = await self._last_seq()

        def location_of(record: Record) -> str | None:
            if location_column is None:
                return location_id or mapping.location_id
            value = record.get(location_column)
            return str(value).strip() if value is not None and str(value).strip() else None

        prepared = _prepare_all(records, mapping, key, location_of)
        # Pass 1: where each key occurs last, so its records can travel in one entry.
        counts: dict[str, int] = {}
        last_of: dict[str, int] = {}
        for index, item in prepared():
            if isinstance(item, tuple):
                counts[item[1].key] = counts.get(item[1].key, 0) + 1
                last_of[item[1].key] = index
        # Pass 2: enqueue in input order (of each key's last record).
        total = invalid = seq = added = 0
        waiting: dict[str, list[_Item]] = {}
        batch: list[tuple[int, bytes]] = []
        failures: list[RecordFailure] = []
        for index, item in prepared():
            total += 1
            if isinstance(item, RecordFailure):
                invalid += 1
                failures.append(item)
                if len(failures) >= _BATCH:
                    await self._write_failures(failures)
                    failures = []
                continue
            location, ready = item
            entry = _Item(index, ready.line, location, ready.key, ready.digest, ready.body)
            if counts[ready.key] > 1:
                waiting.setdefault(ready.key, []).append(entry)
                if last_of[ready.key] != index:
                    continue
                group = waiting.pop(ready.key)
            else:
                group = [entry]
            seq += 1
            if seq > last:
                batch.append((seq, _ENTRY_ENCODER.encode(group)))
                if len(batch) >= _BATCH:
                    added += await self._add(batch, backlog)
                    batch = []
        if batch:
            added += await self._add(batch, backlog)
        if failures:
            await self._write_failures(failures)
        await self.client.hset(
            self._key("meta"),
            mapping={"state": "enqueued", "total": total, "entries": seq},
        )
        await self.try_finish()
        return Submitted(self.name, run, resumed, total, seq, added, invalid)

    async def _begin(
        self, plan: str, input_id: str | None, mapping_id: str | None, force: bool
    ) -> tuple[int, bool]:
        meta = _text(await self.client.hgetall(self._key("meta")))
        state = meta.get("state")
        run = int(meta.get("run", "0") or 0)
        resumed = False
        if state in ("enqueuing", "enqueued", "stopped"):
            if meta.get("plan") == plan:
                resumed = True
            elif not force:
                raise ConfigError(
                    f"the unfinished import {self.name!r} was started with another input, "
                    "mapping or settings; give this one another name (--job), or force it "
                    "(force=True, --force) to start over (records already done are skipped)"
                )
        if not resumed:
            run += 1
            # A new run: a fresh stream, report and bitmap; the journal (`done`) stays.
            await self.client.delete(
                self._key("queue"), self._key("report"), self._key("failures"), self._key("bits")
            )
        fields: dict[FieldT, EncodableT] = {
            "state": "enqueuing",
            "plan": plan,
            "run": run,
            "input": input_id or "",
            "mapping": mapping_id or "",
            "stopped": "",
        }
        if not resumed:
            fields["started"] = f"{time.time():.3f}"
        await self.client.hset(self._key("meta"), mapping=fields)
        await self.client.sadd(self.keys.jobs(), self.name)
        return run, resumed

    async def _last_seq(self) -> int:
        try:
            info = await self.client.xinfo_stream(self._key("queue"))
        except ResponseError:
            return 0
        last = info.get("last-generated-id", b"0-0")
        text = last.decode() if isinstance(last, bytes) else str(last)
        return int(text.split("-", 1)[0])

    async def _add(self, batch: list[tuple[int, bytes]], backlog: int) -> int:
        queue = self._key("queue")
        while await self.client.xlen(queue) >= backlog:  # noqa: ASYNC110 - Redis, not a flag
            await asyncio.sleep(0.1)
        pipe = self.client.pipeline(transaction=False)
        for seq, data in batch:
            pipe.xadd(queue, {"d": data}, id=f"{seq}-0")
        added = 0
        for result in await pipe.execute(raise_on_error=False):
            if isinstance(result, ResponseError):
                # "equal or smaller than the target stream top item": another submit of the
                # same import got there first.
                continue
            if isinstance(result, Exception):
                raise result
            added += 1
        return added

    async def _write_failures(self, failures: list[RecordFailure]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for failure in failures:
            data = _FAILURE_ENCODER.encode(failure)
            await self._record(
                keys=self._record_keys(),
                args=[failure.index, "failed", "", "", data, 0, "", GROUP],
                client=pipe,
            )
        await pipe.execute()

    def _record_keys(self) -> list[str]:
        return [
            self._key("bits"),
            self._key("report"),
            self._key("done"),
            self._key("failures"),
            self._key("queue"),
        ]

    # -- progress and the report -----------------------------------------------------------

    async def state(self) -> JobState:
        """Where the import stands now (``state="new"``: nothing submitted under this name)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(self._key("meta"))
        pipe.hget(self._key("report"), "done")
        meta_raw, done = await pipe.execute()
        meta = _text(meta_raw)
        raw_state = meta.get("state", "new")
        state: State = raw_state if raw_state in _STATES else "new"  # type: ignore[assignment]  # checked against _STATES
        total = meta.get("total")
        return JobState(
            name=self.name,
            state=state,
            run=int(meta.get("run", "0") or 0),
            total=int(total) if total and state != "enqueuing" else None,
            done=int(done or 0),
            stopped=meta.get("stopped") or None,
        )

    async def report(self) -> SyncReport:
        """The shared report so far: every worker's outcomes, failures in input order."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(self._key("meta"))
        pipe.hgetall(self._key("report"))
        pipe.lrange(self._key("failures"), 0, -1)
        meta_raw, counts_raw, failures_raw = await pipe.execute()
        meta, counts = _text(meta_raw), _text(counts_raw)
        failures = sorted(
            (_FAILURE_DECODER.decode(raw) for raw in failures_raw), key=lambda f: f.index
        )
        done = int(counts.get("done", 0))
        total = int(meta.get("total") or done) if meta.get("state") != "enqueuing" else done
        started = float(meta.get("started") or 0.0)
        ended = float(meta.get("finished") or 0.0) or time.time()
        report = SyncReport(
            total=total,
            created=int(counts.get("created", 0)),
            updated=int(counts.get("updated", 0)),
            skipped=int(counts.get("skipped", 0)),
            failed=failures,
            requests=int(counts.get("requests", 0)),
            elapsed=max(ended - started, 0.0) if started else 0.0,
        )
        if meta.get("stopped") == "quota":
            report.stopped = "quota"
        if meta.get("state") == "stopped":
            report.pending = max(total - done, 0)
        return report

    async def wait(
        self,
        *,
        poll: float = 0.5,
        on_progress: Callable[[Progress], None] | None = None,
        give_up: Callable[[], bool] | None = None,
    ) -> SyncReport:
        """Wait until every record has its outcome, or the import stopped; return the report.

        ``on_progress`` gets a snapshot every ``poll`` seconds. ``give_up`` is asked as often:
        when it returns True (say, every local worker died), the report so far is returned.
        """
        while True:
            state = await self.state()
            if on_progress is not None:
                report = await self.report()
                on_progress(
                    Progress(
                        done=state.done,
                        total=state.total,
                        created=report.created,
                        updated=report.updated,
                        skipped=report.skipped,
                        failed=len(report.failed),
                        elapsed=report.elapsed,
                    )
                )
            if state.state in ("finished", "stopped") or await self.try_finish():
                return await self.report()
            if give_up is not None and give_up():
                return await self.report()
            await asyncio.sleep(poll)

    async def try_finish(self) -> bool:
        """Mark the import finished if every record has its outcome; return whether it is."""
        finished = bool(
            await self._finish(
                keys=[self._key("meta"), self._key("report"), self._key("queue")],
                args=[f"{time.time():.3f}"],
            )
        )
        if finished:
            await self.client.srem(self.keys.jobs(), self.name)
        return finished

    async def stop(self, reason: str) -> None:
        """Stop the import: workers finish the records in hand and take no more."""
        await self.client.hset(self._key("meta"), mapping={"state": "stopped", "stopped": reason})

    async def delete(self) -> None:
        """Forget the import, its report and its journal."""
        await self.client.delete(
            *(self._key(part) for part in ("meta", "queue", "report", "failures", "bits", "done"))
        )
        await self.client.srem(self.keys.jobs(), self.name)

    @classmethod
    async def active(cls, client: Redis, prefix: str = DEFAULT_PREFIX) -> list[str]:
        """The names of the imports not finished yet, sorted."""
        names = await client.smembers(RedisKeys(prefix).jobs())
        return sorted(n.decode() if isinstance(n, bytes) else str(n) for n in names)

    # -- working ---------------------------------------------------------------------------

    async def work(
        self,
        ghl: Client,
        *,
        concurrency: int = 8,
        record_retries: int = 2,
        retry_delay: float = 0.5,
        quota_reserve: int = DEFAULT_QUOTA_RESERVE,
        consumer: str | None = None,
        on_progress: Callable[[Progress], None] | None = None,
    ) -> SyncReport:
        """Upsert entries of this import until none is left; return this worker's share.

        Entries are claimed ``concurrency`` at a time; the records of one entry go one after
        another. Returns when every record has its outcome (taking over the entries of workers
        that died, after ``lease``), or when the import was stopped (quota, or by
        :meth:`stop`); returns at once if nothing was submitted under this name.

        Raises:
            ConfigError: bad settings.
            AuthenticationError, PermissionDeniedError: the token was refused (the import is
                stopped for every worker, reason ``"auth"``; the entry in hand is not
                acknowledged, so a rerun does it).
        """
        if concurrency < 1:
            raise ConfigError(f"concurrency must be at least 1, not {concurrency}")
        from ghl_async.redis._worker import ImportWorker  # imports this module

        worker = ImportWorker(
            self,
            ghl,
            consumer or f"{socket.gethostname()}:{os.getpid()}:{os.urandom(2).hex()}",
            concurrency=concurrency,
            record_retries=record_retries,
            retry_delay=retry_delay,
            quota_reserve=quota_reserve,
            on_progress=on_progress,
        )
        return await worker.run()


_STATES: Final = frozenset({"new", "enqueuing", "enqueued", "stopped", "finished"})


def _prepare_all(
    records: Iterable[Record],
    mapping: ContactMapping,
    key: KeySpec,
    location_of: Callable[[Record], str | None],
) -> Callable[[], Iterator[tuple[int, tuple[str, Prepared] | RecordFailure]]]:
    def walk() -> Iterator[tuple[int, tuple[str, Prepared] | RecordFailure]]:
        for index, record in enumerate(records):
            location = location_of(record)
            if location is None:
                line = getattr(record, "line", None)
                yield (
                    index,
                    RecordFailure(
                        index,
                        None,
                        "mapping",
                        "no location id in the record's location column",
                        line=line if isinstance(line, int) else None,
                    ),
                )
                continue
            prepared = prepare_record(mapping, key, record, index, location)
            yield index, prepared if isinstance(prepared, RecordFailure) else (location, prepared)

    return walk


def _plan(
    input_id: str | None,
    mapping: ContactMapping,
    location_id: str | None,
    location_column: str | None,
    key: KeySpec,
) -> str:
    """What makes two submits the same import: input, mapping, locations, key."""
    if callable(key):
        spec = f"fn:{getattr(key, '__qualname__', type(key).__name__)}"
    elif isinstance(key, str):
        spec = key
    else:
        spec = "cols:" + "|".join(key)
    text = "\0".join(
        [
            input_id or "",
            mapping.fingerprint or "",
            location_id or mapping.location_id or "",
            location_column or "",
            spec,
        ]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _check_name(name: str, lease: float) -> None:
    if not name or not all(c.isalnum() or c in "-_.:" for c in name) or len(name) > 200:
        raise ConfigError(
            f"an import name is 1-200 letters, digits and -_.: characters, not {name!r}"
        )
    positive_seconds("lease", lease)


def _text(raw: Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    return {_text_one(k): _text_one(v) for k, v in raw.items()}


def _text_one(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)

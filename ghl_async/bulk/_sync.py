"""Bounded-concurrency upserts of mapped records, with a journal and a per-record report."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal

import msgspec

from ghl_async import routes
from ghl_async.bulk._failures import Disposition, next_step, reason_of
from ghl_async.bulk._journal import Journal, JournalEntry, body_hash
from ghl_async.bulk._report import (
    Progress,
    RecordFailure,
    StopReason,
    SyncReport,
    mapping_failure,
)
from ghl_async.client import Client
from ghl_async.errors import ConfigError
from ghl_async.mapping import ContactMapping, MappingError, MapResult, Record, SourceRecord
from ghl_async.models import UpsertContact

__all__ = [
    "DEFAULT_QUOTA_RESERVE",
    "KeySpec",
    "Prepared",
    "prepare_record",
    "record_key",
    "upsert_contacts",
]

log = logging.getLogger("ghl_async.bulk")

KeySpec = Literal["contact", "hash"] | Sequence[str] | Callable[[Record], str]
"""A record's identity: ``"contact"`` (its email, else its phone), ``"hash"`` (its content),
a list of columns, or a function of the record."""

DEFAULT_QUOTA_RESERVE: Final = 1000
"""Daily requests left untouched by default (0.5% of HighLevel's 200,000), for other work."""
# HighLevel documents no maximum batch for its bulk endpoints; 100 matches its page size.
BULK_CHUNK: Final = 100
_ENCODE_SORTED = msgspec.json.Encoder(order="sorted", enc_hook=str)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:20]


def record_key(spec: KeySpec, record: Record, body: UpsertContact | None) -> str:
    """The stable identity of a record, used by the journal and to order repeats.

    Raises:
        ValueError: the key columns are all blank (the record cannot be tracked).
    """
    if callable(spec):
        return f"fn:{spec(record)}"
    if spec == "contact":
        if body is not None and isinstance(body.email, str) and body.email:
            return f"email:{body.email.lower()}"
        if body is not None and isinstance(body.phone, str) and body.phone:
            return f"phone:{body.phone}"
        spec = "hash"
    if spec == "hash":
        return f"hash:{_digest(_ENCODE_SORTED.encode(dict(record)))}"
    values = [record.get(column) for column in spec]
    if all(v is None or str(v).strip() == "" for v in values):
        raise ValueError(f"key column(s) {', '.join(spec)} are blank")
    return "col:" + "|".join("" if v is None else str(v).strip() for v in values)


async def _records(source: Iterable[Record] | AsyncIterable[Record]) -> AsyncIterator[Record]:
    if isinstance(source, AsyncIterable):
        async for record in source:
            yield record
    else:
        for record in source:
            yield record


@dataclass(slots=True)
class _Accepted:
    """An upsert HighLevel accepted, waiting for the bulk call that attaches it to a business."""

    index: int
    key: str
    digest: str
    contact_id: str
    created: bool
    line: int | None = None


class _KeyLocks:
    """One lock per record key, so repeats of a key go one after another, in input order.

    Two concurrent upserts of one email could both miss the existing contact and create two.
    """

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def __call__(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A record mapped to its upsert body, with its identity and the body's hash."""

    key: str
    body: UpsertContact
    digest: str
    line: int | None


def prepare_record(
    mapping: ContactMapping, spec: KeySpec, record: Record, index: int, location: str
) -> Prepared | RecordFailure:
    """Map one record and name it: its upsert body, key and hash, or why it cannot be sent.

    Raises:
        ConfigError: no location id here nor on the mapping.
    """
    line = record.line if isinstance(record, SourceRecord) else None
    try:
        result = mapping.map(record, index=index, location_id=location)
    except ConfigError:
        raise
    except Exception as err:  # one record's surprise must not end the run
        reason = f"unexpected {type(err).__name__}: {err}"
        result = MapResult(index, None, (MappingError(index, "input", reason),), line)
    try:
        key: str | None = record_key(spec, record, result.contact)
    except Exception as err:  # blank key columns, a key function that raised
        if result.contact is not None:
            reason = (
                str(err)
                if isinstance(err, ValueError)
                else (f"the key function raised {type(err).__name__}: {err}")
            )
            return RecordFailure(index, None, "mapping", reason, line=line)
        key = None  # the mapping's reasons say more than the missing key
    if result.contact is None:
        return mapping_failure(result, key)
    assert key is not None
    return Prepared(key, result.contact, body_hash(result.contact), line)


class _Run:
    """The state of one ``upsert_contacts`` call."""

    def __init__(
        self,
        ghl: Client,
        mapping: ContactMapping,
        *,
        location: str,
        journal: Journal | None,
        key: KeySpec,
        business_id: str | None,
        batch_size: int,
        quota_reserve: int,
        record_retries: int,
        retry_delay: float,
        on_progress: Callable[[Progress], None] | None,
        total: int | None,
    ) -> None:
        self.ghl = ghl
        self.mapping = mapping
        self.location = location
        self.journal = journal
        self.key = key
        self.business_id = business_id
        self.batch_size = batch_size
        self.quota_reserve = quota_reserve
        self.record_retries = record_retries
        self.retry_delay = retry_delay
        self.on_progress = on_progress
        self.total = total
        self.report = SyncReport()
        self.stop = asyncio.Event()
        self.locks = _KeyLocks()
        self.last: dict[str, str] = {}  # key -> hash of the last body accepted this run
        self.batch: list[_Accepted] = []
        self.progress_failed = False
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()

    # -- bookkeeping -----------------------------------------------------------------------

    def progress(self) -> None:
        r = self.report
        r.elapsed = self.loop.time() - self.started
        if self.on_progress is None:
            return
        try:
            self.on_progress(
                Progress(
                    done=r.created + r.updated + r.skipped + len(r.failed),
                    total=self.total,
                    created=r.created,
                    updated=r.updated,
                    skipped=r.skipped,
                    failed=len(r.failed),
                    elapsed=r.elapsed,
                )
            )
        except Exception:
            # A progress display that breaks must not end the sync (nor lose its report).
            if not self.progress_failed:
                log.exception("the on_progress callback raised; the sync goes on")
            self.progress_failed = True

    def fail(self, failure: RecordFailure, digest: str = "") -> None:
        self.report.failed.append(failure)
        if self.journal is not None:
            status: Literal["failed", "invalid"] = (
                "invalid" if failure.stage == "mapping" else "failed"
            )
            self.journal.record(
                JournalEntry(
                    k=failure.key or "",
                    s=status,
                    i=failure.index,
                    h=digest,
                    e=failure.reason,
                    line=failure.line,
                )
            )

    def done(self, item: _Accepted) -> None:
        if self.journal is not None:
            status: Literal["created", "updated"] = "created" if item.created else "updated"
            self.journal.record(
                JournalEntry(
                    k=item.key,
                    s=status,
                    i=item.index,
                    h=item.digest,
                    id=item.contact_id,
                    line=item.line,
                )
            )

    def check_quota(self) -> None:
        limits = self.ghl.rate_limits
        info = limits.get(self.location)
        if info is None and len(limits) == 1:
            info = next(iter(limits.values()))
        if info is None or info.daily_remaining is None:
            return
        self.report.daily_remaining = info.daily_remaining
        if info.daily_remaining <= self.quota_reserve and self.report.stopped is None:
            log.warning(
                "daily quota nearly spent (%d left): stopping the sync", info.daily_remaining
            )
            self.report.stopped = "quota"
            self.report.stop_error = (
                f"HighLevel says {info.daily_remaining} requests are left today "
                f"(quota_reserve={self.quota_reserve})"
            )
            self.stop.set()

    def halt(self, why: StopReason, err: BaseException) -> None:
        """Stop the run: no record is sent after this one (the rest are counted as pending)."""
        if self.report.stopped is None:
            what = "daily quota spent" if why == "quota" else "the token was refused"
            log.warning("%s: stopping the sync (%s)", what, type(err).__name__)
            self.report.stopped = why
            self.report.stop_error = str(err)
            self.stop.set()

    async def attempt(self, err: BaseException, attempt: int) -> Disposition:
        """What to do after ``err`` on try ``attempt`` (0-based) of a record or a batch; when it
        is ``retry``, the pause has been taken. Stops the run on a dead grant or quota."""
        verdict = await next_step(
            err,
            attempt,
            retries=self.record_retries,
            delay=self.retry_delay,
            retry_after_cap=self.ghl.retry_after_cap,
            stopping=self.stop.is_set(),
        )
        if verdict == "auth" or verdict == "quota":
            self.halt(verdict, err)
        return verdict

    # -- one record ------------------------------------------------------------------------

    async def process(self, index: int, record: Record) -> None:
        report = self.report
        report.total += 1
        prepared = prepare_record(self.mapping, self.key, record, index, self.location)
        if isinstance(prepared, RecordFailure):
            self.fail(prepared)
            return
        key, body, digest, line = prepared.key, prepared.body, prepared.digest, prepared.line
        async with self.locks(key):
            # Decided under the key's lock: an earlier row with this key may change what the
            # contact last received.
            last = self.last.get(key)
            if last is None and self.journal is not None:
                last = self.journal.last(key)
            if last == digest:
                report.skipped += 1
                return
            await self.upsert(index, key, digest, body, line)

    async def upsert(
        self, index: int, key: str, digest: str, body: UpsertContact, line: int | None = None
    ) -> None:
        attempt = 0
        while True:
            self.report.requests += 1
            try:
                result = await self.ghl.call(
                    routes.UPSERT_CONTACT, body=body, location_id=self.location
                )
                break
            except Exception as err:  # whatever it is, it is this record's failure
                if await self.attempt(err, attempt) != "retry":
                    self.fail(_failure(index, key, "api", err, line), digest)
                    return
                attempt += 1
            finally:
                self.check_quota()
        item = _Accepted(index, key, digest, result.contact.id, result.new, line)
        self.last[key] = digest
        if result.new:
            self.report.created += 1
        else:
            self.report.updated += 1
        if self.business_id is None:
            self.done(item)
            return
        self.batch.append(item)
        if len(self.batch) >= self.batch_size:
            await self.flush()

    async def flush(self) -> None:
        """Attach the accepted contacts to the business in one bulk call, then journal them."""
        batch, self.batch = self.batch, []
        if not batch:
            return
        attempt = 0
        while True:
            self.report.requests += 1
            try:
                await self.ghl.contacts.bulk_set_business(
                    ids=[item.contact_id for item in batch],
                    business_id=self.business_id,
                    location_id=self.location,
                )
                break
            except Exception as err:
                if await self.attempt(err, attempt) == "retry":
                    attempt += 1
                    continue
                for item in batch:
                    # Upserted but not attached: not done, so a rerun sends it again.
                    if item.created:
                        self.report.created -= 1
                    else:
                        self.report.updated -= 1
                    if self.last.get(item.key) == item.digest:
                        del self.last[item.key]
                    self.fail(_failure(item.index, item.key, "bulk", err, item.line), item.digest)
                return
            finally:
                self.check_quota()
        for item in batch:
            self.done(item)


def _failure(
    index: int,
    key: str,
    stage: Literal["api", "bulk"],
    err: BaseException,
    line: int | None = None,
) -> RecordFailure:
    why = reason_of(err)
    return RecordFailure(
        index, key, stage, why.reason, message=why.message, status=why.status, line=line
    )


async def upsert_contacts(
    ghl: Client,
    records: Iterable[Record] | AsyncIterable[Record],
    mapping: ContactMapping,
    *,
    location_id: str | None = None,
    concurrency: int = 8,
    journal: str | os.PathLike[str] | Journal | None = None,
    fsync: bool = False,
    key: KeySpec = "contact",
    business_id: str | None = None,
    batch_size: int = BULK_CHUNK,
    quota_reserve: int = DEFAULT_QUOTA_RESERVE,
    record_retries: int = 2,
    retry_delay: float = 0.5,
    on_progress: Callable[[Progress], None] | None = None,
    total: int | None = None,
) -> SyncReport:
    """Map every record and upsert it, ``concurrency`` at a time; return what happened.

    Requests go through the client, so its rate limiter and retries apply; a record whose
    upsert still fails with a 5xx, a 429, no answer or an unreadable answer is tried
    ``record_retries`` more times after ``retry_delay`` (doubling, jittered, and never sooner
    than a ``Retry-After`` asked) before it is reported as failed. One record's failure never
    ends the run, whatever its type: it is reported with its reason (bad records with their
    fields, never sent). Every record read is counted once in the report.

    With ``journal`` (a path), each finished record is appended to a JSON-lines file, and a
    rerun with the same journal skips the records it lists, unless their data changed. Reruns
    never duplicate contacts: records are identified by ``key`` (default: email, else phone,
    as HighLevel's upsert matches), and repeats of one key are sent one after another.

    With ``business_id``, the contacts are also attached to that business with one bulk call
    per ``batch_size`` contacts.

    Two things stop the run early, cleanly: the report is returned (the record that met it
    among the failures, records read but not sent as ``pending``) and the journal holds every
    record finished so far. ``stopped="quota"``: HighLevel says no more than ``quota_reserve``
    requests are left today, or the quota is spent (``DailyQuotaExceeded``).
    ``stopped="auth"``: the token was refused and could not be renewed, or lacks the
    permission (401, 403, ``ReauthorizationRequired``). ``stop_error`` says which.

    Raises:
        ConfigError: no location id, or bad settings (before anything is sent).
    """
    location = location_id or ghl.location_id or mapping.location_id
    if not location:
        raise ConfigError("no location id: pass location_id=, or set it on the client")
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, not {concurrency}")
    if not 1 <= batch_size <= 1000:
        raise ConfigError(f"batch_size must be in 1..1000, not {batch_size}")
    if record_retries < 0 or retry_delay < 0 or quota_reserve < 0:
        raise ConfigError("record_retries, retry_delay and quota_reserve must be >= 0")
    if isinstance(key, str) and key not in ("contact", "hash"):
        raise ConfigError(
            f"key must be 'contact', 'hash', a list of columns or a function, not {key!r}"
        )
    if total is None and isinstance(records, Sequence):
        total = len(records)
    if journal is None or isinstance(journal, Journal):
        opened, own_journal = journal, False
    else:
        opened = Journal(journal, fsync=fsync, mapping_id=mapping.fingerprint)
        own_journal = True
    run = _Run(
        ghl,
        mapping,
        location=location,
        journal=opened,
        key=key,
        business_id=business_id,
        batch_size=batch_size,
        quota_reserve=quota_reserve,
        record_retries=record_retries,
        retry_delay=retry_delay,
        on_progress=on_progress,
        total=total,
    )
    queue: asyncio.Queue[tuple[int, Record] | None] = asyncio.Queue(maxsize=concurrency * 2)

    async def produce() -> None:
        index = 0
        async for record in _records(records):
            if run.stop.is_set():
                break
            await queue.put((index, record))
            index += 1
        for _ in range(concurrency):
            await queue.put(None)

    async def work() -> None:
        while (item := await queue.get()) is not None:
            if run.stop.is_set():
                run.report.pending += 1
                continue
            await run.process(*item)
            run.progress()

    tasks = [asyncio.ensure_future(produce())]
    tasks += [asyncio.ensure_future(work()) for _ in range(concurrency)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            error = task.exception()
            if error is not None:
                raise error
        await run.flush()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if own_journal and opened is not None:
            opened.close()
    run.progress()
    return run.report

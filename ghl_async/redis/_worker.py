"""The worker side of :class:`~ghl_async.redis.jobs.RedisImport`: one ``work()`` call.

It claims entries (new ones with ``XREADGROUP``, a dead worker's with ``XAUTOCLAIM`` after the
lease), renews its claims while it holds them, upserts each entry's records one after another
with the per-record logic of :func:`~ghl_async.bulk.upsert_contacts` (``_Run.upsert``: retries,
failure reasons, the daily quota), and writes each outcome with the entry's acknowledgement in
one script (outcomes of records that end together go in one pipeline).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

from redis.exceptions import ResponseError

from ghl_async.bulk._report import Progress, RecordFailure, SyncReport
from ghl_async.bulk._sync import BULK_CHUNK, _Run
from ghl_async.client import Client
from ghl_async.mapping import ContactMapping
from ghl_async.redis.jobs import (
    _BLOCK_MS,
    _ENTRY_DECODER,
    _FAILURE_ENCODER,
    GROUP,
    _Item,
    _text_one,
)

if TYPE_CHECKING:
    from ghl_async.redis.jobs import RedisImport

__all__ = ["ImportWorker"]

log = logging.getLogger("ghl_async.redis")


class ImportWorker:
    """One :meth:`RedisImport.work` call: claims, upserts, outcomes, claim renewal."""

    def __init__(
        self,
        job: RedisImport,
        ghl: Client,
        consumer: str,
        *,
        concurrency: int,
        record_retries: int,
        retry_delay: float,
        quota_reserve: int,
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        self.job = job
        self.ghl = ghl
        self.consumer = consumer
        self.concurrency = concurrency
        self.record_retries = record_retries
        self.retry_delay = retry_delay
        self.quota_reserve = quota_reserve
        self.on_progress = on_progress
        self.report = SyncReport()
        self.held: set[str] = set()  # entry ids in hand, their claims renewed
        self.writes: list[tuple[list[str | int | bytes], asyncio.Future[None]]] = []
        self.writer: asyncio.Task[None] | None = None
        self.stopping = False
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()
        self.cursor = "0-0"
        self.mapping = ContactMapping(fields={})  # _Run wants one; upserts never map

    async def run(self) -> SyncReport:
        job = self.job
        if (await job.state()).state == "new":
            return self.report
        renewal = asyncio.ensure_future(self._renew())
        running: set[asyncio.Task[None]] = set()
        look_at = 0.0
        try:
            while True:
                now = self.loop.time()
                claimed: list[tuple[str, bytes]] = []
                if now >= look_at:
                    # Now and then: did the import stop, and did a worker die with entries?
                    look_at = now + min(job.lease / 3, 1.0)
                    if (await job.state()).state in ("stopped", "finished"):
                        self.stopping = True
                    elif len(running) < self.concurrency:
                        claimed = await self._claim(self.concurrency - len(running))
                free = self.concurrency - len(running) - len(claimed)
                got = claimed
                if free > 0 and not self.stopping:
                    got = claimed + await self._read(free, block=not running and not claimed)
                for entry_id, items, seen in await self._peek(got):
                    self.held.add(entry_id)
                    running.add(asyncio.ensure_future(self._entry(entry_id, items, seen)))
                if running:
                    # Room left and entries coming: look again soon; full or stopping: wait.
                    room = len(running) < self.concurrency and not self.stopping
                    timeout = (0 if got else 0.2) if room else None
                    done, _ = await asyncio.wait(
                        running, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in done:
                        running.discard(task)
                        task.result()  # a refused token (or a bug) ends this worker
                    continue
                if self.stopping or (not got and await self._over()):
                    break
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            renewal.cancel()
            await asyncio.gather(renewal, return_exceptions=True)
            if self.writer is not None:
                await asyncio.gather(self.writer, return_exceptions=True)
            r = self.report
            r.elapsed = self.loop.time() - self.started
            r.total = r.created + r.updated + r.skipped + len(r.failed)
        return self.report

    async def _over(self) -> bool:
        """Nothing to do here: is the whole import over (finished or stopped)?"""
        state = await self.job.state()
        if state.state in ("finished", "stopped", "new"):
            return True
        return await self.job.try_finish()

    async def _claim(self, count: int) -> list[tuple[str, bytes]]:
        """Take over entries a dead worker held longer than the lease."""
        job = self.job
        try:
            reply = await job.client.xautoclaim(
                job._key("queue"),
                GROUP,
                self.consumer,
                min_idle_time=int(job.lease * 1000),
                start_id=self.cursor,
                count=count,
            )
        except ResponseError as err:
            _no_group_yet(err)
            return []
        self.cursor = _text_one(reply[0])
        claimed = _entries(cast("Sequence[_RawEntry | None]", reply[1]))
        if claimed:
            log.info(
                "import %s: took over %d entries of a worker that stopped", job.name, len(claimed)
            )
        return claimed

    async def _read(self, count: int, *, block: bool) -> list[tuple[str, bytes]]:
        job = self.job
        try:
            reply = await job.client.xreadgroup(
                GROUP,
                self.consumer,
                {job._key("queue"): ">"},
                count=count,
                block=_BLOCK_MS if block else None,
            )
        except ResponseError as err:
            _no_group_yet(err)
            if block:
                await asyncio.sleep(_BLOCK_MS / 1000)  # wait as a block would have
            return []
        if not reply:
            return []
        # RESP2: [[stream, [(id, fields), ...]]]
        streams = cast("list[tuple[bytes, Sequence[_RawEntry | None]]]", reply)
        return _entries(streams[0][1])

    async def _renew(self) -> None:
        """Keep our claims fresh, so that only a dead worker's entries are taken over."""
        job = self.job
        while True:
            await asyncio.sleep(job.lease / 3)
            held = list(self.held)
            if not held:
                continue
            try:
                await job.client.xclaim(
                    job._key("queue"),
                    GROUP,
                    self.consumer,
                    0,
                    cast("list[int | bytes | str | memoryview]", held),
                    justid=True,
                )
            except Exception as err:  # keep trying: the claims outlive short outages
                log.warning("import %s: could not renew claims: %s", job.name, type(err).__name__)

    async def _peek(
        self, got: list[tuple[str, bytes]]
    ) -> list[tuple[str, list[_Item], tuple[str | None, list[bool]]]]:
        """Decode entries and read, in one round trip, what is known of their records: the
        hash last accepted for each key, and which records have an outcome already."""
        if not got:
            return []
        job = self.job
        decoded = [(entry_id, _ENTRY_DECODER.decode(data)) for entry_id, data in got]
        pipe = job.client.pipeline(transaction=False)
        for _, items in decoded:
            pipe.hget(job._key("done"), items[0].key)  # one key per entry
            for item in items:
                pipe.getbit(job._key("bits"), item.index)
        answers = iter(await pipe.execute())
        out = []
        for entry_id, items in decoded:
            done = next(answers)
            written = [bool(next(answers)) for _ in items]
            out.append((entry_id, items, (None if done is None else _text_one(done), written)))
        return out

    async def _entry(
        self, entry_id: str, items: list[_Item], seen: tuple[str | None, list[bool]]
    ) -> None:
        last, written = seen
        try:
            for n, item in enumerate(items):  # one key's records, in input order
                ack = entry_id if n == len(items) - 1 else ""
                if written[n]:
                    continue  # a worker that died wrote this one's outcome
                if self.stopping:
                    return  # the import stopped: the rest is for a rerun
                outcome = await self._one(item, last, ack)
                if outcome is None:
                    return  # no outcome (cannot happen today): leave the entry to be retried
                last = outcome
                if ack:
                    return
            await self._write(None, "", None, 0, entry_id)  # every outcome was written already
        finally:
            self.held.discard(entry_id)

    async def _one(self, item: _Item, last: str | None, ack: str) -> str | None:
        """Upsert one record unless its data is done; write its outcome.

        Returns the hash of the key's last accepted body, or None when no outcome was written.
        """
        if last == item.digest:
            self.report.skipped += 1
            await self._write(item, "skipped", None, 0, ack)
            self._progress()
            return last
        run = _Run(
            self.ghl,
            self.mapping,
            location=item.location,
            journal=None,
            key="contact",
            business_id=None,
            batch_size=BULK_CHUNK,
            quota_reserve=self.quota_reserve,
            record_retries=self.record_retries,
            retry_delay=self.retry_delay,
            on_progress=None,
            total=None,
        )
        r = run.report
        # A refused token or a spent quota does not raise: the run reports it as `stopped`.
        await run.upsert(item.index, item.key, item.digest, item.body, item.line)
        self.report.requests += r.requests
        if r.created or r.updated:
            status = "created" if r.created else "updated"
            await self._write(item, status, None, r.requests, ack)
            if r.created:
                self.report.created += 1
            else:
                self.report.updated += 1
            outcome: str | None = item.digest
        elif r.failed and r.stopped is None:
            failure = r.failed[-1]
            await self._write(item, "failed", failure, r.requests, ack)
            self.report.failed.append(failure)
            outcome = last or ""
        else:
            # No outcome, e.g. refused because the daily quota is spent: the entry stays
            # unacknowledged and a rerun sends the record.
            outcome = None
        if r.stopped is not None:
            self.stopping = True
            self.report.stopped = r.stopped
            self.report.stop_error = r.stop_error
            await self.job.stop(r.stopped)
        self._progress()
        return outcome

    async def _write(
        self,
        item: _Item | None,
        status: str,
        failure: RecordFailure | None,
        requests: int,
        ack: str,
    ) -> None:
        """Write one outcome (and the ack); return once Redis has it.

        Outcomes written in the same moment by this worker's tasks go in one pipeline (a group
        commit): one round trip for many records.
        """
        args: list[str | int | bytes] = [
            "" if item is None else item.index,
            status,
            "" if item is None else item.key,
            "" if item is None else item.digest,
            b"" if failure is None else _FAILURE_ENCODER.encode(failure),
            requests,
            ack,
            GROUP,
        ]
        written: asyncio.Future[None] = self.loop.create_future()
        self.writes.append((args, written))
        if self.writer is None or self.writer.done():
            self.writer = asyncio.ensure_future(self._commit())
        await written

    async def _commit(self) -> None:
        job = self.job
        await asyncio.sleep(0)  # the tasks that finish in this moment add theirs
        while self.writes:
            batch, self.writes = self.writes, []
            pipe = job.client.pipeline(transaction=False)
            for args, _ in batch:
                await job._record(keys=job._record_keys(), args=args, client=pipe)
            try:
                await pipe.execute()
            except BaseException as err:
                for _, written in batch:
                    if not written.done():
                        written.set_exception(err)
                if not isinstance(err, Exception):
                    raise
                continue
            for _, written in batch:
                if not written.done():
                    written.set_result(None)

    def _progress(self) -> None:
        if self.on_progress is None:
            return
        r = self.report
        r.elapsed = self.loop.time() - self.started
        self.on_progress(
            Progress(
                done=r.created + r.updated + r.skipped + len(r.failed),
                total=None,
                created=r.created,
                updated=r.updated,
                skipped=r.skipped,
                failed=len(r.failed),
                elapsed=r.elapsed,
            )
        )


def _no_group_yet(err: ResponseError) -> None:
    """Swallow NOGROUP: a submit is between starting a run and creating the stream's group."""
    if "NOGROUP" not in str(err):
        raise err


_RawEntry = tuple[bytes, dict[bytes, bytes]]


def _entries(raw: Sequence[_RawEntry | None]) -> list[tuple[str, bytes]]:
    out = []
    for item in raw:
        if item is None:
            continue  # deleted meanwhile
        entry_id, fields = item
        data = fields.get(b"d")
        if data is not None:
            out.append((_text_one(entry_id), data))
    return out

"""RedisImport in one process: submit once (idempotently), workers share the entries, outcomes
are written once, a dead worker's entries are taken over, reruns resume or skip what is done.

The workers here are tasks with their own clients; tests/test_redis_scale.py runs processes.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import redis.asyncio
from client_helpers import make_client

from ghl_async import OAuthApp, RateLimit
from ghl_async.bulk import SyncReport
from ghl_async.errors import ConfigError
from ghl_async.mapping import ContactMapping, RecordSource
from ghl_async.redis import RedisRateBudget, RedisTokenStore
from ghl_async.redis.jobs import GROUP, RedisImport, default_job_name
from ghl_async.testing import FakeHighLevel
from ghl_async.tokenstore import Token

MAPPING = ContactMapping(fields={"email": "email", "first_name": "first"})


@pytest.fixture
async def job(redis_client: redis.asyncio.Redis, redis_prefix: str) -> RedisImport:
    return RedisImport(redis_client, "leads", prefix=redis_prefix, lease=0.5)


def rows(n: int, location: str, start: int = 0) -> list[dict[str, str]]:
    return [{"email": f"p{i}@example.com", "first": f"P{i}", "loc": location}
            for i in range(start, start + n)]


async def work(
    fake: FakeHighLevel, job: RedisImport, redis_url: str, *, workers: int = 2, **kw: object
) -> list[SyncReport]:
    """Run `workers` workers, each with its own client and budget, until the import is done."""

    async def one(n: int) -> SyncReport:
        budget = RedisRateBudget.from_url(redis_url, RateLimit(1000, 1), prefix=job.keys.prefix)
        try:
            async with make_client(fake, rate_limit=budget) as ghl:
                mine = RedisImport(job.client, job.name, prefix=job.keys.prefix, lease=job.lease)
                return await mine.work(ghl, concurrency=4, consumer=f"w{n}", **kw)  # type: ignore[arg-type]
        finally:
            await budget.aclose()

    return await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(workers))), 60)


# --- submitting -----------------------------------------------------------------------------------


async def test_a_second_submit_adds_nothing_and_resumes(
    fake: FakeHighLevel, job: RedisImport
) -> None:
    records = rows(30, fake.location_id)
    first = await job.submit(records, MAPPING, location_column="loc")
    again = await job.submit(records, MAPPING, location_column="loc")
    assert (first.total, first.entries, first.added, first.resumed, first.run) == (30, 30, 30,
                                                                                   False, 1)
    assert (again.entries, again.added, again.resumed, again.run) == (30, 0, True, 1)
    assert await job.client.xlen(job.keys.job("leads", "queue")) == 30
    state = await job.state()
    assert (state.state, state.total, state.done) == ("enqueued", 30, 0)
    assert await RedisImport.active(job.client, job.keys.prefix) == ["leads"]


async def test_records_of_one_key_travel_together_in_input_order(
    fake: FakeHighLevel, job: RedisImport, redis_url: str
) -> None:
    records = rows(3, fake.location_id)
    records.insert(1, {"email": "P0@example.com", "first": "Again", "loc": fake.location_id})
    submitted = await job.submit(records, MAPPING, location_column="loc")
    assert (submitted.total, submitted.entries) == (4, 3)
    await work(fake, job, redis_url)
    (contact,) = fake.find_contacts(email="p0@example.com")
    assert contact.first_name == "Again"  # the last row of the key wins
    report = await job.report()
    assert (report.total, report.created, report.updated) == (4, 3, 1)


async def test_two_workers_share_the_import_and_every_record_counts_once(
    fake: FakeHighLevel, job: RedisImport, redis_url: str, tmp_path: Path
) -> None:
    path = tmp_path / "leads.csv"
    lines = ["email,first,loc"] + [f"w{i}@example.com,W{i},{fake.location_id}" for i in range(40)]
    lines.insert(5, f",no email,{fake.location_id}")
    lines.insert(9, "x@example.com,no location,")
    path.write_text("\n".join(lines) + "\n")
    source = RecordSource(path)
    submitted = await job.submit(source, MAPPING, location_column="loc")
    assert (submitted.total, submitted.invalid) == (42, 2)
    shares = await work(fake, job, redis_url)
    assert sum(s.created for s in shares) == 40
    assert all(s.created > 0 for s in shares)  # both worked
    assert sum(s.requests for s in shares) == 40
    report = await job.report()
    assert (report.total, report.created, report.updated, report.skipped) == (42, 40, 0, 0)
    assert [(f.line, f.stage) for f in report.failed] == [(6, "mapping"), (10, "mapping")]
    assert "location" in report.failed[1].reason
    assert report.requests == 40
    assert report.elapsed > 0
    state = await job.state()
    assert state.finished
    assert await RedisImport.active(job.client, job.keys.prefix) == []
    assert await job.client.xlen(job.keys.job("leads", "queue")) == 0  # acked and deleted
    assert fake.count(operation="contacts.upsert") == 40


async def test_a_finished_import_submitted_again_skips_what_did_not_change(
    fake: FakeHighLevel, job: RedisImport, redis_url: str
) -> None:
    records = rows(10, fake.location_id)
    await job.submit(records, MAPPING, location_column="loc")
    await work(fake, job, redis_url)
    records[3]["first"] = "Changed"
    second = await job.submit(records, MAPPING, location_column="loc")
    assert (second.run, second.resumed, second.added) == (2, False, 10)
    (share,) = await work(fake, job, redis_url, workers=1)
    assert (share.skipped, share.updated) == (9, 1)
    report = await job.report()
    assert (report.total, report.skipped, report.updated, report.created) == (10, 9, 1, 0)
    assert fake.count(operation="contacts.upsert") == 11


# --- a worker that died ---------------------------------------------------------------------------


async def test_a_dead_workers_entries_are_taken_over_after_the_lease(
    fake: FakeHighLevel, job: RedisImport, redis_url: str
) -> None:
    await job.submit(rows(6, fake.location_id), MAPPING, location_column="loc")
    queue = job.keys.job("leads", "queue")
    # A worker claims three entries and dies before doing anything with them.
    claimed = await job.client.xreadgroup(GROUP, "dead", {queue: ">"}, count=3)
    assert len(claimed[0][1]) == 3
    await work(fake, job, redis_url, workers=1)
    report = await job.report()
    assert (report.total, report.created) == (6, 6)
    assert fake.count(operation="contacts.upsert") == 6


async def test_an_outcome_written_before_the_crash_is_not_sent_again(
    fake: FakeHighLevel, job: RedisImport, redis_url: str
) -> None:
    await job.submit(rows(2, fake.location_id), MAPPING, location_column="loc")
    queue = job.keys.job("leads", "queue")
    claimed = await job.client.xreadgroup(GROUP, "dead", {queue: ">"}, count=1)
    (entry_id, _), = claimed[0][1]
    # The dead worker had written the record's outcome but not acknowledged the entry.
    await job._record(keys=job._record_keys(),
                      args=[0, "created", "email:p0@example.com", "h", b"", 1, "", GROUP])
    await work(fake, job, redis_url, workers=1)
    report = await job.report()
    assert (report.total, report.created) == (2, 2)  # once each
    assert fake.count(operation="contacts.upsert") == 1  # record 0 was not sent again
    assert await job.client.xpending(queue, GROUP) == {"pending": 0, "min": None, "max": None,
                                                       "consumers": []}
    assert entry_id


# --- stopping -------------------------------------------------------------------------------------


@pytest.mark.fake_highlevel(daily_limit=3)
async def test_the_daily_quota_stops_every_worker_and_a_rerun_finishes(
    fake: FakeHighLevel, job: RedisImport, redis_url: str
) -> None:
    records = rows(20, fake.location_id)
    await job.submit(records, MAPPING, location_column="loc")
    shares = await work(fake, job, redis_url, quota_reserve=0)
    assert any(s.stopped == "quota" for s in shares)
    state = await job.state()
    assert (state.state, state.stopped) == ("stopped", "quota")
    report = await job.report()
    assert (report.stopped, report.created, report.pending, report.failed) == ("quota", 3, 17, [])
    fake.set_daily_limit(None)
    resumed = await job.submit(records, MAPPING, location_column="loc")
    assert resumed.resumed
    await work(fake, job, redis_url)
    report = await job.report()
    assert (report.created, report.stopped, report.pending, report.failed) == (20, None, 0, [])


async def test_a_refused_token_stops_the_import_for_everyone(
    fake: FakeHighLevel, job: RedisImport, redis_url: str
) -> None:
    await job.submit(rows(5, fake.location_id), MAPPING, location_column="loc")
    fake.revoke_tokens()
    (share,) = await work(fake, job, redis_url, workers=1)
    # As upsert_contacts does: the run returns its report, stopped, with the reason.
    assert share.stopped == "auth"
    assert share.stop_error  # the text of the 401 that stopped it
    state = await job.state()
    assert (state.state, state.stopped) == ("stopped", "auth")
    others = await work(fake, job, redis_url, workers=1)  # another worker stops at once
    assert others[0].total == 0


async def test_stop_leaves_the_rest_for_a_rerun(
    fake: FakeHighLevel, job: RedisImport, redis_url: str
) -> None:
    await job.submit(rows(4, fake.location_id), MAPPING, location_column="loc")
    await job.stop("by hand")
    (share,) = await work(fake, job, redis_url, workers=1)
    assert share.total == 0
    assert (await job.state()).stopped == "by hand"


# --- oauth, many locations ------------------------------------------------------------------------


async def test_many_locations_with_their_own_tokens_through_one_worker(
    job: RedisImport, redis_url: str, redis_prefix: str
) -> None:
    async with FakeHighLevel(rate_limit="20/1") as fake:
        locations = [fake.location_id, fake.add_location(), fake.add_location()]
        store = RedisTokenStore.from_url(redis_url, prefix=redis_prefix)
        for location in locations:
            issued = fake.issue_token(location_id=location)
            await store.save(f"location:{location}", Token(
                access_token=issued.access_token, refresh_token=issued.refresh_token,
                expires_at=time.time() + issued.expires_in, user_type="Location",
                location_id=location))
        records = [r for n, location in enumerate(locations) for r in rows(5, location, 10 * n)]
        await job.submit(records, MAPPING, location_column="loc")
        app = OAuthApp(client_id=fake.client_id, client_secret=fake.client_secret, store=store)
        budget = RedisRateBudget.from_url(redis_url, RateLimit(20, 1), prefix=redis_prefix)
        async with make_client(fake, auth=app, rate_limit=budget) as ghl:
            share = await job.work(ghl, concurrency=6)
        await budget.aclose()
        await store.aclose()
        assert share.created == 15
        for location in locations:
            assert len(fake.find_contacts(location_id=location)) == 5


# --- settings and edges ---------------------------------------------------------------------------


async def test_an_unknown_import_has_nothing_to_do(job: RedisImport, fake: FakeHighLevel,
                                                   redis_url: str) -> None:
    assert (await job.state()).state == "new"
    (share,) = await work(fake, job, redis_url, workers=1)
    assert share.total == 0
    assert (await job.report()).total == 0


async def test_another_input_under_an_unfinished_name_is_refused_unless_forced(
    fake: FakeHighLevel, job: RedisImport, redis_url: str
) -> None:
    await job.submit(rows(3, fake.location_id), MAPPING, location_column="loc", input_id="a.csv")
    with pytest.raises(ConfigError, match="another input"):
        await job.submit(rows(3, fake.location_id), MAPPING, location_column="loc",
                         input_id="b.csv")
    forced = await job.submit(rows(4, fake.location_id), MAPPING, location_column="loc",
                              input_id="b.csv", force=True)
    assert (forced.run, forced.resumed, forced.total) == (2, False, 4)
    await work(fake, job, redis_url, workers=1)
    assert (await job.report()).created == 4


@pytest.mark.fake_highlevel(rate_limit=None)
async def test_a_small_backlog_lets_the_submit_wait_for_the_workers(
    fake: FakeHighLevel, job: RedisImport, redis_url: str
) -> None:
    submit = asyncio.ensure_future(job.submit(rows(450, fake.location_id), MAPPING,
                                              location_column="loc", backlog=100))
    await asyncio.sleep(0.2)
    assert not submit.done()  # waiting for room
    await work(fake, job, redis_url)
    submitted = await submit
    assert submitted.total == 450
    report = await job.wait(poll=0.05)
    assert report.created == 450


async def test_wait_reports_progress_and_can_give_up(
    fake: FakeHighLevel, job: RedisImport
) -> None:
    await job.submit(rows(2, fake.location_id), MAPPING, location_column="loc")
    seen = []
    report = await job.wait(poll=0.01, on_progress=seen.append, give_up=lambda: True)
    assert report.created == 0
    assert seen[0].total == 2


@pytest.mark.parametrize("kwargs", [{"name": ""}, {"name": "a b"}, {"name": "x", "lease": 0}])
def test_bad_names_and_leases_raise_config_error(
    redis_client: redis.asyncio.Redis, kwargs: dict[str, object]
) -> None:
    name = kwargs.pop("name")
    with pytest.raises(ConfigError):
        RedisImport(redis_client, name, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        RedisImport.from_url("redis://127.0.0.1:6379/0", name, **kwargs)  # type: ignore[arg-type]


async def test_bad_submits_raise_config_error(job: RedisImport) -> None:
    with pytest.raises(ConfigError, match="twice"):
        await job.submit(iter(rows(1, "x")), MAPPING, location_column="loc")
    with pytest.raises(ConfigError, match="location"):
        await job.submit(rows(1, "x"), MAPPING)
    with pytest.raises(ConfigError, match="backlog"):
        await job.submit(rows(1, "x"), MAPPING, location_id="x", backlog=0)
    with pytest.raises(ConfigError, match="concurrency"):
        await job.work(None, concurrency=0)  # type: ignore[arg-type]


async def test_delete_forgets_everything(fake: FakeHighLevel, job: RedisImport) -> None:
    await job.submit(rows(2, fake.location_id), MAPPING, location_column="loc")
    await job.delete()
    assert (await job.state()).state == "new"
    assert await job.client.keys(job.keys.pattern()) == []


def test_the_default_name_follows_the_input_and_the_mapping() -> None:
    assert default_job_name("/data/a.csv", "m1") == default_job_name("/data/a.csv", "m1")
    assert default_job_name("/data/a.csv", "m1") != default_job_name("/data/a.csv", "m2")
    assert default_job_name("/data/a.csv", None).startswith("import-")


async def test_from_url_owns_its_client(redis_url: str, redis_prefix: str) -> None:
    async with RedisImport.from_url(redis_url, "x", prefix=redis_prefix) as job:
        assert repr(job) == f"RedisImport('x', prefix={redis_prefix!r})"
        assert (await job.state()).state == "new"



async def test_a_worker_that_arrives_before_the_stream_waits_for_it(
    fake: FakeHighLevel, job: RedisImport, redis_url: str
) -> None:
    # The submit has started the run (state "enqueuing") but not yet created the stream.
    await job.client.hset(job.keys.job("leads", "meta"), mapping={"state": "enqueuing"})
    working = asyncio.ensure_future(work(fake, job, redis_url, workers=1))
    await asyncio.sleep(0.3)
    assert not working.done()
    await job.stop("by hand")
    (share,) = await working
    assert share.total == 0

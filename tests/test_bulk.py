"""Bulk upserts against FakeHighLevel over a real socket: faults, journal, rate, quota."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from ghl_async import Client, StaticToken
from ghl_async.bulk import (
    Journal,
    JournalEntry,
    JournalLockedError,
    Progress,
    add_tags,
    record_key,
    remove_tags,
    set_business,
    upsert_contacts,
)
from ghl_async.errors import ConfigError
from ghl_async.mapping import ContactMapping, FieldRule, RecordSource, TagRule, from_dict
from ghl_async.mapping import transforms as t
from ghl_async.ratelimit import RateLimit
from ghl_async.testing import FakeHighLevel

MAPPING = ContactMapping(
    fields={"email": "email", "phone": "phone", "company_name": "company"},
    full_name=FieldRule("name", transforms=[t.collapse(), t.name_case()]),
    tags=["bulk-test", TagRule("group")],
    default_country="US",
)


def records(n: int, start: int = 0) -> list[dict[str, str]]:
    return [
        {
            "email": f"Person.{i}@Example.com",
            "phone": f"(415) {200 + i // 10_000}-{i % 10_000:04d}",
            "name": f"person number{i}",
            "company": f"Company {i % 7}",
            "group": f"g{i % 3}",
        }
        for i in range(start, start + n)
    ]


@asynccontextmanager
async def connected(
    *,
    rule: tuple[int, float] | None = None,
    client_rule: RateLimit | None = None,
    **fake_options: object,
) -> AsyncIterator[tuple[FakeHighLevel, Client]]:
    # The fake sends rate-limit headers (daily quota included) only under a burst rule.
    async with FakeHighLevel(rate_limit=rule or (100_000, 1.0), **fake_options) as fake:  # type: ignore[arg-type]
        ghl = Client(
            auth=StaticToken(fake.private_token, location_id=fake.location_id),
            location_id=fake.location_id,
            base_url=fake.base_url,
            # No client-side limit unless a test asks, but the server's counters are kept.
            rate_limit=client_rule if client_rule is not None else RateLimit.unlimited(),
            backoff_base=0.001,
            backoff_max=0.005,
            max_retries=3,
        )
        async with ghl:
            yield fake, ghl


def distinct_emails(fake: FakeHighLevel) -> tuple[int, int]:
    contacts = fake.find_contacts(location_id=fake.location_id)
    emails = [c.email for c in contacts]
    return len(contacts), len(set(emails))


async def test_5000_records_with_10_percent_faults_all_accounted_for() -> None:
    data = records(5000)
    async with connected() as (fake, ghl):
        armed = 0

        def inject(progress: Progress) -> None:
            # Spread the faults over the run: one for every ten records settled.
            nonlocal armed
            while armed < progress.done // 10:
                kind = armed % 3
                if kind == 0:
                    fake.fail("contacts.upsert", status=503)
                elif kind == 1:
                    fake.drop("contacts.upsert", when="after")  # applied, answer lost
                else:
                    fake.drop("contacts.upsert", when="before")
                armed += 1

        report = await upsert_contacts(
            ghl, data, MAPPING, concurrency=32, on_progress=inject, retry_delay=0.001
        )
    assert armed >= 490
    faulted = fake.count(operation="contacts.upsert", status=503) + sum(
        1 for r in fake.requests if r.operation == "contacts.upsert" and r.status is None
    )
    assert faulted >= 490
    assert report.total == 5000
    assert report.failed == []
    assert report.created + report.updated == 5000
    assert report.updated <= fake.count(operation="contacts.upsert") - 5000  # only retried ones
    assert distinct_emails(fake) == (5000, 5000)


async def test_cancelled_halfway_then_rerun_from_journal(tmp_path: Path) -> None:
    journal = tmp_path / "run.journal"
    data = records(600)
    async with connected() as (fake, ghl):
        half = asyncio.Event()

        def watch(progress: Progress) -> None:
            if progress.done >= 300:
                half.set()

        run = asyncio.ensure_future(
            upsert_contacts(ghl, data, MAPPING, journal=journal, on_progress=watch)
        )
        await half.wait()
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run
        lines = journal.read_text().splitlines()
        done_before = sum(1 for line in lines if '"s":"created"' in line)
        assert 300 <= done_before < 600
        rerun = await upsert_contacts(ghl, data, MAPPING, journal=journal)
        assert rerun.skipped == done_before
        assert rerun.created + rerun.updated == 600 - done_before
        assert rerun.failed == []
        # Cancelled in flight: applied but never journaled, so matched (updated) on the rerun.
        assert rerun.updated <= 32
        assert distinct_emails(fake) == (600, 600)
        # The final state is what one uninterrupted run makes.
        expected = {MAPPING.apply(r, location_id="x").email for r in data}
        assert {c.email for c in fake.find_contacts()} == expected
        again = await upsert_contacts(ghl, data, MAPPING, journal=journal)
        assert (again.skipped, again.requests) == (600, 0)


async def test_rate_reaches_95_percent_of_the_rule_with_no_429() -> None:
    rule = (50, 0.5)
    async with connected(rule=rule, client_rule=RateLimit(*rule)) as (fake, ghl):
        report = await upsert_contacts(ghl, records(330), MAPPING, concurrency=4)
    assert report.created == 330
    assert fake.count(status=429) == 0
    stamps = sorted(r.timestamp for r in fake.requests)
    # After the opening burst of the first window, the sustained rate:
    steady = [s for s in stamps if s >= stamps[0] + rule[1]]
    rate = (len(steady) - 1) / (steady[-1] - steady[0])
    assert rate >= 0.95 * rule[0] / rule[1]


async def test_mapping_errors_are_reported_per_record_and_not_sent() -> None:
    data = records(6)
    data[1]["phone"] = "555-0123"
    data[2]["email"] = "nobody@"
    data[3]["email"] = data[3]["phone"] = ""
    async with connected() as (fake, ghl):
        report = await upsert_contacts(ghl, data, MAPPING)
    assert report.created == 3
    assert [(f.index, f.stage, f.field) for f in report.failed] == [
        (1, "mapping", "phone"),
        (2, "mapping", "email"),
        (3, "mapping", "email|phone"),
    ]
    assert "10 digits" in report.failed[0].reason
    assert [f.index for f in report.invalid] == [1, 2, 3]
    assert fake.count(operation="contacts.upsert") == 3
    assert report.as_dict()["failed"] == 3


async def test_api_refusal_is_reported_with_highlevel_message() -> None:
    async with connected() as (fake, ghl):
        fake.fail("contacts.upsert", status=422)
        report = await upsert_contacts(ghl, records(3), MAPPING, concurrency=1)
    (failure,) = report.failed
    assert (failure.index, failure.stage, failure.status) == (0, "api", 422)
    assert failure.reason == "HTTP 422 from contacts.upsert"
    assert failure.message
    assert failure.key == "email:person.0@example.com"
    assert report.created == 2
    summary = report.as_dict()
    assert summary["failures"] == [
        {
            "index": 0,
            "key": "email:person.0@example.com",
            "stage": "api",
            "reason": "HTTP 422 from contacts.upsert",
            "message": failure.message,
            "status": 422,
        }
    ]
    assert not report.ok


async def test_retryable_failures_beyond_all_retries_are_reported() -> None:
    async with connected() as (fake, ghl):
        fake.fail("contacts.upsert", status=503, times=None)
        report = await upsert_contacts(
            ghl, records(2), MAPPING, record_retries=1, retry_delay=0.001
        )
        fake.clear_faults()
    assert [f.status for f in report.failed] == [503, 503]
    # 2 records x (1 + 1 bulk retry) x (1 + 3 client retries)
    assert fake.count(operation="contacts.upsert") == 16


async def test_dropped_connections_beyond_retries_say_no_response() -> None:
    async with connected() as (fake, ghl):
        fake.drop("contacts.upsert", times=None)
        report = await upsert_contacts(ghl, records(1), MAPPING, record_retries=0)
        fake.clear_faults()
    (failure,) = report.failed
    assert failure.reason.startswith("no response")
    assert failure.status is None


async def test_a_refused_token_stops_the_run() -> None:
    async with connected() as (fake, ghl):
        fake.revoke_tokens()
        report = await upsert_contacts(ghl, records(20), MAPPING, concurrency=2, retry_delay=0.001)
    assert report.stopped == "auth"
    assert 1 <= len(report.failed) <= 2  # the record of each worker
    # A 401 is asked again (twice) before it stops the run: an early revocation is renewed.
    assert fake.count(operation="contacts.upsert") <= 2 * (1 + 2)


async def test_repeats_in_the_input_go_in_order_and_identical_ones_are_skipped() -> None:
    first, second = records(1)[0], dict(records(1)[0], company="Changed Inc")
    async with connected() as (fake, ghl):
        report = await upsert_contacts(
            ghl, [first, second, dict(first), second], MAPPING, concurrency=4
        )
        # first, then second, then first again (the contact must end as the input says),
        # then second: 4 upserts; the identical repeat right after itself is skipped.
        assert (report.created, report.updated, report.skipped) == (1, 3, 0)
        (contact,) = fake.find_contacts()
        assert contact.company_name == "Changed Inc"
        again = await upsert_contacts(ghl, [first, first, second, second], MAPPING)
        assert (again.updated, again.skipped) == (2, 2)


async def test_async_iterable_input_and_key_choices(tmp_path: Path) -> None:
    async def stream() -> AsyncIterator[dict[str, str]]:
        for record in records(5):
            yield record

    progress: list[Progress] = []
    async with connected() as (_, ghl):
        report = await upsert_contacts(
            ghl,
            stream(),
            MAPPING,
            key=["email"],
            on_progress=progress.append,
            journal=tmp_path / "j",
        )
        assert report.created == 5
        assert progress[-1].total is None
        assert progress[-1].done == 5
        assert progress[-1].eta is None
        by_hash = await upsert_contacts(ghl, records(5), MAPPING, key="hash")
        assert by_hash.updated == 5
        by_fn = await upsert_contacts(
            ghl, records(5), MAPPING, key=lambda r: str(r["email"]).lower()
        )
        assert by_fn.updated == 5
        blank = await upsert_contacts(
            ghl, [{"email": "", "phone": "4155550123"}], MAPPING, key=["email"]
        )
    assert blank.failed[0].reason == "key column(s) email are blank"
    entries = [json.loads(line) for line in (tmp_path / "j").read_text().splitlines()]
    assert entries[0]["journal"] == "ghl_async.bulk"
    assert {e["k"] for e in entries[1:]} == {f"col:Person.{i}@Example.com" for i in range(5)}


def test_record_key() -> None:
    body = MAPPING.apply(records(1)[0], location_id="L")
    assert record_key("contact", {}, body) == "email:person.0@example.com"
    phone_only = MAPPING.apply({"phone": "4155550123"}, location_id="L")
    assert record_key("contact", {}, phone_only) == "phone:+14155550123"
    assert record_key("contact", {"a": 1}, None) == record_key("hash", {"a": 1}, None)
    assert record_key("hash", {"a": 1, "b": 2}, None) == record_key("hash", {"b": 2, "a": 1}, None)
    assert record_key(["a", "b"], {"a": " x ", "b": None}, None) == "col:x|"


async def test_business_attach_in_bulk_calls_and_failed_batches_resend(tmp_path: Path) -> None:
    journal = tmp_path / "biz.journal"
    async with connected() as (fake, ghl):
        report = await upsert_contacts(
            ghl, records(250), MAPPING, business_id="biz_9", batch_size=100, journal=journal
        )
        assert report.created == 250
        assert fake.count(operation="contacts.bulk_set_business") == 3
        assert len(fake.find_contacts(business_id="biz_9")) == 250
        fake.fail("contacts.bulk_set_business", status=422)
        more = await upsert_contacts(
            ghl, records(50, start=250), MAPPING, business_id="biz_9", journal=journal
        )
        assert (more.created, len(more.failed)) == (0, 50)
        assert {f.stage for f in more.failed} == {"bulk"}
        # More 503s than the client retries: the sync's own retry gets it through.
        fake.fail("contacts.bulk_set_business", status=503, times=4)
        rerun = await upsert_contacts(
            ghl, records(300), MAPPING, business_id="biz_9", journal=journal, retry_delay=0.001
        )
        assert (rerun.skipped, rerun.updated, rerun.failed) == (250, 50, [])
        assert len(fake.find_contacts(business_id="biz_9")) == 300


async def test_stops_cleanly_when_the_daily_quota_is_nearly_spent(tmp_path: Path) -> None:
    journal = tmp_path / "quota.journal"
    async with connected(daily_limit=120) as (fake, ghl):
        report = await upsert_contacts(
            ghl, records(200), MAPPING, quota_reserve=30, concurrency=4, journal=journal
        )
        assert report.stopped == "quota"
        assert report.daily_remaining is not None
        assert report.daily_remaining <= 30
        sent = fake.count(operation="contacts.upsert")
        assert 85 <= sent <= 95
        assert report.created == sent
        assert report.total + report.pending <= 200
        assert not report.ok
        fake.set_daily_limit(None)
        rest = await upsert_contacts(ghl, records(200), MAPPING, journal=journal)
        assert rest.skipped == report.created
        assert rest.created == 200 - report.created
    assert distinct_emails(fake) == (200, 200)


async def test_a_spent_quota_stops_the_run_without_retrying_each_record() -> None:
    # No reserve: the quota runs out mid-run. DailyQuotaExceeded is raised at once by the
    # client and ends the run; no record is retried against it.
    async with connected(daily_limit=30) as (fake, ghl):
        report = await upsert_contacts(
            ghl, records(100), MAPPING, quota_reserve=0, concurrency=4, retry_delay=5.0
        )
        assert report.stopped == "quota"
        assert report.created == 30
        assert fake.count(operation="contacts.upsert") <= 30 + 4  # a 429 per worker at most
        assert {f.status for f in report.failed} <= {429}
    assert distinct_emails(fake) == (30, 30)


async def test_bad_settings_fail_before_sending() -> None:
    async with connected() as (_, ghl):
        bad: list[dict[str, object]] = [
            {"concurrency": 0},
            {"batch_size": 0},
            {"record_retries": -1},
            {"key": "emails"},
        ]
        for settings in bad:
            with pytest.raises(ConfigError):
                await upsert_contacts(ghl, [], MAPPING, **settings)  # type: ignore[arg-type]
        nowhere = Client(auth=StaticToken("x"), base_url=ghl.base_url)
        with pytest.raises(ConfigError, match="no location id"):
            await upsert_contacts(nowhere, [], MAPPING)


async def test_bulk_tag_and_business_helpers() -> None:
    async with connected() as (fake, ghl):
        ids = fake.seed_contacts(230, business_id=None, tags=[])
        added = await add_tags(ghl, iter(ids), ["vip", "2024"], chunk_size=100)
        assert (added.contacts, added.requests, added.succeeded) == (230, 3, 230)
        assert len(fake.find_contacts(tag="vip")) == 230
        removed = await remove_tags(ghl, ids[:50], ["vip"])
        assert removed.requests == 1
        assert len(fake.find_contacts(tag="vip")) == 180
        attached = await set_business(ghl, ids, "biz_7", chunk_size=200)
        assert (attached.requests, attached.succeeded) == (2, 230)
        assert len(fake.find_contacts(business_id="biz_7")) == 230
        with pytest.raises(ConfigError):
            await add_tags(ghl, ids, [])
        with pytest.raises(ConfigError):
            await set_business(ghl, ids, None, chunk_size=0)


def test_journal_tolerates_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with Journal(path, fsync=True) as journal:
        journal.record(JournalEntry(k="email:a", s="created", i=0, h="h1", id="c1"))
        journal.record(JournalEntry(k="email:b", s="failed", i=1, h="h2", e="HTTP 503"))
        assert journal.is_done("email:a", "h1")
        assert not journal.is_done("email:b", "h2")
        assert repr(journal) == f"Journal({str(path)!r}, done=1)"
    with path.open("ab") as f:
        f.write(b'\n{"k":"email:c","s":"crea')  # a blank line, then SIGKILL mid-write
    reopened = Journal(path)
    assert reopened.previous == 1
    assert reopened.contact_id("email:a") == "c1"
    reopened.record(JournalEntry(k="email:c", s="created", i=2, h="h3"))
    reopened.close()
    reopened.close()
    lines = path.read_text().splitlines()
    assert lines[4] == '{"k":"email:c","s":"crea'
    assert json.loads(lines[5])["journal"] == "ghl_async.bulk"
    with Journal(path) as last:
        assert last.is_done("email:c", "h3")
        assert last.last("email:a") == "h1"


def test_journal_refuses_unknown_versions_and_unreadable_paths(tmp_path: Path) -> None:
    path = tmp_path / "j"
    path.write_text('{"journal":"ghl_async.bulk","version":9,"started":"x"}\n')
    with pytest.raises(ConfigError, match="journal version 9"):
        Journal(path)
    with pytest.raises(ConfigError, match="cannot read journal"):
        Journal(tmp_path)
    with pytest.raises(ConfigError, match="cannot open journal"):
        Journal(tmp_path / "missing-dir" / "j")


def _progress(done: int, total: int | None, elapsed: float) -> Progress:
    return Progress(
        done=done, total=total, created=done, updated=0, skipped=0, failed=0, elapsed=elapsed
    )


def test_progress_rate_and_eta() -> None:
    assert _progress(50, 100, 5.0).rate == 10.0
    assert _progress(50, 100, 5.0).eta == 5.0
    assert _progress(0, 100, 0.0).rate == 0.0
    assert _progress(0, 100, 0.0).eta is None


def _unused() -> Iterator[None]:  # keeps the Iterator import honest for typing of helpers
    yield None


def fragile(value: t.Value) -> t.Value:
    if value == "boom":
        raise RuntimeError("lookup table missing")
    return value


async def test_file_records_carry_their_lines_and_surprises_fail_one_record(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rows.csv"
    path.write_text(
        "email,phone,name,company,group\n"
        "a@example.com,,Ann A,Acme,g1\n"  # line 2: HighLevel refuses it (422 below)
        "b@example.com,,Bob B,boom,g1\n"  # line 3: the custom transform raises
        "c@example.com,,Cy C,Initech,g2,extra\n"  # line 4: a cell too many
        'd@example.com,,Di D,"Multi\nLine Inc",g3\n'  # lines 5-6
        "e@example.com,,Ed E,Hooli,g1\n"  # line 7
    )
    mapping = ContactMapping(
        fields={"email": "email", "company_name": FieldRule("company", transforms=[fragile])},
        full_name="name",
    )
    async with connected() as (fake, ghl):
        fake.fail("contacts.upsert", status=422, times=1)
        report = await upsert_contacts(
            ghl, RecordSource(path), mapping, concurrency=1, journal=tmp_path / "j"
        )
        assert (report.total, report.created) == (5, 2)
        assert [(f.line, f.index, f.stage, f.field) for f in report.failed] == [
            (2, 0, "api", None),
            (3, 1, "mapping", "company_name"),
            (4, 2, "mapping", "input"),
        ]
        assert report.failed[1].reason == (
            "company_name (column 'company'): transform 'fragile' raised RuntimeError: "
            "lookup table missing"
        )
        assert report.failed[1].value == "boom"
        assert report.as_dict()["failures"][0]["line"] == 2  # type: ignore[index]
        (multi,) = fake.find_contacts(email="d@example.com")
        assert multi.company_name == "Multi\nLine Inc"
        entries = [json.loads(x) for x in (tmp_path / "j").read_text().splitlines()[1:]]
        assert sorted(e["line"] for e in entries) == [2, 3, 4, 5, 7]

        def bad_key(record: Mapping[str, object]) -> str:
            return str(record["no such column"])

        keyed = await upsert_contacts(ghl, RecordSource(path), mapping, key=bad_key)
        assert {f.reason for f in keyed.failed if f.line in (2, 7)} == {
            "the key function raised KeyError: 'no such column'"
        }


def test_journal_lock_binding_and_refusals(tmp_path: Path) -> None:
    path = tmp_path / "j"
    first = Journal(path, input_id="/in.csv", mapping_id="m1")
    with pytest.raises(JournalLockedError) as caught:
        Journal(path)
    assert caught.value.pid == os.getpid()
    assert f"journal in use by process {os.getpid()}" in str(caught.value)
    first.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(ConfigError, match="another mapping"):
        Journal(path, mapping_id="m2")
    with pytest.raises(ConfigError, match=r"another input \(/in.csv, not /other.csv\)"):
        Journal(path, input_id="/other.csv")
    Journal(path, mapping_id="m2", force=True).close()
    Journal(path, mapping_id="m2", input_id="/other.csv").close()  # unbound input: accepted
    Journal(path).close()  # a caller that names nothing is not checked
    headers = [json.loads(x) for x in path.read_text().splitlines()]
    assert [(h.get("mapping"), h["pid"], h["version"]) for h in headers] == [
        ("m1", os.getpid(), 2),
        ("m2", os.getpid(), 2),
        ("m2", os.getpid(), 2),
        (None, os.getpid(), 2),
    ]
    other = tmp_path / "notes.txt"
    other.write_text("not a journal\n")
    with pytest.raises(ConfigError, match="not a ghl_async journal"):
        Journal(other)
    assert other.read_text() == "not a journal\n"
    empty = tmp_path / "empty"
    empty.touch()
    Journal(empty).close()  # an empty file becomes a journal


async def test_a_file_mapping_binds_the_journal(tmp_path: Path) -> None:
    journal = tmp_path / "j"
    first = from_dict({"fields": {"email": "email"}})
    second = from_dict({"fields": {"email": "email", "company_name": "company"}})
    async with connected() as (fake, ghl):
        await upsert_contacts(ghl, records(3), first, journal=journal)
        with pytest.raises(ConfigError, match="another mapping"):
            await upsert_contacts(ghl, records(3), second, journal=journal)
        assert fake.count(operation="contacts.upsert") == 3

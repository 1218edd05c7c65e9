"""The bulk engine never aborts on one record: each failure type is that record's failure, with
its reason; only a dead grant or the daily quota stops a run, cleanly. Over real sockets: the
fake, or the mangling proxy in front of it for answers the fake cannot give."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import pytest
from aiohttp import web
from hostile_helpers import Answer, Proxy, client_via, plain

from ghl_async import Client, RateLimit, StaticToken
from ghl_async.bulk import Journal, Progress, add_tags, set_business, upsert_contacts
from ghl_async.bulk._failures import disposition, next_step, reason_of
from ghl_async.errors import (
    AmbiguousWriteError,
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    DailyQuotaExceeded,
    DecodeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ReauthorizationRequired,
    RequestTimeout,
    ResponseTooLargeError,
    ServerError,
    TokenRefreshError,
    TransportError,
    UnprocessableEntityError,
)
from ghl_async.mapping import ContactMapping
from ghl_async.testing import FakeHighLevel

MAPPING = ContactMapping(fields={"email": "email", "first_name": "name"})


def rows(n: int, start: int = 0) -> list[dict[str, str]]:
    return [{"email": f"row{i}@example.com", "name": f"Row {i}"} for i in range(start, start + n)]


def api(cls: type[APIError], status: int, *messages: str) -> APIError:
    return cls(status=status, operation="contacts.upsert", method="POST", url="/contacts/upsert",
               messages=list(messages))  # fmt: skip


def limited(wait: float | None) -> RateLimitError:
    err = api(RateLimitError, 429)
    err.retry_after = wait
    return err


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (api(ServerError, 503), "retry"),
        (limited(None), "retry"),
        (limited(30), "retry"),
        (limited(3600), "fail"),  # the client refused to wait that long; so does the sync
        (api(DailyQuotaExceeded, 429), "quota"),
        (TransportError("reset"), "retry"),
        (RequestTimeout("slow"), "retry"),
        (AmbiguousWriteError("maybe"), "fail"),  # resending could duplicate it
        (DecodeError("shape", operation="x", body=b"{}"), "retry"),
        (ResponseTooLargeError("big", operation="x", status=200, limit=1024, body=b""), "fail"),
        (api(AuthenticationError, 401, "Invalid JWT"), "retry"),  # "auth" once retries are spent
        (api(AuthenticationError, 401, "Command timed out"), "retry"),
        (api(TokenRefreshError, 503), "retry"),
        (api(ReauthorizationRequired, 400, "invalid_grant"), "auth"),
        (api(PermissionDeniedError, 403), "auth"),
        (api(UnprocessableEntityError, 422), "fail"),
        (api(BadRequestError, 400), "fail"),
        (api(NotFoundError, 404), "fail"),
        (ConfigError("bad body"), "fail"),
        (RuntimeError("user code"), "fail"),
    ],
)
def test_disposition_table(error: BaseException, expected: str) -> None:
    assert disposition(error, retry_after_cap=60) == expected


@pytest.mark.parametrize(
    ("error", "spent"),
    [
        (api(AuthenticationError, 401, "Invalid JWT"), "auth"),  # renewed, refused again: dead
        (api(AuthenticationError, 401, "Command timed out"), "fail"),
        (api(TokenRefreshError, 503), "fail"),
        (api(ServerError, 502), "fail"),
        (api(ReauthorizationRequired, 400, "invalid_grant"), "auth"),
        (api(DailyQuotaExceeded, 429), "quota"),
    ],
)
async def test_what_remains_once_the_retries_are_spent(error: BaseException, spent: str) -> None:
    assert await next_step(error, 2, retries=2, delay=0, retry_after_cap=60) == spent
    assert await next_step(error, 0, retries=2, delay=0, retry_after_cap=60, stopping=True) == (
        spent
    )


def test_reasons() -> None:
    assert reason_of(api(UnprocessableEntityError, 422, "email invalid")).reason == (
        "HTTP 422 from contacts.upsert"
    )
    assert reason_of(api(UnprocessableEntityError, 422, "email invalid")).message == (
        "email invalid"
    )
    assert reason_of(TransportError("reset")).reason == "no response: reset"
    assert reason_of(AmbiguousWriteError("maybe")).reason == "ambiguous: maybe"
    assert reason_of(DecodeError("shape", operation="x", body=b"")).reason == "DecodeError: shape"
    assert reason_of(KeyError("k")).reason == "unexpected KeyError: 'k'"


def _client(fake: FakeHighLevel, **options: object) -> Client:
    settings: dict[str, object] = {
        "backoff_base": 0.001, "backoff_max": 0.005, "rate_limit": RateLimit.unlimited(),
        **options,
    }  # fmt: skip
    return Client(
        auth=StaticToken(fake.private_token, location_id=fake.location_id),
        location_id=fake.location_id,
        base_url=fake.base_url,
        **settings,  # type: ignore[arg-type]  # Client's keyword arguments
    )


async def test_each_failure_type_is_that_records_failure_and_the_run_goes_on() -> None:
    async with FakeHighLevel(rate_limit=None) as fake, Proxy(fake).running() as proxy:
        upsert = r"/contacts/upsert"
        wrong_shape = b'{"new": "perhaps", "contact": {"id": 7}}'  # JSON, not an UpsertResult
        # Each rule hits every attempt of one record: JSON of another shape is not retried by
        # the client (schema drift), once by the sync (its upsert is idempotent).
        proxy.on("POST", upsert, lambda r, a: _answer(plain(a, body=wrong_shape)), times=2)
        huge = json.dumps({"new": True, "contact": {"id": "x", "companyName": "y" * 4000}})
        proxy.on("POST", upsert, lambda r, a: _answer(plain(a, body=huge.encode())), times=1)
        proxy.on("POST", upsert, answer=_status_answer(422, "email is invalid"), times=1)
        proxy.on("POST", upsert, answer=_status_answer(429, "slow down", "3600"), times=1)
        async with client_via(proxy, max_retries=1, max_response_size=2048) as ghl:
            report = await upsert_contacts(
                ghl, rows(10), MAPPING, concurrency=1, retry_delay=0.001, record_retries=1
            )
    assert report.total == 10
    assert report.stopped is None
    reasons = {f.index: f.reason for f in report.failed}
    assert reasons == {
        0: "DecodeError: contacts.upsert: the 200 response did not match UpsertResult: "
        "Expected `bool`, got `str` - at `$.new`",
        1: "ResponseTooLargeError: contacts.upsert: the HTTP 200 response is larger than "
        "2,048 bytes (max_response_size); reading stopped there",
        2: "HTTP 422 from contacts.upsert",
        3: "HTTP 429 from contacts.upsert",
    }
    assert report.created == 6
    assert report.failed[2].message == "email is invalid"
    # The 429 asked for an hour: not retried, not waited for.
    assert report.failed[3].status == 429


async def _answer(response: web.Response) -> web.StreamResponse:
    return response


def _status_answer(status: int, message: str, retry_after: str | None = None) -> Answer:
    headers = {"Content-Type": "application/json"}
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    body = json.dumps({"statusCode": status, "message": [message]}).encode()
    return Answer(status, headers, body)


class Exploding:
    """A rate budget (user code) that raises for the ``n``-th acquire only."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def bucket(self, key: str) -> Exploding:
        return self

    async def acquire(self, max_wait: float) -> float | None:
        self.calls += 1
        if self.calls == self.n:
            raise RuntimeError("budget store unreachable")
        return None

    def release(self, headers: Mapping[str, str] | None) -> None:
        pass

    def pause(self, seconds: float) -> None:
        pass


async def test_an_exception_from_user_code_fails_one_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with FakeHighLevel(rate_limit=None) as fake:
        budget = Exploding(3)

        def progress(_: Progress) -> None:
            raise ValueError("the progress bar broke")

        async with _client(fake, rate_limit=budget) as ghl:
            with caplog.at_level(logging.ERROR, logger="ghl_async.bulk"):
                report = await upsert_contacts(
                    ghl, rows(5), MAPPING, concurrency=1, on_progress=progress
                )
    assert [(f.index, f.reason) for f in report.failed] == [
        (2, "unexpected RuntimeError: budget store unreachable")
    ]
    assert report.created == 4
    # The broken progress callback is logged once and ignored.
    assert sum("on_progress" in r.getMessage() for r in caplog.records) == 1


async def test_retries_of_a_record_honour_retry_after() -> None:
    async with FakeHighLevel(rate_limit=None) as fake:
        # More 503s than the client retries: the record's own retry waits as asked.
        fake.fail("contacts.upsert", 503, html=True, retry_after=0.4, times=2)
        async with _client(fake, max_retries=1) as ghl:
            report = await upsert_contacts(
                ghl, rows(1), MAPPING, retry_delay=0.001, record_retries=1
            )
        stamps = [r.timestamp for r in fake.requests if r.operation == "contacts.upsert"]
    assert report.created == 1
    assert len(stamps) == 3
    assert stamps[1] - stamps[0] >= 0.4  # the client's retry
    assert stamps[2] - stamps[1] >= 0.4  # the record's retry: never sooner than asked


async def test_a_refused_token_stops_cleanly_with_the_report_and_the_journal(
    tmp_path: Path,
) -> None:
    journal = tmp_path / "run.journal"
    async with FakeHighLevel(rate_limit=None) as fake:
        async with _client(fake) as ghl:

            def revoke_at_20(progress: Progress) -> None:
                if progress.done == 20:
                    fake.revoke_tokens()

            report = await upsert_contacts(
                ghl, rows(100), MAPPING, concurrency=4, journal=journal, on_progress=revoke_at_20,
                retry_delay=0.001,
            )  # fmt: skip
        assert report.stopped == "auth"
        assert report.stop_error is not None
        assert "401" in report.stop_error
        assert 20 <= report.created < 100
        assert report.created + len(report.failed) == report.total
        assert report.pending > 0
        assert report.total + report.pending < 100  # the rest was never read
        assert {f.status for f in report.failed} == {401}
        assert report.as_dict()["stopped"] == "auth"
        # The journal is complete and closed: every created record is in it, and it opens again.
        with Journal(journal) as reopened:
            assert reopened.previous == report.created
        # A new token: the rerun skips what was done and finishes the rest.
        fresh = fake.issue_token()
        async with Client(
            auth=StaticToken(fresh.access_token, location_id=fake.location_id),
            location_id=fake.location_id, base_url=fake.base_url,
            rate_limit=RateLimit.unlimited(),
        ) as again:  # fmt: skip
            rerun = await upsert_contacts(again, rows(100), MAPPING, journal=journal)
        assert rerun.stopped is None
        assert rerun.skipped == report.created
        assert rerun.created + rerun.updated == 100 - report.created
        emails = [c.email for c in fake.find_contacts()]
        assert len(emails) == len(set(emails)) == 100


async def test_a_revoked_oauth_grant_stops_the_run() -> None:
    async with FakeHighLevel(rate_limit=None) as fake:
        app = fake.oauth_app()
        async with fake.client(auth=app) as ghl:
            await app.exchange_code(fake.issue_code())
            fake.uninstall()  # refresh tokens die with the install
            fake.expire_tokens()
            report = await upsert_contacts(ghl, rows(30), MAPPING, concurrency=2)
    assert report.stopped == "auth"
    assert report.created == 0
    assert report.failed
    assert len(report.failed) == report.total


async def test_a_spent_daily_quota_stops_with_the_journal_intact(tmp_path: Path) -> None:
    journal = tmp_path / "quota.journal"
    async with FakeHighLevel(rate_limit=(100_000, 1.0), daily_limit=25) as fake:
        async with _client(fake) as ghl:
            report = await upsert_contacts(
                ghl, rows(60), MAPPING, quota_reserve=0, concurrency=3, journal=journal
            )
        assert report.stopped == "quota"
        assert report.stop_error is not None
        with Journal(journal) as reopened:
            assert reopened.previous == report.created == 25
        fake.set_daily_limit(None)
        async with _client(fake) as ghl:
            rest = await upsert_contacts(ghl, rows(60), MAPPING, journal=journal)
        assert (rest.skipped, rest.created, rest.failed) == (25, 35, [])


async def test_bulk_helpers_report_a_failed_chunk_and_go_on() -> None:
    async with FakeHighLevel(rate_limit=None) as fake:
        ids = fake.seed_contacts(30, business_id=None, tags=[])
        async with _client(fake, max_retries=1) as ghl:
            fake.fail("contacts.bulk_update_tags", 422, skip=1)  # the second chunk is refused
            fake.fail("contacts.bulk_update_tags", 503, retry_after=0.01, times=3, skip=2)
            tagged = await add_tags(ghl, ids, ["vip"], chunk_size=10)
            assert (tagged.contacts, tagged.succeeded, tagged.stopped) == (30, 20, None)
            assert set(tagged.failed) == set(ids[10:20])
            assert set(tagged.failed.values()) == {"HTTP 422 from contacts.bulk_update_tags"}
            assert not tagged.ok
            assert len(fake.find_contacts(tag="vip")) == 20
            fake.revoke_tokens()
            attached = await set_business(ghl, ids, "biz_1", chunk_size=10)
    assert attached.stopped == "auth"
    assert attached.stop_error is not None
    # The first chunk's 401 is asked again twice (a renewal could fix it), then it stops.
    assert (attached.contacts, attached.requests, len(attached.failed)) == (10, 3, 10)

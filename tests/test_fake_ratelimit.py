"""FakeHighLevel's rate limits: HighLevel's burst rule, the daily quota, the five headers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from fake_helpers import Api, running

from ghl_async.errors import ConfigError
from ghl_async.testing.ratelimit import RateLimiter, parse_rate_rule


@pytest.fixture
async def api_fast() -> AsyncIterator[Api]:
    async with running() as api:
        yield api


HEADERS = (
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
    "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
)
TOO_MANY = {"statusCode": 429, "message": "Too Many Requests", "error": "Too Many Requests"}


async def test_default_rule_refuses_the_101st_request_in_10_seconds() -> None:
    async with running() as api:
        params = {"locationId": api.fake.location_id, "limit": "1"}
        answers = await asyncio.gather(*(api.get("/contacts/", params=params) for _ in range(101)))
        statuses = sorted(answer.status for answer in answers)
        assert statuses == [200] * 100 + [429]
        refused = next(answer for answer in answers if answer.status == 429)
        assert refused.json == TOO_MANY
        assert refused.headers["X-RateLimit-Remaining"] == "0"
        assert "Retry-After" not in refused.headers
        first = next(
            answer for answer in answers if answer.headers["X-RateLimit-Remaining"] == "99"
        )
        assert [first.headers[name] for name in HEADERS] == [
            "200000",
            "199999",
            "10000",
            "100",
            "99",
        ]
        assert api.fake.count(status=429) == 1


async def test_window_reopens_and_retry_after() -> None:
    async with running(rate_limit="3/0.3", retry_after_header=True) as api:
        params = {"locationId": api.fake.location_id}
        statuses = [(await api.get("/contacts/", params=params)).status for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        refused = api.answers[-1]
        assert refused.headers["Retry-After"] == "1"
        await asyncio.sleep(0.32)
        again = await api.get("/contacts/", params=params)
        assert again.status == 200
        assert again.headers["X-RateLimit-Remaining"] == "2"
        assert again.headers["X-RateLimit-Interval-Milliseconds"] == "300"


async def test_limits_are_per_location() -> None:
    async with running(rate_limit=(1, 10)) as api:
        fake = api.fake
        other = fake.add_location()
        token = fake.issue_token(location_id=other).access_token
        assert (await api.get("/contacts/", params={"locationId": fake.location_id})).status == 200
        assert (await api.get("/contacts/", params={"locationId": fake.location_id})).status == 429
        mine = await api.get("/contacts/", params={"locationId": other}, token=token)
        assert mine.status == 200


async def test_daily_limit_is_enforced() -> None:
    async with running(rate_limit=None, daily_limit=2, retry_after_header=True) as api:
        params = {"locationId": api.fake.location_id}
        first = await api.get("/contacts/", params=params)
        assert first.headers["X-RateLimit-Daily-Remaining"] == "1"
        assert "X-RateLimit-Max" not in first.headers  # no burst rule, no burst headers
        await api.get("/contacts/", params=params)
        spent = await api.get("/contacts/", params=params)
        assert (spent.status, spent.json) == (429, TOO_MANY)
        assert spent.headers["X-RateLimit-Daily-Remaining"] == "0"
        assert 0 < int(spent.headers["Retry-After"]) <= 86_400


async def test_rate_limit_knobs(api_fast: Api) -> None:
    fake = api_fast.fake
    params = {"locationId": fake.location_id}
    fake.exhaust_rate_limit()
    assert (await api_fast.get("/contacts/", params=params)).status == 429
    fake.reset_rate_limits()
    assert (await api_fast.get("/contacts/", params=params)).status == 200
    fake.exhaust_rate_limit(daily=True)
    assert (await api_fast.get("/contacts/", params=params)).status == 429
    fake.set_daily_limit(None)
    fake.set_rate_limit(None)
    answer = await api_fast.get("/contacts/", params=params)
    assert answer.status == 200
    assert not any(name in answer.headers for name in HEADERS)
    fake.set_rate_limit("1/60")
    await api_fast.get("/contacts/", params=params)
    assert (await api_fast.get("/contacts/", params=params)).status == 429
    with pytest.raises(ConfigError):
        fake.set_daily_limit(0)


@pytest.mark.parametrize(
    ("rule", "parsed"),
    [
        ("100/10", (100, 10.0)),
        (" 5 / 0.5s ", (5, 0.5)),
        ((7, 2), (7, 2.0)),
        (None, None),
        ("none", None),
        ("off", None),
    ],
)
def test_parse_rate_rule(rule: object, parsed: object) -> None:
    assert parse_rate_rule(rule) == parsed  # type: ignore[arg-type]


@pytest.mark.parametrize("rule", ["100", "a/b", "0/10", (5, 0)])
def test_parse_rate_rule_rejects(rule: object) -> None:
    with pytest.raises(ConfigError):
        parse_rate_rule(rule)  # type: ignore[arg-type]


def test_limiter_clock_arithmetic() -> None:
    now = [1000.0]
    wall = [86_400.0 * 10 + 5]
    limiter = RateLimiter(
        rule=(2, 10.0), daily_limit=3, monotonic=lambda: now[0], wall=lambda: wall[0]
    )
    assert [limiter.check("loc").allowed for _ in range(3)] == [True, True, False]
    refused = limiter.check("loc")
    assert refused.retry_after == pytest.approx(10.0)
    now[0] += 10
    assert limiter.check("loc").allowed
    assert not limiter.check("loc").allowed  # daily quota of 3 spent
    wall[0] += 86_400  # next UTC day
    now[0] += 10
    assert limiter.check("loc").allowed

"""The retry decision, by table: pure functions, no server."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import aiohttp
import pytest

from ghl_async.retry import Outcome, RetryPolicy, outcome_of, parse_retry_after, retry_delay

EXACT = RetryPolicy(max_retries=3, backoff_base=0.5, backoff_max=30.0, jitter=lambda v: v)

NO_RESPONSE = Outcome()  # reset / disconnect after sending
NEVER_SENT = Outcome(sent=False)
TIMEOUT = Outcome(timeout=True)
CONNECT_TIMEOUT = Outcome(sent=False, timeout=True)


@pytest.mark.parametrize(
    ("outcome", "attempt", "idempotent", "expected"),
    [
        # 429: the request was refused, not applied -> every operation waits and retries.
        (Outcome(status=429, retry_after=2.0), 0, True, 2.2),
        (Outcome(status=429, retry_after=2.0), 0, False, 2.2),
        (Outcome(status=429, retry_after=0.0), 2, False, 0.0),
        (Outcome(status=429, retry_after=61.0), 0, True, None),  # beyond the cap: raise
        (Outcome(status=429), 0, False, 0.5),  # no hint: exponential backoff
        (Outcome(status=429), 2, True, 2.0),
        # 502/503/504: retried when idempotent only.
        (Outcome(status=502), 0, True, 0.5),
        (Outcome(status=503), 1, True, 1.0),
        (Outcome(status=504), 2, True, 2.0),
        (Outcome(status=503), 0, False, None),
        # Other statuses are final.
        (Outcome(status=500), 0, True, None),
        (Outcome(status=400), 0, True, None),
        (Outcome(status=401), 0, True, None),
        (Outcome(status=403), 0, True, None),
        (Outcome(status=404), 0, True, None),
        (Outcome(status=409), 0, True, None),
        (Outcome(status=422), 0, True, None),
        # No response.
        (NEVER_SENT, 0, False, 0.5),  # refused / DNS: safe for a create too
        (NEVER_SENT, 1, True, 1.0),
        (CONNECT_TIMEOUT, 0, False, 0.5),
        (NO_RESPONSE, 0, True, 0.5),
        (NO_RESPONSE, 0, False, None),  # ambiguous: a create may have been applied
        (TIMEOUT, 0, True, 0.5),
        (TIMEOUT, 0, False, None),
        # The budget.
        (Outcome(status=503), 3, True, None),
        (NEVER_SENT, 3, False, None),
        (Outcome(status=429, retry_after=1.0), 3, True, None),
    ],
)
def test_retry_delay_table(
    outcome: Outcome, attempt: int, idempotent: bool, expected: float | None
) -> None:
    delay = retry_delay(outcome, attempt, idempotent, EXACT)
    if expected is None:
        assert delay is None
    else:
        assert delay == pytest.approx(expected)


def test_backoff_is_capped_and_zero_retries_never_retry() -> None:
    many = RetryPolicy(max_retries=50, backoff_base=0.5, backoff_max=4.0, jitter=lambda v: v)
    assert [retry_delay(Outcome(status=503), n, True, many) for n in range(6)] == [
        0.5, 1.0, 2.0, 4.0, 4.0, 4.0,
    ]  # fmt: skip
    none = RetryPolicy(max_retries=0, jitter=lambda v: v)
    assert retry_delay(NEVER_SENT, 0, True, none) is None


def test_default_policy_uses_full_jitter() -> None:
    policy = RetryPolicy(max_retries=5, backoff_base=1.0)
    delays = [retry_delay(Outcome(status=503), 2, True, policy) for _ in range(200)]
    assert all(d is not None and 0.0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 100  # actually random
    waits = [retry_delay(Outcome(status=429, retry_after=1.0), 0, False, policy) for _ in range(50)]
    assert all(w is not None and 1.0 <= w <= 1.1 for w in waits)


def test_zero_delays_for_tests() -> None:
    instant = RetryPolicy(max_retries=2, backoff_base=0.0)
    assert retry_delay(Outcome(status=503), 1, True, instant) == 0.0


def _connector_error() -> aiohttp.ClientConnectorError:
    key = SimpleNamespace(host="127.0.0.1", port=9, ssl=False)
    return aiohttp.ClientConnectorError(key, OSError(111, "Connection refused"))  # type: ignore[arg-type]  # a stand-in ConnectionKey


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (_connector_error(), Outcome(sent=False)),
        (aiohttp.ConnectionTimeoutError(), Outcome(sent=False, timeout=True)),
        (aiohttp.SocketTimeoutError(), Outcome(timeout=True)),
        (asyncio.TimeoutError(), Outcome(timeout=True)),
        (aiohttp.ServerDisconnectedError(), Outcome()),
        (aiohttp.ClientOSError(104, "Connection reset by peer"), Outcome()),
        (aiohttp.ClientPayloadError("truncated"), Outcome()),
        (ConnectionResetError(), Outcome()),
    ],
)
def test_outcome_of_table(exc: BaseException, expected: Outcome) -> None:
    assert outcome_of(exc) == expected


NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "interval_ms", "expected"),
    [
        ("5", None, 5.0),
        (" 1.5 ", None, 1.5),
        ("-3", None, 0.0),
        ("0", 10_000, 0.0),
        ("Thu, 01 Jan 2026 12:00:07 GMT", None, 7.0),
        ("Thu, 01 Jan 2026 11:59:00 GMT", None, 0.0),  # in the past
        ("Thu, 01 Jan 2026 12:00:03 -0000", None, 3.0),  # no zone: UTC
        ("soon", 10_000, 10.0),  # unparseable: the interval header
        ("nan", 2_000, 2.0),
        ("inf", None, None),
        (None, 1_500, 1.5),
        (None, 0, None),
        (None, None, None),
    ],
)
def test_parse_retry_after(
    value: str | None, interval_ms: int | None, expected: float | None
) -> None:
    assert parse_retry_after(value, interval_ms, now=NOW) == expected


def test_parse_retry_after_date_uses_the_clock() -> None:
    soon = datetime.now(timezone.utc) + timedelta(seconds=30)
    header = soon.strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert 25 <= (parse_retry_after(header) or 0) <= 30

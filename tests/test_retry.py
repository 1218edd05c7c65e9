"""The retry decision, by table: pure functions, no server."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import aiohttp
import pytest

from ghl_async.retry import Decision, Outcome, RetryPolicy, decide, outcome_of, parse_retry_after
from ghl_async.routes import WritePolicy

EXACT = RetryPolicy(max_retries=3, backoff_base=0.5, backoff_max=30.0, jitter=lambda v: v)

NO_RESPONSE = Outcome()  # reset / disconnect after sending
NEVER_SENT = Outcome(sent=False)
TIMEOUT = Outcome(timeout=True)
CONNECT_TIMEOUT = Outcome(sent=False, timeout=True)
CUT_SHORT = Outcome(status=200, undecodable=True)  # a 2xx body that is not JSON
COMMAND_TIMEOUT = Outcome(status=401, command_timeout=True)
IDEM: WritePolicy = "idempotent"
RECON: WritePolicy = "reconcile"
NEVER: WritePolicy = "never_resend"


def retry(delay: float) -> Decision:
    return Decision("retry", delay)


def reconcile(delay: float | None) -> Decision:
    return Decision("reconcile", delay)


RAISE = Decision("raise")
AMBIGUOUS = Decision("ambiguous")


@pytest.mark.parametrize(
    ("outcome", "attempt", "write", "expected"),
    [
        # 429: refused, not applied -> every policy waits and retries, never shorter than asked.
        (Outcome(status=429, retry_after=2.0), 0, IDEM, retry(2.2)),
        (Outcome(status=429, retry_after=2.0), 0, RECON, retry(2.2)),
        (Outcome(status=429, retry_after=2.0), 0, NEVER, retry(2.2)),
        (Outcome(status=429, retry_after=0.0), 2, RECON, retry(0.0)),
        (Outcome(status=429, retry_after=60.0), 0, IDEM, retry(66.0)),  # at the cap: waited
        (Outcome(status=429, retry_after=61.0), 0, IDEM, RAISE),  # beyond the cap: raise at once
        (Outcome(status=429, retry_after=3600.0), 0, RECON, RAISE),
        (Outcome(status=429), 0, NEVER, retry(0.5)),  # no hint: exponential backoff
        (Outcome(status=429), 2, IDEM, retry(2.0)),
        (Outcome(status=429, daily_quota=True), 0, IDEM, RAISE),  # the day's quota: final
        (Outcome(status=429, daily_quota=True, retry_after=1.0), 0, RECON, RAISE),
        # 500/502/503/504: idempotent retries, creates reconcile, enrolments are ambiguous.
        (Outcome(status=500), 0, IDEM, retry(0.5)),
        (Outcome(status=502), 0, IDEM, retry(0.5)),
        (Outcome(status=503), 1, IDEM, retry(1.0)),
        (Outcome(status=504), 2, IDEM, retry(2.0)),
        (Outcome(status=500), 0, RECON, reconcile(0.5)),
        (Outcome(status=502), 1, RECON, reconcile(1.0)),
        (Outcome(status=503), 0, NEVER, AMBIGUOUS),
        (Outcome(status=500), 2, NEVER, AMBIGUOUS),
        # Retry-After on a 5xx is honoured like on a 429 (it used to be ignored).
        (Outcome(status=503, retry_after=5.0), 0, IDEM, retry(5.5)),
        (Outcome(status=503, retry_after=5.0), 0, RECON, reconcile(5.5)),
        (Outcome(status=503, retry_after=0.01), 2, IDEM, retry(0.011)),
        (Outcome(status=503, retry_after=600.0), 0, IDEM, RAISE),  # beyond the cap
        (Outcome(status=503, retry_after=600.0), 0, RECON, reconcile(None)),  # look, never resend
        # Other statuses are final.
        (Outcome(status=400), 0, IDEM, RAISE),
        (Outcome(status=401), 0, IDEM, RAISE),
        (Outcome(status=403), 0, IDEM, RAISE),
        (Outcome(status=404), 0, IDEM, RAISE),
        (Outcome(status=409), 0, IDEM, RAISE),
        (Outcome(status=422), 0, RECON, RAISE),
        (Outcome(status=501), 0, IDEM, RAISE),
        # HighLevel's 401 "Command timed out": one retry, as the first one.
        (COMMAND_TIMEOUT, 0, IDEM, retry(0.5)),
        (COMMAND_TIMEOUT, 1, IDEM, RAISE),
        (COMMAND_TIMEOUT, 0, RECON, reconcile(0.5)),
        (COMMAND_TIMEOUT, 1, RECON, reconcile(None)),
        (COMMAND_TIMEOUT, 0, NEVER, AMBIGUOUS),
        # No response.
        (NEVER_SENT, 0, RECON, retry(0.5)),  # refused / DNS: safe for a create too
        (NEVER_SENT, 0, NEVER, retry(0.5)),
        (NEVER_SENT, 1, IDEM, retry(1.0)),
        (CONNECT_TIMEOUT, 0, RECON, retry(0.5)),
        (NO_RESPONSE, 0, IDEM, retry(0.5)),
        (NO_RESPONSE, 0, RECON, reconcile(0.5)),  # a create may have been applied: look first
        (NO_RESPONSE, 0, NEVER, AMBIGUOUS),
        (TIMEOUT, 0, IDEM, retry(0.5)),
        (TIMEOUT, 0, RECON, reconcile(0.5)),
        (TIMEOUT, 0, NEVER, AMBIGUOUS),
        # A 2xx body that does not decode: the attempt failed, its write (if any) did not.
        (CUT_SHORT, 0, IDEM, retry(0.5)),
        (CUT_SHORT, 0, RECON, reconcile(0.5)),
        (CUT_SHORT, 0, NEVER, RAISE),  # applied for sure: a DecodeError, not ambiguous
        (Outcome(status=201, undecodable=True), 3, RECON, reconcile(None)),
        # The budget.
        (Outcome(status=503), 3, IDEM, RAISE),
        (NEVER_SENT, 3, RECON, RAISE),
        (Outcome(status=429, retry_after=1.0), 3, IDEM, RAISE),
        (NO_RESPONSE, 3, RECON, reconcile(None)),  # spent: still look it up, never resend
        (CUT_SHORT, 3, IDEM, RAISE),
    ],
)
def test_decide_table(outcome: Outcome, attempt: int, write: WritePolicy,
                      expected: Decision) -> None:  # fmt: skip
    got = decide(outcome, attempt, write, EXACT)
    assert got.action == expected.action
    if expected.delay is None:
        assert got.delay is None
    else:
        assert got.delay == pytest.approx(expected.delay)


def test_backoff_is_capped_and_zero_retries_never_retry() -> None:
    many = RetryPolicy(max_retries=50, backoff_base=0.5, backoff_max=4.0, jitter=lambda v: v)
    assert [decide(Outcome(status=503), n, IDEM, many).delay for n in range(6)] == [
        0.5, 1.0, 2.0, 4.0, 4.0, 4.0,
    ]  # fmt: skip
    none = RetryPolicy(max_retries=0, jitter=lambda v: v)
    assert decide(NEVER_SENT, 0, IDEM, none) == RAISE
    assert decide(NO_RESPONSE, 0, RECON, none) == reconcile(None)


def test_default_policy_uses_full_jitter() -> None:
    policy = RetryPolicy(max_retries=5, backoff_base=1.0)
    delays = [decide(Outcome(status=503), 2, IDEM, policy).delay for _ in range(200)]
    assert all(d is not None and 0.0 <= d <= 4.0 for d in delays)
    assert len(set(delays)) > 100  # actually random
    for status in (429, 503):
        waits = [decide(Outcome(status=status, retry_after=1.0), 0, IDEM, policy).delay
                 for _ in range(50)]  # fmt: skip
        # Never shorter than the server asked, at most 10% longer.
        assert all(w is not None and 1.0 <= w <= 1.1 for w in waits)


def test_zero_delays_for_tests() -> None:
    instant = RetryPolicy(max_retries=2, backoff_base=0.0)
    assert decide(Outcome(status=503), 1, IDEM, instant) == retry(0.0)


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
        ("3600", None, 3600.0),  # too long is the caller's call (retry_after_cap), not ours
        ("-3", None, None),  # malformed values are ignored, never raised
        ("-3", 2_000, 2.0),
        ("0", 10_000, 0.0),
        ("1e400", None, None),
        ("1e3", None, None),
        ("Infinity", 1_000, 1.0),
        ("١٠٠", None, None),  # Arabic-Indic digits: float() would read 100
        ("9" * 400, None, None),
        ("", None, None),
        ("Thu, 01 Jan 2027 12:00:00 GMT", None, 31_536_000.0),  # next year
        ("Thu, 01 Jan 2026 12:00:07 GMT", None, 7.0),
        ("Thu, 01 Jan 2026 11:59:00 GMT", None, 0.0),  # in the past
        ("Thu, 01 Jan 2026 12:00:03 -0000", None, 3.0),  # no zone: UTC
        ("soon", 10_000, 10.0),  # unparseable: the interval header
        ("Thu, 99 Foo 2026 25:61:00 GMT", None, None),
        ("Thu, 01 Jan 99999 12:00:00 GMT", None, None),
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

"""The chaos profile: a seeded mix of every fault over about 25% of requests."""

from __future__ import annotations

import collections
import re
from typing import Any

import aiohttp
import pytest
from fake_helpers import form, running

from ghl_async.errors import ConfigError
from ghl_async.testing import FakeHighLevel
from ghl_async.testing.chaos import HEAVY, PROFILES, UNTOUCHED, make_chaos

OUTCOMES = (aiohttp.ClientError, TimeoutError)
_STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")  # differs between runs


def test_heavy_mix_shares() -> None:
    assert sum(HEAVY.values()) == pytest.approx(0.25)
    assert sum(PROFILES["light"].values()) == pytest.approx(0.05)
    chaos = make_chaos("heavy", seed=7)
    assert chaos.rate == pytest.approx(0.25)
    picks = [chaos.pick(index, "contacts.get") for index in range(20_000)]
    hit = [pick for pick in picks if pick is not None]
    assert 0.23 < len(hit) / len(picks) < 0.27
    kinds = collections.Counter(pick.kind for pick in hit)
    # Every fault kind turns up, roughly in its share.
    assert set(kinds) == {"fail", "truncate", "reset", "drop", "slow", "revoke", "mutate"}
    assert 0.11 < kinds["fail"] / len(picks) < 0.15  # 500, 502, 503 x2, 429, applied-then-502
    statuses = collections.Counter(pick.status for pick in hit if pick.kind == "fail")
    assert set(statuses) == {500, 502, 503, 429}
    assert {pick.when for pick in hit if pick.kind == "slow"} == {"before", "after"}
    assert {pick.chunked for pick in hit if pick.kind == "truncate"} == {True, False}
    assert {pick.page for pick in hit if pick.html} == {"nginx", "google", "cloudflare"}
    forms = {pick.retry_after_form for pick in hit if pick.retry_after is not None}
    assert forms == {"seconds", "http-date"}
    assert all(pick.chaos for pick in hit)


def test_picks_are_a_function_of_seed_and_index() -> None:
    first = make_chaos("heavy", seed=7)
    second = make_chaos("heavy", seed=7)
    other = make_chaos("heavy", seed=8)

    def describe(pick: Any) -> object:
        return None if pick is None else (pick.kind, pick.status, pick.keep, pick.when, pick.page)

    ours = [describe(first.pick(i, "contacts.get")) for i in range(500)]
    assert ours == [describe(second.pick(i, "contacts.get")) for i in range(500)]
    assert ours != [describe(other.pick(i, "contacts.get")) for i in range(500)]
    # Out of order, too: each index has its own generator.
    assert [describe(first.pick(i, "contacts.get")) for i in reversed(range(500))] == ours[::-1]


def test_untouched_operations_and_filters() -> None:
    everything = make_chaos("heavy", seed=1, rate=1.0)
    for operation in UNTOUCHED:
        assert all(everything.pick(i, operation) is None for i in range(200))
    assert all(everything.pick(i, "contacts.get") is not None for i in range(200))
    only_token = make_chaos("heavy", seed=1, rate=1.0, operations=["oauth.token"])
    assert only_token.pick(0, "contacts.get") is None
    assert only_token.pick(0, "oauth.token") is not None
    # The token endpoint only meets faults that leave its code or refresh token unspent.
    token_picks = [everything.pick(i, "oauth.token") for i in range(2000)]
    met = [pick for pick in token_picks if pick is not None]
    assert 0.4 < len(met) / len(token_picks) < 0.6  # UNSPENT is about half the heavy mix
    assert {(pick.kind, pick.when) for pick in met} == {("fail", "before"), ("drop", "before")}
    custom = make_chaos({"error_500": 0.5}, seed=1)
    picks = [custom.pick(i, "contacts.get") for i in range(2000)]
    assert {pick.status for pick in picks if pick is not None} == {500}
    assert make_chaos("heavy", seed=1, rate=0.0).pick(0, "contacts.get") is None


def test_bad_profiles() -> None:
    with pytest.raises(ConfigError, match="unknown fault profile"):
        make_chaos("apocalypse", seed=0)
    with pytest.raises(ConfigError, match="ingredients"):
        make_chaos({"meteor": 0.1}, seed=0)  # type: ignore[dict-item]
    with pytest.raises(ConfigError, match="add up"):
        make_chaos({"error_500": 0.8, "proxy_502": 0.5}, seed=0)
    with pytest.raises(ConfigError, match="rate"):
        make_chaos("heavy", seed=0, rate=2)
    with pytest.raises(ConfigError, match="slow_seconds"):
        make_chaos("heavy", seed=0, slow_seconds=-1)
    with pytest.raises(ConfigError, match="unknown operation"):
        FakeHighLevel().chaos(operations=["contacts.fetch"])


async def _run(fake: FakeHighLevel, requests: int) -> list[tuple[str, object]]:
    """Send a fixed sequence of reads and writes one at a time; return what each produced."""
    outcomes: list[tuple[str, object]] = []
    ids = fake.seed_contacts(5)
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout, headers=fake.headers()) as http:
        for number in range(requests):
            if number % 4 == 3:
                body = {"locationId": fake.location_id, "email": f"c{number}@example.com"}
                call = http.post(fake.url("/contacts/"), json=body)
            else:
                call = http.get(fake.url(f"/contacts/{ids[number % 5]}"))
            try:
                async with call as response:
                    body = _STAMP.sub(b"<now>", await response.read())
                    outcome: object = (response.status, body)
            except OUTCOMES as err:
                outcome = type(err).__name__
            outcomes.append((f"#{number}", outcome))
    return outcomes


async def test_same_seed_same_faults_over_a_socket() -> None:
    runs = []
    for seed in (7, 7, 8):
        async with running(seed=seed, faults="heavy", rate_limit=None) as api:
            api.fake.chaos("heavy", slow_seconds=0.01)  # same mix, shorter waits
            outcomes = await _run(api.fake, 120)
            faults = [record.fault for record in api.fake.requests]
            runs.append((outcomes, faults, len(api.fake.contacts)))
    (first, faults, contacts), (second, faults_again, contacts_again), (other, _, _) = runs
    assert first == second  # statuses, bodies (mutations included) and exceptions
    assert faults == faults_again
    assert contacts == contacts_again
    assert first != other
    hit = [fault for fault in faults if fault is not None]
    assert all(fault.startswith("chaos:") for fault in hit)
    assert 0.10 < len(hit) / len(faults) < 0.45  # ~25%, loosely (aiohttp adds resends)
    assert any(not isinstance(outcome, tuple) for _, outcome in first)  # some broke


async def test_constructor_option_equals_the_knob() -> None:
    async with running(seed=3, faults="heavy") as api:
        built = api.fake.chaos_mix
    fake = FakeHighLevel(seed=3)
    fake.chaos("heavy")
    assert built == fake.chaos_mix
    fake.clear_faults()
    assert fake.chaos_mix is None
    fake.chaos("light")
    fake.chaos(None)
    assert fake.chaos_mix is None


async def test_consent_page_is_never_touched() -> None:
    async with running(faults="heavy") as api:
        fake = api.fake
        fake.chaos("heavy", rate=1.0, slow_seconds=0.01)
        params = {"response_type": "code", "client_id": fake.client_id}
        for _ in range(30):
            answer = await api.call(
                "GET", "/oauth/chooselocation", params=params, allow_redirects=False, token=None
            )
            assert answer.status == 302
        assert all(record.fault is None for record in fake.requests)


async def test_revocation_needs_an_oauth_token() -> None:
    async with running(rate_limit=None) as api:
        fake = api.fake
        fake.chaos({"revoke": 1.0})
        params = {"locationId": fake.location_id}
        # The private token cannot be renewed, so chaos leaves it alone.
        assert {(await api.get("/contacts/", params=params)).status for _ in range(5)} == {200}
        issued = fake.issue_token()
        answer = await api.get("/contacts/", params=params, token=issued.access_token)
        assert (answer.status, answer.message) == (401, "Invalid JWT")
        assert fake.requests[-1].fault == "chaos:revoke"
        # The refresh token lives on: a client recovers.
        refreshed = await api.token_form(
            form(fake, grant_type="refresh_token", refresh_token=issued.refresh_token)
        )
        assert refreshed.status == 200

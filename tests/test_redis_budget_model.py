"""The shared window's arithmetic, by table (WindowModel), and the real Lua script against it.

The model is the script's decisions in Python, step for step; the parity tests run the same
calls through both (the script on the real Redis, with the clock passed in) and compare every
reply, so the tables below speak for the script too.
"""

from __future__ import annotations

import random

import pytest
import redis.asyncio

from ghl_async.redis._window import (
    ADMITTED,
    FLUSHED,
    NEVER,
    REFUSED,
    RETRY,
    SCRIPT,
    Call,
    Reply,
    WindowModel,
)

SPAN = 1002.0  # 20 requests per 1 s, plus the default 0.2% margin
RULE = ((20, SPAN, False),)
HOLD = 5000.0


def call(slot: str | None = "s", **changes: object) -> Call:
    base = Call(member="a", hold_ms=HOLD, keep_ms=SPAN, slot=slot, windows=RULE, pad="p")
    for name, value in changes.items():
        setattr(base, name, value)
    return base


def fill(model: WindowModel, n: int, now: float) -> list[str]:
    slots = []
    for i in range(n):
        reply = model.step(call(f"s{i}"), now)
        assert reply.status == ADMITTED
        assert reply.wait_us == 0
        slots.append(f"s{i}")
    return slots


# --- admission ----------------------------------------------------------------------------------


def test_admits_while_the_window_has_room() -> None:
    model = WindowModel()
    fill(model, 20, 1000.0)
    assert len(model.opened) == 20


@pytest.mark.parametrize(
    ("finished_ago", "expected_wait_ms"),
    [
        (0.0, SPAN),  # the oldest answer just arrived: one whole span
        (500.0, SPAN - 500.0),
        (SPAN - 1.0, 1.0),
        (SPAN, 0.0),  # exactly one span ago: the slot is free (t > now - span is false)
    ],
)
def test_a_full_window_reserves_the_slot_its_oldest_answer_frees(
    finished_ago: float, expected_wait_ms: float
) -> None:
    model = WindowModel()
    now = 10_000.0
    slots = fill(model, 20, now - finished_ago - 10)
    releases = [(slot, finished_ago) for slot in slots]  # every answer came `finished_ago` ago
    reply = model.step(call("next", releases=releases), now)
    assert reply.status == ADMITTED
    assert reply.wait_us == pytest.approx(expected_wait_ms * 1000, abs=1)
    assert model.opened["next"] == pytest.approx(now + expected_wait_ms)


def test_reservations_queue_one_after_another() -> None:
    model = WindowModel()
    now = 10_000.0
    slots = fill(model, 20, now - 600)
    releases = [(slot, 500.0 - 10 * i) for i, slot in enumerate(slots)]  # ended 500..310 ms ago
    waits = [model.step(call(f"r{i}", releases=releases if i == 0 else []), now).wait_us
             for i in range(3)]
    assert waits == [pytest.approx((SPAN - 500 + 10 * i) * 1000, abs=1) for i in range(3)]


def test_a_slot_still_open_makes_the_caller_ask_again_not_before_it_can_free() -> None:
    model = WindowModel()
    fill(model, 20, 1000.0)  # all in flight: no answer known
    reply = model.step(call("next"), 1300.0)
    assert reply.status == RETRY
    assert reply.wait_us == pytest.approx((1000.0 + SPAN - 1300.0) * 1000, abs=1)
    assert "next" not in model.opened  # nothing taken


def test_an_open_slot_past_its_earliest_end_asks_again_at_once() -> None:
    model = WindowModel()
    fill(model, 20, 1000.0)
    reply = model.step(call("next"), 1000.0 + SPAN + 50)  # the requests are slow
    assert (reply.status, reply.wait_us) == (RETRY, 0)


def test_the_servers_window_longer_than_max_wait_is_refused_and_nothing_taken() -> None:
    model = WindowModel()
    windows = ((20, SPAN, False), (5, 2004.0, True))  # the server allows 5 per 2 s
    for i in range(5):
        assert model.step(call(f"s{i}", windows=windows), 1000.0).status == ADMITTED
    released = [(f"s{i}", 0.0) for i in range(5)]
    reply = model.step(call("x", windows=windows, releases=released, max_wait_ms=100.0), 1000.0)
    assert reply.status == REFUSED
    assert reply.wait_us == pytest.approx(2004.0 * 1000, abs=1)
    assert "x" not in model.opened
    # Our own rule's wait is never refused: it is waited for (a reservation).
    own = WindowModel()
    fill(own, 20, 1000.0)
    done = [(f"s{i}", 0.0) for i in range(20)]
    assert own.step(call("y", releases=done, max_wait_ms=0.0), 1000.0).status == ADMITTED


def test_a_pause_delays_everyone_and_is_refused_beyond_max_wait() -> None:
    model = WindowModel()
    model.step(call(None, pause=(3000.0, 100.0)), 1000.0)  # 3 s, asked 100 ms ago
    refused = model.step(call("a", max_wait_ms=1000.0), 1000.0)
    assert refused.status == REFUSED
    assert refused.wait_us == pytest.approx(2900.0 * 1000, abs=1)
    admitted = model.step(call("b"), 1000.0)
    assert admitted.status == ADMITTED
    assert admitted.wait_us == pytest.approx(2900.0 * 1000, abs=1)
    model.step(call(None, pause=(1000.0, 0.0)), 1000.0)  # a shorter pause shortens nothing
    assert model.paused_until == pytest.approx(3900.0)
    later = model.step(call("c"), 4000.0)
    assert (later.status, later.wait_us) == (ADMITTED, 0)
    assert model.paused_until is None


@pytest.mark.parametrize(
    ("remaining", "ours", "padding"),
    [
        (20, 0, 0),  # the server has everything free
        (15, 5, 0),  # it counted exactly ours
        (10, 5, 5),  # someone else sent 5
        (0, 20, 0),  # spent, by us
        (0, 3, 17),
    ],
)
def test_the_servers_remaining_fills_slots_it_counted_that_we_did_not(
    remaining: int, ours: int, padding: int
) -> None:
    model = WindowModel()
    slots = fill(model, ours, 1000.0)
    model.step(call(None, releases=[(s, 0.0) for s in slots]), 1000.0)
    model.step(call(None, observed=(remaining, 20, 1000.0, 0.0), pad="x"), 1001.0)
    assert sum(1 for name in model.finished if name.startswith("px.")) == padding


def test_requests_sent_during_an_outage_are_carried_into_the_window() -> None:
    model = WindowModel()
    model.step(call(None, carry=4, pad="c"), 1000.0)
    assert sorted(model.finished) == ["pc.1", "pc.2", "pc.3", "pc.4"]
    assert model.holding(1000.0, SPAN) == 4
    assert model.holding(1000.0 + SPAN, SPAN) == 0


def test_an_answer_is_stamped_when_it_arrived_not_when_it_is_reported() -> None:
    model = WindowModel()
    (slot,) = fill(model, 1, 1000.0)
    model.step(call(None, releases=[(slot, 250.0)]), 2000.0)
    assert model.finished == {"f" + slot: 1750.0}


def test_a_dead_process_slots_and_heartbeat_go_after_hold() -> None:
    model = WindowModel()
    fill(model, 3, 1000.0)
    assert model.step(call(None, member="b"), 1000.0).members == 2
    reply = model.step(call(None, member="b"), 1000.0 + HOLD + 1)
    assert reply.members == 1  # "a" has not called for longer than hold
    assert model.opened == {}  # its open slots are dropped


def test_drops_free_a_reservation_nobody_will_use() -> None:
    model = WindowModel()
    fill(model, 1, 1000.0)
    model.step(call(None, drops=["s0"]), 1000.0)
    assert model.opened == {}


def test_finished_slots_are_forgotten_once_older_than_the_longest_window() -> None:
    model = WindowModel()
    slots = fill(model, 2, 1000.0)
    model.step(call(None, releases=[(s, 0.0) for s in slots], keep_ms=SPAN, hold_ms=SPAN), 1000.0)
    model.step(call(None, keep_ms=SPAN, hold_ms=SPAN), 1000.0 + SPAN)
    assert model.finished == {}


def test_a_flush_reports_flushed() -> None:
    assert WindowModel().step(call(None), 0.0) == Reply(FLUSHED, 0, 1)


# --- the wire format ------------------------------------------------------------------------------


def test_argv_lists_every_part_in_order() -> None:
    full = Call(member="m", hold_ms=1.0, keep_ms=2.0, releases=[("a", 3.0)], drops=["b"],
                pause=(4.0, 5.0), observed=(1, 2, 6.0, 7.0), carry=8, pad="p", slot="s",
                max_wait_ms=9.0, windows=((10, 11.0, True),), now_ms=12.0)
    assert full.argv() == ["12.0", "m", "1.0", "2.0", 1, "a", "3.0", 1, "b", "4.0", "5.0",
                           1, 2, "6.0", "7.0", 8, "p", "s", "9.0", 1, 10, "11.0", "1"]
    bare = Call(member="m", hold_ms=1.0, keep_ms=2.0)
    assert bare.argv() == ["", "m", "1.0", "2.0", 0, 0, "", "", "", "", "", "", 0, "", ""]
    assert Call(member="m", hold_ms=1.0, keep_ms=2.0, slot="s").argv()[-3:-1] == [
        "s", repr(NEVER)]


@pytest.mark.parametrize("raw", [None, [1, 2], "x", [1, 2, 3, 4]])
def test_an_unexpected_reply_is_a_value_error(raw: object) -> None:
    with pytest.raises(ValueError, match="unexpected budget script reply"):
        Reply.parse(raw)


# --- the script on the real Redis ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
async def test_the_script_answers_like_the_model(
    redis_client: redis.asyncio.Redis, redis_prefix: str, seed: int
) -> None:
    script = redis_client.register_script(SCRIPT)
    rnd = random.Random(seed)
    key = f"{redis_prefix}budget:parity"
    model = WindowModel()
    now = 1_000_000.0
    opened: list[str] = []
    windows = ((10, SPAN, False), (8, 1500.0, True)) if seed % 2 else ((10, SPAN, False),)
    for step in range(80):
        now += rnd.choice([0.0, 1.0, 5.0, 50.0, 300.0, 1000.0])
        releases = []
        if opened and rnd.random() < 0.5:
            releases.append((opened.pop(0), rnd.choice([0.0, 3.0, 20.0])))
        one = Call(
            member=rnd.choice(["a", "b"]),
            hold_ms=5000.0,
            keep_ms=1500.0,
            releases=releases,
            drops=[opened.pop()] if opened and rnd.random() < 0.05 else [],
            pause=(rnd.choice([100.0, 2000.0]), 0.0) if rnd.random() < 0.05 else None,
            observed=(rnd.randint(0, 5), 10, 1000.0, 1.0) if rnd.random() < 0.2 else None,
            carry=rnd.choice([0, 0, 0, 2]),
            pad=f"p{step}",
            slot=f"s{step}" if rnd.random() < 0.8 else None,
            max_wait_ms=rnd.choice([NEVER, 500.0]),
            windows=windows,
            now_ms=now,
        )
        expected = model.step(one, now)
        got = Reply.parse(await script(keys=[key], args=one.argv()))
        assert got == expected, (step, one)
        if got.status == ADMITTED:
            opened.append(f"s{step}")
    assert await redis_client.pttl(key) > 0  # an idle location's key expires


async def test_the_script_reads_redis_time_when_no_clock_is_given(
    redis_client: redis.asyncio.Redis, redis_prefix: str
) -> None:
    script = redis_client.register_script(SCRIPT)
    key = f"{redis_prefix}budget:clock"
    first = Call(member="a", hold_ms=HOLD, keep_ms=SPAN, slot="x", windows=((1, SPAN, False),))
    assert Reply.parse(await script(keys=[key], args=first.argv())).status == ADMITTED
    done = Call(member="a", hold_ms=HOLD, keep_ms=SPAN, releases=[("x", 0.0)], slot="y",
                windows=((1, SPAN, False),))
    reply = Reply.parse(await script(keys=[key], args=done.argv()))
    assert reply.status == ADMITTED
    assert 0.9 * SPAN * 1000 <= reply.wait_us <= SPAN * 1000  # a reservation one span out

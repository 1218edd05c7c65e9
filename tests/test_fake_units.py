"""Pure pieces of FakeHighLevel: messages, dates, indexes, search plans; the 500 fallback."""

from __future__ import annotations

import logging

import msgspec
import pytest
from fake_helpers import running

from ghl_async import models as m
from ghl_async.testing.edits import parse_date_of_birth
from ghl_async.testing.handlers import HANDLERS
from ghl_async.testing.replies import ApiFailure, reason, validation_messages
from ghl_async.testing.search import compile_filters, compile_sort
from ghl_async.testing.seed import SEED_EPOCH_MS
from ghl_async.testing.store import (
    ContactRecord,
    Store,
    iso_ms,
    normalize_email,
    normalize_phone,
)


def test_every_route_has_a_handler() -> None:
    from ghl_async.routes import V2_ROUTES

    # Every v2 contacts route; the agency route (installed locations) is an OAuth endpoint.
    served = {route.name for route in V2_ROUTES if route.token == "location"}
    assert set(HANDLERS) == served
    assert len(served) == 32


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Object contains unknown field `x`", ["property x should not exist"]),
        ("Object missing required field `a` - at `$.b[2]`", ["b.2.a should not be empty"]),
        ("Expected `bool | null`, got `str` - at `$.dnd`", ["dnd must be a boolean value"]),
        ("Expected `object`, got `str`", ["body must be an object"]),
        ("Invalid enum value 'x'", ["value must be one of the allowed values"]),
        ("Expected `int` >= 0 - at `$.n`", ["n: Expected `int` >= 0"]),
        ("Something new", ["Something new"]),
    ],
)
def test_validation_messages(message: str, expected: list[str]) -> None:
    assert validation_messages(msgspec.ValidationError(message)) == expected


def test_validation_message_roots() -> None:
    err = msgspec.ValidationError("Expected `object`, got `array`")
    assert validation_messages(err, root="query") == ["query must be an object"]


def test_reason_phrases() -> None:
    assert reason(422) == "Unprocessable Entity"
    assert reason(599) == "Error"
    failure = ApiFailure(400, "x", meta={"a": 1}, headers={"H": "v"})
    assert (failure.status, failure.meta, failure.headers) == (400, {"a": 1}, {"H": "v"})


def test_dates() -> None:
    assert iso_ms(SEED_EPOCH_MS) == "2024-01-01T00:00:00.000Z"
    assert iso_ms(1_637_930_462_193) == "2021-11-26T12:41:02.193Z"
    assert parse_date_of_birth("1990-09-25T00:00:00.000Z") == "1990-09-25"
    assert parse_date_of_birth("9/5/1990") == "1990-09-05"


def test_normalisers() -> None:
    assert normalize_email("  A@B.example ") == "a@b.example"
    assert normalize_email("") is None
    assert normalize_phone("+1 (415) 555-0100") == "+14155550100"
    assert normalize_phone("415.555.0100") == "4155550100"
    assert normalize_phone("n/a") is None
    assert normalize_phone(None) is None


def test_store_indexes() -> None:
    store = Store(seed=3)
    store.add_location("loc", "co")
    first = ContactRecord(id="b", location_id="loc", added_ms=20, updated_ms=20, email="x@y.z")
    older = ContactRecord(id="a", location_id="loc", added_ms=10, updated_ms=10, email="X@y.z")
    store.insert(first)
    store.insert(older)  # out of order: lands first
    assert [c.id for c in store.contacts_in("loc")] == ["a", "b"]
    match = store.find_match(store.locations["loc"], "x@Y.z", None)
    assert match is not None
    assert match[0].id == "b"  # the first one indexed
    assert store.find_match(store.locations["loc"], "x@y.z", None, exclude="b")[0].id == "a"  # type: ignore[index]
    old_email = first.email
    first.email = "new@y.z"
    store.reindex(first, old_email, None)
    assert store.find_match(store.locations["loc"], "new@y.z", None)[0].id == "b"  # type: ignore[index]
    store.remove(older)
    assert store.find_match(store.locations["loc"], "x@y.z", None) is None
    assert store.set_business(first, None) is False
    assert store.set_business(first, "biz") is True
    assert store.business_members("loc", "biz") == ["b"]
    assert store.set_business(first, "biz2") is True
    assert store.business_members("loc", "biz") == []
    assert [c.id for c in store.iter_all()] == ["b"]
    assert len(store.new_ids(3)) == 3
    assert all(len(i) == 20 and i.isalnum() for i in store.new_ids(50))


def test_search_plan_edges() -> None:
    plan = compile_sort([m.SearchSort(field="tags"), m.SearchSort(field="dnd", direction="desc")])
    first = ContactRecord(id="1", location_id="l", added_ms=1, updated_ms=1, tags=["b", "a"])
    second = ContactRecord(id="2", location_id="l", added_ms=1, updated_ms=1, dnd=True)
    contacts = plan.sort([first, second])
    assert [c.id for c in contacts] == ["2", "1"]  # "" sorts before "b,a"
    assert plan.cursor(first) == ["b,a", 0, "1"]
    assert plan.after(contacts, ["", 1, "2"]) == 1
    assert compile_filters([], None) is None
    custom = compile_filters(
        [m.SearchFilter(field="customField.f1", operator="contains", value="go")], None
    )
    assert custom is not None
    assert custom(
        ContactRecord(
            id="x", location_id="l", added_ms=1, updated_ms=1, custom_fields={"f1": "Gold"}
        )
    )
    tags = compile_filters([m.SearchFilter(field="tags", operator="contains", value="VI")], None)
    assert tags is not None
    assert tags(ContactRecord(id="x", location_id="l", added_ms=1, updated_ms=1, tags=["vip"]))
    ranged = compile_filters(
        [m.SearchFilter(field="dnd", operator="range", value={"gte": True})], None
    )
    assert ranged is not None
    assert not ranged(first)
    dated = compile_filters(
        [m.SearchFilter(field="dateAdded", operator="range", value={"gt": "1970-01-01T00:00:00"})],
        None,
    )
    assert dated is not None
    assert dated(ContactRecord(id="x", location_id="l", added_ms=5, updated_ms=5))


async def test_a_handler_crash_answers_highlevel_500(caplog: pytest.LogCaptureFixture) -> None:
    async with running() as api:

        def broken(event_type: str, data: object) -> None:
            raise RuntimeError("listener bug")

        api.fake.store.on_event = broken
        with caplog.at_level(logging.ERROR, logger="ghl_async.testing"):
            answer = await api.post(
                "/contacts/", json={"locationId": api.fake.location_id, "email": "b@alpha.example"}
            )
        assert answer.status == 500
        assert answer.json == {"statusCode": 500, "message": "Internal server error"}
        assert "FakeHighLevel failed on POST /contacts/" in caplog.text


def test_fake_options_mirror_the_constructor() -> None:
    import inspect

    from ghl_async.testing import FakeHighLevel, FakeOptions

    parameters = inspect.signature(FakeHighLevel).parameters
    assert set(FakeOptions.__annotations__) == set(parameters)


def test_package_exports_lazily() -> None:
    import ghl_async.testing as testing

    assert set(testing.__all__) <= set(dir(testing))
    for name in testing.__all__:
        assert getattr(testing, name) is not None
    with pytest.raises(AttributeError):
        _ = testing.Nothing  # type: ignore[attr-defined]

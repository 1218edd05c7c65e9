"""Bad input is refused with ConfigError (a ValueError) before a single request is sent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from client_helpers import make_client

from ghl_async import Client, StaticToken, routes
from ghl_async.errors import ConfigError, NotFoundError
from ghl_async.models import (
    BusinessContactsQuery,
    DndSettingInput,
    DndSettingsInput,
    ListContactsQuery,
    Tags,
)
from ghl_async.testing import FakeHighLevel

BAD_IDS: list[object] = [
    "", None, 123, b"abc", "a/b", "a?b", "a#b", "..", "a..b", "a b", " a", "a\tb", "a\nb",
    "a\x00b", "a\x7fb", "a%2Fb", "a\\b", "a\u2028b",
]  # fmt: skip

Call = Callable[[Client], Awaitable[object]]


def _bad_id_calls() -> list[tuple[str, Call]]:
    calls: list[tuple[str, Call]] = []
    for bad in BAD_IDS:
        calls += [
            (f"get {bad!r}", lambda g, b=bad: g.contacts.get(b)),  # type: ignore[misc]
            (f"task id {bad!r}", lambda g, b=bad: g.contacts.tasks.get("ok", b)),  # type: ignore[misc]
        ]
    return calls


BAD_CALLS: list[tuple[str, Call]] = [
    *_bad_id_calls(),
    ("update id", lambda g: g.contacts.update("a/../b", city="x")),
    ("delete id", lambda g: g.contacts.delete("")),
    ("note id", lambda g: g.contacts.notes.update("ok", "x?y", body="b")),
    ("campaign id", lambda g: g.contacts.add_to_campaign("ok", "../all")),
    ("business id", lambda g: g.contacts.list_by_business("biz#1")),
    ("location id", lambda g: g.contacts.create(email="a@b.c", location_id="loc/x")),
    ("empty location", lambda g: g.contacts.search(location_id="")),
    ("limit 0", lambda g: g.contacts.list_by_business("biz", limit=0)),
    ("limit 101", lambda g: g.contacts.list_by_business("biz", limit=101)),
    ("limit str", lambda g: g.contacts.list_by_business("biz", limit="10")),  # type: ignore[arg-type]
    ("page 0", lambda g: g.contacts.list_by_business("biz", page=0)),
    ("list limit", lambda g: g.contacts.list(limit=500)),
    ("page_limit", lambda g: g.contacts.search(page_limit=501)),
    ("search ceiling", lambda g: g.contacts.search(page_limit=500, page=21)),
    ("first_name int", lambda g: g.contacts.create(first_name=123)),  # type: ignore[arg-type]
    ("tags str", lambda g: g.contacts.create(tags="vip")),  # type: ignore[arg-type]
    ("tags of ints", lambda g: g.contacts.add_tags("ok", [1, 2])),  # type: ignore[list-item]
    ("dnd literal", lambda g: g.contacts.update(
        "ok", dnd_settings=DndSettingsInput(sms=DndSettingInput(status="maybe")))),  # type: ignore[arg-type]
    ("completed str", lambda g: g.contacts.tasks.complete("ok", "t", completed="yes")),  # type: ignore[arg-type]
    ("duplicate needs a key", lambda g: g.contacts.find_duplicate()),
    ("duplicate email None", lambda g: g.contacts.find_duplicate(email=None)),  # type: ignore[arg-type]
    ("bulk action", lambda g: g.contacts.bulk_update_tags("toggle", contacts=["a"], tags=["t"])),  # type: ignore[arg-type]
    ("bulk ids", lambda g: g.contacts.bulk_set_business(ids="a", business_id=None)),  # type: ignore[arg-type]
    ("bundle id", lambda g: g.contacts.get_bundle("a b")),
    ("call path missing", lambda g: g.call(routes.GET_CONTACT)),
    ("call path extra", lambda g: g.call(routes.GET_CONTACT, path={"contact_id": "a", "x": "y"})),
    ("call not a route", lambda g: g.call("contacts.get")),  # type: ignore[arg-type]
    ("call body on GET", lambda g: g.call(routes.GET_CONTACT, path={"contact_id": "a"},
                                          body=Tags(tags=["x"]))),
    ("call no body", lambda g: g.call(routes.ADD_TAGS, path={"contact_id": "a"})),
    ("call wrong body", lambda g: g.call(routes.ADD_TAGS, path={"contact_id": "a"},
                                         body=DndSettingInput(status="active"))),
    ("call wrong query", lambda g: g.call(routes.LIST_BUSINESS_CONTACTS,
                                          path={"business_id": "b"},
                                          query=ListContactsQuery(location_id="l"))),
    ("call query on a plain GET", lambda g: g.call(routes.GET_CONTACT, path={"contact_id": "a"},
                                                   query=BusinessContactsQuery(location_id="l"))),
    ("call query types", lambda g: g.call(routes.LIST_BUSINESS_CONTACTS,
                                          path={"business_id": "b"},
                                          query=BusinessContactsQuery(location_id=5))),  # type: ignore[arg-type]
    ("call location", lambda g: g.call(routes.GET_CONTACT, path={"contact_id": "a"},
                                       location_id="l/x")),
]  # fmt: skip


@pytest.mark.parametrize(("label", "call"), BAD_CALLS, ids=[label for label, _ in BAD_CALLS])
async def test_bad_input_sends_nothing(
    fake: FakeHighLevel, ghl: Client, label: str, call: Call
) -> None:
    with pytest.raises(ConfigError) as caught:
        await call(ghl)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value)
    assert fake.requests == []


async def test_walks_check_their_arguments_at_once(fake: FakeHighLevel, ghl: Client) -> None:
    with pytest.raises(ConfigError):
        ghl.contacts.iter_by_business("biz", limit=1000)
    with pytest.raises(ConfigError):
        ghl.contacts.iter_by_business("biz/1")
    with pytest.raises(ConfigError):
        ghl.contacts.iter(limit=0)
    with pytest.raises(ConfigError):
        ghl.contacts.iter_search(page_limit=100, page=101)
    with pytest.raises(ConfigError):
        ghl.contacts.iter_search(query=7)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        ghl.contacts.iter(query=7)  # type: ignore[arg-type]
    assert fake.requests == []


async def test_a_location_is_needed_where_the_api_takes_one(fake: FakeHighLevel) -> None:
    auth = StaticToken(fake.private_token)
    async with Client(auth=auth, base_url=fake.base_url) as nowhere:
        with pytest.raises(ConfigError, match="location_id"):
            await nowhere.contacts.create(email="a@b.c")
        with pytest.raises(ConfigError, match="location_id"):
            nowhere.contacts.iter_by_business("biz")
        # Routes without a location use the token's own.
        (cid,) = fake.seed_contacts(1, business_id=None)
        assert (await nowhere.contacts.get(cid)).id == cid
    assert fake.count() == 1


async def test_unusual_but_valid_ids_are_percent_encoded(fake: FakeHighLevel) -> None:
    async with make_client(fake) as ghl:
        with pytest.raises(NotFoundError) as caught:
            await ghl.contacts.get("ü:@!")
    assert caught.value.url == "/contacts/%C3%BC%3A%40%21"
    assert fake.requests[0].path == "/contacts/ü:@!"

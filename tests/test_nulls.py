"""Stray nulls in 2xx answers: the pure pruning by table, then the pipeline over a real socket."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import msgspec
import pytest
from aiohttp import web
from hostile_helpers import Answer, Proxy, client_via, plain

from ghl_async import models as m
from ghl_async.errors import DecodeError
from ghl_async.nulls import prune_nulls, tolerant
from ghl_async.testing import FakeHighLevel


class Inner(msgspec.Struct, rename="camel", frozen=True):
    name: str = ""
    note: str | None = "kept"


class Outer(msgspec.Struct, rename="camel"):
    tags: list[str] = []
    inner: Inner = Inner()
    maybe: Inner | None = None
    by_key: dict[str, int] = {}
    free: object = None
    either: str | list[str] = ""
    required_text: str = "x"


@pytest.mark.parametrize(
    ("value", "pruned"),
    [
        ({"tags": None}, {}),  # a refused null field: left to its default
        ({"tags": ["a", None, "b"]}, {"tags": ["a", "b"]}),  # a refused null item: dropped
        ({"inner": {"name": None, "note": None}}, {"inner": {"note": None}}),  # None is allowed
        ({"maybe": None}, {"maybe": None}),  # the model has room for it
        ({"byKey": {"a": 1, "b": None}}, {"byKey": {"a": 1}}),
        ({"free": None}, {"free": None}),
        ({"either": ["x", None]}, {"either": ["x"]}),  # the union member that reads a list
        ({"either": None}, {}),
        ({"unknownField": None}, {"unknownField": None}),  # not the model's: left alone
        ({"tags": "not a list"}, {"tags": "not a list"}),  # other drift: left for the error
    ],
)
def test_prune_nulls(value: dict[str, object], pruned: dict[str, object]) -> None:
    assert prune_nulls(value, Outer) == pruned


def test_a_refused_top_level_null_is_none() -> None:
    assert prune_nulls(None, Outer) is None
    assert prune_nulls([None, {"name": None}], list[Inner]) == [{}]


def test_tolerant_repairs_nulls_and_keeps_other_errors() -> None:
    decode = tolerant(msgspec.json.Decoder(Outer).decode, Outer, "test")
    assert decode(b'{"tags": ["a", null], "inner": null}') == Outer(tags=["a"])
    with pytest.raises(msgspec.ValidationError, match=r"\$\.tags"):
        decode(b'{"tags": "nope", "inner": null}')  # the strict decoder's own error
    with pytest.raises(msgspec.ValidationError, match="Expected `str`, got `int`"):
        decode(b'{"requiredText": 5}')  # nothing to prune: the first error stands


@pytest.fixture
async def proxy(fake: FakeHighLevel) -> AsyncIterator[Proxy]:
    async with Proxy(fake).running() as running:
        yield running


async def test_a_contact_with_stray_nulls_is_returned(fake: FakeHighLevel, proxy: Proxy) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tags=["vip", "new"])

    async def nulls(request: web.Request, answer: Answer) -> web.StreamResponse:
        data = json.loads(answer.body)
        data["contact"]["customFields"] = None
        data["contact"]["tags"] = ["vip", None, "new"]
        data["contact"]["followers"] = None
        return plain(answer, body=json.dumps(data).encode())

    async def drift(request: web.Request, answer: Answer) -> web.StreamResponse:
        data = json.loads(answer.body)
        data["contact"]["tags"] = "vip,new"
        return plain(answer, body=json.dumps(data).encode())

    proxy.on("GET", rf"/contacts/{cid}", nulls)
    proxy.on("GET", rf"/contacts/{cid}", drift)
    async with client_via(proxy) as ghl:
        contact = await ghl.contacts.get(cid)
        assert isinstance(contact, m.Contact)
        assert (contact.tags, contact.custom_fields, contact.followers) == (["vip", "new"], [], [])
        with pytest.raises(DecodeError, match=r"\$\.contact\.tags"):
            await ghl.contacts.get(cid)  # not a null: schema drift, raised as before

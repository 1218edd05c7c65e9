"""Per-call options (``extra_headers``, ``extra_query``, ``extra_body``, ``timeout``): each one
reaches the wire exactly as documented (the fake's request log shows headers, query and body),
and a bad one raises ``ConfigError`` before any request goes out."""

from __future__ import annotations

import json
import math
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import pytest

import ghl_async
from ghl_async import Client, ConfigError, RequestTimeout, UnprocessableEntityError, routes
from ghl_async.options import PROTECTED_HEADERS
from ghl_async.testing import FakeHighLevel

# The fake's request log keeps each request's headers and body.
pytestmark = pytest.mark.fake_highlevel(log_payloads=True)


@pytest.fixture
async def ghl(fake: FakeHighLevel) -> AsyncIterator[Client]:
    async with fake.client(backoff_base=0.001, backoff_max=0.005) as client:
        yield client


async def test_extra_headers_reach_the_wire(fake: FakeHighLevel, ghl: Client) -> None:
    contact_id = fake.seed_contacts(1)[0]
    await ghl.contacts.get(
        contact_id, extra_headers={"X-Request-Id": "req-1", "User-Agent": "my-app/2"}
    )
    sent = fake.requests[-1].headers
    assert sent["X-Request-Id"] == "req-1"
    assert sent["User-Agent"] == "my-app/2"  # replaces the client's for this call
    assert sent["Version"] == "2021-07-28"  # the pipeline's own headers are untouched
    assert sent["Authorization"] == "Bearer <redacted>"  # the fake's log hides the token
    await ghl.contacts.get(contact_id)
    plain = fake.requests[-1].headers
    assert "X-Request-Id" not in plain
    assert plain["User-Agent"].startswith("ghl-async/")
    # v3 and a body: the route's Version and Content-Type stay.
    await ghl.v3.contacts.update(contact_id, city="Oslo", extra_headers={"X-Tenant": "t1"})
    sent = fake.requests[-1].headers
    assert (sent["X-Tenant"], sent["Version"], sent["Content-Type"]) == (
        "t1", "v3", "application/json",
    )  # fmt: skip


@pytest.mark.parametrize("name", [*sorted(PROTECTED_HEADERS), "AUTHORIZATION", "version"])
async def test_headers_the_pipeline_owns_are_refused(
    fake: FakeHighLevel, ghl: Client, name: str
) -> None:
    with pytest.raises(ConfigError, match="extra_headers cannot set"):
        await ghl.contacts.get("c1", extra_headers={name: "x"})
    assert fake.requests == []


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-A": "1", "x-a": "2"}, "twice"),
        ({"Bad Name": "1"}, "not a header name"),
        ({"": "1"}, "not a header name"),
        ({"X-A": "line\r\nX-Injected: 1"}, "one-line str, not str with a line break"),
        ({"X-A": 1}, "one-line str, not int"),
        ({1: "x"}, "not a header name"),
        ("X-A: 1", "mapping of str to str"),
    ],
)
async def test_bad_extra_headers_raise_before_sending(
    fake: FakeHighLevel, ghl: Client, headers: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        await ghl.contacts.get("c1", extra_headers=headers)
    assert "X-Injected" not in str(caught.value)  # values are never echoed
    assert fake.requests == []


async def test_extra_query_is_encoded_like_our_own(fake: FakeHighLevel, ghl: Client) -> None:
    contact_id = fake.seed_contacts(1)[0]
    await ghl.contacts.get(
        contact_id,
        extra_query={"expand": ["tasks", "notes"], "flag": True, "off": False, "n": 2,
                     "x": 1.5, "q": "a b&c=d/é"},
    )  # fmt: skip
    record = fake.requests[-1]
    assert record.status == 200  # this route takes no query model: the fake ignores them
    # aiohttp's server shows the query half-decoded; `&` and `=` inside a value stayed encoded.
    assert parse_qsl(record.query) == [
        ("expand", "tasks"), ("expand", "notes"), ("flag", "true"), ("off", "false"),
        ("n", "2"), ("x", "1.5"), ("q", "a b&c=d/é"),
    ]  # fmt: skip


async def test_extra_query_goes_after_the_routes_query(fake: FakeHighLevel, ghl: Client) -> None:
    fake.seed_contacts(3)
    with pytest.raises(UnprocessableEntityError, match="property includeDeleted should not exist"):
        await ghl.contacts.list_by_business("biz_1", extra_query={"includeDeleted": True})
    pairs = parse_qsl(fake.requests[-1].query)
    assert pairs[-1] == ("includeDeleted", "true")
    assert ("locationId", fake.location_id) in pairs
    assert ("skip", "0") in pairs


@pytest.mark.parametrize("name", ["locationId", "limit", "skip", "query"])
async def test_extra_query_cannot_repeat_a_declared_parameter(
    fake: FakeHighLevel, ghl: Client, name: str
) -> None:
    with pytest.raises(ConfigError, match=f"extra_query cannot set '{name}'"):
        await ghl.contacts.list_by_business("biz_1", extra_query={name: "1"})
    with pytest.raises(ConfigError, match="extra_query cannot set"):
        ghl.contacts.iter_by_business("biz_1", extra_query={name: "1"})
    assert fake.requests == []


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"x": math.nan}, "finite float"),
        ({"x": math.inf}, "finite float"),
        ({"x": None}, "not NoneType"),
        ({"x": {"a": 1}}, "not dict"),
        ({"x": []}, "non-empty list"),
        ({"x": ["a", None]}, "not list"),
        ({"": "a"}, "non-empty str"),
        ({3: "a"}, "non-empty str"),
        (["x"], "must be a mapping"),
    ],
)
async def test_bad_extra_query_raises_before_sending(
    fake: FakeHighLevel, ghl: Client, query: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        await ghl.contacts.get("c1", extra_query=query)
    assert fake.requests == []


async def test_extra_body_is_merged_after_our_fields(fake: FakeHighLevel, ghl: Client) -> None:
    # HighLevel's whitelist answers 422 to a member it does not know; the fake does the same,
    # which shows the member arrived at the top level of the body.
    with pytest.raises(UnprocessableEntityError, match="property newThing should not exist"):
        await ghl.contacts.create(
            email="ada@example.com", extra_body={"newThing": {"nested": [1, None, "x"]}}
        )
    record = fake.requests[-1]
    sent = record.body.decode()
    assert sent.endswith(',"newThing":{"nested":[1,null,"x"]}}')
    assert json.loads(sent) == {
        "email": "ada@example.com", "locationId": fake.location_id,
        "newThing": {"nested": [1, None, "x"]},
    }  # fmt: skip
    assert record.headers["Content-Type"] == "application/json"
    # An empty body model ({} on the wire) takes the members alone.
    contact_id = fake.seed_contacts(1)[0]
    with pytest.raises(UnprocessableEntityError, match="property source should not exist"):
        await ghl.contacts.add_to_campaign(contact_id, "camp_1", extra_body={"source": "api"})
    assert fake.requests[-1].body == b'{"source":"api"}'
    # An empty extra_body changes nothing.
    await ghl.contacts.add_to_campaign(contact_id, "camp_1", extra_body={})
    assert fake.requests[-1].body == b"{}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"email": "b@example.com"}, "extra_body cannot set 'email'"),
        ({"locationId": "other"}, "extra_body cannot set 'locationId'"),
        ({"x": object()}, "cannot be sent as JSON"),
        ({3: "a"}, "non-empty str"),
        ([("x", 1)], "must be a mapping"),
    ],
)
async def test_bad_extra_body_raises_before_sending(
    fake: FakeHighLevel, ghl: Client, body: Any, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        await ghl.contacts.create(first_name="A", extra_body=body)
    assert fake.requests == []


async def test_extra_body_needs_a_route_with_a_body(fake: FakeHighLevel, ghl: Client) -> None:
    # The facade offers it only where there is a body; the escape hatch checks it.
    with pytest.raises(ConfigError, match="sends no body, so it takes no extra_body"):
        await ghl.call(routes.GET_CONTACT, path={"contact_id": "c1"}, extra_body={"x": 1})
    assert fake.requests == []


async def test_options_apply_to_every_page_of_a_walk(fake: FakeHighLevel, ghl: Client) -> None:
    fake.seed_contacts(7)
    walked = [
        c.id async for c in ghl.contacts.iter_by_business(
            "biz_1", limit=3, extra_headers={"X-Walk": "w"}
        )
    ]  # fmt: skip
    assert len(walked) == 7
    pages = [r for r in fake.requests if r.operation == "contacts.list_by_business"]
    assert len(pages) == 3
    assert all(r.headers["X-Walk"] == "w" for r in pages)
    body_pages = [
        p async for p in ghl.contacts.iter_search_pages(page_limit=5, extra_headers={"X-S": "1"})
    ]
    assert len(body_pages) == 2
    searches = [r for r in fake.requests if r.operation == "contacts.search"]
    assert [r.headers["X-S"] for r in searches] == ["1", "1"]


async def test_a_per_call_timeout_replaces_the_clients(fake: FakeHighLevel) -> None:
    contact_id = fake.seed_contacts(1)[0]
    async with fake.client(max_retries=0, timeout=30.0) as ghl:
        fake.slow("contacts.get", 2.0, times=2)
        began = time.monotonic()
        with pytest.raises(RequestTimeout):
            await ghl.contacts.get(contact_id, timeout=0.2)
        # Loose: well under the 2 s the server takes (and the client's 30 s).
        assert time.monotonic() - began < 1.9
        with pytest.raises(RequestTimeout):
            await ghl.contacts.get(contact_id, timeout=aiohttp.ClientTimeout(total=0.2))
        # Without the option the client's 30 s apply: the slow answer arrives.
        fake.slow("contacts.get", 0.3)
        assert (await ghl.contacts.get(contact_id)).id == contact_id


@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf, "5", True])
async def test_bad_timeouts_raise_before_sending(
    fake: FakeHighLevel, ghl: Client, timeout: Any
) -> None:
    with pytest.raises(ConfigError, match="timeout must be positive seconds"):
        await ghl.contacts.get("c1", timeout=timeout)
    assert fake.requests == []


async def test_with_options_stays_the_client_wide_variant(fake: FakeHighLevel, ghl: Client) -> None:
    contact_id = fake.seed_contacts(1)[0]
    fake.slow("contacts.get", 1.0)
    quick = ghl.with_options(timeout=0.2, max_retries=0)
    with pytest.raises(RequestTimeout):
        await quick.contacts.get(contact_id)
    # A per-call option wins over the sibling's setting.
    fake.slow("contacts.get", 0.4)
    assert (await quick.contacts.get(contact_id, timeout=5.0)).id == contact_id


async def test_the_escape_hatch_takes_the_options(fake: FakeHighLevel, ghl: Client) -> None:
    contact_id = fake.seed_contacts(1)[0]
    contact = await ghl.call(
        routes.GET_CONTACT, path={"contact_id": contact_id},
        extra_headers={"X-Hatch": "1"}, extra_query={"a": "b"}, timeout=5,
    )  # fmt: skip
    assert contact.id == contact_id
    assert fake.requests[-1].headers["X-Hatch"] == "1"
    assert fake.requests[-1].query == "a=b"


def test_options_are_typed_in_every_signature() -> None:
    import inspect

    params = inspect.signature(ghl_async.Contacts.update).parameters
    assert str(params["extra_headers"].annotation) == "Mapping[str, str] | None"
    assert str(params["extra_body"].annotation) == "Mapping[str, JSONValue] | None"
    assert str(params["timeout"].annotation) == "float | ClientTimeout | None"


async def test_the_fake_keeps_payloads_only_when_asked() -> None:
    async with FakeHighLevel() as fake, fake.client() as ghl:
        await ghl.contacts.create(email="quiet@example.com", extra_headers={"X-A": "1"})
        record = fake.requests[-1]
        assert (dict(record.headers), record.body) == ({}, b"")
        fake.log_payloads = True
        await ghl.contacts.create(email="loud@example.com", extra_headers={"X-A": "1"})
        record = fake.requests[-1]
        assert record.headers["X-A"] == "1"
        assert b"loud@example.com" in record.body
        assert fake.private_token not in repr(dict(record.headers))

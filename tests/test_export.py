"""Export: JSON lines and CSV from the pagination generator, at constant memory."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import msgspec
import pytest

from ghl_async import Client, Contact, StaticToken
from ghl_async.errors import ConfigError
from ghl_async.export import DEFAULT_COLUMNS, export_contacts, format_for, write_contacts
from ghl_async.testing import FakeHighLevel


def files(directory: Path) -> list[Path]:
    return sorted(directory.iterdir())


@asynccontextmanager
async def fake_and_client() -> AsyncIterator[tuple[FakeHighLevel, Client]]:
    async with FakeHighLevel(rate_limit=None, daily_limit=None) as fake:
        ghl = Client(
            auth=StaticToken(fake.private_token, location_id=fake.location_id),
            location_id=fake.location_id,
            base_url=fake.base_url,
            rate_limit=None,
        )
        async with ghl:
            yield fake, ghl


async def test_jsonl_export_matches_the_business(tmp_path: Path) -> None:
    async with fake_and_client() as (fake, ghl):
        ids = fake.seed_contacts(250, business_id="biz_x", tasks=0, notes=0, appointments=0)
        fake.seed_contacts(30, business_id="other", tasks=0, notes=0, appointments=0)
        seen: list[int] = []
        out = tmp_path / "contacts.jsonl"
        count = await export_contacts(
            ghl.contacts.iter_by_business("biz_x"), out, on_progress=seen.append
        )
    assert count == 250
    assert seen[-1] == 250
    lines = out.read_text().splitlines()
    assert {json.loads(line)["id"] for line in lines} == set(ids)
    first = msgspec.json.decode(lines[0], type=Contact)
    assert first.business_id == "biz_x"
    assert files(tmp_path) == [out]  # the temporary file was renamed into place


async def test_csv_export_columns_and_cells(tmp_path: Path) -> None:
    async with fake_and_client() as (fake, ghl):
        fake.seed_contacts(
            120, business_id="biz_c", tasks=0, notes=0, appointments=0, tags=["a", "b"]
        )
        out = tmp_path / "contacts.csv"
        count = await export_contacts(ghl.contacts.iter_by_business("biz_c"), out)
        custom = tmp_path / "few.csv"
        await export_contacts(
            ghl.contacts.iter_by_business("biz_c"), custom, columns=["id", "email", "dnd"]
        )
    assert count == 120
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 120
    assert list(rows[0]) == [
        "id",
        "firstName",
        "lastName",
        "email",
        "phone",
        "companyName",
        "address1",
        "city",
        "state",
        "postalCode",
        "country",
        "dateOfBirth",
        "source",
        "tags",
        "customFields",
        "businessId",
        "dateAdded",
        "dateUpdated",
    ]
    assert len(DEFAULT_COLUMNS) == len(rows[0])
    assert rows[0]["tags"] == "a;b"
    assert rows[0]["businessId"] == "biz_c"
    assert all(
        isinstance(v, (str, int, float, list, type(None)))
        for v in json.loads(rows[0]["customFields"] or "{}").values()
    )
    assert custom.read_text().splitlines()[0] == "id,email,dnd"


async def contacts(items: list[Contact]) -> AsyncIterator[Contact]:
    for item in items:
        yield item


async def test_write_contacts_to_a_stream_and_odd_cells() -> None:
    odd = Contact(id="c1", dnd=True, date_of_birth=631152000000)
    out = io.StringIO()
    await write_contacts(
        contacts([odd]),
        out,
        format="csv",
        columns=["id", "dnd", "date_of_birth", "dnd_settings", "attribution_source", "followers"],
    )
    assert out.getvalue().splitlines()[1] == "c1,true,631152000000,,,"
    lines = io.StringIO()
    assert await write_contacts(contacts([odd, odd]), lines) == 2
    assert lines.getvalue().count("\n") == 2


async def test_structured_cells_are_json() -> None:
    contact = msgspec.convert(
        {
            "id": "c2",
            "dndSettings": {"SMS": {"status": "active"}},
            "dnd": False,
            "attributions": [{"url": "https://example.com"}],
            "customFields": [{"id": "f1", "value": ["x", "y"]}],
        },
        Contact,
    )
    out = io.StringIO()
    await write_contacts(
        contacts([contact]),
        out,
        format="csv",
        columns=["dnd", "dnd_settings", "attributions", "custom_fields"],
    )
    row = next(csv.reader(io.StringIO(out.getvalue().splitlines()[1])))
    assert row[0] == "false"
    assert json.loads(row[1]) == {"SMS": {"status": "active"}}
    assert json.loads(row[2]) == [{"url": "https://example.com"}]
    assert json.loads(row[3]) == {"f1": ["x", "y"]}


async def test_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown contact field 'emial'"):
        await write_contacts(contacts([]), io.StringIO(), format="csv", columns=["emial"])
    with pytest.raises(ConfigError, match="at least one column"):
        await export_contacts(contacts([]), tmp_path / "x.csv", columns=[])
    with pytest.raises(ConfigError, match="'jsonl' or 'csv'"):
        await write_contacts(contacts([]), io.StringIO(), format="xml")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="cannot write export"):
        await export_contacts(contacts([]), tmp_path / "missing" / "x.jsonl")
    assert format_for("a.CSV") == "csv"
    assert format_for("a.json") == "jsonl"


async def test_failed_export_leaves_no_file(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[Contact]:
        yield Contact(id="c1")
        raise RuntimeError("connection lost")

    target = tmp_path / "out.jsonl"
    target.write_text("previous export\n")
    with pytest.raises(RuntimeError):
        await export_contacts(broken(), target)
    assert target.read_text() == "previous export\n"
    assert files(tmp_path) == [target]


async def test_export_memory_does_not_grow_with_the_number_of_contacts(tmp_path: Path) -> None:
    async with fake_and_client() as (fake, ghl):
        plain = {"tasks": 0, "notes": 0, "appointments": 0, "custom_fields": False}
        fake.seed_contacts(2_000, business_id="small", **plain)  # type: ignore[arg-type]
        fake.seed_contacts(20_000, business_id="large", **plain)  # type: ignore[arg-type]
        for business in ("small", "large"):
            # The fake caches each contact's wire form on first use: fill that cache first,
            # so the peaks below are what an export allocates, client and server.
            async for _ in ghl.contacts.iter_by_business(business):
                pass
        peaks = []
        for business, fmt in (("small", "csv"), ("large", "csv")):
            tracemalloc.start()
            try:
                count = await export_contacts(
                    ghl.contacts.iter_by_business(business), tmp_path / f"{business}.{fmt}"
                )
                peaks.append(tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
            assert count == (2_000 if business == "small" else 20_000)
    # Ten times the contacts, about the same peak: one page in memory at a time.
    assert peaks[1] < peaks[0] * 1.5, peaks

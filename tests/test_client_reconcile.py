"""Exactly-once creates: an ambiguous create is looked up by natural key before anything else.

Found: the caller gets the object. Certainly absent: resent. Undecidable: AmbiguousWriteError
saying what was checked. Each case runs over a real socket against the fake, or against the
mangling proxy in front of it when the fake cannot fail that way (the write applied, then the
answer cut short, reset, replaced by a 502, or the request applied after the client gave up).
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from aiohttp import web
from client_helpers import make_client
from hostile_helpers import (
    Answer,
    Mangle,
    Proxy,
    client_via,
    cut,
    garbage,
    plain,
    reset_mid,
    status,
)

from ghl_async import Client, StaticToken
from ghl_async.errors import AmbiguousWriteError, ServerError, TransportError
from ghl_async.models import CreateNote, Note, UpsertResult
from ghl_async.routes import Route
from ghl_async.testing import FakeHighLevel

DUE = "2026-03-01T09:00:00Z"


@pytest.fixture
async def proxy(fake: FakeHighLevel) -> AsyncIterator[Proxy]:
    async with Proxy(fake).running() as running:
        yield running


via = client_via


# --- the write was applied, the answer was lost: the object is returned ------------------------


async def test_a_contact_created_then_dropped_is_returned(fake: FakeHighLevel, ghl: Client) -> None:
    fake.drop("contacts.create", when="after")
    contact = await ghl.contacts.create(email="Applied@Example.com", first_name="Once")
    assert (contact.email, contact.first_name) == ("Applied@Example.com", "Once")
    assert [c.id for c in fake.find_contacts(email="applied@example.com")] == [contact.id]
    assert fake.count(operation="contacts.create") == 1  # never resent
    assert fake.count(operation="contacts.find_duplicate") == 1


async def test_a_task_and_a_note_created_then_dropped_are_returned(
    fake: FakeHighLevel, ghl: Client
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=1, notes=1)
    fake.drop("contacts.tasks.create", when="after")
    task = await ghl.contacts.tasks.create(cid, title="Call back", due_date=DUE, body="re: offer")
    fake.drop("contacts.notes.create", when="after")
    note = await ghl.contacts.notes.create(cid, body="Spoke on the phone")
    assert task.title == "Call back"
    assert note.body == "Spoke on the phone"
    assert [t.id for t in fake.tasks_of(cid) if t.title == "Call back"] == [task.id]
    assert [n.id for n in fake.notes_of(cid) if n.body == "Spoke on the phone"] == [note.id]
    assert fake.count(operation="contacts.tasks.create") == 1
    assert fake.count(operation="contacts.notes.create") == 1


@pytest.mark.parametrize(
    "mangle",
    [status(502), cut(), garbage, reset_mid],
    ids=["applied-then-502", "cut-short", "garbage", "reset-mid-body"],
)
async def test_every_ambiguous_answer_to_an_applied_create_is_reconciled(
    fake: FakeHighLevel, proxy: Proxy, mangle: Mangle
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=0)
    proxy.on("POST", "/contacts/", mangle)
    proxy.on("POST", r"/contacts/\w+/tasks", mangle)
    proxy.on("POST", r"/contacts/\w+/notes", mangle)
    async with via(proxy) as ghl:
        contact = await ghl.contacts.create(email="mangled@example.com")
        task = await ghl.contacts.tasks.create(cid, title="t", due_date=DUE, completed=False)
        note = await ghl.contacts.notes.create(cid, body="n")
    assert [c.id for c in fake.find_contacts(email="mangled@example.com")] == [contact.id]
    assert [t.id for t in fake.tasks_of(cid)] == [task.id]
    assert [n.id for n in fake.notes_of(cid)] == [note.id]
    assert proxy.forwarded.count("POST /contacts/") == 1


async def test_a_create_the_server_applies_after_the_client_gave_up_is_waited_for(
    fake: FakeHighLevel, proxy: Proxy
) -> None:
    # The note reaches the fake 0.5 s after the client timed out at 0.2 s: a lookup right
    # away finds nothing, and resending then would make two notes.
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=0)
    proxy.on("POST", r"/contacts/\w+/notes", late=0.5)
    async with via(proxy, timeout=0.2) as ghl:
        note = await ghl.contacts.notes.create(cid, body="slow but applied")
    assert [n.id for n in fake.notes_of(cid)] == [note.id]
    assert fake.count(operation="contacts.notes.create") == 1
    assert fake.count(operation="contacts.notes.list") >= 2  # looked until it appeared


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_slow_create_is_found_whether_applied_before_or_after_the_wait(
    fake: FakeHighLevel, when: str
) -> None:
    # The heavy profile's slow answer: 2 s, past a 1 s timeout; "before": the server sleeps
    # first and applies the note a second after the client gave up.
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=0)
    fake.slow("contacts.notes.create", 2.0, when=when)  # type: ignore[arg-type]
    async with make_client(fake, timeout=1.0) as ghl, ghl.with_options(
        reconcile_settle=30
    ) as patient:
        began = time.monotonic()
        note = await patient.contacts.notes.create(cid, body=f"slow {when}")
        waited = time.monotonic() - began
    await asyncio.sleep(1.2)  # let the slow request finish: a resend would show now
    assert [n.id for n in fake.notes_of(cid)] == [note.id]
    assert fake.count(operation="contacts.notes.create") == 1
    assert waited < 25  # a loose guard: found once it landed, not after the 30 s settle time


def _without(field: str) -> Mangle:
    """The answer with ``field`` taken out of every item of its list (cut on the way)."""

    async def mangle(request: web.Request, answer: Answer) -> web.StreamResponse:
        data = json.loads(answer.body)
        for items in data.values():
            for item in items if isinstance(items, list) else ():
                item.pop(field, None)
        return plain(answer, body=json.dumps(data).encode())

    return mangle


async def _null_item(request: web.Request, answer: Answer) -> web.StreamResponse:
    data = json.loads(answer.body)
    data["notes"] = [None, *data["notes"]]
    return plain(answer, body=json.dumps(data).encode())


@pytest.mark.parametrize("mangle", [_without("body"), _null_item], ids=["no-body", "null-item"])
async def test_an_unreadable_lookup_is_made_again_before_anything_is_resent(
    fake: FakeHighLevel, proxy: Proxy, mangle: Mangle
) -> None:
    # Read as it came, the first answer shows no note like ours: "absent", and a resend
    # would make two. An answer that needed repair proves nothing; the next one finds it.
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=1)
    proxy.on("GET", rf"/contacts/{cid}/notes", mangle)
    fake.drop("contacts.notes.create", when="after")
    async with via(proxy) as ghl:
        note = await ghl.contacts.notes.create(cid, body="applied, answer lost")
    assert note.body == "applied, answer lost"
    assert [n.body for n in fake.notes_of(cid)].count("applied, answer lost") == 1
    assert fake.count(operation="contacts.notes.create") == 1
    assert fake.count(operation="contacts.notes.list") == 2


async def test_a_duplicate_lookup_answering_another_contact_is_asked_again(
    fake: FakeHighLevel, proxy: Proxy
) -> None:
    proxy.on("GET", "/contacts/search/duplicate", _without_contact_email)
    fake.drop("contacts.create", when="after")
    async with via(proxy) as ghl:
        contact = await ghl.contacts.create(email="twice@example.com")
    assert [c.id for c in fake.find_contacts(email="twice@example.com")] == [contact.id]
    assert fake.count(operation="contacts.find_duplicate") == 2


async def _without_contact_email(request: web.Request, answer: Answer) -> web.StreamResponse:
    data = json.loads(answer.body)
    data["contact"].pop("email", None)
    return plain(answer, body=json.dumps(data).encode())


async def test_a_server_clock_an_hour_behind_does_not_hide_the_new_contact(
    fake: FakeHighLevel, proxy: Proxy
) -> None:
    # HighLevel stamps dateAdded with its clock; the Date header tells how far it is from
    # ours. A fixed margin of minutes would call this contact "older than the attempt".
    def shifted(text: str) -> str:
        when = datetime.fromisoformat(text.replace("Z", "+00:00")) - timedelta(hours=1)
        return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def walk(node: object) -> object:
        if isinstance(node, dict):
            return {k: shifted(v) if k == "dateAdded" and isinstance(v, str) else walk(v)
                    for k, v in node.items()}  # fmt: skip
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    async def an_hour_behind(request: web.Request, answer: Answer) -> web.StreamResponse:
        body = json.dumps(walk(json.loads(answer.body))).encode()
        date = email.utils.formatdate(time.time() - 3600, usegmt=True)
        return plain(answer, body=body, headers={"Date": date})

    proxy.on("GET", "/contacts/search/duplicate", an_hour_behind, times=None)
    fake.drop("contacts.create", when="after")
    async with via(proxy) as ghl:
        contact = await ghl.contacts.create(email="skew@example.com")
    assert [c.id for c in fake.find_contacts(email="skew@example.com")] == [contact.id]
    assert fake.count(operation="contacts.create") == 1


# --- the write was not applied: it is resent, once ---------------------------------------------


async def test_a_timed_out_create_still_absent_after_the_settle_time_is_resent(
    fake: FakeHighLevel, proxy: Proxy
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=0)
    lost = Answer(504, {"Content-Type": "text/html"}, b"<html>504</html>")
    proxy.on("POST", r"/contacts/\w+/notes", answer=lost, late=0.5)  # never reaches the fake
    async with via(proxy, timeout=0.2, reconcile_settle=0.3) as ghl:
        note = await ghl.contacts.notes.create(cid, body="lost, then resent")
    assert [n.id for n in fake.notes_of(cid)] == [note.id]
    assert fake.count(operation="contacts.notes.list") >= 2  # looked more than once


async def test_creates_dropped_before_they_were_applied_are_resent(
    fake: FakeHighLevel, ghl: Client
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=0)
    for operation in ("contacts.create", "contacts.tasks.create", "contacts.notes.create"):
        fake.drop(operation, when="before")
    contact = await ghl.contacts.create(phone="+15550001111")
    task = await ghl.contacts.tasks.create(cid, title="t", due_date=DUE, completed=False)
    note = await ghl.contacts.notes.create(cid, body="n")
    assert [c.id for c in fake.find_contacts(phone="+15550001111")] == [contact.id]
    assert [t.id for t in fake.tasks_of(cid)] == [task.id]
    assert [n.id for n in fake.notes_of(cid)] == [note.id]
    for operation in ("contacts.create", "contacts.tasks.create", "contacts.notes.create"):
        assert fake.count(operation=operation) == 2


async def test_absent_with_no_retry_left_is_an_ordinary_error(fake: FakeHighLevel) -> None:
    async with make_client(fake, max_retries=0) as ghl:
        fake.drop("contacts.create", when="before")
        with pytest.raises(TransportError) as caught:
            await ghl.contacts.create(email="absent@example.com")
        assert not isinstance(caught.value, AmbiguousWriteError)  # certainly not applied
        fake.fail("contacts.create", 502)
        with pytest.raises(ServerError) as refused:
            await ghl.contacts.create(email="absent@example.com")
        assert refused.value.__cause__ is None
    assert fake.find_contacts(email="absent@example.com") == []
    assert fake.count(operation="contacts.create") == 2


async def test_a_note_this_client_made_before_is_not_taken_for_the_new_one(
    fake: FakeHighLevel, ghl: Client
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=0)
    first = await ghl.contacts.notes.create(cid, body="same words")
    fake.drop("contacts.notes.create", when="before")
    second = await ghl.contacts.notes.create(cid, body="same words")  # meant twice: made twice
    assert first.id != second.id
    assert len(fake.notes_of(cid)) == 2


async def test_an_upsert_twin_is_searched_by_email_or_phone(
    fake: FakeHighLevel, ghl: Client
) -> None:
    fake.set_allow_duplicates(True)
    await ghl.contacts.create(email="pair@example.com", phone="+15550002222")
    fake.drop("contacts.upsert", when="after")
    result = await ghl.contacts.upsert(
        email="pair@example.com", phone="+15550002222", create_new_if_duplicate_allowed=True
    )
    assert result.new is True
    assert len(fake.find_contacts(email="pair@example.com")) == 2


# --- upsert with duplicates allowed: every call may create, so it is reconciled ----------------


async def test_upsert_with_duplicates_allowed_is_not_blindly_resent(
    fake: FakeHighLevel, ghl: Client
) -> None:
    fake.set_allow_duplicates(True)
    fake.drop("contacts.upsert", when="after")
    result = await ghl.contacts.upsert(
        email="twin@example.com", create_new_if_duplicate_allowed=True
    )
    assert isinstance(result, UpsertResult)
    assert result.new is True
    assert [c.id for c in fake.find_contacts(email="twin@example.com")] == [result.contact.id]
    assert fake.count(operation="contacts.upsert") == 1


async def test_a_new_twin_behind_an_older_contact_is_found_by_search(
    fake: FakeHighLevel, ghl: Client
) -> None:
    fake.set_allow_duplicates(True)
    older = await ghl.contacts.create(email="twin@example.com", first_name="Old")
    fake.drop("contacts.upsert", when="after")
    result = await ghl.contacts.upsert(
        email="twin@example.com", first_name="New", create_new_if_duplicate_allowed=True
    )
    assert (result.new, result.contact.first_name) == (True, "New")
    twins = fake.find_contacts(email="twin@example.com")
    assert [c.id for c in twins] == [older.id, result.contact.id]
    assert fake.count(operation="contacts.search") == 1


# --- undecidable: AmbiguousWriteError, saying what was checked ----------------------------------


async def test_an_older_twin_and_nothing_newer_is_undecidable(
    fake: FakeHighLevel, ghl: Client
) -> None:
    # The duplicate lookup shows only the older contact; search (which lags) shows nothing
    # newer. The upsert was in fact not applied, but nothing proves it: no resend.
    fake.set_allow_duplicates(True)
    older = await ghl.contacts.create(email="twin@example.com")
    fake.drop("contacts.upsert", when="before")
    with pytest.raises(AmbiguousWriteError) as caught:
        await ghl.contacts.upsert(email="twin@example.com", create_new_if_duplicate_allowed=True)
    err = caught.value
    assert err.operation == "contacts.upsert"
    assert err.checked == (
        f"GET /contacts/search/duplicate by email: only contact {older.id}, created before "
        "the attempt began",
        "POST /contacts/search by email: 0 contacts created since the attempt began "
        "(search lags by seconds: none is no proof)",
    )
    assert "no lookup settled it" in str(err)
    assert "twin@example.com" not in str(err)  # no PII in messages
    assert fake.count(operation="contacts.upsert") == 1


async def test_a_contact_without_email_or_phone_is_undecidable(
    fake: FakeHighLevel, ghl: Client
) -> None:
    fake.drop("contacts.create", when="after")
    with pytest.raises(AmbiguousWriteError) as caught:
        await ghl.contacts.create(first_name="Nameless")
    assert caught.value.checked == ("the body has no email or phone to look the contact up by",)
    assert fake.count(operation="contacts.create") == 1


async def test_two_candidates_are_undecidable(fake: FakeHighLevel, ghl: Client) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=0)
    async with make_client(fake) as other:  # another process writing the same note
        await other.contacts.notes.create(cid, body="same words")
    fake.drop("contacts.notes.create", when="after")
    with pytest.raises(AmbiguousWriteError) as caught:
        await ghl.contacts.notes.create(cid, body="same words")
    assert caught.value.checked == (
        f"GET /contacts/{cid}/notes: 2 notes like it created since the attempt; "
        "cannot tell which",
    )
    assert caught.value.status is None


async def test_a_failed_lookup_is_undecidable(fake: FakeHighLevel) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=0)
    async with make_client(fake, max_retries=1) as ghl:
        fake.fail("contacts.tasks.create", 502)
        fake.fail("contacts.tasks.list", 500, times=None)
        with pytest.raises(AmbiguousWriteError) as caught:
            await ghl.contacts.tasks.create(cid, title="t", due_date=DUE, completed=False)
    assert caught.value.checked == ("a lookup failed (ServerError)",)
    assert caught.value.status == 502
    assert fake.count(operation="contacts.tasks.create") == 1


async def test_a_2xx_that_applied_nothing_findable_is_undecidable(
    fake: FakeHighLevel, proxy: Proxy
) -> None:
    # A 201 says the write was applied, its body did not decode, and no lookup finds it.
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=0)
    proxy.on("POST", r"/contacts/\w+/notes", answer=Answer(201, {}, b"<html>ok</html>"))
    async with via(proxy) as ghl:
        with pytest.raises(AmbiguousWriteError) as caught:
            await ghl.contacts.notes.create(cid, body="where is it")
    assert caught.value.checked[-1] == (
        "the server answered 2xx, so the write was applied, but no lookup found it"
    )
    assert caught.value.status == 201
    assert fake.notes_of(cid) == []


async def test_a_route_of_your_own_without_a_usable_key_is_undecidable(
    fake: FakeHighLevel, ghl: Client
) -> None:
    (cid,) = fake.seed_contacts(1, business_id=None, tasks=0, notes=0)
    odd = Route(
        name="custom.note", operation_id="create-note", method="POST",
        path="/contacts/{contact_id}/notes", scope="contacts.write", status=201,
        response=Note, envelope="note", body=CreateNote, write="reconcile", natural_key="task",
    )  # fmt: skip
    fake.drop("contacts.notes.create", when="after")
    with pytest.raises(AmbiguousWriteError) as caught:
        await ghl.call(odd, path={"contact_id": cid}, body=CreateNote(body="n"))
    assert caught.value.checked == ("custom.note has no natural key to look up",)


async def test_reconciliation_can_be_switched_off(fake: FakeHighLevel) -> None:
    async with make_client(fake) as ghl:
        careful = ghl.with_options(reconcile_writes=False)
        assert (ghl.reconcile_writes, careful.reconcile_writes) == (True, False)
        fake.drop("contacts.create", when="after")
        with pytest.raises(AmbiguousWriteError) as caught:
            await careful.contacts.create(email="off@example.com")
        assert caught.value.checked == ("nothing: reconcile_writes is off",)
        assert fake.count(operation="contacts.find_duplicate") == 0
        fake.drop("contacts.create", when="after")
        assert (await careful.with_options(reconcile_writes=True).contacts.create(
            email="on@example.com")).email == "on@example.com"  # fmt: skip
    async with Client(
        auth=StaticToken(fake.private_token), location_id=fake.location_id,
        base_url=fake.base_url, reconcile_writes=False,
    ) as off:  # fmt: skip
        assert off.reconcile_writes is False

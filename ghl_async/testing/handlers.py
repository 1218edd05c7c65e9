"""One handler per route of ``ghl_async.routes``: the behaviour of the 32 Contacts operations.

This is the handler set of API version ``2021-07-28`` (registered in
:mod:`ghl_async.testing.apis`); another version is another module like this one.

A handler receives a :class:`Call` whose body and query were already decoded with the route's
strict Structs and whose token was already checked, and returns a :class:`Reply` (the JSON
payload, and whether state changed). HighLevel's quirks live here: ``succeded`` (sic), the
duplicate-contact 400 with ``meta``, unknown ids as 400 ``"Contact with id … not found"``
(CONTACTS-API.md §10), ``tags`` replacing all tags on update/upsert, and the per-endpoint
contact shapes of :mod:`ghl_async.testing.shapes`.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, TypeVar
from urllib.parse import urlencode

import msgspec
from msgspec import UNSET

from ghl_async import defaults
from ghl_async import models as m
from ghl_async import models_v3 as m3
from ghl_async.testing import shapes
from ghl_async.testing.edits import (
    ContactChanges,
    apply_contact_fields,
    check_email,
    clean_tags,
    parse_iso_datetime,
)
from ghl_async.testing.replies import ApiFailure, Reply
from ghl_async.testing.search import Predicate, SearchPlan, compile_filters, compile_sort
from ghl_async.testing.store import (
    CHANGES,
    ContactRecord,
    LocationRecord,
    NoteRecord,
    Store,
    TaskRecord,
    now_ms,
)

__all__ = ["HANDLERS", "Call", "Handler", "create", "number_string", "searched", "update", "upsert"]

S = TypeVar("S", bound=msgspec.Struct)
ACK: Final = {"succeded": True}
NO_ACCESS: Final = "The token does not have access to this location."
_SEARCH_CACHE_SIZE: Final = 8


@dataclass(slots=True)
class Call:
    """One authenticated request, decoded."""

    store: Store
    location_id: str  # the token's location
    params: Mapping[str, str]
    body: msgspec.Struct | None
    query: msgspec.Struct | None
    trace_id: str
    origin: str  # scheme://host:port, for nextPageUrl

    def body_as(self, kind: type[S]) -> S:
        """The decoded body, typed."""
        if not isinstance(self.body, kind):  # pragma: no cover - the route table guarantees it
            raise TypeError(f"expected a {kind.__name__} body")
        return self.body

    def query_as(self, kind: type[S]) -> S:
        """The decoded query string, typed."""
        if not isinstance(self.query, kind):  # pragma: no cover - the route table guarantees it
            raise TypeError(f"expected a {kind.__name__} query")
        return self.query

    @property
    def location(self) -> LocationRecord:
        """The token's location."""
        return self.store.locations[self.location_id]

    def contact(self) -> ContactRecord:
        """The contact named by ``{contact_id}``: 400 when unknown, 403 when not ours."""
        contact_id = self.params["contact_id"]
        contact = self.store.contacts.get(contact_id)
        if contact is None:
            raise ApiFailure(400, f"Contact with id {contact_id} not found")
        if contact.location_id != self.location_id:
            raise ApiFailure(403, NO_ACCESS)
        return contact

    def task(self, contact: ContactRecord) -> TaskRecord:
        """The task named by ``{task_id}`` on ``contact``."""
        task_id = self.params["task_id"]
        task = contact.tasks.get(task_id)
        if task is None:
            raise ApiFailure(400, f"Task with id {task_id} not found")
        return task

    def note(self, contact: ContactRecord) -> NoteRecord:
        """The note named by ``{note_id}`` on ``contact``."""
        note_id = self.params["note_id"]
        note = contact.notes.get(note_id)
        if note is None:
            raise ApiFailure(400, f"Note with id {note_id} not found")
        return note


Handler = Callable[[Call], Reply]


def _emit_contact_changes(store: Store, contact: ContactRecord, changes: ContactChanges) -> None:
    if not changes.changed:
        return
    store.emit("ContactUpdate", lambda: shapes.contact_webhook(contact))
    if changes.tags:
        store.emit("ContactTagUpdate", lambda: shapes.contact_webhook(contact))
    if changes.dnd:
        store.emit("ContactDndUpdate", lambda: shapes.contact_webhook(contact))


def _duplicate(contact: ContactRecord, matched: str) -> ApiFailure:
    return ApiFailure(
        400,
        "This location does not allow duplicated contacts.",
        meta={
            "contactId": contact.id,
            "contactName": contact.name or contact.email or contact.phone or "",
            "matchingField": matched,
        },
    )


def _new_contact(call: Call, body: m.CreateContact | m3.CreateContactV3) -> ContactRecord:
    stamp = call.store.stamp()
    contact = ContactRecord(
        id=call.store.new_id(), location_id=call.location_id, added_ms=stamp, updated_ms=stamp
    )
    apply_contact_fields(call.store, contact, body)
    contact.updated_ms = stamp
    return contact


def _insert(call: Call, contact: ContactRecord) -> None:
    call.store.insert(contact)
    call.store.emit("ContactCreate", lambda: shapes.contact_webhook(contact))


# --- contacts ---------------------------------------------------------------------------------


def get_contact(call: Call) -> Reply:
    """``GET /contacts/{contactId}``."""
    return Reply({"contact": shapes.contact_full(call.contact())})


def create(call: Call, body: m.CreateContact | m3.CreateContactV3) -> ContactRecord:
    """Create a contact from ``body`` (any version's); 400 with ``meta`` on a duplicate."""
    contact = _new_contact(call, body)
    location = call.location
    if not location.allow_duplicates:
        match = call.store.find_match(location, contact.email, contact.phone)
        if match is not None:
            raise _duplicate(*match)
    _insert(call, contact)
    return contact


def create_contact(call: Call) -> Reply:
    """``POST /contacts/``: 400 with ``meta`` when the e-mail or phone already exists."""
    contact = create(call, call.body_as(m.CreateContact))
    return Reply({"contact": shapes.contact_created(contact)}, applied=True)


def update(
    call: Call, body: m.UpdateContact | m3.UpdateContactV3
) -> tuple[ContactRecord, ContactChanges]:
    """Apply an update ``body`` (any version's) to the contact of the path."""
    contact = call.contact()
    location = call.location
    if not location.allow_duplicates:
        email = check_email(body.email) if isinstance(body.email, str) and body.email else None
        phone = body.phone if isinstance(body.phone, str) else None
        match = call.store.find_match(location, email, phone, exclude=contact.id)
        if match is not None:
            raise _duplicate(*match)
    changes = apply_contact_fields(call.store, contact, body)
    _emit_contact_changes(call.store, contact, changes)
    return contact, changes


def update_contact(call: Call) -> Reply:
    """``PUT /contacts/{contactId}``: set fields replace, ``tags`` replaces all tags."""
    contact, changes = update(call, call.body_as(m.UpdateContact))
    return Reply(
        {"succeded": True, "contact": shapes.contact_full(contact)}, applied=changes.changed
    )


def delete_contact(call: Call) -> Reply:
    """``DELETE /contacts/{contactId}``: the contact and its tasks, notes, appointments."""
    contact = call.contact()
    call.store.emit("ContactDelete", lambda: shapes.contact_webhook(contact))
    call.store.remove(contact)
    return Reply(ACK, applied=True)


def upsert(
    call: Call, body: m.UpsertContact | m3.UpsertContactV3
) -> tuple[ContactRecord, bool, bool]:
    """Upsert ``body`` (any version's): the contact, whether it is new, whether it changed."""
    email = body.email if isinstance(body.email, str) and body.email.strip() else None
    phone = body.phone if isinstance(body.phone, str) and body.phone.strip() else None
    if email is None and phone is None:
        raise ApiFailure(400, "Either email or phone is required to upsert a contact.")
    if email is not None:
        email = check_email(email)
    location = call.location
    always_new = body.create_new_if_duplicate_allowed is True and location.allow_duplicates
    match = None if always_new else call.store.find_match(location, email, phone)
    if match is None:
        contact = _new_contact(call, body)
        _insert(call, contact)
        return contact, True, True
    contact = match[0]
    # HighLevel ignores gender when the upsert lands on an existing contact (issue #313).
    changes = apply_contact_fields(call.store, contact, msgspec.structs.replace(body, gender=UNSET))
    _emit_contact_changes(call.store, contact, changes)
    return contact, False, changes.changed


def upsert_contact(call: Call) -> Reply:
    """``POST /contacts/upsert``: match by e-mail, then phone; create when nothing matches."""
    contact, new, applied = upsert(call, call.body_as(m.UpsertContact))
    payload = {"new": new, "contact": shapes.contact_full(contact), "traceId": call.trace_id}
    return Reply(payload, applied=applied)


def number_string(value: str | msgspec.UnsetType, name: str, default: int, top: int) -> int:
    if value is UNSET:
        return default
    text = str(value).strip()
    if not text.isdigit():
        raise ApiFailure(422, [f"{name} must be a number string"])
    number = int(text)
    if number > top:
        raise ApiFailure(422, [f"{name} must not be greater than {top}"])
    return number


def list_business_contacts(call: Call) -> Reply:
    """``GET /contacts/business/{businessId}``: ``limit``/``skip`` offsets, ``count`` total."""
    query = call.query_as(m.BusinessContactsQuery)
    limit = number_string(query.limit, "limit", 25, defaults.BUSINESS_PAGE_LIMIT)
    if limit < 1:
        raise ApiFailure(422, ["limit must not be less than 1"])
    skip = number_string(query.skip, "skip", 0, 10**9)
    store = call.store
    ids = store.business_members(call.location_id, call.params["business_id"])
    contacts = store.contacts
    if isinstance(query.query, str) and query.query:
        needle = query.query.lower()
        ids = [i for i in ids if needle in contacts[i].text()]
    page = [shapes.summary_raw(contacts[i]) for i in ids[skip : skip + limit]]
    return Reply({"contacts": page, "count": len(ids)})


def list_contacts(call: Call) -> Reply:
    """``GET /contacts/`` (deprecated): ``startAfterId``/``startAfter`` cursor and ``meta``."""
    query = call.query_as(m.ListContactsQuery)
    limit = 20 if query.limit is UNSET else query.limit
    if limit > defaults.LIST_PAGE_LIMIT:
        raise ApiFailure(422, [f"limit must not be greater than {defaults.LIST_PAGE_LIMIT}"])
    if limit < 1:
        raise ApiFailure(422, ["limit must not be less than 1"])
    store = call.store
    keys = call.location.order
    if isinstance(query.query, str) and query.query:
        needle = query.query.lower()
        keys = [key for key in keys if needle in store.contacts[key[1]].text()]
    start = 0
    if isinstance(query.start_after_id, str):
        if isinstance(query.start_after, int):
            after = (query.start_after, query.start_after_id)
        else:
            anchor = store.contacts.get(query.start_after_id)
            if anchor is None or anchor.location_id != call.location_id:
                raise ApiFailure(400, f"Contact with id {query.start_after_id} not found")
            after = anchor.key
        start = bisect.bisect_right(keys, after)
    elif isinstance(query.start_after, int):
        start = bisect.bisect_right(keys, (query.start_after, "\U0010ffff"))
    chunk = keys[start : start + limit]
    total = len(keys)
    more = start + len(chunk) < total
    current = start // limit + 1
    next_url = None
    if more and chunk:
        params = {
            "locationId": call.location_id,
            "startAfter": chunk[-1][0],
            "startAfterId": chunk[-1][1],
            "limit": limit,
        }
        if isinstance(query.query, str) and query.query:
            params["query"] = query.query
        next_url = f"{call.origin}/contacts/?{urlencode(params)}"
    meta = {
        "total": total,
        "nextPageUrl": next_url,
        "startAfterId": chunk[-1][1] if chunk else None,
        "startAfter": chunk[-1][0] if chunk else None,
        "currentPage": current,
        "nextPage": current + 1 if more else None,
        "prevPage": current - 1 if current > 1 else None,
    }
    page = [shapes.summary_raw(store.contacts[contact_id]) for _, contact_id in chunk]
    return Reply({"contacts": page, "count": total, "meta": meta})


def search_contacts(call: Call) -> Reply:
    """``POST /contacts/search``: filters, sort, ``page``/``pageLimit`` or ``searchAfter``."""
    body = call.body_as(m.SearchBody)
    if body.page_limit > defaults.SEARCH_PAGE_LIMIT:
        raise ApiFailure(422, [f"pageLimit must not be greater than {defaults.SEARCH_PAGE_LIMIT}"])
    if body.page_limit < 1:
        raise ApiFailure(422, ["pageLimit must not be less than 1"])
    if isinstance(body.page, int) and body.page < 1:
        raise ApiFailure(422, ["page must not be less than 1"])
    if body.page is not UNSET and body.search_after is not UNSET:
        raise ApiFailure(422, ["page and searchAfter cannot be used together"])
    filters = body.filters if isinstance(body.filters, list) else []
    sort = body.sort if isinstance(body.sort, list) else []
    text = body.query if isinstance(body.query, str) else None
    predicate = compile_filters(filters, text)  # compiled every time: it validates
    plan = compile_sort(sort)
    contacts = searched(call, predicate, plan, msgspec.json.encode([filters, sort, text]))
    if isinstance(body.search_after, list):
        start = plan.after(contacts, body.search_after)
    else:
        page = body.page if isinstance(body.page, int) else 1
        if page * body.page_limit > defaults.SEARCH_PAGE_CEILING:
            raise ApiFailure(
                400,
                f"page * pageLimit must not exceed {defaults.SEARCH_PAGE_CEILING}: page-based "
                "search reaches the first 10,000 records only; use searchAfter beyond them",
            )
        start = (page - 1) * body.page_limit
    chunk = contacts[start : start + body.page_limit]
    found = [shapes.contact_searched(c, plan.cursor(c)) for c in chunk]
    return Reply({"contacts": found, "total": len(contacts)})


def searched(
    call: Call, predicate: Predicate | None, plan: SearchPlan, criteria: bytes
) -> list[ContactRecord]:
    store = call.store
    key = (call.location_id, criteria)
    cached = store.search_cache.get(key)
    if cached is not None and cached[0] == CHANGES.value:
        return cached[1]
    contacts = store.contacts_in(call.location_id)
    if predicate is not None:
        contacts = [c for c in contacts if predicate(c)]
    plan.sort(contacts)
    if len(store.search_cache) >= _SEARCH_CACHE_SIZE:
        store.search_cache.pop(next(iter(store.search_cache)))
    store.search_cache[key] = (CHANGES.value, contacts)
    return contacts


def find_duplicate(call: Call) -> Reply:
    """``GET /contacts/search/duplicate``: e-mail first, then ``number``."""
    query = call.query_as(m.DuplicateQuery)
    email = query.email if isinstance(query.email, str) and query.email else None
    number = query.number if isinstance(query.number, str) and query.number else None
    if email is None and number is None:
        raise ApiFailure(422, ["email or number should not be empty"])
    match = call.store.find_match(call.location, email, number)
    return Reply({"contact": shapes.contact_full(match[0]) if match else None})


# --- tags, followers, campaigns, workflows ----------------------------------------------------


def _set_tags(call: Call, contact: ContactRecord, tags: list[str]) -> bool:
    if tags == contact.tags:
        return False
    contact.tags = tags
    contact.touch()
    call.store.emit("ContactTagUpdate", lambda: shapes.contact_webhook(contact))
    return True


def add_tags(call: Call) -> Reply:
    """``POST /contacts/{contactId}/tags``: the contact's tags afterwards."""
    body = call.body_as(m.Tags)
    contact = call.contact()
    applied = _set_tags(call, contact, clean_tags([*contact.tags, *body.tags]))
    return Reply({"tags": list(contact.tags)}, applied=applied)


def remove_tags(call: Call) -> Reply:
    """``DELETE /contacts/{contactId}/tags`` (JSON body): the tags left."""
    body = call.body_as(m.Tags)
    contact = call.contact()
    gone = set(clean_tags(body.tags))
    applied = _set_tags(call, contact, [tag for tag in contact.tags if tag not in gone])
    return Reply({"tags": list(contact.tags)}, applied=applied)


def bulk_update_tags(call: Call) -> Reply:
    """``POST /contacts/bulk/tags/update/{type}`` with ``type`` ``add`` or ``remove``."""
    kind = call.params["type"]
    if kind not in ("add", "remove"):
        raise ApiFailure(422, ["type must be one of the following values: add, remove"])
    body = call.body_as(m.BulkTagsUpdate)
    remove_all = body.remove_all_tags is True
    if remove_all and kind != "remove":
        raise ApiFailure(422, ["removeAllTags can only be used with the remove type"])
    if not body.contacts:
        raise ApiFailure(422, ["contacts should not be empty"])
    if not body.tags and not remove_all:
        raise ApiFailure(422, ["tags should not be empty"])
    tags = clean_tags(body.tags)
    unwanted = set(tags)
    responses: list[str] = []
    errors = 0
    applied = False
    for contact_id in body.contacts:
        contact = call.store.contacts.get(contact_id)
        if contact is None:
            errors += 1
            responses.append(f"{contact_id}: contact not found")
            continue
        if contact.location_id != call.location_id:
            errors += 1
            responses.append(f"{contact_id}: contact does not belong to location")
            continue
        if kind == "add":
            wanted = clean_tags([*contact.tags, *tags])
        else:
            wanted = [] if remove_all else [t for t in contact.tags if t not in unwanted]
        applied |= _set_tags(call, contact, wanted)
        # The spec declares `responses` as strings (its example shows objects).
        responses.append(f"{contact_id}: Tags updated")
    return Reply({"succeded": True, "errorCount": errors, "responses": responses}, applied=applied)


def bulk_set_business(call: Call) -> Reply:
    """``POST /contacts/bulk/business``: attach to ``businessId``, or detach with null."""
    body = call.body_as(m.BulkBusinessUpdate)
    updated: list[str] = []
    applied = False
    for contact_id in body.ids:
        contact = call.store.contacts.get(contact_id)
        if contact is None or contact.location_id != call.location_id:
            continue
        if call.store.set_business(contact, body.business_id):
            contact.touch()
            applied = True
            _emit_contact_changes(call.store, contact, ContactChanges(changed=True))
        updated.append(contact_id)
    return Reply({"success": True, "ids": updated}, applied=applied)


def add_followers(call: Call) -> Reply:
    """``POST /contacts/{contactId}/followers``."""
    body = call.body_as(m.Followers)
    contact = call.contact()
    added = [user for user in clean_tags(body.followers) if user not in contact.followers]
    if added:
        contact.followers.extend(added)
        contact.touch()
    return Reply(
        {"followers": list(contact.followers), "followersAdded": added}, applied=bool(added)
    )


def remove_followers(call: Call) -> Reply:
    """``DELETE /contacts/{contactId}/followers`` (JSON body)."""
    body = call.body_as(m.Followers)
    contact = call.contact()
    gone = set(body.followers)
    removed = [user for user in contact.followers if user in gone]
    if removed:
        contact.followers = [user for user in contact.followers if user not in gone]
        contact.touch()
    return Reply(
        {"followers": list(contact.followers), "followersRemoved": removed}, applied=bool(removed)
    )


def add_to_campaign(call: Call) -> Reply:
    """``POST /contacts/{contactId}/campaigns/{campaignId}`` (body ``{}``)."""
    call.body_as(m.CampaignBody)
    contact = call.contact()
    campaign_id = call.params["campaign_id"]
    applied = campaign_id not in contact.campaigns
    contact.campaigns[campaign_id] = None
    return Reply(ACK, applied=applied)


def remove_from_campaign(call: Call) -> Reply:
    """``DELETE /contacts/{contactId}/campaigns/{campaignId}``."""
    contact = call.contact()
    campaign_id = call.params["campaign_id"]
    applied = campaign_id in contact.campaigns
    contact.campaigns.pop(campaign_id, None)
    return Reply(ACK, applied=applied)


def remove_from_all_campaigns(call: Call) -> Reply:
    """``DELETE /contacts/{contactId}/campaigns/removeAll``."""
    contact = call.contact()
    applied = bool(contact.campaigns)
    contact.campaigns.clear()
    return Reply(ACK, applied=applied)


def add_to_workflow(call: Call) -> Reply:
    """``POST /contacts/{contactId}/workflow/{workflowId}``."""
    body = call.body_as(m.WorkflowBody)
    contact = call.contact()
    start = None
    if isinstance(body.event_start_time, str):
        start = parse_iso_datetime(body.event_start_time, "eventStartTime")
    workflow_id = call.params["workflow_id"]
    applied = contact.workflows.get(workflow_id, "") != start
    contact.workflows[workflow_id] = start
    return Reply(ACK, applied=applied)


def remove_from_workflow(call: Call) -> Reply:
    """``DELETE /contacts/{contactId}/workflow/{workflowId}`` (JSON body)."""
    call.body_as(m.WorkflowBody)
    contact = call.contact()
    workflow_id = call.params["workflow_id"]
    applied = workflow_id in contact.workflows
    contact.workflows.pop(workflow_id, None)
    return Reply(ACK, applied=applied)


# --- tasks ------------------------------------------------------------------------------------


def list_tasks(call: Call) -> Reply:
    """``GET /contacts/{contactId}/tasks``."""
    contact = call.contact()
    return Reply({"tasks": [shapes.task_wire(task) for task in contact.tasks.values()]})


def get_task(call: Call) -> Reply:
    """``GET /contacts/{contactId}/tasks/{taskId}``."""
    contact = call.contact()
    return Reply({"task": shapes.task_wire(call.task(contact))})


def _task_completed(call: Call, task: TaskRecord) -> None:
    location_id = call.location_id
    call.store.emit("TaskComplete", lambda: shapes.task_webhook(task, location_id))


def create_task(call: Call) -> Reply:
    """``POST /contacts/{contactId}/tasks``."""
    body = call.body_as(m.CreateTask)
    contact = call.contact()
    if not body.title.strip():
        raise ApiFailure(422, ["title should not be empty"])
    task = TaskRecord(
        id=call.store.new_id(),
        contact_id=contact.id,
        title=body.title,
        due_date=parse_iso_datetime(body.due_date, "dueDate"),
        completed=body.completed,
        body=body.body if isinstance(body.body, str) else None,
        assigned_to=body.assigned_to if isinstance(body.assigned_to, str) else None,
        added_ms=now_ms(),
    )
    contact.tasks[task.id] = task
    location_id = call.location_id
    call.store.emit("TaskCreate", lambda: shapes.task_webhook(task, location_id))
    return Reply({"task": shapes.task_wire(task)}, applied=True)


def update_task(call: Call) -> Reply:
    """``PUT /contacts/{contactId}/tasks/{taskId}``."""
    body = call.body_as(m.UpdateTask)
    contact = call.contact()
    task = call.task(contact)
    due = parse_iso_datetime(body.due_date, "dueDate") if isinstance(body.due_date, str) else None
    was_completed = task.completed
    before = (task.title, task.body, task.due_date, task.completed, task.assigned_to)
    if isinstance(body.title, str):
        task.title = body.title
    if isinstance(body.body, str):
        task.body = body.body
    if due is not None:
        task.due_date = due
    if isinstance(body.completed, bool):
        task.completed = body.completed
    if isinstance(body.assigned_to, str):
        task.assigned_to = body.assigned_to
    if task.completed and not was_completed:
        _task_completed(call, task)
    after = (task.title, task.body, task.due_date, task.completed, task.assigned_to)
    return Reply({"task": shapes.task_wire(task)}, applied=before != after)


def complete_task(call: Call) -> Reply:
    """``PUT /contacts/{contactId}/tasks/{taskId}/completed`` (can also un-complete)."""
    body = call.body_as(m.TaskStatus)
    contact = call.contact()
    task = call.task(contact)
    applied = task.completed != body.completed
    task.completed = body.completed
    if applied and task.completed:
        _task_completed(call, task)
    return Reply({"task": shapes.task_wire(task)}, applied=applied)


def delete_task(call: Call) -> Reply:
    """``DELETE /contacts/{contactId}/tasks/{taskId}``."""
    contact = call.contact()
    task = call.task(contact)
    del contact.tasks[task.id]
    location_id = call.location_id
    call.store.emit("TaskDelete", lambda: shapes.task_webhook(task, location_id))
    return Reply(ACK, applied=True)


# --- notes ------------------------------------------------------------------------------------


def list_notes(call: Call) -> Reply:
    """``GET /contacts/{contactId}/notes``."""
    contact = call.contact()
    return Reply({"notes": [shapes.note_wire(note) for note in contact.notes.values()]})


def get_note(call: Call) -> Reply:
    """``GET /contacts/{contactId}/notes/{id}``."""
    contact = call.contact()
    return Reply({"note": shapes.note_wire(call.note(contact))})


def create_note(call: Call) -> Reply:
    """``POST /contacts/{contactId}/notes``."""
    body = call.body_as(m.CreateNote)
    contact = call.contact()
    if not body.body.strip():
        raise ApiFailure(422, ["body should not be empty"])
    note = NoteRecord(
        id=call.store.new_id(),
        contact_id=contact.id,
        body=body.body,
        user_id=body.user_id if isinstance(body.user_id, str) else None,
        title=body.title if isinstance(body.title, str) else None,
        color=body.color if isinstance(body.color, str) else None,
        pinned=body.pinned if isinstance(body.pinned, bool) else None,
        added_ms=now_ms(),
    )
    contact.notes[note.id] = note
    location_id = call.location_id
    call.store.emit("NoteCreate", lambda: shapes.note_webhook(note, location_id))
    return Reply({"note": shapes.note_wire(note)}, applied=True)


def update_note(call: Call) -> Reply:
    """``PUT /contacts/{contactId}/notes/{id}``."""
    body = call.body_as(m.UpdateNote)
    contact = call.contact()
    note = call.note(contact)
    before = (note.body, note.user_id, note.title, note.color, note.pinned)
    for name in body.__struct_fields__:
        value = getattr(body, name)
        if value is not UNSET:
            setattr(note, name, value)
    applied = before != (note.body, note.user_id, note.title, note.color, note.pinned)
    if applied:
        location_id = call.location_id
        call.store.emit("NoteUpdate", lambda: shapes.note_webhook(note, location_id))
    return Reply({"note": shapes.note_wire(note)}, applied=applied)


def delete_note(call: Call) -> Reply:
    """``DELETE /contacts/{contactId}/notes/{id}``."""
    contact = call.contact()
    note = call.note(contact)
    del contact.notes[note.id]
    location_id = call.location_id
    call.store.emit("NoteDelete", lambda: shapes.note_webhook(note, location_id))
    return Reply(ACK, applied=True)


# --- appointments -----------------------------------------------------------------------------


def list_appointments(call: Call) -> Reply:
    """``GET /contacts/{contactId}/appointments``: ``{"events": [...]}``."""
    contact = call.contact()
    return Reply({"events": [shapes.appointment_wire(a) for a in contact.appointments]})


HANDLERS: Final[dict[str, Handler]] = {
    "contacts.get": get_contact,
    "contacts.create": create_contact,
    "contacts.update": update_contact,
    "contacts.delete": delete_contact,
    "contacts.upsert": upsert_contact,
    "contacts.list_by_business": list_business_contacts,
    "contacts.list": list_contacts,
    "contacts.search": search_contacts,
    "contacts.find_duplicate": find_duplicate,
    "contacts.add_tags": add_tags,
    "contacts.remove_tags": remove_tags,
    "contacts.bulk_update_tags": bulk_update_tags,
    "contacts.bulk_set_business": bulk_set_business,
    "contacts.add_followers": add_followers,
    "contacts.remove_followers": remove_followers,
    "contacts.add_to_campaign": add_to_campaign,
    "contacts.remove_from_campaign": remove_from_campaign,
    "contacts.remove_from_all_campaigns": remove_from_all_campaigns,
    "contacts.add_to_workflow": add_to_workflow,
    "contacts.remove_from_workflow": remove_from_workflow,
    "contacts.tasks.list": list_tasks,
    "contacts.tasks.get": get_task,
    "contacts.tasks.create": create_task,
    "contacts.tasks.update": update_task,
    "contacts.tasks.complete": complete_task,
    "contacts.tasks.delete": delete_task,
    "contacts.notes.list": list_notes,
    "contacts.notes.get": get_note,
    "contacts.notes.create": create_note,
    "contacts.notes.update": update_note,
    "contacts.notes.delete": delete_note,
    "contacts.appointments.list": list_appointments,
}
"""Route name -> handler; the server refuses to start if this and the route table differ."""

"""The handler set of API version ``v3`` (``contacts-v3.json``): 31 Contacts operations.

Registered in :mod:`ghl_async.testing.apis`; the same store, the same checks and the same
behaviour as the v2 set (:mod:`ghl_async.testing.handlers`), with v3's shapes
(CONTACTS-API.md §5):

* request bodies are the v3 Structs (lower-camel DND keys; a v2 key is a 422);
* contacts carry lower-camel DND keys, and a create answers with the full contact;
* success flags are ``succeeded`` with the deprecated ``succeded`` beside it, except update,
  which answers ``{"succeeded", "contact"}`` only;
* an unknown contact, task or note is 404 ``NotFoundDTO`` (v2 answers 400);
* the business listing is ordered by lower-cased name, then id, and takes a ``startAfter``
  cursor, the ``[name, id]`` of the last contact seen (two parameters, or one "name,id");
* ``GET /contacts/`` is gone, and removing a contact from every campaign is ``.../remove-all``.
"""

from __future__ import annotations

import bisect
import functools
from typing import Final

from msgspec import UNSET

from ghl_async import defaults
from ghl_async import models_v3 as m3
from ghl_async.testing import handlers as v2
from ghl_async.testing import shapes
from ghl_async.testing.handlers import Call, Handler, number_string
from ghl_async.testing.replies import ApiFailure, Reply
from ghl_async.testing.store import CHANGES, ContactRecord

__all__ = ["HANDLERS_V3"]


def _v3(handler: Handler) -> Handler:
    """Serve ``handler`` the v3 way: 404 for unknown ids, ``succeeded`` beside ``succeded``."""

    @functools.wraps(handler)
    def serve(call: Call) -> Reply:
        try:
            reply = handler(call)
        except ApiFailure as failure:
            message = failure.message
            if failure.status == 400 and isinstance(message, str) and message.endswith("not found"):
                raise ApiFailure(404, message, headers=failure.headers) from None
            raise
        payload = reply.payload
        if isinstance(payload, dict) and "succeded" in payload and "succeeded" not in payload:
            reply.payload = {"succeeded": payload["succeded"], **payload}
        return reply

    return serve


def get_contact(call: Call) -> Reply:
    """``GET /contacts/{contactId}``."""
    return Reply({"contact": shapes.contact_full_v3(call.contact())})


def create_contact(call: Call) -> Reply:
    """``POST /contacts/``: the full contact (``GetContactByIdSchemaV3``)."""
    contact = v2.create(call, call.body_as(m3.CreateContactV3))
    return Reply({"contact": shapes.contact_full_v3(contact)}, applied=True)


def update_contact(call: Call) -> Reply:
    """``PUT /contacts/{contactId}``: ``{"succeeded", "contact"}`` (no ``succeded``)."""
    contact, changes = v2.update(call, call.body_as(m3.UpdateContactV3))
    payload = {"succeeded": True, "contact": shapes.contact_full_v3(contact)}
    return Reply(payload, applied=changes.changed)


def upsert_contact(call: Call) -> Reply:
    """``POST /contacts/upsert``."""
    contact, new, applied = v2.upsert(call, call.body_as(m3.UpsertContactV3))
    payload = {"new": new, "contact": shapes.contact_full_v3(contact), "traceId": call.trace_id}
    return Reply(payload, applied=applied)


def find_duplicate(call: Call) -> Reply:
    """``GET /contacts/search/duplicate``."""
    reply = v2.find_duplicate(call)
    payload = reply.payload
    assert isinstance(payload, dict)
    found = payload["contact"]
    if isinstance(found, dict):
        reply.payload = {"contact": shapes.contact_v3(found)}
    return reply


def search_contacts(call: Call) -> Reply:
    """``POST /contacts/search``: the v2 search, contacts with v3 DND keys."""
    reply = v2.search_contacts(call)
    payload = reply.payload
    assert isinstance(payload, dict)
    payload["contacts"] = [shapes.contact_v3(contact) for contact in payload["contacts"]]
    return reply


def _start_after(values: list[str]) -> tuple[str, str]:
    # Two parameters (name, id), or one "name,id" (the spec allows both). Ids have no comma.
    if len(values) == 1 and "," in values[0]:
        name, _, contact_id = values[0].rpartition(",")
        return name, contact_id
    if len(values) != 2:
        raise ApiFailure(422, ["startAfter must be a [name, id] pair"])
    return values[0], values[1]


def _order(contact: ContactRecord) -> tuple[str, str]:
    return (contact.name or "").lower(), contact.id


def list_business_contacts(call: Call) -> Reply:
    """``GET /contacts/business/{businessId}``: by name then id; ``skip`` or ``startAfter``."""
    query = call.query_as(m3.BusinessContactsQueryV3)
    limit = number_string(query.limit, "limit", 25, defaults.BUSINESS_PAGE_LIMIT)
    if limit < 1:
        raise ApiFailure(422, ["limit must not be less than 1"])
    if query.skip is not UNSET and query.start_after is not UNSET:
        raise ApiFailure(422, ["skip and startAfter cannot be used together"])
    skip = number_string(query.skip, "skip", 0, 10**9)
    store = call.store
    business_id = call.params["business_id"]
    text = query.query.lower() if isinstance(query.query, str) else ""
    key = (call.location_id, f"v3-business\x00{business_id}\x00{text}".encode())
    cached = store.search_cache.get(key)
    if cached is not None and cached[0] == CHANGES.value:
        ordered = cached[1]
    else:
        contacts = store.contacts
        ordered = [contacts[i] for i in store.business_members(call.location_id, business_id)]
        if text:
            ordered = [c for c in ordered if text in c.text()]
        ordered.sort(key=_order)
        if len(store.search_cache) >= 8:
            store.search_cache.pop(next(iter(store.search_cache)))
        store.search_cache[key] = (CHANGES.value, ordered)
    if isinstance(query.start_after, list):
        name, contact_id = _start_after(query.start_after)
        skip = bisect.bisect_right(ordered, (name.lower(), contact_id), key=_order)
    page = [shapes.summary_raw(c) for c in ordered[skip : skip + limit]]
    return Reply({"contacts": page, "count": len(ordered)})


_OWN: Final[dict[str, Handler]] = {
    "contacts.get": get_contact,
    "contacts.create": create_contact,
    "contacts.update": update_contact,
    "contacts.upsert": upsert_contact,
    "contacts.find_duplicate": find_duplicate,
    "contacts.search": search_contacts,
    "contacts.list_by_business": list_business_contacts,
}
# The v2 handler where v3 differs only in flags and not-found statuses.
HANDLERS_V3: Final[dict[str, Handler]] = {
    f"v3.{name}": _v3(_OWN.get(name, handler))
    for name, handler in v2.HANDLERS.items()
    if name != "contacts.list"  # GET /contacts/ is gone in v3
}
"""v3 route name -> handler; the server refuses to start if this and the route table differ."""

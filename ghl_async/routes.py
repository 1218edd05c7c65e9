"""The declarative route table: one row per operation of the Contacts API v2. Data only, no I/O.

Each row says *what* HighLevel does (method, path, scope, body and query types, where the
payload sits in the response, how it pages); ``session.py`` decides *how* to call it and the
typed facade in ``_endpoints.py`` is generated from these rows. ``FakeHighLevel`` serves the same
rows, and ``tests/test_routes_spec.py`` proves the table matches ``contacts.json`` one to one.

Spec errors are fixed here, with the reason next to the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from ghl_async import models as m

__all__ = ["ALL_ROUTES", "ROUTES_BY_NAME", "Paging", "Route"]

R = TypeVar("R", covariant=True)

Method = Literal["GET", "POST", "PUT", "DELETE"]
# offset: limit/skip (business listing); cursor: startAfterId/startAfter (GET /contacts/);
# search: page/pageLimit, then searchAfter past the 10,000-record ceiling.
Paging = Literal["offset", "cursor", "search"]
READ = "contacts.readonly"
WRITE = "contacts.write"


@dataclass(frozen=True, slots=True, kw_only=True)
class Route(Generic[R]):
    """One operation of the API."""

    name: str  # "contacts.get" -> namespace + method name of the facade
    operation_id: str  # the spec's operationId, for the consistency test and error messages
    method: Method
    path: str  # snake_case placeholders: "/contacts/{contact_id}"
    scope: str  # OAuth scope; quoted in docstrings and in 403 errors
    status: int  # the success status the spec declares (any 2xx is accepted)
    response: type[R]  # what the caller receives after unwrapping the envelope
    envelope: str | None = None  # wire key holding the payload; None = the whole body
    body: type[m.Body] | None = None
    query: type[m.Query] | None = None
    paging: Paging | None = None
    # Where the location id goes, so the client can fill in its default location.
    location: Literal["query", "body"] | None = None
    # Safe to resend after an ambiguous failure (the request may have been applied).
    idempotent: bool = True
    deprecated: bool = False
    summary: str = ""

    @property
    def path_params(self) -> tuple[str, ...]:
        """Placeholder names in path order."""
        return tuple(part[1:-1] for part in self.path.split("/") if part.startswith("{"))


# --- contacts -------------------------------------------------------------------------------

GET_CONTACT = Route(
    name="contacts.get", operation_id="get-contact", method="GET",
    path="/contacts/{contact_id}", scope=READ, status=200,
    response=m.Contact, envelope="contact", summary="Get a contact by id.",
)  # fmt: skip
CREATE_CONTACT = Route(
    name="contacts.create", operation_id="create-contact", method="POST",
    path="/contacts/", scope=WRITE, status=201, response=m.Contact, envelope="contact",
    body=m.CreateContact, location="body", idempotent=False, summary="Create a contact.",
)  # fmt: skip
UPDATE_CONTACT = Route(
    name="contacts.update", operation_id="update-contact", method="PUT",
    path="/contacts/{contact_id}", scope=WRITE, status=200, response=m.Contact,
    envelope="contact", body=m.UpdateContact, summary="Update a contact; omitted fields stay.",
)  # fmt: skip
DELETE_CONTACT = Route(
    name="contacts.delete", operation_id="delete-contact", method="DELETE",
    path="/contacts/{contact_id}", scope=WRITE, status=200, response=m.Ack,
    summary="Delete a contact.",
)  # fmt: skip
# Upsert is safe to resend: a second call matches the contact the first one created.
UPSERT_CONTACT = Route(
    name="contacts.upsert", operation_id="upsert-contact", method="POST",
    path="/contacts/upsert", scope=WRITE, status=200, response=m.UpsertResult,
    body=m.UpsertContact, location="body", summary="Create or update a contact by email/phone.",
)  # fmt: skip
LIST_BUSINESS_CONTACTS = Route(
    name="contacts.list_by_business", operation_id="get-contacts-by-businessId", method="GET",
    path="/contacts/business/{business_id}", scope=READ, status=200, response=m.ContactsPage,
    query=m.BusinessContactsQuery, paging="offset", location="query",
    summary="List the contacts linked to a business, one page.",
)  # fmt: skip
LIST_CONTACTS = Route(
    name="contacts.list", operation_id="get-contacts", method="GET",
    path="/contacts/", scope=READ, status=200, response=m.ContactsPage,
    query=m.ListContactsQuery, paging="cursor", location="query", deprecated=True,
    summary="List contacts, one page (deprecated by HighLevel in favour of search).",
)  # fmt: skip
# POST, but a read: the search body is the query.
SEARCH_CONTACTS = Route(
    name="contacts.search", operation_id="search-contacts-advanced", method="POST",
    path="/contacts/search", scope=READ, status=200, response=m.ContactsPage,
    body=m.SearchBody, paging="search", location="body", summary="Search contacts, one page.",
)  # fmt: skip
FIND_DUPLICATE = Route(
    name="contacts.find_duplicate", operation_id="get-duplicate-contact", method="GET",
    path="/contacts/search/duplicate", scope=READ, status=200, response=m.DuplicateResult,
    query=m.DuplicateQuery, location="query",
    summary="Find the contact a new one would duplicate, by email or phone.",
)  # fmt: skip

# --- tags, followers, campaigns, workflows ---------------------------------------------------

ADD_TAGS = Route(
    name="contacts.add_tags", operation_id="add-tags", method="POST",
    path="/contacts/{contact_id}/tags", scope=WRITE, status=201, response=list[str],
    envelope="tags", body=m.Tags, summary="Add tags to a contact.",
)  # fmt: skip
REMOVE_TAGS = Route(
    name="contacts.remove_tags", operation_id="remove-tags", method="DELETE",
    path="/contacts/{contact_id}/tags", scope=WRITE, status=200, response=list[str],
    envelope="tags", body=m.Tags, summary="Remove tags from a contact.",
)  # fmt: skip
# The spec declares no security block for the two bulk operations; they need a write token.
# Path `{type}` is undeclared in the spec; its values are `add` and `remove`.
BULK_UPDATE_TAGS = Route(
    name="contacts.bulk_update_tags", operation_id="create-association", method="POST",
    path="/contacts/bulk/tags/update/{type}", scope=WRITE, status=201,
    response=m.BulkTagsResult, body=m.BulkTagsUpdate, location="body",
    summary="Add or remove tags on many contacts in one request.",
)  # fmt: skip
BULK_SET_BUSINESS = Route(
    name="contacts.bulk_set_business", operation_id="add-remove-contact-from-business",
    method="POST", path="/contacts/bulk/business", scope=WRITE, status=200,
    response=m.BulkBusinessResult, body=m.BulkBusinessUpdate, location="body",
    summary="Attach many contacts to a business, or detach them (business_id=None).",
)  # fmt: skip
ADD_FOLLOWERS = Route(
    name="contacts.add_followers", operation_id="add-followers-contact", method="POST",
    path="/contacts/{contact_id}/followers", scope=WRITE, status=201,
    response=m.FollowersResult, body=m.Followers, summary="Add followers (user ids).",
)  # fmt: skip
REMOVE_FOLLOWERS = Route(
    name="contacts.remove_followers", operation_id="remove-followers-contact", method="DELETE",
    path="/contacts/{contact_id}/followers", scope=WRITE, status=200,
    response=m.FollowersResult, body=m.Followers, summary="Remove followers (user ids).",
)  # fmt: skip
ADD_TO_CAMPAIGN = Route(
    name="contacts.add_to_campaign", operation_id="add-contact-to-campaign", method="POST",
    path="/contacts/{contact_id}/campaigns/{campaign_id}", scope=WRITE, status=201,
    response=m.Ack, body=m.CampaignBody, idempotent=False,
    summary="Add a contact to a campaign.",
)  # fmt: skip
REMOVE_FROM_CAMPAIGN = Route(
    name="contacts.remove_from_campaign", operation_id="remove-contact-from-campaign",
    method="DELETE", path="/contacts/{contact_id}/campaigns/{campaign_id}", scope=WRITE,
    status=200, response=m.Ack, summary="Remove a contact from a campaign.",
)  # fmt: skip
# `removeAll` is a literal segment that would also match `{campaignId}` above.
REMOVE_FROM_ALL_CAMPAIGNS = Route(
    name="contacts.remove_from_all_campaigns", operation_id="remove-contact-from-every-campaign",
    method="DELETE", path="/contacts/{contact_id}/campaigns/removeAll", scope=WRITE,
    status=200, response=m.Ack, summary="Remove a contact from every campaign.",
)  # fmt: skip
ADD_TO_WORKFLOW = Route(
    name="contacts.add_to_workflow", operation_id="add-contact-to-workflow", method="POST",
    path="/contacts/{contact_id}/workflow/{workflow_id}", scope=WRITE, status=200,
    response=m.Ack, body=m.WorkflowBody, idempotent=False,
    summary="Enrol a contact in a workflow.",
)  # fmt: skip
REMOVE_FROM_WORKFLOW = Route(
    name="contacts.remove_from_workflow", operation_id="delete-contact-from-workflow",
    method="DELETE", path="/contacts/{contact_id}/workflow/{workflow_id}", scope=WRITE,
    status=200, response=m.Ack, body=m.WorkflowBody,
    summary="Remove a contact from a workflow.",
)  # fmt: skip

# --- tasks ------------------------------------------------------------------------------------

LIST_TASKS = Route(
    name="contacts.tasks.list", operation_id="get-all-tasks", method="GET",
    path="/contacts/{contact_id}/tasks", scope=READ, status=200, response=list[m.Task],
    envelope="tasks", summary="List a contact's tasks.",
)  # fmt: skip
GET_TASK = Route(
    name="contacts.tasks.get", operation_id="get-task", method="GET",
    path="/contacts/{contact_id}/tasks/{task_id}", scope=READ, status=200, response=m.Task,
    envelope="task", summary="Get one task.",
)  # fmt: skip
CREATE_TASK = Route(
    name="contacts.tasks.create", operation_id="create-task", method="POST",
    path="/contacts/{contact_id}/tasks", scope=WRITE, status=201, response=m.Task,
    envelope="task", body=m.CreateTask, idempotent=False, summary="Create a task.",
)  # fmt: skip
UPDATE_TASK = Route(
    name="contacts.tasks.update", operation_id="update-task", method="PUT",
    path="/contacts/{contact_id}/tasks/{task_id}", scope=WRITE, status=200, response=m.Task,
    envelope="task", body=m.UpdateTask, summary="Update a task.",
)  # fmt: skip
COMPLETE_TASK = Route(
    name="contacts.tasks.complete", operation_id="update-task-completed", method="PUT",
    path="/contacts/{contact_id}/tasks/{task_id}/completed", scope=WRITE, status=200,
    response=m.Task, envelope="task", body=m.TaskStatus,
    summary="Mark a task completed (or not).",
)  # fmt: skip
DELETE_TASK = Route(
    name="contacts.tasks.delete", operation_id="delete-task", method="DELETE",
    path="/contacts/{contact_id}/tasks/{task_id}", scope=WRITE, status=200, response=m.Ack,
    summary="Delete a task.",
)  # fmt: skip

# --- notes ------------------------------------------------------------------------------------

LIST_NOTES = Route(
    name="contacts.notes.list", operation_id="get-all-notes", method="GET",
    path="/contacts/{contact_id}/notes", scope=READ, status=200, response=list[m.Note],
    envelope="notes", summary="List a contact's notes.",
)  # fmt: skip
GET_NOTE = Route(
    name="contacts.notes.get", operation_id="get-note", method="GET",
    path="/contacts/{contact_id}/notes/{note_id}", scope=READ, status=200, response=m.Note,
    envelope="note", summary="Get one note.",
)  # fmt: skip
CREATE_NOTE = Route(
    name="contacts.notes.create", operation_id="create-note", method="POST",
    path="/contacts/{contact_id}/notes", scope=WRITE, status=201, response=m.Note,
    envelope="note", body=m.CreateNote, idempotent=False, summary="Create a note.",
)  # fmt: skip
UPDATE_NOTE = Route(
    name="contacts.notes.update", operation_id="update-note", method="PUT",
    path="/contacts/{contact_id}/notes/{note_id}", scope=WRITE, status=200, response=m.Note,
    envelope="note", body=m.UpdateNote, summary="Update a note.",
)  # fmt: skip
DELETE_NOTE = Route(
    name="contacts.notes.delete", operation_id="delete-note", method="DELETE",
    path="/contacts/{contact_id}/notes/{note_id}", scope=WRITE, status=200, response=m.Ack,
    summary="Delete a note.",
)  # fmt: skip

# --- appointments -----------------------------------------------------------------------------

LIST_APPOINTMENTS = Route(
    name="contacts.appointments.list", operation_id="get-appointments-for-contact",
    method="GET", path="/contacts/{contact_id}/appointments", scope=READ, status=200,
    response=list[m.Appointment], envelope="events", summary="List a contact's appointments.",
)  # fmt: skip


ALL_ROUTES: tuple[Route[object], ...] = (
    GET_CONTACT, CREATE_CONTACT, UPDATE_CONTACT, DELETE_CONTACT, UPSERT_CONTACT,
    LIST_BUSINESS_CONTACTS, LIST_CONTACTS, SEARCH_CONTACTS, FIND_DUPLICATE,
    ADD_TAGS, REMOVE_TAGS, BULK_UPDATE_TAGS, BULK_SET_BUSINESS,
    ADD_FOLLOWERS, REMOVE_FOLLOWERS, ADD_TO_CAMPAIGN, REMOVE_FROM_CAMPAIGN,
    REMOVE_FROM_ALL_CAMPAIGNS, ADD_TO_WORKFLOW, REMOVE_FROM_WORKFLOW,
    LIST_TASKS, GET_TASK, CREATE_TASK, UPDATE_TASK, COMPLETE_TASK, DELETE_TASK,
    LIST_NOTES, GET_NOTE, CREATE_NOTE, UPDATE_NOTE, DELETE_NOTE,
    LIST_APPOINTMENTS,
)  # fmt: skip
ROUTES_BY_NAME: dict[str, Route[object]] = {route.name: route for route in ALL_ROUTES}

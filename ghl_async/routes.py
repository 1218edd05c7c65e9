"""The declarative route table: one row per operation, per API version. Data only, no I/O.

Each row says *what* HighLevel does (API version, method, path, scope, body and query types,
where the payload sits in the response, how it pages); ``session.py`` decides *how* to call it
and the typed facade in ``_endpoints.py`` is generated from these rows. ``FakeHighLevel`` serves
the same rows, and ``tests/test_routes_spec.py`` proves the table matches the spec files one to
one: ``contacts.json``/``oauth.json`` for ``2021-07-28``, ``contacts-v3.json``/``oauth-v3.json``
for ``v3``.

A row's ``name`` is its place in the facade: ``"contacts.tasks.get"`` is
``ghl.contacts.tasks.get``, ``"v3.contacts.get"`` is ``ghl.v3.contacts.get``. Its ``version`` is
the ``Version`` header sent with it, so one client can call v2 and v3 routes side by side. v3
rows are the v2 rows with what v3 changed (:func:`_v3`): a new body, query or path where the spec
differs, the rest (idempotency included) carried over.

Spec errors are fixed here, with the reason next to the row.

Each row also says what may be resent after an ambiguous failure (the request was sent, then
the connection reset, the answer timed out, a 5xx came back or a 2xx body did not decode), so
the whole retry story of the API is readable in one place, the ``write=`` column:

* ``"idempotent"`` (the default): sending twice leaves the same state as sending once: every
  read (``POST /contacts/search`` included), PUT, DELETE, tags, followers, the bulk updates,
  and an upsert that matches by e-mail/phone. Retried on 500/502/503/504, resets, timeouts and
  an undecodable 2xx body.
* ``"reconcile"``: a create. HighLevel has no idempotency keys, so after an ambiguous failure
  the client looks the object up by its natural key (``natural_key=``; see
  :mod:`ghl_async.reconcile`): found, it is returned; certainly absent, the create is resent;
  undecidable, ``AmbiguousWriteError``.
* ``"never_resend"``: nothing can be looked up to tell whether it happened (campaign and
  workflow enrolment: enrolling twice may send a sequence twice), so an ambiguous failure
  raises ``AmbiguousWriteError`` at once.
* :class:`IfBodyFlag`: the policy depends on a boolean body field. Upsert is idempotent unless
  ``createNewIfDuplicateAllowed`` is true: then each call may create a new contact.

A refusal (429, or a connection that was never made) is retried for every policy: nothing
was applied.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Generic, Literal, TypeVar

from ghl_async import defaults
from ghl_async import models as m
from ghl_async import models_oauth as mo
from ghl_async import models_v3 as m3
from ghl_async.errors import ConfigError

__all__ = [
    "ALL_ROUTES",
    "ROUTES_BY_NAME",
    "V2_ROUTES",
    "V3_ROUTES",
    "IfBodyFlag",
    "NaturalKey",
    "Paging",
    "Route",
    "WritePolicy",
    "routes_of",
]

R = TypeVar("R", covariant=True)

Method = Literal["GET", "POST", "PUT", "DELETE"]
# offset: limit/skip (business listing, v2 installed locations); cursor: startAfterId/startAfter
# (GET /contacts/); search: page/pageLimit, then searchAfter past the 10,000-record ceiling;
# keyset: v3 business listing, skip for the first page then the last contact's [name, id] as
# startAfter; token: pageSize/pageToken (v3 AIP-158 lists). See ghl_async.pagination.
Paging = Literal["offset", "cursor", "search", "keyset", "token"]
READ = "contacts.readonly"
WRITE = "contacts.write"
WritePolicy = Literal["idempotent", "reconcile", "never_resend"]
# How a "reconcile" write finds what it may have created (ghl_async.reconcile): a contact by
# e-mail/phone, a task by title + due date, a note by body, on the contact of the path.
NaturalKey = Literal["contact", "task", "note"]
_POLICIES = ("idempotent", "reconcile", "never_resend")


@dataclass(frozen=True, slots=True)
class IfBodyFlag:
    """A write policy that depends on one boolean field of the request body.

    ``then`` applies when the body's ``field`` (the Python attribute name) is ``True``,
    ``otherwise`` in every other case (false, unset, no body).
    """

    field: str
    then: WritePolicy
    otherwise: WritePolicy

    def pick(self, body: object) -> WritePolicy:
        """The policy for one request body."""
        return self.then if getattr(body, self.field, None) is True else self.otherwise
OAUTH_READ = "oauth.readonly"


@dataclass(frozen=True, slots=True, kw_only=True)
class Route(Generic[R]):
    """One operation of the API."""

    name: str  # "contacts.get" -> namespace + method name of the facade ("v3.contacts.get")
    operation_id: str  # the spec's operationId, for the consistency test and error messages
    version: str = defaults.API_VERSION  # the `Version` header sent with this route
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
    # Whose token: a location's (every contacts route), or the agency's ("company": the call
    # names no location, so an agency OAuthApp uses its company token).
    token: Literal["location", "company"] = "location"
    # What may be resent after an ambiguous failure: see the module docstring.
    write: WritePolicy | IfBodyFlag = "idempotent"
    natural_key: NaturalKey | None = None
    deprecated: bool = False
    summary: str = ""

    def __post_init__(self) -> None:
        if self.version not in defaults.KNOWN_VERSIONS:
            raise ConfigError(
                f"route {self.name}: unknown API version {self.version!r} (HighLevel publishes "
                f"{', '.join(defaults.KNOWN_VERSIONS)})"
            )
        policies = (
            (self.write.then, self.write.otherwise)
            if isinstance(self.write, IfBodyFlag)
            else (self.write,)
        )
        for policy in policies:
            if policy not in _POLICIES:
                raise ConfigError(f"{self.name}: unknown write policy {policy!r}")
        if "reconcile" in policies and self.natural_key is None:
            raise ConfigError(f"{self.name}: a 'reconcile' write needs a natural_key")
        if isinstance(self.write, IfBodyFlag) and (
            self.body is None or self.write.field not in self.body.__struct_fields__
        ):
            raise ConfigError(f"{self.name}: {self.write.field!r} is not a field of its body")

    def write_policy(self, body: object) -> WritePolicy:
        """The write policy of one call with request ``body``."""
        write = self.write
        return write.pick(body) if isinstance(write, IfBodyFlag) else write

    @property
    def idempotent(self) -> bool:
        """Whether every call of this route is safe to resend (``write == "idempotent"``)."""
        return self.write == "idempotent"

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
    body=m.CreateContact, location="body", write="reconcile", natural_key="contact",
    summary="Create a contact.",
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
# Upsert is safe to resend: a second call matches the contact the first one created. Not with
# createNewIfDuplicateAllowed (honoured where the location allows duplicates): every call may
# create another contact, so a lost answer is reconciled like a create.
UPSERT_CONTACT = Route(
    name="contacts.upsert", operation_id="upsert-contact", method="POST",
    path="/contacts/upsert", scope=WRITE, status=200, response=m.UpsertResult,
    body=m.UpsertContact, location="body",
    write=IfBodyFlag("create_new_if_duplicate_allowed", then="reconcile", otherwise="idempotent"),
    natural_key="contact", summary="Create or update a contact by email/phone.",
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
    response=m.Ack, body=m.CampaignBody, write="never_resend",
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
    response=m.Ack, body=m.WorkflowBody, write="never_resend",
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
    envelope="task", body=m.CreateTask, write="reconcile", natural_key="task",
    summary="Create a task.",
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
    envelope="note", body=m.CreateNote, write="reconcile", natural_key="note",
    summary="Create a note.",
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


# --- agency: installed locations ---------------------------------------------------------------

# `skip`/`limit` are declared as strings, as on the business listing.
LIST_INSTALLED_LOCATIONS = Route(
    name="oauth.list_installed_locations", operation_id="get-installed-location", method="GET",
    path="/oauth/installedLocations", scope=OAUTH_READ, status=200,
    response=mo.InstalledLocationsPage, query=mo.InstalledLocationsQuery, paging="offset",
    token="company", summary="List the company's locations and where the app is installed.",
)  # fmt: skip


def _v3(route: Route[R], **changes: object) -> Route[R]:
    """The v3 twin of a v2 row: same operation, ``Version: v3``, with what v3 changed."""
    return replace(route, name="v3." + route.name, version=defaults.API_V3, **changes)  # type: ignore[arg-type]  # changes are Route fields, checked by dataclasses.replace


# --- v3 (contacts-v3.json): 31 operations, GET /contacts/ is gone -----------------------------

V3_GET_CONTACT = _v3(GET_CONTACT)
# v3 answers a create with the full contact (GetContactByIdSchemaV3), which Contact covers.
V3_CREATE_CONTACT = _v3(CREATE_CONTACT, body=m3.CreateContactV3)
V3_UPDATE_CONTACT = _v3(UPDATE_CONTACT, body=m3.UpdateContactV3)
V3_DELETE_CONTACT = _v3(DELETE_CONTACT)
V3_UPSERT_CONTACT = _v3(UPSERT_CONTACT, body=m3.UpsertContactV3)
V3_LIST_BUSINESS_CONTACTS = _v3(
    LIST_BUSINESS_CONTACTS, query=m3.BusinessContactsQueryV3, paging="keyset"
)
V3_SEARCH_CONTACTS = _v3(SEARCH_CONTACTS)
V3_FIND_DUPLICATE = _v3(FIND_DUPLICATE)
V3_ADD_TAGS = _v3(ADD_TAGS)
V3_REMOVE_TAGS = _v3(REMOVE_TAGS)
V3_BULK_UPDATE_TAGS = _v3(BULK_UPDATE_TAGS)
V3_BULK_SET_BUSINESS = _v3(BULK_SET_BUSINESS)
V3_ADD_FOLLOWERS = _v3(ADD_FOLLOWERS)
V3_REMOVE_FOLLOWERS = _v3(REMOVE_FOLLOWERS)
V3_ADD_TO_CAMPAIGN = _v3(ADD_TO_CAMPAIGN)
V3_REMOVE_FROM_CAMPAIGN = _v3(REMOVE_FROM_CAMPAIGN)
# v3 spells the literal segment `remove-all` (v2: `removeAll`).
V3_REMOVE_FROM_ALL_CAMPAIGNS = _v3(
    REMOVE_FROM_ALL_CAMPAIGNS, path="/contacts/{contact_id}/campaigns/remove-all"
)
V3_ADD_TO_WORKFLOW = _v3(ADD_TO_WORKFLOW)
V3_REMOVE_FROM_WORKFLOW = _v3(REMOVE_FROM_WORKFLOW)
V3_LIST_TASKS = _v3(LIST_TASKS)
V3_GET_TASK = _v3(GET_TASK)
V3_CREATE_TASK = _v3(CREATE_TASK)
V3_UPDATE_TASK = _v3(UPDATE_TASK)
V3_COMPLETE_TASK = _v3(COMPLETE_TASK)
V3_DELETE_TASK = _v3(DELETE_TASK)
V3_LIST_NOTES = _v3(LIST_NOTES)
V3_GET_NOTE = _v3(GET_NOTE)
V3_CREATE_NOTE = _v3(CREATE_NOTE)
V3_UPDATE_NOTE = _v3(UPDATE_NOTE)
V3_DELETE_NOTE = _v3(DELETE_NOTE)
V3_LIST_APPOINTMENTS = _v3(LIST_APPOINTMENTS)

# oauth-v3.json: AIP-158 paging by pageSize/pageToken, AIP error envelope.
V3_LIST_INSTALLED_LOCATIONS = Route(
    name="v3.oauth.list_installed_locations", operation_id="get-installed-location",
    version=defaults.API_V3, method="GET", path="/oauth/installed-locations", scope=OAUTH_READ,
    status=200, response=mo.InstalledLocationsPageV3, query=mo.InstalledLocationsQueryV3,
    paging="token", token="company",
    summary="List the company's locations and where the app is installed.",
)  # fmt: skip


V2_ROUTES: tuple[Route[object], ...] = (
    GET_CONTACT, CREATE_CONTACT, UPDATE_CONTACT, DELETE_CONTACT, UPSERT_CONTACT,
    LIST_BUSINESS_CONTACTS, LIST_CONTACTS, SEARCH_CONTACTS, FIND_DUPLICATE,
    ADD_TAGS, REMOVE_TAGS, BULK_UPDATE_TAGS, BULK_SET_BUSINESS,
    ADD_FOLLOWERS, REMOVE_FOLLOWERS, ADD_TO_CAMPAIGN, REMOVE_FROM_CAMPAIGN,
    REMOVE_FROM_ALL_CAMPAIGNS, ADD_TO_WORKFLOW, REMOVE_FROM_WORKFLOW,
    LIST_TASKS, GET_TASK, CREATE_TASK, UPDATE_TASK, COMPLETE_TASK, DELETE_TASK,
    LIST_NOTES, GET_NOTE, CREATE_NOTE, UPDATE_NOTE, DELETE_NOTE,
    LIST_APPOINTMENTS,
    LIST_INSTALLED_LOCATIONS,
)  # fmt: skip
V3_ROUTES: tuple[Route[object], ...] = (
    V3_GET_CONTACT, V3_CREATE_CONTACT, V3_UPDATE_CONTACT, V3_DELETE_CONTACT, V3_UPSERT_CONTACT,
    V3_LIST_BUSINESS_CONTACTS, V3_SEARCH_CONTACTS, V3_FIND_DUPLICATE,
    V3_ADD_TAGS, V3_REMOVE_TAGS, V3_BULK_UPDATE_TAGS, V3_BULK_SET_BUSINESS,
    V3_ADD_FOLLOWERS, V3_REMOVE_FOLLOWERS, V3_ADD_TO_CAMPAIGN, V3_REMOVE_FROM_CAMPAIGN,
    V3_REMOVE_FROM_ALL_CAMPAIGNS, V3_ADD_TO_WORKFLOW, V3_REMOVE_FROM_WORKFLOW,
    V3_LIST_TASKS, V3_GET_TASK, V3_CREATE_TASK, V3_UPDATE_TASK, V3_COMPLETE_TASK, V3_DELETE_TASK,
    V3_LIST_NOTES, V3_GET_NOTE, V3_CREATE_NOTE, V3_UPDATE_NOTE, V3_DELETE_NOTE,
    V3_LIST_APPOINTMENTS,
    V3_LIST_INSTALLED_LOCATIONS,
)  # fmt: skip
ALL_ROUTES: tuple[Route[object], ...] = V2_ROUTES + V3_ROUTES
ROUTES_BY_NAME: dict[str, Route[object]] = {route.name: route for route in ALL_ROUTES}


def routes_of(version: str) -> tuple[Route[object], ...]:
    """Every route of API ``version`` (``"2021-07-28"`` or ``"v3"``).

    Raises:
        ConfigError: ``version`` is not one this SDK speaks.
    """
    if version not in defaults.API_VERSIONS:
        raise ConfigError(
            f"unknown API version {version!r}: use one of {', '.join(defaults.API_VERSIONS)}"
        )
    return tuple(route for route in ALL_ROUTES if route.version == version)

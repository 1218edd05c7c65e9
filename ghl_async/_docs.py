"""The prose of the generated facade's docstrings: data, read by :mod:`ghl_async._codegen`.

Written by us from what the SDK does (not copied from HighLevel's descriptions). A generated
parameter finds its text here, most specific first:

1. :data:`BY_ROUTE`, by (route name without its version prefix, parameter): where one route
   gives a name another meaning (``tags`` on update replaces every tag);
2. :data:`BY_MODEL`, by (request model, field): a field whose meaning follows its model
   (a note's ``body`` is its text, a task's its description);
3. :data:`PAGING`, by (paging kind, parameter), for the parameters a walk controls;
4. :data:`PARAMS`, by parameter name, for everything that means the same everywhere;
5. :data:`OPTIONS`, the per-call options every method takes.

A parameter found nowhere stops the generator (``_codegen.MissingDocsError``), so a new route
gets its documentation from these tables or does not get generated. A route table outside this
package adds its own entries as a ``DOCS`` mapping in its module (see ``Adding an API`` in the
README). Fields that tell "clear it" (``None``) from "leave it" (left out, ``UNSET``) get one of
the :data:`NULL_CLEARS` sentences appended where that distinction exists.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "BY_MODEL",
    "BY_ROUTE",
    "KEEPS_UNSET",
    "NULL_CLEARS",
    "OPTIONS",
    "PAGING",
    "PARAMS",
    "RAISES",
    "RETURNS",
    "RETURNS_BY_TYPE",
    "UNSET_KEEPS",
    "VERSION_PREFIXES",
]

# Route names of other API versions are these prefixes plus the v2 name.
VERSION_PREFIXES: Final = ("v3.",)

# Methods (the last part of a route name) whose left-out fields keep their current value.
KEEPS_UNSET: Final = frozenset({"update", "upsert"})
NULL_CLEARS: Final = "`None` clears it; leave it out to keep the current value."
UNSET_KEEPS: Final = "Leave it out to keep the current value."

_DATE_OF_BIRTH = (
    "Date of birth as a string: `YYYY-MM-DD`, `MM/DD/YYYY`, `YYYY/MM/DD` or `MM-DD-YYYY` "
    "(`.` and `_` work as separators too)."
)
_TAGS_REPLACE = (
    "The contact's tags after this call: they REPLACE every tag it has (an empty list removes "
    "them all). To add or remove some, use `add_tags`/`remove_tags`."
)

PARAMS: Final[dict[str, str]] = {
    # ids in paths
    "contact_id": "The contact's id (as in `Contact.id`).",
    "task_id": "The task's id (as in `Task.id`).",
    "note_id": "The note's id (as in `Note.id`).",
    "business_id": "The business's id (a HighLevel Business object).",
    "campaign_id": "The campaign's id.",
    "workflow_id": "The workflow's id.",
    "action": '`"add"` to add the tags to each contact, `"remove"` to remove them.',
    # the location
    "location_id": (
        "The location (sub-account) to act in; default: the client's `location_id`. Picks "
        "the token and the rate-limit bucket too."
    ),
    "company_id": "The agency (company) id whose locations are listed.",
    "app_id": "Your Marketplace app's id.",
    # contact fields
    "first_name": "First name.",
    "last_name": "Last name.",
    "name": "Full name, when you do not split it into first and last.",
    "email": "E-mail address.",
    "phone": "Phone number, preferably E.164 (`+14155550123`).",
    "address1": "Street address (first line).",
    "city": "City.",
    "state": "State, province or region.",
    "postal_code": "Postal or ZIP code.",
    "country": "Country as an ISO 3166-1 alpha-2 code (`US`, `DE`).",
    "website": "Website URL.",
    "timezone": "IANA time zone name (`America/New_York`).",
    "dnd": "The global do-not-disturb switch, over every channel.",
    "dnd_settings": (
        "Do-not-disturb state per channel (the type's fields are the version's channel keys)."
    ),
    "inbound_dnd_settings": "Do-not-disturb for inbound messages, one switch for all channels.",
    "custom_fields": "Custom field values to write, by field `id` or `key` (`CustomFieldInput`).",
    "date_of_birth": _DATE_OF_BIRTH,
    "gender": "Gender, as free text.",
    "company_name": "The contact's company.",
    "source": "Where the contact came from (free text shown in HighLevel).",
    "assigned_to": "Id of the user (staff member) the contact is assigned to.",
    "tags": "Tags to give the contact.",
    "create_new_if_duplicate_allowed": (
        "`True` creates a new contact even when one matches, where the location allows "
        "duplicates (such a call may create one each time it is sent, so a lost answer is "
        "looked up before any resend)."
    ),
    # tasks and notes
    "title": "Title.",
    "due_date": "When the task is due: an ISO 8601 date-time (`2026-02-01T09:00:00Z`).",
    "completed": "Whether the task is done.",
    "user_id": "Id of the user the note is written by.",
    "color": "Colour of the note, as a hex code (`#FFAA00`).",
    "pinned": "Whether the note is pinned to the top.",
    # lists and bulk
    "followers": "Ids of the users (staff members) who follow the contact.",
    "contacts": "Ids of the contacts to change.",
    "ids": "Ids of the contacts to attach or detach.",
    "remove_all_tags": "`True` removes all of the contacts' tags (HighLevel's `removeAllTags`).",
    "event_start_time": (
        "When the contact enters the workflow: an ISO 8601 date-time with offset "
        "(`2026-02-01T09:00:00+01:00`)."
    ),
    # search
    "filters": (
        "Search filters (`SearchFilter(field=..., operator=..., value=...)`, or a group with "
        "`group=\"AND\"|\"OR\"` and `filters=`); all must match."
    ),
    "sort": "Sort keys, first one first (`SearchSort(field=\"dateAdded\", direction=\"desc\")`).",
    "query": "Free text to match (at most 75 characters).",
    # installed locations
    "is_installed": "`True`: only locations where the app is installed; `False`: only others.",
    "on_trial": "`True`: only locations whose install is on a trial.",
    "plan_id": "Only installs on this plan of the app.",
    "version_id": "Only installs of this version of the app.",
    "restrict_to_user_locations": "Only locations the token's user can access.",
}

BY_ROUTE: Final[dict[tuple[str, str], str]] = {
    ("contacts.update", "tags"): _TAGS_REPLACE,
    ("contacts.upsert", "tags"): (
        "The contact's tags: on a new contact its tags; on a match they REPLACE every tag it "
        "has. To add or remove some, use `add_tags`/`remove_tags`."
    ),
    ("contacts.add_tags", "tags"): "Tags to add; the contact keeps the ones it has.",
    ("contacts.remove_tags", "tags"): "Tags to remove; others stay.",
    ("contacts.bulk_update_tags", "tags"): "Tags to add to (or remove from) every contact.",
    ("contacts.bulk_update_tags", "location_id"): PARAMS["location_id"],
    ("contacts.add_followers", "followers"): "Ids of the users to add as followers.",
    ("contacts.remove_followers", "followers"): "Ids of the users to stop following.",
    ("contacts.bulk_set_business", "business_id"): (
        "The business to attach the contacts to; `None` detaches them from any business."
    ),
    ("contacts.find_duplicate", "email"): "Look for a contact with this e-mail address.",
    ("contacts.find_duplicate", "phone"): (
        "Look for a contact with this phone number (sent as `number`), preferably E.164."
    ),
    ("contacts.tasks.complete", "completed"): "`True` marks the task done, `False` reopens it.",
    ("contacts.tasks.create", "completed"): "Whether the task starts out done.",
    ("contacts.list_by_business", "query"): "Free text to match among the business's contacts.",
    ("contacts.list", "query"): "Free text to match.",
    ("oauth.list_installed_locations", "query"): "Free text to match in location names.",
    ("oauth.list_installed_locations", "location_id"): "Only this location.",
}

BY_MODEL: Final[dict[tuple[str, str], str]] = {
    ("CreateNote", "body"): "The note's text.",
    ("UpdateNote", "body"): "The note's text.",
    ("CreateNote", "title"): "The note's title.",
    ("UpdateNote", "title"): "The note's title.",
    ("CreateTask", "title"): "What the task is, in a few words.",
    ("UpdateTask", "title"): "What the task is, in a few words.",
    ("CreateTask", "body"): "The task's description.",
    ("UpdateTask", "body"): "The task's description.",
    ("CreateTask", "assigned_to"): "Id of the user the task is assigned to.",
    ("UpdateTask", "assigned_to"): "Id of the user the task is assigned to.",
}

# (paging kind, parameter): the parameters a walk controls.
PAGING: Final[dict[tuple[str, str], str]] = {
    ("offset", "limit"): "Items per page request, 1 to 100.",
    ("offset", "page"): "Start at this page, counted from 1 (page N starts at item (N-1) × limit).",
    ("offset", "skip"): (
        "Start at this many items in, counted from 0, instead of at `page` (any offset)."
    ),
    ("cursor", "limit"): "Contacts per page request, 1 to 100.",
    ("cursor", "start_after_id"): (
        "Continue after the contact with this id (the last one of a previous page)."
    ),
    ("cursor", "start_after"): (
        "With `start_after_id`: that contact's `dateAdded` in epoch milliseconds."
    ),
    ("search", "page_limit"): "Contacts per page request, 1 to 500.",
    ("search", "page"): (
        "Start at this page, counted from 1. Page numbers reach the first 10,000 results; a walk "
        "goes on past them with `searchAfter` cursors by itself."
    ),
    ("search", "search_after"): (
        "Start after this cursor (a contact's `search_after`, or a page's "
        "`next_state.search_after`) instead of at a page number."
    ),
    ("keyset", "limit"): "Contacts per page request, 1 to 100.",
    ("keyset", "page"): "Start at this page, counted from 1.",
    ("keyset", "skip"): (
        "Start at this many contacts in, counted from 0, instead of at `page`; later pages "
        "continue with `startAfter`."
    ),
    ("keyset", "start_after"): (
        "Start after this `[name, id]` pair (`ContactsPage.start_after_key()` of a previous "
        "page) instead of at `page` or `skip`."
    ),
    ("token", "page_size"): "Items per page request, 1 to 100.",
    ("token", "page_token"): (
        "Start at the page this token names (a page's `next_page_token`); default: the first."
    ),
}

OPTIONS: Final[dict[str, str]] = {
    "extra_headers": (
        "More request headers for this call. `Authorization`, `Version`, `Content-Type`, "
        "`Accept-Encoding` and framing headers are refused (`ghl_async.options`)."
    ),
    "extra_query": (
        "More query parameters for this call, encoded like the route's own (a list repeats the "
        "name); names the route declares are refused: use their parameters."
    ),
    "extra_body": (
        "More top-level members for the JSON body, sent after the route's own; names the body "
        "declares are refused. HighLevel answers 422 to members it does not know."
    ),
    "timeout": (
        "Seconds, or an `aiohttp.ClientTimeout`, for each attempt of this call; default: the "
        "client's."
    ),
}

# Route name (without version prefix) -> the Returns text of its method.
RETURNS: Final[dict[str, str]] = {
    "contacts.get": "The contact.",
    "contacts.create": "The new contact.",
    "contacts.update": "The contact as it is after the update.",
    "contacts.upsert": "The contact, and `new`: whether it was created.",
    "contacts.find_duplicate": "The contact a new one would duplicate, or `None`.",
    "contacts.add_tags": "The contact's tags after the call.",
    "contacts.remove_tags": "The contact's tags after the call.",
    "contacts.delete": "HighLevel's acknowledgement (`.ok`).",
}
# Rendered return type -> the Returns text, when the route has none of its own.
RETURNS_BY_TYPE: Final[dict[str, str]] = {
    "Contact": "The contact.",
    "Task": "The task.",
    "Note": "The note.",
    "Ack": "HighLevel's acknowledgement (`.ok` reads both spellings of its success flag).",
    "list[Task]": "The contact's tasks.",
    "list[Note]": "The contact's notes.",
    "list[Appointment]": "The contact's appointments.",
    "FollowersResult": "The contact's followers, and which were added or removed.",
    "BulkTagsResult": "The outcome per contact (`responses`) and the error count.",
    "BulkBusinessResult": "Whether it worked, and the contact ids it applied to.",
}

# Exception -> when a generated method raises it; _codegen picks the rows that apply to a route.
RAISES: Final[dict[str, str]] = {
    "ConfigError": "An argument is invalid; nothing was sent.",
    "NotFoundError": "An id names nothing HighLevel can find (HTTP 404, or its 400 'not found').",
    "UnprocessableEntityError": (
        "HighLevel refused a value or an unknown field (422; `messages` says which)."
    ),
    "PermissionDeniedError": "The token lacks the route's scope (`scope` names it).",
    "RateLimitError": (
        "HighLevel asked for a longer wait than `retry_after_cap` (`DailyQuotaExceeded`: the "
        "day's quota is spent)."
    ),
    "AmbiguousWriteError.reconcile": (
        "The create may have been applied and no lookup could tell; it was not resent."
    ),
    "AmbiguousWriteError.never_resend": (
        "The request was sent and its outcome is unknown; it is never resent (it could run "
        "twice)."
    ),
    "PaginationError": "The server answered the same page twice instead of advancing.",
    "TransportError": "No answer arrived, after the retries (`RequestTimeout` for a timeout).",
}

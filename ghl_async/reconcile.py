"""Exactly-once creates over an API without idempotency keys.

HighLevel's creates (contact, task, note; upsert with ``createNewIfDuplicateAllowed``) take no
idempotency key. When one ends ambiguously (sent, then a reset, a timeout, a 5xx or a 2xx body
that does not decode) the request may or may not have been applied: resending blindly risks a
duplicate, giving up loses the write. Instead, the pipeline asks this module to look the object
up by its natural key (the route table's ``natural_key``), with ordinary reads through the same
pipeline (rate limit, auth, retries):

========  =============================================  ===================================
key       lookup                                         "certainly absent" when
========  =============================================  ===================================
contact   ``GET /contacts/search/duplicate`` by e-mail   it answers no contact (a direct
          and phone; then ``POST /contacts/search``      read that matches by e-mail/phone)
          if it shows only an older contact
task      ``GET /contacts/{id}/tasks``: title + due      no task with that title and due
          date (+ body, assignee when given)             date (a direct read)
note      ``GET /contacts/{id}/notes``: body             no note with that body created since
                                                         the attempt began (a direct read)
========  =============================================  ===================================

Verdicts: **found** (exactly one match created since the attempt began, not already handed out
by this client): it is returned as if the answer had arrived. **Absent**: the create is resent
(it counts as a retry). **Undecidable** (no natural key, a lookup failed, several candidates,
or only an older contact with search, which lags, showing nothing newer): only then
``AmbiguousWriteError``, whose ``checked`` says what was looked up.

A create that timed out (or got a 504, or HighLevel's "Command timed out") may still be
running on the server, and be applied after a first lookup found nothing. Absence is
therefore trusted only once it has held ``Client(reconcile_settle=...)`` seconds (10 by
default, or the request timeout if longer) after the failure: the lookups repeat with growing
pauses (0.25 s, 0.5 s, 1 s, ...) until then, and return what they find as soon as they find
it. A reset or a 500/502/503 comes from a server that has finished with the request: one
lookup decides.

"Created since the attempt began" compares the server's ``dateAdded`` with our clock. The
server's ``Date`` header on the lookup's answer bounds the offset between the two clocks (it
is stamped between our send and our receipt, truncated to the second), so the attempt's start
in server time is at least ``start + (Date - received)``; :data:`CLOCK_MARGIN` more covers
the skew between HighLevel's edge, which stamps ``Date``, and the servers that stamp
``dateAdded``. Without a ``Date`` header the margin is :data:`NO_DATE_MARGIN`.

Limits, honestly: a server that applies a request later than the settle time still makes a
duplicate. HighLevel's v2 task has no creation time, so a task identical in title, due
date (and body) that existed before the attempt, and was not created by this client, is taken
for the new one. "Certainly absent" for contacts relies on the duplicate lookup reading what a
create just wrote (it backs HighLevel's own duplicate refusal). In a location that allows
duplicates, an older contact with the same e-mail hides a new one from that lookup; the search
that follows can prove presence but not absence, so that case is undecidable.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Final, Literal, Protocol, TypeVar

from ghl_async import models as m
from ghl_async import routes
from ghl_async.errors import GHLError

if TYPE_CHECKING:
    from ghl_async.session import Session

__all__ = [
    "CLOCK_MARGIN",
    "NO_DATE_MARGIN",
    "Claimed",
    "Verdict",
    "clock_offset",
    "contact_key",
    "contact_matches",
    "created_id",
    "newcomers",
    "parse_time",
    "reconcile",
    "same_text",
    "same_time",
    "since",
]

log = logging.getLogger("ghl_async")
T = TypeVar("T")

# Seconds allowed between the clock behind HighLevel's Date header and the one behind dateAdded.
CLOCK_MARGIN: Final = 5.0
# Seconds allowed between our clock and HighLevel's when no Date header came back.
NO_DATE_MARGIN: Final = 300.0
# The first pause between two lookups of a settling create; it doubles each time.
SETTLE_STEP: Final = 0.25
# Lookups made again when one failed or came back unreadable, before giving up as undecidable.
LOOK_AGAIN: Final = 2


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of a reconciliation; ``found`` is in the route's response type."""

    kind: Literal["found", "absent", "undecidable"]
    checked: tuple[str, ...]
    found: object | None = None
    # Undecidable for a passing reason (a lookup failed, an answer came back unreadable):
    # looking again may settle it.
    again: bool = False


class Claimed(Container[str]):
    """Ids of the objects this client created or adopted lately (the last ``size``).

    Two calls of ours never get the same object: a reconciliation skips anything already
    handed out, e.g. the first of two identical notes created one after the other.
    """

    __slots__ = ("_ids", "_size")

    def __init__(self, size: int = 10_000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size

    def add(self, ident: str) -> None:
        """Remember ``ident``."""
        if ident:
            self._ids[ident] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)

    def __contains__(self, ident: object) -> bool:
        return ident in self._ids


# --- pure pieces ------------------------------------------------------------------------------


def parse_time(text: str | int | None) -> datetime | None:
    """An ISO-8601 timestamp (``2021-11-26T12:41:02.193Z``) or epoch ms as UTC; else None."""
    if isinstance(text, int) and not isinstance(text, bool):
        try:
            return datetime.fromtimestamp(text / 1000, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(text, str) or not text.strip():
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"  # fromisoformat learned "Z" in Python 3.11
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)


def clock_offset(date_header: str | None, received: float) -> float | None:
    """A lower bound of (server clock - our clock), seconds, from an answer's ``Date`` header.

    ``received`` is our wall clock when the answer arrived. The server stamped ``Date`` before
    that and truncated it to the second, so ``Date - received`` never exceeds the true offset.
    """
    if not date_header:
        return None
    try:
        when = email.utils.parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp() - received


def since(started: float, offset: float | None) -> datetime:
    """The earliest server time the attempt that began at ``started`` (our clock) can have."""
    moment = started - NO_DATE_MARGIN if offset is None else started + offset - CLOCK_MARGIN
    return datetime.fromtimestamp(moment, tz=timezone.utc)


def contact_key(body: object) -> tuple[str | None, str | None]:
    """The natural key of a contact create/upsert body: (lower-case e-mail, phone)."""
    email_value = getattr(body, "email", None)
    phone_value = getattr(body, "phone", None)
    email_key = email_value.strip().lower() if isinstance(email_value, str) else ""
    phone_key = phone_value.strip() if isinstance(phone_value, str) else ""
    return email_key or None, phone_key or None


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())


def contact_matches(contact: m.Contact, email_key: str | None, phone_key: str | None) -> bool:
    """Whether ``contact`` carries the e-mail (any case) or the phone (same digits; a national
    number matches its international form, e.g. ``(555) 123-4567`` and ``+15551234567``)."""
    if email_key is not None and (contact.email or "").strip().lower() == email_key:
        return True
    if phone_key is not None and contact.phone:
        ours, theirs = _digits(phone_key), _digits(contact.phone)
        shorter, longer = sorted((ours, theirs), key=len)
        return len(shorter) >= 7 and longer.endswith(shorter)
    return False


def same_time(left: str | None, right: str | None) -> bool:
    """Whether two timestamps are the same instant (the server may reformat them)."""
    if left == right:
        return True
    a, b = parse_time(left), parse_time(right)
    return a is not None and a == b


def same_text(left: str | None, right: str | None) -> bool:
    """Whether two texts are equal up to surrounding and repeated whitespace."""
    return " ".join((left or "").split()) == " ".join((right or "").split())


def newcomers(
    items: Sequence[T],
    *,
    matches: Callable[[T], bool],
    ident: Callable[[T], str],
    added: Callable[[T], str | int | None],
    after: datetime,
    claimed: Container[str],
) -> list[T]:
    """The items that match the key, were not handed out before, and were created at or after
    ``after`` (or carry no creation time to tell)."""
    found = []
    for item in items:
        if not matches(item) or ident(item) in claimed:
            continue
        when = parse_time(added(item))
        if when is not None and when < after:
            continue
        found.append(item)
    return found


def created_id(result: object) -> str | None:
    """The id of what a create returned (the contact's, for an upsert)."""
    if isinstance(result, m.UpsertResult):
        return result.contact.id or None
    ident = getattr(result, "id", None)
    return ident if isinstance(ident, str) and ident else None


# --- the lookups ------------------------------------------------------------------------------


async def reconcile(
    session: Session,
    route: routes.Route[object],
    path: Sequence[str],
    body: object,
    location: str | None,
    started: float,
    *,
    applied: bool,
    settle_until: float | None = None,
) -> Verdict:
    """Decide whether the create of ``route`` with ``body``, begun at ``started`` (our wall
    clock), was applied. ``applied``: a 2xx arrived, so it certainly was (only its body failed).
    ``settle_until`` (our wall clock): the request may still be running on the server until
    then, so "absent" is looked at again until that moment before it is believed.
    """
    step = SETTLE_STEP
    looks = 1
    again = 0
    while True:
        verdict = await _look(session, route, path, body, location, started, applied)
        if verdict.again and again < LOOK_AGAIN:
            # Each lookup already had its own retries; a failed or unreadable answer says
            # nothing about the create, so ask again after a pause rather than give up.
            again += 1
            await asyncio.sleep(step)
            step *= 2
            continue
        if verdict.kind != "absent" or settle_until is None:
            return verdict
        remaining = settle_until - time.time()
        if remaining <= 0:
            note = f"still nothing after {looks} lookups while the request could still run"
            return Verdict("absent", (*verdict.checked, note))
        await asyncio.sleep(min(step, remaining))
        step *= 2
        looks += 1


async def _look(
    session: Session,
    route: routes.Route[object],
    path: Sequence[str],
    body: object,
    location: str | None,
    started: float,
    applied: bool,
) -> Verdict:
    key = route.natural_key
    try:
        if key == "contact":
            verdict = await _contact(session, route, body, location, started)
        elif key == "task" and isinstance(body, m.CreateTask) and path:
            verdict = await _task(session, path[0], body, location, started)
        elif key == "note" and isinstance(body, m.CreateNote) and path:
            verdict = await _note(session, path[0], body, location, started)
        else:
            verdict = Verdict("undecidable", (f"{route.name} has no natural key to look up",))
    except GHLError as err:
        # str(err) could carry the looked-up values (an e-mail in a query): the type says enough.
        verdict = Verdict("undecidable", (f"a lookup failed ({type(err).__name__})",), again=True)
    if verdict.kind == "absent" and applied:
        note = "the server answered 2xx, so the write was applied, but no lookup found it"
        verdict = Verdict("undecidable", (*verdict.checked, note), again=True)
    return verdict


def _found(route: routes.Route[object], contact: m.Contact) -> object:
    if route.response is m.UpsertResult:
        return m.UpsertResult(new=True, contact=contact)
    return contact


async def _contact(
    session: Session,
    route: routes.Route[object],
    body: object,
    location: str | None,
    started: float,
) -> Verdict:
    email_key, phone_key = contact_key(body)
    location_id = getattr(body, "location_id", None)
    if (email_key is None and phone_key is None) or not isinstance(location_id, str):
        return Verdict("undecidable", ("the body has no email or phone to look the contact up by",))
    what = " and ".join(
        name for name, value in (("email", email_key), ("phone", phone_key)) if value
    )
    query = m.DuplicateQuery(
        location_id=location_id,
        email=email_key if email_key is not None else m.UNSET,
        number=phone_key if phone_key is not None else m.UNSET,
    )
    duplicate, offset = await session.lookup(
        routes.FIND_DUPLICATE, (), query=query, location_id=location
    )
    after = since(started, offset)
    claimed = session.transport.claimed
    contact = duplicate.contact
    lookup = f"GET /contacts/search/duplicate by {what}"
    if contact is None:
        return Verdict("absent", (f"{lookup}: no contact",))
    if not contact_matches(contact, email_key, phone_key):
        # An answer with the key fields missing (cut or nulled on the way) proves nothing.
        unreadable = f"{lookup}: contact {contact.id} carries neither; the answer is unreadable"
        return Verdict("undecidable", (unreadable,), again=True)
    ours = newcomers(
        [contact],
        matches=lambda c: contact_matches(c, email_key, phone_key),
        ident=lambda c: c.id,
        added=lambda c: c.date_added,
        after=after,
        claimed=claimed,
    )
    if ours:
        checked = (f"{lookup}: contact {contact.id}, created since the attempt",)
        return Verdict("found", checked, _found(route, contact))
    older = [f"{lookup}: only contact {contact.id}, created before the attempt began"]
    # A location that allows duplicates may hide a new contact behind that older one. Search
    # can prove it exists; it cannot prove it does not (its index lags by seconds).
    conditions = []
    if email_key is not None:
        conditions.append(m.SearchFilter(field="email", operator="eq", value=email_key))
    if phone_key is not None:
        conditions.append(m.SearchFilter(field="phone", operator="eq", value=phone_key))
    filters = conditions
    if len(conditions) > 1:
        filters = [m.SearchFilter(group="OR", filters=conditions)]
    page, _ = await session.lookup(
        routes.SEARCH_CONTACTS,
        (),
        body=m.SearchBody(location_id=location_id, page_limit=50, filters=filters),
        location_id=location,
    )
    fresh = newcomers(
        page.contacts,
        matches=lambda c: contact_matches(c, email_key, phone_key),
        ident=lambda c: c.id,
        added=lambda c: c.date_added,
        after=after,
        claimed=claimed,
    )
    searched = f"POST /contacts/search by {what}"
    if len(fresh) == 1:
        summary = fresh[0]
        full, _ = await session.lookup(routes.GET_CONTACT, (summary.id,), location_id=location)
        older.append(f"{searched}: contact {summary.id}, created since the attempt")
        return Verdict("found", tuple(older), _found(route, full))
    older.append(
        f"{searched}: {len(fresh)} contacts created since the attempt began"
        + (" (search lags by seconds: none is no proof)" if not fresh else "")
    )
    return Verdict("undecidable", tuple(older))


class _Listed(Protocol):
    """A task or a note, as its contact's list returns it."""

    @property
    def id(self) -> str: ...

    @property
    def date_added(self) -> str | None: ...


L = TypeVar("L", bound=_Listed)


def _verdict(
    kind: str,
    lookup: str,
    items: Sequence[L],
    *,
    matches: Callable[[L], bool],
    comparable: Callable[[L], bool],
    after: datetime,
    claimed: Container[str],
) -> Verdict:
    def candidates(predicate: Callable[[L], bool]) -> list[L]:
        return newcomers(
            items,
            matches=predicate,
            ident=lambda item: item.id,
            # v2 tasks carry no creation time; when a server sends one, it is used.
            added=lambda item: item.date_added,
            after=after,
            claimed=claimed,
        )

    fresh = candidates(matches)
    if not fresh:
        unreadable = len(candidates(lambda item: not comparable(item)))
        if unreadable:
            # Absence is believed only from an answer whose every item could be compared.
            return Verdict(
                "undecidable",
                (
                    f"{lookup}: no {kind} like it, but {unreadable} {kind}(s) came back without "
                    "the fields to compare",
                ),
                again=True,
            )
        return Verdict("absent", (f"{lookup}: no {kind} like it, created since the attempt",))
    if len(fresh) == 1:
        return Verdict("found", (f"{lookup}: {kind} {fresh[0].id}",), fresh[0])
    return Verdict(
        "undecidable",
        (f"{lookup}: {len(fresh)} {kind}s like it created since the attempt; cannot tell which",),
    )


async def _task(
    session: Session, contact_id: str, body: m.CreateTask, location: str | None, started: float
) -> Verdict:
    tasks, offset = await session.lookup(routes.LIST_TASKS, (contact_id,), location_id=location)

    def matches(task: m.Task) -> bool:
        return (
            task.title == body.title
            and same_time(task.due_date, body.due_date)
            and (body.body is m.UNSET or task.body is None or same_text(task.body, body.body))
            and (
                body.assigned_to is m.UNSET
                or task.assigned_to is None
                or task.assigned_to == body.assigned_to
            )
        )

    return _verdict(
        "task",
        f"GET /contacts/{contact_id}/tasks",
        tasks,
        matches=matches,
        comparable=lambda t: t.title is not None and t.due_date is not None,
        after=since(started, offset),
        claimed=session.transport.claimed,
    )


async def _note(
    session: Session, contact_id: str, body: m.CreateNote, location: str | None, started: float
) -> Verdict:
    notes, offset = await session.lookup(routes.LIST_NOTES, (contact_id,), location_id=location)
    return _verdict(
        "note",
        f"GET /contacts/{contact_id}/notes",
        notes,
        matches=lambda n: same_text(n.body, body.body),
        comparable=lambda n: n.body is not None,
        after=since(started, offset),
        claimed=session.transport.claimed,
    )

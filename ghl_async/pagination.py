"""Paging: where the next page starts, as pure functions of the page just read.

HighLevel pages its three contact listings three ways:

* ``offset``: ``GET /contacts/business/{businessId}`` takes ``limit``/``skip`` (strings, per
  the spec); page N (1-based) is ``skip = (N - 1) * limit``; ``count`` is the total.
* ``cursor``: the deprecated ``GET /contacts/`` takes ``startAfterId``/``startAfter`` from the
  page's ``meta``, or else from its last contact (``id``, ``dateAdded`` in epoch ms).
* ``search``: ``POST /contacts/search`` takes ``page``/``pageLimit`` up to the 10,000-record
  ceiling, then the last contact's ``searchAfter`` cursor (never combined with ``page``).

Each kind is a small immutable state with ``request`` (put the state into the query or body)
and ``next`` (the state after a page, or ``None`` when done). Every walk stops on an empty or
short page or once the total is reached, and raises :class:`PaginationError` instead of
asking for the same page twice. ``Session.paginate`` drives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

import msgspec

from ghl_async import defaults
from ghl_async.errors import ConfigError, PaginationError
from ghl_async.models import (
    UNSET,
    Body,
    BusinessContactsQuery,
    Contact,
    ContactsPage,
    ListContactsQuery,
    Query,
    SearchBody,
    SearchCursor,
)

__all__ = ["CursorPage", "OffsetPage", "PageState", "SearchPage", "check_limit", "epoch_ms"]


class PageState(Protocol):
    """Where one page request starts."""

    def request(self, query: Query | None, body: Body | None) -> tuple[Query | None, Body | None]:
        """Return the query and body of this page's request."""
        ...

    def next(self, page: ContactsPage) -> PageState | None:
        """Return where the page after ``page`` starts, or ``None`` after the last page.

        Raises:
            PaginationError: the next page would start where this one did.
        """
        ...


def check_limit(name: str, value: object, maximum: int) -> int:
    """Return ``value`` if it is an int in ``1..maximum``, else raise ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an int, not {type(value).__name__}")
    if not 1 <= value <= maximum:
        raise ConfigError(f"{name} must be between 1 and {maximum}, not {value}")
    return value


def _check_page(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"page must be an int, not {type(value).__name__}")
    if value < 1:
        raise ConfigError(f"page is 1-based and must be at least 1, not {value}")
    return value


def epoch_ms(stamp: str | None) -> int | None:
    """``dateAdded`` (ISO-8601) as epoch milliseconds, the unit ``startAfter`` takes."""
    if not stamp:
        return None
    text = stamp[:-1] + "+00:00" if stamp.endswith("Z") else stamp  # 3.10 rejects "Z"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class OffsetPage:
    """A ``limit``/``skip`` page of ``GET /contacts/business/{businessId}``."""

    limit: int
    skip: int = 0

    @classmethod
    def start(cls, limit: int, page: int = 1) -> OffsetPage:
        """The state of 1-based page ``page`` of ``limit`` contacts."""
        limit = check_limit("limit", limit, defaults.BUSINESS_PAGE_LIMIT)
        return cls(limit=limit, skip=(_check_page(page) - 1) * limit)

    def request(self, query: Query | None, body: Body | None) -> tuple[Query | None, Body | None]:
        """Put ``limit``/``skip`` (as strings, as the spec declares them) into the query."""
        assert isinstance(query, BusinessContactsQuery)
        paged = msgspec.structs.replace(query, limit=str(self.limit), skip=str(self.skip))
        return paged, body

    def next(self, page: ContactsPage) -> OffsetPage | None:
        """The following page, unless this one was short or reached the count."""
        got = len(page.contacts)
        if got < self.limit:
            return None
        skip = self.skip + got
        total = page.total_count
        if total is not None and skip >= total:
            return None
        return OffsetPage(limit=self.limit, skip=skip)


@dataclass(frozen=True, slots=True)
class CursorPage:
    """A ``startAfterId``/``startAfter`` page of the deprecated ``GET /contacts/``."""

    limit: int
    start_after_id: str | None = None
    start_after: int | None = None
    seen: int = 0  # contacts yielded before this page, to stop at the total

    @classmethod
    def start(
        cls, limit: int, start_after_id: str | None = None, start_after: int | None = None
    ) -> CursorPage:
        """The first page, optionally resuming after a known cursor."""
        limit = check_limit("limit", limit, defaults.LIST_PAGE_LIMIT)
        if start_after is not None and (
            isinstance(start_after, bool) or not isinstance(start_after, int)
        ):
            raise ConfigError(f"start_after must be epoch milliseconds (int), not {start_after!r}")
        return cls(limit=limit, start_after_id=start_after_id, start_after=start_after)

    def request(self, query: Query | None, body: Body | None) -> tuple[Query | None, Body | None]:
        """Put ``limit`` and the cursor into the query."""
        assert isinstance(query, ListContactsQuery)
        paged = msgspec.structs.replace(
            query,
            limit=self.limit,
            start_after_id=UNSET if self.start_after_id is None else self.start_after_id,
            start_after=UNSET if self.start_after is None else self.start_after,
        )
        return paged, body

    def next(self, page: ContactsPage) -> CursorPage | None:
        """The page after ``page``, from its ``meta`` or else its last contact."""
        contacts = page.contacts
        got = len(contacts)
        if got < self.limit:
            return None
        seen = self.seen + got
        total = page.total_count
        if total is not None and seen >= total:
            return None
        meta = page.meta
        if meta is not None and meta.start_after_id:
            after_id: str | None = meta.start_after_id
            after = meta.start_after
        else:
            last: Contact = contacts[-1]
            after_id, after = last.id or None, epoch_ms(last.date_added)
        if after_id is None or (after_id, after) == (self.start_after_id, self.start_after):
            raise PaginationError(
                "contacts.list", f"startAfterId={after_id!r} startAfter={after!r} after {seen}"
            )
        return CursorPage(limit=self.limit, start_after_id=after_id, start_after=after, seen=seen)


@dataclass(frozen=True, slots=True)
class SearchPage:
    """A page of ``POST /contacts/search``: ``page`` numbers, then ``searchAfter`` cursors."""

    page_limit: int
    page: int | None = 1  # None once paging by cursor
    search_after: SearchCursor | None = None
    seen: int = 0

    @classmethod
    def start(
        cls, page_limit: int, page: int = 1, search_after: SearchCursor | None = None
    ) -> SearchPage:
        """The first page: numbered ``page``, or the one after ``search_after``."""
        page_limit = check_limit("page_limit", page_limit, defaults.SEARCH_PAGE_LIMIT)
        if search_after is not None:
            cursor: object = search_after  # callers may pass anything at runtime
            if not isinstance(cursor, list) or not cursor:
                raise ConfigError("search_after must be a non-empty list (a contact's cursor)")
            return cls(page_limit=page_limit, page=None, search_after=search_after)
        page = _check_page(page)
        if page * page_limit > defaults.SEARCH_PAGE_CEILING:
            raise ConfigError(
                f"page {page} of {page_limit} reaches past the {defaults.SEARCH_PAGE_CEILING:,}"
                " records page numbers can reach; continue with search_after instead"
            )
        return cls(page_limit=page_limit, page=page, seen=(page - 1) * page_limit)

    def request(self, query: Query | None, body: Body | None) -> tuple[Query | None, Body | None]:
        """Put ``pageLimit`` and ``page`` or ``searchAfter`` into the body."""
        assert isinstance(body, SearchBody)
        if self.page is not None:
            paged = msgspec.structs.replace(
                body, page_limit=self.page_limit, page=self.page, search_after=UNSET
            )
        else:
            assert self.search_after is not None
            paged = msgspec.structs.replace(
                body, page_limit=self.page_limit, page=UNSET, search_after=self.search_after
            )
        return query, paged

    def next(self, page: ContactsPage) -> SearchPage | None:
        """The next numbered page while under the ceiling, else the last contact's cursor."""
        contacts = page.contacts
        got = len(contacts)
        if got < self.page_limit:
            return None
        seen = self.seen + got
        total = page.total_count
        if total is not None and seen >= total:
            return None
        if self.page is not None and (self.page + 1) * self.page_limit <= (
            defaults.SEARCH_PAGE_CEILING
        ):
            return SearchPage(page_limit=self.page_limit, page=self.page + 1, seen=seen)
        cursor = contacts[-1].search_after
        if not cursor:
            raise PaginationError(
                "contacts.search",
                f"no searchAfter cursor on the last contact after {seen} records",
            )
        if cursor == self.search_after:
            raise PaginationError("contacts.search", f"searchAfter={cursor!r} repeated")
        return SearchPage(page_limit=self.page_limit, page=None, search_after=cursor, seen=seen)

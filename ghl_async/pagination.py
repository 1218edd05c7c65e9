"""Paging: where the next page starts, as pure functions of the page just read.

Generic over the item type: a route's response model is a :class:`Page` (``items`` and
``total_count``), and each paging kind is a small immutable state with ``request`` (put the
state into the query or body) and ``next`` (the state after a page, or ``None`` when done).
``Session.paginate`` drives any of them over any route, and yields the page's items. HighLevel
pages its listings five ways:

* ``offset`` (:class:`OffsetPage`): ``limit``/``skip`` as strings (business listing, v2
  installed locations); page N (1-based) is ``skip = (N - 1) * limit``, and any ``skip`` can
  be asked for directly.
* ``cursor`` (:class:`CursorPage`): the deprecated ``GET /contacts/`` takes
  ``startAfterId``/``startAfter`` (the page's :meth:`CursorPaged.cursor_after`).
* ``search`` (:class:`SearchPage`): ``POST /contacts/search`` takes ``page``/``pageLimit`` up to
  the 10,000-record ceiling, then the last item's ``searchAfter`` cursor.
* ``keyset`` (:class:`KeysetPage`): the v3 business listing starts at ``skip`` (a page number
  or any offset) and continues with ``startAfter`` = the last contact's ``[name, id]``
  (:meth:`KeysetPaged.start_after_key`).
* ``token`` (:class:`TokenPage`): v3 AIP-158 lists take ``pageSize``/``pageToken`` and answer
  ``pagination.nextPageToken``.

A walk starts at a page number, an offset or a cursor: giving two of them is a ``ConfigError``,
never a silent choice. ``Session.pages`` yields each page with the state that produced it
(:class:`~ghl_async.responses.PageResponse`), so a walk can be resumed from its
``next_state``.

A page model opts into a kind by having its members (the protocols below), so another
HighLevel API pages by adding a model, not by editing this module. Every walk stops on an empty
or short page or once the total is reached, and raises :class:`PaginationError` instead of
asking for the same page twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

import msgspec

from ghl_async import defaults
from ghl_async.errors import ConfigError, PaginationError
from ghl_async.models import UNSET, Body, Query, SearchCursor, epoch_ms

__all__ = [
    "CursorPage",
    "CursorPaged",
    "KeysetPage",
    "KeysetPaged",
    "OffsetPage",
    "Page",
    "PageState",
    "SearchPage",
    "SearchPaged",
    "TokenPage",
    "TokenPaged",
    "check_limit",
    "epoch_ms",
]

T_co = TypeVar("T_co", covariant=True)


@runtime_checkable
class Page(Protocol[T_co]):
    """A page of a listing: its items and, when the server says, the total."""

    @property
    def items(self) -> Sequence[T_co]:
        """The items of this page, in order."""
        ...

    @property
    def total_count(self) -> int | None:
        """Every matching item across pages, or ``None`` when unknown."""
        ...


@runtime_checkable
class CursorPaged(Page[object], Protocol):
    """A page that knows the ``startAfterId``/``startAfter`` cursor of the next one."""

    def cursor_after(self) -> tuple[str | None, int | None]:
        """The cursor after this page (``(None, None)`` when it cannot tell)."""
        ...


@runtime_checkable
class SearchPaged(Page[object], Protocol):
    """A search page whose last item carries a ``searchAfter`` cursor."""

    def search_after_cursor(self) -> SearchCursor | None:
        """The ``searchAfter`` of the last item."""
        ...


@runtime_checkable
class KeysetPaged(Page[object], Protocol):
    """A page whose last item gives the ``startAfter`` key of the next page."""

    def start_after_key(self) -> list[str] | None:
        """The ``startAfter`` pair after this page."""
        ...


@runtime_checkable
class TokenPaged(Page[object], Protocol):
    """An AIP-158 page with an opaque next-page token."""

    @property
    def next_page_token(self) -> str | None:
        """The token of the next page; ``None`` after the last one."""
        ...


class PageState(Protocol):
    """Where one page request starts."""

    def request(self, query: Query | None, body: Body | None) -> tuple[Query | None, Body | None]:
        """Return the query and body of this page's request."""
        ...

    def next(self, page: Page[object]) -> PageState | None:
        """Return where the page after ``page`` starts, or ``None`` after the last page.

        Raises:
            PaginationError: the next page would start where this one did.
            TypeError: the route's page model lacks what this kind of paging reads.
        """
        ...


def _unsupported(page: Page[object], kind: str) -> TypeError:
    # A route-table error: the route's page model does not page this way.
    return TypeError(f"{type(page).__name__} is not a {kind} (it lacks what this paging reads)")


def _ended(got: int, limit: int, seen: int, total: int | None) -> bool:
    """Whether a walk is over after a page of ``got`` items (``seen`` counts them too)."""
    return got < limit or (total is not None and seen >= total)


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


def _first_offset(limit: int, page: object, skip: object) -> int:
    """Where a listing starts: ``skip`` items in, or at 1-based ``page`` of ``limit``."""
    if skip is None:
        return (_check_page(page) - 1) * limit
    if isinstance(skip, bool) or not isinstance(skip, int):
        raise ConfigError(f"skip must be an int, not {type(skip).__name__}")
    if skip < 0:
        raise ConfigError(f"skip counts items from 0 and cannot be negative, not {skip}")
    if page != 1:
        raise ConfigError("pass page= or skip=, not both (skip is the offset of the first item)")
    return skip


def _one_start(name: str, given: object, page: object) -> None:
    """A walk starts at a page number or after a cursor, never both."""
    if given is not None and page != 1:
        raise ConfigError(f"pass page= or {name}=, not both (the cursor says where to start)")


@dataclass(frozen=True, slots=True)
class OffsetPage:
    """A ``limit``/``skip`` page (business listing, v2 installed locations)."""

    limit: int
    skip: int = 0

    @classmethod
    def start(
        cls,
        limit: int,
        page: int = 1,
        skip: int | None = None,
        *,
        maximum: int = defaults.BUSINESS_PAGE_LIMIT,
    ) -> OffsetPage:
        """The state of 1-based page ``page`` of ``limit`` items, or of the one at ``skip``.

        Raises:
            ConfigError: ``limit`` outside ``1..maximum``, ``page`` below 1, ``skip`` below
                0, or both ``page`` and ``skip``.
        """
        limit = check_limit("limit", limit, maximum)
        return cls(limit=limit, skip=_first_offset(limit, page, skip))

    def request(self, query: Query | None, body: Body | None) -> tuple[Query | None, Body | None]:
        """Put ``limit``/``skip`` (as strings, as the specs declare them) into the query."""
        assert query is not None
        paged = msgspec.structs.replace(query, limit=str(self.limit), skip=str(self.skip))
        return paged, body

    def next(self, page: Page[object]) -> OffsetPage | None:
        """The following page, unless this one was short or reached the count."""
        skip = self.skip + len(page.items)
        if _ended(len(page.items), self.limit, skip, page.total_count):
            return None
        return OffsetPage(limit=self.limit, skip=skip)


@dataclass(frozen=True, slots=True)
class CursorPage:
    """A ``startAfterId``/``startAfter`` page of the deprecated ``GET /contacts/``."""

    limit: int
    start_after_id: str | None = None
    start_after: int | None = None
    seen: int = 0  # items yielded before this page, to stop at the total

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
        assert query is not None
        paged = msgspec.structs.replace(
            query,
            limit=self.limit,
            start_after_id=UNSET if self.start_after_id is None else self.start_after_id,
            start_after=UNSET if self.start_after is None else self.start_after,
        )
        return paged, body

    def next(self, page: Page[object]) -> CursorPage | None:
        """The page after ``page``, from its cursor (``meta``, else its last item)."""
        seen = self.seen + len(page.items)
        if _ended(len(page.items), self.limit, seen, page.total_count):
            return None
        if not isinstance(page, CursorPaged):
            raise _unsupported(page, "CursorPaged")
        after_id, after = page.cursor_after()
        if after_id is None or (after_id, after) == (self.start_after_id, self.start_after):
            raise PaginationError(
                "startAfterId", f"startAfterId={after_id!r} startAfter={after!r} after {seen}"
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
        _one_start("search_after", search_after, page)
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
        assert body is not None
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

    def next(self, page: Page[object]) -> SearchPage | None:
        """The next numbered page while under the ceiling, else the last item's cursor."""
        seen = self.seen + len(page.items)
        if _ended(len(page.items), self.page_limit, seen, page.total_count):
            return None
        if self.page is not None and (self.page + 1) * self.page_limit <= (
            defaults.SEARCH_PAGE_CEILING
        ):
            return SearchPage(page_limit=self.page_limit, page=self.page + 1, seen=seen)
        if not isinstance(page, SearchPaged):
            raise _unsupported(page, "SearchPaged")
        cursor = page.search_after_cursor()
        if not cursor:
            raise PaginationError(
                "searchAfter", f"no searchAfter cursor on the last contact after {seen} records"
            )
        if cursor == self.search_after:
            raise PaginationError("searchAfter", f"searchAfter={cursor!r} repeated")
        return SearchPage(page_limit=self.page_limit, page=None, search_after=cursor, seen=seen)


@dataclass(frozen=True, slots=True)
class KeysetPage:
    """A page of the v3 business listing: ``skip`` first, then ``startAfter`` = ``[name, id]``.

    The first page starts at ``skip`` (1-based page numbers, as :class:`OffsetPage`) or after a
    known ``start_after``; every later page starts after the last item of the one before, so a
    walk never pays for deep offsets.
    """

    limit: int
    skip: int = 0
    start_after: tuple[str, ...] | None = None
    seen: int = 0

    @classmethod
    def start(
        cls,
        limit: int,
        page: int = 1,
        start_after: list[str] | None = None,
        skip: int | None = None,
    ) -> KeysetPage:
        """The first page: numbered ``page``, the one at ``skip``, or the one after
        ``start_after``.

        Raises:
            ConfigError: a bad ``limit``, ``page`` or ``skip``, or more than one start.
        """
        limit = check_limit("limit", limit, defaults.BUSINESS_PAGE_LIMIT)
        _one_start("start_after", start_after, page)
        if start_after is not None and skip is not None:
            raise ConfigError("pass skip= or start_after=, not both")
        if start_after is not None:
            given: object = start_after  # callers may pass anything at runtime
            if (
                not isinstance(given, list)
                or len(given) != 2
                or not all(isinstance(part, str) for part in given)
            ):
                raise ConfigError("start_after must be a [name, id] pair of strings")
            return cls(limit=limit, start_after=tuple(start_after))
        first = _first_offset(limit, page, skip)
        return cls(limit=limit, skip=first, seen=first)

    def request(self, query: Query | None, body: Body | None) -> tuple[Query | None, Body | None]:
        """Put ``limit`` and ``skip`` or ``startAfter`` into the query."""
        assert query is not None
        if self.start_after is None:
            paged = msgspec.structs.replace(
                query, limit=str(self.limit), skip=str(self.skip), start_after=UNSET
            )
        else:
            paged = msgspec.structs.replace(
                query, limit=str(self.limit), skip=UNSET, start_after=list(self.start_after)
            )
        return paged, body

    def next(self, page: Page[object]) -> KeysetPage | None:
        """The page after the last item of ``page``."""
        seen = self.seen + len(page.items)
        if _ended(len(page.items), self.limit, seen, page.total_count):
            return None
        if not isinstance(page, KeysetPaged):
            raise _unsupported(page, "KeysetPaged")
        key = page.start_after_key()
        if not key:
            raise PaginationError("startAfter", f"no [name, id] on the last item after {seen}")
        after = tuple(key)
        if after == self.start_after:
            raise PaginationError("startAfter", f"startAfter={key!r} repeated")
        return KeysetPage(limit=self.limit, start_after=after, seen=seen)


@dataclass(frozen=True, slots=True)
class TokenPage:
    """An AIP-158 page: ``pageSize`` and the opaque ``pageToken`` the previous page gave."""

    page_size: int
    page_token: str | None = None

    @classmethod
    def start(cls, page_size: int, page_token: str | None = None) -> TokenPage:
        """The first page, or the one a saved ``page_token`` names."""
        page_size = check_limit("page_size", page_size, defaults.INSTALLED_PAGE_LIMIT)
        given: object = page_token  # callers may pass anything at runtime
        if given is not None and (not isinstance(given, str) or not given):
            raise ConfigError("page_token must be a non-empty str (a page's nextPageToken)")
        return cls(page_size=page_size, page_token=page_token)

    def request(self, query: Query | None, body: Body | None) -> tuple[Query | None, Body | None]:
        """Put ``pageSize`` and ``pageToken`` into the query."""
        assert query is not None
        token = UNSET if self.page_token is None else self.page_token
        paged = msgspec.structs.replace(query, page_size=self.page_size, page_token=token)
        return paged, body

    def next(self, page: Page[object]) -> TokenPage | None:
        """The page the server's ``nextPageToken`` names; ``None`` when it names none."""
        if not isinstance(page, TokenPaged):
            raise _unsupported(page, "TokenPaged")
        token = page.next_page_token
        if not token or not page.items:
            return None
        if token == self.page_token:
            raise PaginationError("pageToken", f"pageToken={token!r} repeated")
        return TokenPage(page_size=self.page_size, page_token=token)

"""Raw responses: the HTTP answer next to the parsed result.

``ghl.contacts.with_raw_response.get(contact_id)`` (every namespace has ``with_raw_response``,
with the same methods and parameters) returns a :class:`RawResponse` instead of the model:
status, headers, rate-limit headers, trace id, how long the call took and how many attempts
it made, the raw bytes, and the result from :meth:`RawResponse.parse`. An error status still
raises (``APIError`` carries the same details). ``iter_*_pages`` walks yield a
:class:`PageResponse` per page: the same, plus where that page started and where the next one
starts.

A 2xx body that is JSON but does not match the model does not raise here: the bytes are yours
(``content``) and :meth:`RawResponse.parse` raises the ``DecodeError`` the plain method would
have raised. This is the escape hatch for schema drift.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

import msgspec

from ghl_async.errors import DecodeError
from ghl_async.ratelimit import RateLimitInfo

if TYPE_CHECKING:
    from ghl_async.pagination import Page, PageState

__all__ = ["PageResponse", "RawResponse"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
U = TypeVar("U")


class _Traced(msgspec.Struct, frozen=True):
    trace_id: str | None = msgspec.field(default=None, name="traceId")


_trace_decoder = msgspec.json.Decoder(_Traced)
_NOT_PARSED = object()


class RawResponse(Generic[T_co]):
    """One call's final HTTP answer, and its result (:meth:`parse`, :attr:`data`).

    Attributes:
        operation: the route name, e.g. ``"contacts.get"``.
        method: the HTTP method.
        url: the URL the call sent, query string included.
        status: the HTTP status of the answer the result came from.
        headers: that answer's headers (read-only, case-insensitive).
        content: that answer's body, as received (after gzip/deflate), at most the client's
            ``max_response_size``.
        elapsed: seconds from the start of the call to the end of that answer, retries and
            waits included.
        attempts: requests this call sent (1 unless it was retried).
        reconciled: the create's own answer was lost (or unreadable) and the result was found
            by looking it up (:mod:`ghl_async.reconcile`); ``status``, ``headers`` and
            ``content`` are then those of the lookup that found it.
    """

    __slots__ = (
        "_data",
        "_error",
        "_parse",
        "attempts",
        "content",
        "elapsed",
        "headers",
        "method",
        "operation",
        "reconciled",
        "status",
        "url",
    )

    def __init__(
        self,
        *,
        operation: str,
        method: str,
        url: str,
        status: int,
        headers: Mapping[str, str],
        content: bytes,
        elapsed: float,
        attempts: int,
        parse: Callable[[], T_co],
        reconciled: bool = False,
    ) -> None:
        self.operation = operation
        self.method = method
        self.url = url
        self.status = status
        self.headers = headers
        self.content = content
        self.elapsed = elapsed
        self.attempts = attempts
        self.reconciled = reconciled
        self._parse = parse
        self._data: object = _NOT_PARSED
        self._error: DecodeError | None = None

    def parse(self) -> T_co:
        """The result the plain method returns (decoded once, then cached).

        Raises:
            DecodeError: the body did not match the route's model.
        """
        data = self._data
        if data is _NOT_PARSED:
            if self._error is not None:
                raise self._error
            try:
                data = self._data = self._parse()
            except DecodeError as err:
                self._error = err
                raise
        return data  # type: ignore[return-value]  # a T_co once parsed; object() is the marker

    @property
    def data(self) -> T_co:
        """The parsed result (:meth:`parse`)."""
        return self.parse()

    @property
    def rate_limit(self) -> RateLimitInfo | None:
        """The answer's ``X-RateLimit-*`` headers, parsed (``None``: none usable)."""
        return RateLimitInfo.from_headers(self.headers)

    @property
    def trace_id(self) -> str | None:
        """HighLevel's trace id: the ``traceId`` (or ``X-Trace-Id``) header, else the body's."""
        found = self.headers.get("traceId") or self.headers.get("X-Trace-Id")
        if found:
            return found
        try:
            return _trace_decoder.decode(self.content).trace_id
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None

    def map(self, func: Callable[[T_co], U]) -> RawResponse[U]:
        """The same answer with ``func`` applied to its result (lazily, at :meth:`parse`)."""
        parse = self.parse
        return RawResponse(
            operation=self.operation,
            method=self.method,
            url=self.url,
            status=self.status,
            headers=self.headers,
            content=self.content,
            elapsed=self.elapsed,
            attempts=self.attempts,
            parse=lambda: func(parse()),
            reconciled=self.reconciled,
        )

    def __repr__(self) -> str:
        # No URL: query strings carry e-mail addresses and phone numbers.
        return (
            f"{type(self).__name__}(operation={self.operation!r}, status={self.status}, "
            f"attempts={self.attempts}, elapsed={self.elapsed:.3f})"
        )


class PageResponse(RawResponse[T_co]):
    """One page of an ``iter_*_pages`` walk: the page model, its answer and its place.

    ``data`` is the route's page model (``ContactsPage``, ``InstalledLocationsPageV3``, ...);
    :attr:`items` and :attr:`total_count` read it. To resume a walk later, keep
    :attr:`next_state` (or the page model's cursor) and pass its fields to the walk's
    parameters: ``skip=`` for offset listings, ``search_after=``, ``start_after=``,
    ``page_token=``.

    Attributes:
        state: the paging state this page was requested with (``OffsetPage(limit, skip)``,
            ``SearchPage(...)``, ...).
        next_state: where the next page starts, or ``None`` after the last page.
        number: this page's position in the walk, from 1.
    """

    __slots__ = ("next_state", "number", "state")

    def __init__(
        self,
        raw: RawResponse[T_co],
        *,
        state: PageState,
        next_state: PageState | None,
        number: int,
    ) -> None:
        super().__init__(
            operation=raw.operation,
            method=raw.method,
            url=raw.url,
            status=raw.status,
            headers=raw.headers,
            content=raw.content,
            elapsed=raw.elapsed,
            attempts=raw.attempts,
            parse=raw.parse,
            reconciled=raw.reconciled,
        )
        self.state = state
        self.next_state = next_state
        self.number = number

    @property
    def items(self: PageResponse[Page[T]]) -> Sequence[T]:
        """The items of this page."""
        return self.parse().items

    @property
    def total_count(self: PageResponse[Page[object]]) -> int | None:
        """Every matching item across pages, when the server says."""
        return self.parse().total_count

    def __repr__(self) -> str:
        return (
            f"PageResponse(operation={self.operation!r}, number={self.number}, "
            f"status={self.status})"
        )

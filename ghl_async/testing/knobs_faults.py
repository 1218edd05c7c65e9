"""The fault knobs of FakeHighLevel: break answers the way HighLevel's edge does.

Every knob arms a :class:`~ghl_async.testing.Fault` for an operation (a route name such as
``contacts.get`` or ``v3.contacts.get``, an operationId such as ``get-contact`` (the v2 route;
v3 shares v2's operationIds, so name a v3 route by its name), ``oauth.token`` (both versions),
``oauth.location_token``, ``v3.oauth.location_token``, ``oauth.list_installed_locations``,
``v3.oauth.list_installed_locations``, or ``"*"`` for every one) and returns it;
``fault.hits`` counts its firings. ``times`` is how many requests it hits (``None``: until
:meth:`~FaultKnobs.clear_faults`), ``skip`` how many matching requests pass first. Faults act
in front of the API like a proxy would, in this order: delay, slow (before), token revocation,
drop (before), fail (before); then the request is handled; then slow (after), fail (after),
drop (after), mutation, reset, truncation.

Randomness (mutated fields, the chaos profile) comes from ``random.Random`` seeded with the
fake's ``seed`` and the request's arrival index, so a test that sends the same requests in the
same order sees the same faults.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final, get_args

from ghl_async.errors import ConfigError
from ghl_async.routes import ALL_ROUTES
from ghl_async.testing.chaos import Ingredient, make_chaos
from ghl_async.testing.core import FakeCore
from ghl_async.testing.faults import (
    DropWhen,
    Fault,
    FaultKind,
    ProxyPage,
    RetryAfterForm,
    When,
)

__all__ = ["FaultKnobs"]

_OAUTH_OPERATIONS: Final = {
    "oauth.token": "oauth.token",
    "get-access-token": "oauth.token",
    "oauth.location_token": "oauth.location_token",
    "get-location-access-token": "oauth.location_token",
    "v3.oauth.location_token": "v3.oauth.location_token",
    "oauth.chooser": "oauth.chooser",
}
_PAGES: Final = get_args(ProxyPage)


def operation_name(name: str) -> str:
    """The route name for a route name, operationId, OAuth operation or ``"*"``."""
    if name == "*":
        return name
    for route in ALL_ROUTES:
        if name in (route.name, route.operation_id):
            return route.name
    found = _OAUTH_OPERATIONS.get(name)
    if found is None:
        raise ConfigError(f"unknown operation {name!r}: use a route name or operationId")
    return found


def _share(name: str, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be between 0 and 1, not {value!r}")
    return float(value)


def _when(value: str) -> When:
    if value not in ("before", "after"):
        raise ConfigError("when must be 'before' or 'after'")
    return "before" if value == "before" else "after"


class FaultKnobs(FakeCore):
    """``fail``, ``drop``, ``delay``, ``slow``, ``truncate``, ``reset``, ``revoke_early``,
    ``mutate``, ``chaos`` and ``clear_faults``."""

    def _arm(
        self, kind: FaultKind, operation: str, times: int | None, skip: int, **fields: object
    ) -> Fault:
        if times is not None and times < 1:
            raise ConfigError("times must be at least 1 (or None for 'until cleared')")
        if skip < 0:
            raise ConfigError("skip must not be negative")
        fault = Fault(kind=kind, operation=operation_name(operation), remaining=times, skip=skip)
        for name, value in fields.items():
            setattr(fault, name, value)
        return self.faults.arm(fault)

    def fail(
        self,
        operation: str,
        status: int = 503,
        *,
        times: int | None = 1,
        retry_after: float | str | None = None,
        retry_after_form: RetryAfterForm = "seconds",
        html: bool | ProxyPage = False,
        when: When = "before",
        headers: Mapping[str, str] | None = None,
        skip: int = 0,
    ) -> Fault:
        """Answer the next ``times`` requests of ``operation`` with ``status``.

        JSON by default, as the API writes it: a 500 is HighLevel's
        ``{"statusCode":500,"message":"Internal server error"}``, a 429 carries
        ``X-RateLimit-*`` headers of a spent window, other statuses
        ``{"statusCode", "message", "error"}``; all with a ``traceId`` header.
        ``html=True`` (or ``"nginx"``, ``"google"``, ``"cloudflare"``) answers with that proxy's
        error page instead (``text/html``; Cloudflare's is ``text/plain`` "error code: 502") and
        none of the API's headers.

        ``retry_after`` adds ``Retry-After``: seconds (``retry_after_form="seconds"``, the
        default) or an HTTP-date that many seconds from now (``"http-date"``); a ``str`` is sent
        verbatim. ``headers`` are added last (e.g. a huge ``X-RateLimit-Interval-Milliseconds``).
        ``when="after"`` handles the request first, so a write is applied and answered with the
        failure (applied-then-502). ``times=None`` fails until :meth:`clear_faults`.
        """
        if not 400 <= status <= 599:
            raise ConfigError("status must be an HTTP error status (400-599)")
        if retry_after_form not in ("seconds", "http-date"):
            raise ConfigError("retry_after_form must be 'seconds' or 'http-date'")
        if html is not False and html is not True and html not in _PAGES:
            raise ConfigError(f"html must be a bool or one of {_PAGES}, not {html!r}")
        page: ProxyPage = "nginx" if isinstance(html, bool) else html
        return self._arm(
            "fail",
            operation,
            times,
            skip,
            status=status,
            retry_after=retry_after,
            retry_after_form=retry_after_form,
            html=html is not False,
            page=page,
            when=_when(when),
            headers=dict(headers or {}),
        )

    def drop(
        self,
        operation: str,
        *,
        when: DropWhen = "before",
        times: int | None = 1,
        reset: bool = False,
        skip: int = 0,
    ) -> Fault:
        """Close the connection without answering the next ``times`` requests of ``operation``.

        ``when="after"`` applies the request first (the write happens, the answer is lost).
        ``reset=True`` sends a TCP RST instead of a FIN (aiohttp raises ``ClientOSError``
        "Connection reset by peer" instead of ``ServerDisconnectedError``).
        """
        return self._arm("drop", operation, times, skip, when=_when(when), reset=reset)

    def delay(
        self, operation: str, seconds: float, *, times: int | None = 1, skip: int = 0
    ) -> Fault:
        """Wait ``seconds`` before handling the next ``times`` requests of ``operation``.

        The same as ``slow(operation, seconds, when="before")``.
        """
        if seconds < 0:
            raise ConfigError("seconds must not be negative")
        return self._arm("delay", operation, times, skip, seconds=seconds)

    def slow(
        self,
        operation: str,
        seconds: float,
        *,
        when: When = "after",
        times: int | None = 1,
        skip: int = 0,
    ) -> Fault:
        """Answer the next ``times`` requests of ``operation`` only after ``seconds``.

        Pick ``seconds`` past the client's timeout to make it give up. ``when="after"`` (the
        default) handles the request at once and sleeps before answering: the write is applied
        even though the client never hears of it. ``when="before"`` sleeps first and then
        handles the request: the write lands ``seconds`` later, after the client gave up (and
        perhaps after its retry). The fake keeps handling a request whose client went away.
        """
        if seconds < 0:
            raise ConfigError("seconds must not be negative")
        return self._arm("slow", operation, times, skip, seconds=seconds, when=_when(when))

    def truncate(
        self,
        operation: str,
        *,
        keep: float = 0.5,
        chunked: bool = False,
        times: int | None = 1,
        skip: int = 0,
    ) -> Fault:
        """Cut the 2xx body of the next ``times`` requests of ``operation`` short.

        The request is handled (a write is applied), the status line and headers go out, then
        ``keep`` of the body (a share, 0 to 1; never the whole body) and the connection closes.
        ``chunked=False`` declares the full ``Content-Length``; ``chunked=True`` sends
        ``Transfer-Encoding: chunked`` and never the terminating chunk. aiohttp raises
        ``ClientPayloadError`` when reading the body. Error answers pass untouched and do not
        count.
        """
        return self._arm(
            "truncate", operation, times, skip, keep=_share("keep", keep), chunked=chunked
        )

    def reset(
        self, operation: str, *, keep: float = 0.0, times: int | None = 1, skip: int = 0
    ) -> Fault:
        """Reset the connection in the middle of the next ``times`` answers of ``operation``.

        The request is handled, the status line and headers (declaring the full
        ``Content-Length``) and ``keep`` of the body are sent, then a TCP RST. The client sees a
        status and headers, then its body read fails (aiohttp: ``ClientPayloadError`` or
        ``ClientOSError``).
        """
        return self._arm("reset", operation, times, skip, keep=_share("keep", keep))

    def revoke_early(
        self,
        operation: str = "*",
        *,
        times: int | None = 1,
        private: bool = False,
        skip: int = 0,
    ) -> Fault:
        """Kill the access token of the next ``times`` requests of ``operation`` before expiry.

        The token dies as the request arrives, so that request gets 401 ``Invalid JWT`` and so
        does every later use of the token; its refresh token keeps working (a client recovers
        by refreshing). Only requests carrying a live OAuth access token count, unless
        ``private=True`` lets it kill private-integration tokens too (those cannot be renewed).
        """
        return self._arm("revoke", operation, times, skip, private=private)

    def mutate(
        self,
        operation: str = "*",
        *,
        missing: int = 1,
        extra: int = 1,
        nulls: int = 1,
        protect: Collection[str] = ("id",),
        odd_headers: bool = False,
        times: int | None = 1,
        skip: int = 0,
    ) -> Fault:
        """Alter the 2xx JSON answers of the next ``times`` requests of ``operation``.

        Deletes ``missing`` fields and sets ``nulls`` values to ``null``, chosen among the keys
        of nested objects and the items of lists (``"tags": ["a", null]``); the top-level
        envelope keys (``contact``, ``contacts``, ``count``, ...) and keys named in ``protect``
        stay. Adds ``extra`` unknown fields with values of any JSON type. ``odd_headers=True``
        also replaces each ``X-RateLimit-*`` value with one a client must survive (``1e400``,
        ``Infinity``, ``NaN``, non-ASCII digits, ``""``, ...). Which fields and values: drawn
        from the fake's ``seed`` and the request's arrival index. Error answers pass untouched.
        """
        if min(missing, extra, nulls) < 0:
            raise ConfigError("missing, extra and nulls must not be negative")
        return self._arm(
            "mutate",
            operation,
            times,
            skip,
            missing=missing,
            extra=extra,
            nulls=nulls,
            protect=frozenset(protect),
            odd_headers=odd_headers,
        )

    def chaos(
        self,
        profile: str | Mapping[Ingredient, float] | None = "heavy",
        *,
        seed: int | None = None,
        rate: float | None = None,
        slow_seconds: float = 2.0,
        odd_headers: bool = False,
        operations: Collection[str] | None = None,
    ) -> None:
        """Make a seeded share of all requests fail the way HighLevel's edge does.

        ``"heavy"`` hits about 25% of requests with a mix of every fault (see
        :data:`ghl_async.testing.chaos.HEAVY`): HighLevel's 500, gateway 502/503 pages with and
        without ``Retry-After`` (seconds and HTTP-date), 429 with ``Retry-After`` and
        ``X-RateLimit-*``, 2xx bodies cut short (``Content-Length`` and chunked), resets before
        and in the middle of answers, answers slower than ``slow_seconds`` (write applied before
        or after the wait), applied-then-502, early death of the request's OAuth access token,
        and 2xx bodies with fields missing, ``null`` or extra. ``"light"`` is the same mix at
        5%; a mapping of ingredient to share makes your own mix. ``rate`` rescales the mix to
        that share of requests. ``odd_headers=True`` adds odd ``X-RateLimit-*`` values to the
        mutations. ``operations`` limits chaos to those operations.

        Deterministic: request number *n* (in arrival order, counting every request) meets
        the fault that ``seed`` (default: the fake's ``seed``) and *n* decide. The OAuth consent
        page is never touched, and ``oauth.token`` only meets faults that leave its code or
        refresh token unspent (:data:`ghl_async.testing.chaos.UNSPENT`). Armed faults act
        first. ``profile=None`` turns chaos off.
        """
        if profile is None:
            self.chaos_mix = None
            return
        names = None if operations is None else [operation_name(name) for name in operations]
        self.chaos_mix = make_chaos(
            profile,
            seed=self.seed if seed is None else seed,
            rate=rate,
            slow_seconds=slow_seconds,
            odd_headers=odd_headers,
            operations=names,
        )

    def clear_faults(self) -> None:
        """Disarm every fault and turn chaos off."""
        self.faults.clear()
        self.chaos_mix = None

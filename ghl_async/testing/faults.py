"""Fault injection and the request log.

A fault is armed per operation (a route name such as ``contacts.get``, an OAuth operation such
as ``oauth.token``, or ``"*"`` for all) and fires on the next matching requests. What each kind
does, and the knob that arms it (:mod:`ghl_async.testing.knobs_faults`):

=============  ===================================================================  ==============
kind           what the client sees                                                 knob
=============  ===================================================================  ==============
``fail``       an error status: HighLevel's JSON, or a proxy's HTML/plain page;     ``fail``
               ``when="after"``: the write was applied first (applied-then-502)
``drop``       the connection closes (FIN, or RST with ``reset=True``), no answer   ``drop``
``delay``      a pause before the request is handled                                ``delay``
``slow``       a pause before handling (``when="before"``) or before answering      ``slow``
               an already applied request (``when="after"``)
``truncate``   a 2xx whose body stops early: ``Content-Length`` promises more, or   ``truncate``
               a chunked body without its last chunk; then the connection closes
``reset``      the status line and headers (and part of the body), then a TCP RST   ``reset``
``revoke``     the request's OAuth access token dies first, so it gets a 401        ``revoke_early``
``mutate``     a 2xx JSON body with fields missing, extra, or ``null`` (inside      ``mutate``
               lists too); optionally odd ``X-RateLimit-*`` values
=============  ===================================================================  ==============

Knobs are set from test code, possibly on another thread than the server's, so the fault list
is guarded by a lock; the common "no fault armed" case is a lock-free emptiness check.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DropWhen",
    "Fault",
    "FaultKind",
    "FaultPlan",
    "Firing",
    "ProxyPage",
    "RequestLog",
    "RequestRecord",
    "RetryAfterForm",
    "When",
]

FaultKind = Literal["fail", "drop", "delay", "slow", "truncate", "reset", "revoke", "mutate"]
When = Literal["before", "after"]
"""Relative to handling the request: ``"after"`` means the write was applied first."""
DropWhen = When  # the name of 0.1.0
ProxyPage = Literal["nginx", "google", "cloudflare"]
"""Whose error page a proxy answers with: nginx's and Google's are HTML, Cloudflare's plain."""
RetryAfterForm = Literal["seconds", "http-date"]


@dataclass(slots=True, eq=False)
class Fault:
    """One armed fault. ``remaining`` counts down (``None`` fires until cleared); ``hits``
    counts firings; ``skip`` matching requests pass untouched before the first firing.

    Only the fields of its ``kind`` matter (see the module docstring for the kinds).
    """

    kind: FaultKind
    operation: str
    remaining: int | None = 1
    skip: int = 0
    hits: int = 0
    # fail
    status: int = 503
    retry_after: float | str | None = None
    retry_after_form: RetryAfterForm = "seconds"
    html: bool = False
    page: ProxyPage = "nginx"
    headers: dict[str, str] = field(default_factory=dict)
    # fail, drop, slow: relative to handling the request
    when: When = "before"
    # drop: RST instead of FIN
    reset: bool = False
    # delay, slow
    seconds: float = 0.0
    # truncate, reset: share of the body sent before the connection ends
    keep: float = 0.5
    chunked: bool = False
    # revoke: private-integration tokens too
    private: bool = False
    # mutate
    missing: int = 1
    extra: int = 1
    nulls: int = 1
    protect: frozenset[str] = frozenset({"id"})
    odd_headers: bool = False
    chaos: bool = False  # drawn by the chaos profile, not armed by a knob


class FaultPlan:
    """The armed faults, matched in the order they were armed."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        """True while any fault is armed (lock-free: a list's truth is atomic)."""
        return bool(self._faults)

    def arm(self, fault: Fault) -> Fault:
        """Add a fault and return it (its ``hits`` shows how often it fired)."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(
        self,
        operation: str,
        kind: FaultKind,
        when: When | None = None,
        accept: Callable[[Fault], bool] | None = None,
    ) -> Fault | None:
        """Consume one firing of the first fault matching ``operation``, ``kind`` (and ``when``).

        ``accept`` can refuse a fault for this request (it then stays armed, its ``skip``
        untouched): e.g. a token revocation waits for a request that carries an OAuth token.
        """
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.kind != kind or fault.operation not in (operation, "*"):
                    continue
                if when is not None and fault.when != when:
                    continue
                if accept is not None and not accept(fault):
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.hits += 1
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[Fault]:
        """The faults still armed."""
        with self._lock:
            return list(self._faults)


class Firing:
    """The faults one request meets: armed ones first, then its chaos pick (if any).

    ``fired`` names the kinds that acted, for the request log.
    """

    __slots__ = ("_operation", "_pick", "_plan", "fired")

    def __init__(self, plan: FaultPlan, operation: str, pick: Fault | None) -> None:
        self._plan = plan
        self._operation = operation
        self._pick = pick
        self.fired: list[str] = []

    def take(
        self,
        kind: FaultKind,
        when: When | None = None,
        accept: Callable[[Fault], bool] | None = None,
    ) -> Fault | None:
        """The fault of ``kind`` (and ``when``) that acts on this request now, if any."""
        fault = self._plan.take(self._operation, kind, when, accept)
        if fault is None:
            pick = self._pick
            if (
                pick is not None
                and pick.kind == kind
                and (when is None or pick.when == when)
                and (accept is None or accept(pick))
            ):
                self._pick, fault = None, pick
                pick.hits += 1
        if fault is not None:
            self.fired.append(f"chaos:{kind}" if fault.chaos else kind)
        return fault


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One request the fake received."""

    method: str
    path: str
    operation: str  # route name ("contacts.get"), "oauth.token", ..., or "unknown"
    status: int | None  # None when the connection was dropped without an answer
    applied: bool  # a write changed the fake's state
    location_id: str | None
    timestamp: float  # time.time() when the request arrived
    query: str = ""
    trace_id: str = ""
    fault: str | None = None
    """The faults that acted, ``+``-joined (``"truncate"``, ``"chaos:slow"``), or None.

    ``status`` is what the status line said: a truncated or reset 2xx still shows 200."""
    version: str | None = None  # the request's Version header
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    """The request's headers (case-insensitive; ``Authorization`` reads ``Bearer <redacted>``),
    kept with ``FakeHighLevel(log_payloads=True)``, else empty."""
    body: bytes = field(default=b"", repr=False)
    """The request's body as received, kept with ``log_payloads=True`` (else ``b""``)."""


class RequestLog:
    """Every request, in arrival order of completion."""

    def __init__(self) -> None:
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        """Record one finished request."""
        self._records.append(record)

    def snapshot(self) -> list[RequestRecord]:
        """A copy of the log."""
        return list(self._records)

    def count(
        self,
        method: str | None = None,
        path: str | None = None,
        operation: str | None = None,
        status: int | None = None,
    ) -> int:
        """How many logged requests match every given criterion."""
        method = method.upper() if method else None
        return sum(
            1
            for record in list(self._records)
            if (method is None or record.method == method)
            and (path is None or record.path == path)
            and (operation is None or record.operation == operation)
            and (status is None or record.status == status)
        )

    def reset(self) -> None:
        """Forget every record."""
        self._records.clear()

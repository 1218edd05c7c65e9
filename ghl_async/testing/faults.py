"""Fault injection and the request log.

A fault is armed per operation (a route name such as ``contacts.get``, an OAuth operation such
as ``oauth.token``, or ``"*"`` for all) and fires on the next matching requests:

* ``fail`` answers a status of your choice, as JSON or as a proxy's HTML error page;
* ``drop`` closes the connection without an answer, before or after the write is applied;
* ``delay`` sleeps before handling the request.

Knobs are set from test code, possibly on another thread than the server's, so the fault list
is guarded by a lock; the common "no fault armed" case is a lock-free emptiness check.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Final, Literal

from ghl_async.testing.replies import error_body, reason

__all__ = ["DropWhen", "Fault", "FaultKind", "FaultPlan", "RequestLog", "RequestRecord"]

FaultKind = Literal["fail", "drop", "delay"]
DropWhen = Literal["before", "after"]

_HTML: Final = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass(slots=True, eq=False)
class Fault:
    """One armed fault. ``remaining`` counts down; ``None`` fires until cleared."""

    kind: FaultKind
    operation: str
    remaining: int | None = 1
    status: int = 503
    retry_after: float | None = None
    html: bool = False
    when: DropWhen = "before"
    seconds: float = 0.0
    hits: int = 0

    def response(self) -> tuple[bytes, str, dict[str, str]]:
        """Body, content type and headers of a ``fail`` answer."""
        headers: dict[str, str] = {}
        if self.retry_after is not None:
            seconds = self.retry_after
            headers["Retry-After"] = str(int(seconds) if float(seconds).is_integer() else seconds)
        if self.html:
            page = _HTML.format(status=self.status, reason=reason(self.status))
            return page.encode(), "text/html", headers
        message: str | list[str] = reason(self.status)
        if self.status == 422:
            message = [reason(self.status)]
        return error_body(self.status, message, None), "application/json", headers


class FaultPlan:
    """The armed faults, matched in the order they were armed."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def arm(self, fault: Fault) -> Fault:
        """Add a fault and return it (its ``hits`` shows how often it fired)."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, operation: str, kind: FaultKind, when: DropWhen | None = None) -> Fault | None:
        """Consume one firing of the first fault matching ``operation``, ``kind`` (and ``when``)."""
        if not self._faults:
            return None
        with self._lock:
            for fault in self._faults:
                if fault.kind != kind or fault.operation not in (operation, "*"):
                    continue
                if when is not None and fault.when != when:
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

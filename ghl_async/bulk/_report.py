"""What a bulk run reports: per-record failures, counts, timing, and live progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ghl_async.mapping import MapResult

__all__ = ["Progress", "RecordFailure", "StopReason", "SyncReport", "mapping_failure"]

StopReason = Literal["quota", "auth"]
"""Why a run stopped early: the daily quota is (nearly) spent, or the token was refused and
could not be renewed (or lacks the permission): every later record would fail the same way."""


@dataclass(frozen=True, slots=True)
class RecordFailure:
    """One record that did not go through.

    ``stage`` is ``"mapping"`` (the record's data, or the record could not be read; nothing
    was sent), ``"api"`` (HighLevel refused or never answered the upsert) or ``"bulk"`` (the
    bulk call attaching it to a business failed). ``message`` is HighLevel's own text and
    ``status`` its HTTP status, when there was an answer. ``index`` counts records from 0;
    ``line`` is the physical line the record starts on, for records read from a file
    (:class:`~ghl_async.mapping.SourceRecord`). For a mapping failure, ``field``, ``column``
    and ``value`` are those of its first problem (``reason`` lists them all); ``value`` is
    shortened, and ``<redacted>`` for secrets.
    """

    index: int
    key: str | None
    stage: Literal["mapping", "api", "bulk"]
    reason: str
    message: str | None = None
    status: int | None = None
    field: str | None = None
    line: int | None = None
    column: str | None = None
    value: str | None = None


def mapping_failure(result: MapResult, key: str | None = None) -> RecordFailure:
    """The failure of a record that did not map: every problem in ``reason``, the first one's
    field, column and value in their own fields."""
    first = result.errors[0]
    return RecordFailure(
        result.index,
        key,
        "mapping",
        "; ".join(error.describe() for error in result.errors),
        field=first.field,
        line=result.line,
        column=first.column,
        value=first.value,
    )


@dataclass(frozen=True, slots=True)
class Progress:
    """A snapshot handed to the progress callback after every record."""

    done: int
    total: int | None  # None when the input's length is unknown (a generator)
    created: int
    updated: int
    skipped: int
    failed: int
    elapsed: float

    @property
    def rate(self) -> float:
        """Records per second so far."""
        return self.done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left at the current rate, when the total is known."""
        if self.total is None or self.rate <= 0:
            return None
        return max(self.total - self.done, 0) / self.rate


@dataclass(slots=True)
class SyncReport:
    """The outcome of a bulk upsert: every record read is counted exactly once.

    ``total == created + updated + skipped + len(failed)`` unless the run ``stopped`` early
    (then ``pending`` more were read but not sent, and the rest of the input was not read).
    ``skipped`` records were done already: in the journal from an earlier run, or an identical
    repeat earlier in this input. ``stop_error`` is the text of the error that stopped it.
    """

    total: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: list[RecordFailure] = field(default_factory=list)
    pending: int = 0
    elapsed: float = 0.0
    requests: int = 0  # requests this run made (upserts and bulk calls, retries excluded)
    stopped: StopReason | None = None
    daily_remaining: int | None = None
    stop_error: str | None = None

    @property
    def succeeded(self) -> int:
        """Records HighLevel accepted in this run."""
        return self.created + self.updated

    @property
    def invalid(self) -> list[RecordFailure]:
        """Failures of the record's data (nothing was sent for them)."""
        return [f for f in self.failed if f.stage == "mapping"]

    @property
    def throughput(self) -> float:
        """Records sent and accepted per second."""
        return self.succeeded / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def ok(self) -> bool:
        """Whether every record went through and the run was not stopped."""
        return not self.failed and self.stopped is None

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready summary (the CLI prints it)."""
        return {
            "total": self.total,
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": len(self.failed),
            "pending": self.pending,
            "elapsed": round(self.elapsed, 3),
            "throughput": round(self.throughput, 1),
            "requests": self.requests,
            "stopped": self.stopped,
            "stop_error": self.stop_error,
            "daily_remaining": self.daily_remaining,
            "failures": [_failure_dict(f) for f in self.failed],
        }


def _failure_dict(failure: RecordFailure) -> dict[str, object]:
    data: dict[str, object] = {
        "index": failure.index,
        "line": failure.line,
        "key": failure.key,
        "stage": failure.stage,
        "field": failure.field,
        "column": failure.column,
        "value": failure.value,
        "reason": failure.reason,
        "message": failure.message,
        "status": failure.status,
    }
    return {k: v for k, v in data.items() if v is not None}

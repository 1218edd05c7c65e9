"""Rate-limit state: HighLevel's ``X-RateLimit-*`` headers, parsed.

(The per-location token buckets are added here by the client.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["RateLimitInfo"]


def _int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(float(raw))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """What the last response said about the burst and daily limits."""

    max: int | None = None  # burst requests allowed per interval
    remaining: int | None = None  # burst requests left in this interval
    interval_ms: int | None = None
    daily_limit: int | None = None
    daily_remaining: int | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo | None:
        """Parse the five headers; ``None`` when the response carried none of them."""
        info = cls(
            max=_int(headers, "X-RateLimit-Max"),
            remaining=_int(headers, "X-RateLimit-Remaining"),
            interval_ms=_int(headers, "X-RateLimit-Interval-Milliseconds"),
            daily_limit=_int(headers, "X-RateLimit-Limit-Daily"),
            daily_remaining=_int(headers, "X-RateLimit-Daily-Remaining"),
        )
        return None if info == _EMPTY else info


_EMPTY = RateLimitInfo()

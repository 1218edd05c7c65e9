"""HighLevel's rate limits, enforced per resource (location or company).

Burst: at most ``max`` requests per ``period`` seconds (HighLevel: 100 per 10 s per app per
resource). The fake uses a fixed window that opens at the first request after the previous
window closed, which is the simplest rule that makes "the 101st request inside 10 s" fail.
Daily: at most ``daily_limit`` requests per UTC day (HighLevel: 200,000).

Every answer to an authenticated request carries HighLevel's five headers; a request refused
with 429 is not counted.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from ghl_async import defaults
from ghl_async.errors import ConfigError

__all__ = ["RateLimiter", "RateRule", "Verdict", "parse_rate_rule"]

RateRule = tuple[int, float]
_DAY: Final = 86_400
_RULE: Final = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*s?\s*$")


def parse_rate_rule(rule: RateRule | str | None) -> RateRule | None:
    """Accept ``(100, 10.0)``, ``"100/10"`` or ``None``/``"none"`` (no burst limit).

    Raises:
        ConfigError: the rule is malformed or not positive.
    """
    if rule is None or (isinstance(rule, str) and rule.strip().lower() in ("", "none", "off")):
        return None
    if isinstance(rule, str):
        match = _RULE.match(rule)
        if match is None:
            raise ConfigError(
                f"rate_limit must look like '100/10' (requests/seconds), not {rule!r}"
            )
        count, period = int(match[1]), float(match[2])
    else:
        count, period = int(rule[0]), float(rule[1])
    if count <= 0 or period <= 0:
        raise ConfigError(f"rate_limit needs positive numbers, got {count}/{period}")
    return count, period


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a request may proceed, and the headers to send either way."""

    allowed: bool
    headers: dict[str, str]
    retry_after: float | None = None


@dataclass(slots=True)
class _Bucket:
    window_start: float = -math.inf
    count: int = 0
    day: int = -1
    daily: int = 0


@dataclass(slots=True)
class RateLimiter:
    """The burst and daily counters of every resource."""

    rule: RateRule | None = (defaults.RATE_LIMIT_REQUESTS, defaults.RATE_LIMIT_PERIOD)
    daily_limit: int | None = defaults.DAILY_LIMIT
    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def check(self, resource: str) -> Verdict:
        """Count one request against ``resource`` unless a limit is spent."""
        bucket = self._buckets.get(resource)
        if bucket is None:
            bucket = self._buckets[resource] = _Bucket()
        now = self.monotonic()
        retry_after: float | None = None
        if self.daily_limit is not None:
            day = int(self.wall() // _DAY)
            if day != bucket.day:
                bucket.day, bucket.daily = day, 0
            if bucket.daily >= self.daily_limit:
                retry_after = (day + 1) * _DAY - self.wall()
        if self.rule is not None and retry_after is None:
            limit, period = self.rule
            if now >= bucket.window_start + period:
                bucket.window_start, bucket.count = now, 0
            if bucket.count >= limit:
                retry_after = bucket.window_start + period - now
        allowed = retry_after is None
        if allowed:
            bucket.count += 1
            bucket.daily += 1
        return Verdict(allowed, self._headers(bucket), retry_after)

    def exhaust(self, resource: str, *, daily: bool = False) -> None:
        """Spend the burst window (or the daily quota) of ``resource`` now."""
        bucket = self._buckets.setdefault(resource, _Bucket())
        if daily:
            bucket.day = int(self.wall() // _DAY)
            bucket.daily = self.daily_limit if self.daily_limit is not None else 0
        elif self.rule is not None:
            bucket.window_start, bucket.count = self.monotonic(), self.rule[0]

    def reset(self) -> None:
        """Forget every counter."""
        self._buckets.clear()

    def spent_headers(self) -> dict[str, str]:
        """The five headers of a spent burst window (HighLevel's rule when none is set).

        What a 429 armed with ``fail(..., status=429)`` carries, whatever the counters say.
        """
        limit, period = self.rule or (defaults.RATE_LIMIT_REQUESTS, defaults.RATE_LIMIT_PERIOD)
        daily = self.daily_limit or defaults.DAILY_LIMIT
        return {
            "X-RateLimit-Limit-Daily": str(daily),
            "X-RateLimit-Daily-Remaining": str(daily - 1),
            "X-RateLimit-Interval-Milliseconds": str(int(period * 1000)),
            "X-RateLimit-Max": str(limit),
            "X-RateLimit-Remaining": "0",
        }

    def _headers(self, bucket: _Bucket) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.daily_limit is not None:
            headers["X-RateLimit-Limit-Daily"] = str(self.daily_limit)
            headers["X-RateLimit-Daily-Remaining"] = str(max(0, self.daily_limit - bucket.daily))
        if self.rule is not None:
            limit, period = self.rule
            headers["X-RateLimit-Interval-Milliseconds"] = str(int(period * 1000))
            headers["X-RateLimit-Max"] = str(limit)
            headers["X-RateLimit-Remaining"] = str(max(0, limit - bucket.count))
        return headers

"""A one-line progress bar with rate and ETA, drawn on a terminal and silent anywhere else."""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["ProgressBar", "format_duration"]


def format_duration(seconds: float) -> str:
    """``75`` -> ``"1m15s"``; ``3700`` -> ``"1h01m"``."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class ProgressBar:
    """Redraws ``label [####......] 1200/2000 60% 98.1/s ETA 8s`` in place on ``stream``.

    Drawing is throttled to ``interval`` seconds. ``enabled=None`` draws only when ``stream``
    is a terminal, so piped and logged runs stay clean.
    """

    def __init__(
        self,
        stream: TextIO,
        label: str,
        *,
        total: int | None = None,
        enabled: bool | None = None,
        width: int = 28,
        interval: float = 0.1,
    ) -> None:
        self.stream = stream
        self.label = label
        self.total = total
        self.enabled = stream.isatty() if enabled is None else enabled
        self.width = width
        self.interval = interval
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._done = 0
        self._extra = ""
        self._drawn = False

    def render(self, done: int, *, now: float | None = None) -> str:
        """The bar's text for ``done`` items."""
        elapsed = (time.monotonic() if now is None else now) - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        parts = [self.label]
        if self.total:
            filled = min(self.width, int(self.width * done / self.total))
            parts.append("[" + "#" * filled + "." * (self.width - filled) + "]")
            parts.append(f"{done}/{self.total} {100 * done // self.total:3d}%")
        else:
            parts.append(str(done))
        parts.append(f"{rate:.1f}/s")
        if self.total and rate > 0 and done < self.total:
            parts.append(f"ETA {format_duration((self.total - done) / rate)}")
        elif self.total and done >= self.total:
            parts.append(f"in {format_duration(elapsed)}")
        if self._extra:
            parts.append(self._extra)
        return " ".join(parts)

    def update(self, done: int, *, extra: str = "", force: bool = False) -> None:
        """Record progress; redraw if enough time has passed (or ``force``)."""
        self._done = done
        self._extra = extra
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last_draw < self.interval:
            return
        self._last_draw = now
        self.stream.write("\r\x1b[2K" + self.render(done, now=now))
        self.stream.flush()
        self._drawn = True

    def close(self) -> None:
        """Draw the final state and end the line."""
        if not self.enabled:
            return
        self.update(self._done, extra=self._extra, force=True)
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()

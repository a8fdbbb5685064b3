"""Progress of a long loop in the task log: count, rate, time left, one INFO line now and then.

A first sync of 10,000 users reads and writes for many minutes; without a
line now and then the task log looks hung. Readers and apply loops call
``step()`` per item (cheap: a counter and a clock read); a line is logged
every ``every_items`` items or ``every_s`` seconds, whichever comes first,
and ``finish()`` logs the total. Plain Python, no Airflow.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Counts one loop's items and says how far it is; ``emit`` gets each line (default: this module's INFO log)."""

    def __init__(self, what: str, total: int | None = None, *, every_items: int = 1000, every_s: float = 30.0,
                 emit: Callable[[str], None] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if every_items < 1 or every_s <= 0:
            raise ValueError(f"progress of {what!r}: every_items must be >= 1 and every_s > 0, "
                             f"got {every_items} and {every_s}")
        self.what = what
        self.total = total
        self.every_items = every_items
        self.every_s = every_s
        self.emit = emit or (lambda line: log.info("%s", line))
        self.clock = clock
        self.count = 0
        self.started = clock()
        self._last_count = 0
        self._last_time = self.started

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    @property
    def rate(self) -> float:
        """Items per second since the start (0 before any time has passed)."""
        elapsed = self.elapsed
        return self.count / elapsed if elapsed > 0 else 0.0

    @property
    def left_s(self) -> float | None:
        """Estimated seconds left, or None without a total or a rate."""
        if self.total is None or not self.rate:
            return None
        return max(self.total - self.count, 0) / self.rate

    def line(self) -> str:
        if self.total:
            done = f"{self.count:,} of {self.total:,} ({100 * self.count / self.total:.0f}%)"
        else:
            done = f"{self.count:,}"
        parts = [f"{self.what}: {done}", f"{self.rate:,.1f}/s"]
        if self.left_s is not None:
            parts.append(f"about {_duration(self.left_s)} left")
        return ", ".join(parts)

    def step(self, n: int = 1) -> None:
        """Count ``n`` items; log a line when ``every_items`` items or ``every_s`` seconds passed since the last."""
        self.count += n
        now = self.clock()
        if self.count - self._last_count >= self.every_items or now - self._last_time >= self.every_s:
            self._last_count, self._last_time = self.count, now
            self.emit(self.line())

    def finish(self) -> None:
        """The closing line: how many, how long."""
        self.emit(f"{self.what}: {self.count:,} done in {_duration(self.elapsed)} ({self.rate:,.1f}/s)")

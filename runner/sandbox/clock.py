"""The account's clock: an instant that moves on as a ticking source (the monotonic clock by default) ticks."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

Ticks = Callable[[], float]


def stopped() -> float:
    """Tick nowhere: an account on this clock keeps the instant it was set to."""
    return 0.0


def wall_time() -> datetime:
    """Return the current UTC time, to the second."""
    return datetime.now(timezone.utc).replace(microsecond=0)


class Clock:
    """An instant, advanced by the seconds `ticks` counts after it was set."""

    def __init__(self, start: datetime, ticks: Ticks = time.monotonic) -> None:
        self._lock = threading.Lock()
        self.set(start, ticks)

    def now(self) -> datetime:
        """Return the current instant."""
        with self._lock:
            return self._start + timedelta(seconds=self._ticks() - self._origin)

    def set(self, moment: datetime, ticks: Ticks | None = None) -> None:
        """Make `moment` the current instant, moving on from here as `ticks` (default: the same as before) ticks."""
        with self._lock:
            self._ticks = ticks or self._ticks
            self._start, self._origin = moment, self._ticks()

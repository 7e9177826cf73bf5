"""One request budget per API token, shared by every thread of the process."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping

MAX_BACKOFF_S = 30.0


def backoff(attempt: int) -> float:
    """Seconds to wait before retry `attempt + 1`: doubling from half a second, capped, with jitter."""
    return min(MAX_BACKOFF_S, 0.5 * 2**attempt) * (1 + random.random() / 2)


class RateBudget:
    """A token bucket refilled at `per_minute` / 60 a second, holding at most one second's worth.

    Callers reserve a slot in turn and sleep until it comes, so concurrent
    callers are spaced evenly and never exceed the rate. PagerDuty's own
    `ratelimit-remaining` / `ratelimit-reset` headers steer it: when the
    account's window is spent, everyone waits for the reset.
    """

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("a rate budget needs a positive number of requests per minute")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._updated = clock()
        self._paused_until = 0.0

    def acquire(self) -> float:
        """Wait for this caller's slot; return how long it waited."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
            self._tokens -= 1
            wait = max(-self._tokens / self.rate, self._paused_until - now, 0.0)
        if wait > 0:
            self._sleep(wait)
        return wait

    def pause(self, seconds: float) -> None:
        """Hold every caller for `seconds` (PagerDuty's window resets then)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Follow PagerDuty's view of the window: once it is spent, wait for the reset."""
        remaining, reset = headers.get("ratelimit-remaining"), headers.get("ratelimit-reset")
        try:
            if remaining is not None and reset is not None and float(remaining) <= 0:
                self.pause(float(reset))
        except ValueError:
            pass

"""PagerDuty's rate limit, kept by the client: one request budget per API token, shared by every thread;
and the requests in flight at once, served in turn."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import TracebackType


class RateLimiter:
    """At most `per_minute` requests in any 60 seconds, for all threads of the process together.

    Each caller reserves the earliest slot that keeps every 60-second window
    within the budget, then sleeps until it: a short audit goes at full
    speed, a long one settles at the rate. PagerDuty's own
    `ratelimit-remaining` / `ratelimit-reset` headers steer it too: when the
    account's window is spent, everyone waits for the reset.
    """

    WINDOW_S = 60.0

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute <= 0:
            raise ValueError("a rate budget needs a positive number of requests per minute")
        self.budget = int(per_minute)  # the token's whole budget; per_minute is this process's share of it
        self.per_minute = self.budget
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: deque[float] = deque(maxlen=self.per_minute)  # the latest reservations, oldest first
        self._paused_until = 0.0

    def acquire(self) -> float:
        """Wait for this caller's slot, and past any pause that began meanwhile; return how long it waited."""
        with self._lock:
            start = self._clock()
            slot = max(start, self._paused_until)
            if len(self._slots) == self.per_minute:
                slot = max(slot, self._slots[0] + self.WINDOW_S)
            self._slots.append(slot)
        while (wait := max(slot, self._paused_until) - self._clock()) > 0:
            self._sleep(wait)
        return self._clock() - start

    def share(self, parts: int) -> None:
        """Keep to one of `parts` equal shares of the budget (replicas firing on one token split it)."""
        with self._lock:
            per_minute = max(1, self.budget // max(1, parts))
            if per_minute != self.per_minute:
                self.per_minute = per_minute
                self._slots = deque(self._slots, maxlen=per_minute)

    def remaining(self) -> int:
        """Requests this process may still make in the 60 seconds ending now."""
        with self._lock:
            since = self._clock() - self.WINDOW_S
            return max(0, self.per_minute - sum(slot > since for slot in self._slots))

    def pause(self, seconds: float) -> None:
        """Hold every caller for `seconds` (PagerDuty's window resets then), at most a window's length."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + min(seconds, self.WINDOW_S))

    def observe(self, headers: Mapping[str, str]) -> None:
        """Follow PagerDuty's view of the window: once it is spent, wait for the reset."""
        remaining, reset = headers.get("ratelimit-remaining"), headers.get("ratelimit-reset")
        try:
            if remaining is not None and reset is not None and float(remaining) <= 0:
                self.pause(float(reset))
        except ValueError:
            pass


class Slots:
    """At most `n` holders at once; the others wait, and are let in in the order they came.

    A slot a holder gives up goes straight to the longest waiting, so a
    thread that keeps asking (a pool fetching page after page) cannot pass
    one that asked before it (the first page of another listing).
    """

    def __init__(self, n: int) -> None:
        self._free = max(1, n)
        self._waiting: deque[threading.Event] = deque()
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1

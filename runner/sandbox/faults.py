"""Faults the sandbox injects on request: latency, rate limits, server errors, dropped connections."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RATE_WINDOW_S = 60.0
SERVER_ERRORS = (500, 502, 503)
# In the WSGI environ of a server able to drop connections (runner.sandbox.server): a callable closing
# the request's connection unanswered.
CAN_DROP = "pdrun.sandbox.drop_connection"


@dataclass(frozen=True)
class Verdict:
    """What faults do to one request: answer `status` instead of serving it, drop it, add headers."""

    status: int | None = None
    drop: bool = False
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Faults:
    """The faults to inject, deterministic for a `seed` and a sequence of requests.

    - `latency_ms`: every request waits this long (through `sleep`), outside the app's lock.
    - `rate_limit`: requests a token may make per minute (by `clock`); beyond, 429 with code 2020.
      With a limit, every response carries `ratelimit-limit`, `ratelimit-remaining` and `ratelimit-reset`.
    - `fail_rate`: the share of requests answered 500, 502 or 503 without being served.
    - `drop_rate`: the share of requests served whose connection is then closed unanswered
      (over HTTP only; in process they are answered).

    Tests may change the fields of `app.faults` between requests, or replace it.
    """

    latency_ms: float = 0
    rate_limit: int = 0
    fail_rate: float = 0.0
    drop_rate: float = 0.0
    seed: int = 0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _random: random.Random = field(init=False, repr=False, compare=False)
    _windows: dict[str, tuple[float, int]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.latency_ms < math.inf or self.rate_limit < 0:
            raise ValueError("latency must be a finite number of milliseconds, and neither it nor the rate limit negative")
        if not (0 <= self.fail_rate <= 1 and 0 <= self.drop_rate <= 1):
            raise ValueError("fail and drop rates are shares between 0 and 1")
        self._random = random.Random(self.seed)

    def delay(self) -> None:
        """Wait out the latency."""
        if self.latency_ms > 0:
            self.sleep(self.latency_ms / 1000)

    def judge(self, token: str) -> Verdict:
        """Decide the fate of the next request made with `token`; call one request at a time."""
        # Draw the same numbers for every request, so a seed gives the same run whatever the settings.
        fail, drop, pick = self._random.random(), self._random.random(), self._random.randrange(len(SERVER_ERRORS))
        headers: dict[str, str] = {}
        if self.rate_limit:
            allowed, headers = self._spend(token)
            if not allowed:
                return Verdict(status=429, headers=headers)
        if fail < self.fail_rate:
            return Verdict(status=SERVER_ERRORS[pick], headers=headers)
        return Verdict(drop=drop < self.drop_rate, headers=headers)

    def _spend(self, token: str) -> tuple[bool, dict[str, str]]:
        """Take one request from the token's budget for the current minute."""
        now = self.clock()
        start, used = self._windows.get(token, (now, 0))
        if now - start >= RATE_WINDOW_S:
            start, used = now, 0
        allowed = used < self.rate_limit
        used += allowed
        self._windows[token] = (start, used)
        return allowed, {
            "ratelimit-limit": str(self.rate_limit),
            "ratelimit-remaining": str(self.rate_limit - used),
            "ratelimit-reset": str(max(1, math.ceil(start + RATE_WINDOW_S - now))),
        }

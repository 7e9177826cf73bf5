"""An ideal client of the hygiene audit: exactly the minimal requests, as fast as the rate budget allows.

It knows the plan in advance and nothing else: every listing's first page at
once, the rest of each listing as soon as its total is known, standards
scores as soon as 100 service ids are in, `concurrency` requests in flight,
at most `rate_limit` requests a minute. It parses what it must to plan
(totals, ids, the last incident's time) and keeps nothing: no recipes, no
findings, no history, no output. `pdrun audit` cannot beat it on the same
sandbox, so pdrun's wall time over this one's is pdrun's own overhead.

usage: ideal_client.py BASE_URL TOKEN [--concurrency 8] [--rate-limit 960]  -> one JSON line of counts
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx2

PAGE = 100
CAP = 10_000


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Budget:
    """At most `per_minute` requests in any 60 seconds: a burst, then a wait for the window.

    A 429 (the server's window began a moment after ours) holds every sender
    until the reset it announces.
    """

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._sent: list[float] = []
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            now = time.monotonic()
            wait = self._paused_until - now
            if len(self._sent) >= self.per_minute:
                wait = max(wait, self._sent[-self.per_minute] + 60 - now)
            if wait > 0:
                time.sleep(wait)
            self._sent.append(time.monotonic())

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)


class Ideal:
    def __init__(self, base_url: str, token: str, concurrency: int, per_minute: int) -> None:
        self.http = httpx2.Client(base_url=base_url, headers={"Authorization": f"Token token={token}"},
                                  limits=httpx2.Limits(max_connections=concurrency), timeout=60)
        self.pool = ThreadPoolExecutor(concurrency)
        self.budget = Budget(per_minute)
        self.counts = {"requests": 0, "429": 0}
        self.pending = 0
        self.idle = threading.Condition()

    def get(self, path: str, params: dict, then=None) -> None:
        """Send a read in the pool; `then(body)` plans what follows from its answer."""
        with self.idle:
            self.pending += 1
        self.pool.submit(self._send, path, params, then)

    def _send(self, path: str, params: dict, then) -> None:
        try:
            while True:
                self.budget.take()
                response = self.http.get(path, params=params)
                with self.idle:
                    self.counts["requests"] += 1
                if response.status_code != 429:
                    break
                with self.idle:
                    self.counts["429"] += 1
                self.budget.pause(float(response.headers.get("ratelimit-reset", 1)))
            response.raise_for_status()
            if then:
                then(response.json())
        finally:
            with self.idle:
                self.pending -= 1
                self.idle.notify_all()

    def listing(self, path: str, wrapper: str, params: dict, each=None) -> None:
        """Read a classic listing: the first page with its total, then every other page at once."""
        def first(body: dict) -> None:
            take(body)
            total = body["total"]
            ascending = min(total, CAP)
            for offset in range(PAGE, ascending, PAGE):
                self.get(path, {**params, "limit": PAGE, "offset": offset}, take)
            for offset in range(0, total - ascending, PAGE):  # past the cap: from the other end, by name
                limit = min(PAGE, total - ascending - offset)
                self.get(path, {**params, "sort_by": "name:desc", "limit": limit, "offset": offset}, take)

        def take(body: dict) -> None:
            if each:
                each(body[wrapper])

        self.get(path, {**params, "limit": PAGE, "offset": 0, "total": "true"}, first)

    def run(self) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        window = {"since": stamp(now), "until": stamp(now + timedelta(days=14))}
        self.listing("/services", "services", {"sort_by": "name:asc"}, each=self.scores)
        self.listing("/escalation_policies", "escalation_policies", {"sort_by": "name:asc"})
        self.listing("/schedules", "schedules", {**window, "include[]": ["final_schedule", "overrides_subschedule"]})
        self.listing("/users", "users", {"include[]": ["notification_rules"]})
        self.listing("/teams", "teams", {})
        self.listing("/license_allocations", "license_allocations", {})
        self.listing("/maintenance_windows", "maintenance_windows", {"filter": "open"})
        self.listing("/webhook_subscriptions", "webhook_subscriptions", {})
        self.listing("/extensions", "extensions", {})
        self.stale_incidents(now - timedelta(hours=24))
        self.window("/log_entries", "log_entries", {"is_overview": "true"}, now - timedelta(days=30), now)
        with self.idle:
            self.idle.wait_for(lambda: self.pending == 0)

    def window(self, path: str, wrapper: str, params: dict, since: datetime, until: datetime) -> None:
        """Read a listing over a time range, halving it until each half holds at most the cap."""
        bounded = {**params, "since": stamp(since), "until": stamp(until)}

        def first(body: dict) -> None:
            if body["total"] > CAP:
                middle = since + (until - since) / 2
                self.window(path, wrapper, params, since, middle)
                self.window(path, wrapper, params, middle, until)
                return
            for offset in range(PAGE, body["total"], PAGE):
                self.get(path, {**bounded, "limit": PAGE, "offset": offset})

        self.get(path, {**bounded, "limit": PAGE, "offset": 0, "total": "true"}, first)

    def scores(self, services: list[dict]) -> None:
        """Standards scores of a page of services (100 ids, PagerDuty's most per request)."""
        self.get("/standards/scores/technical_services", {"ids": [s["id"] for s in services]})

    def stale_incidents(self, cutoff: datetime) -> None:
        """Open incidents opened before `cutoff`: oldest first, then a window from the last one to the cutoff."""
        statuses = {"statuses[]": ["triggered", "acknowledged"]}

        def first(body: dict) -> None:
            items = body["incidents"]
            if not body["more"] or not items or items[-1]["created_at"] >= stamp(cutoff):
                return
            since = items[-1]["created_at"]
            self.listing("/incidents", "incidents", {**statuses, "sort_by": "created_at:asc", "since": since,
                                                      "until": stamp(cutoff)})

        self.get("/incidents", {**statuses, "date_range": "all", "sort_by": "created_at:asc", "limit": PAGE,
                                "offset": 0, "total": "true"}, first)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base_url")
    parser.add_argument("token")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate-limit", type=int, default=960)
    args = parser.parse_args()
    ideal = Ideal(args.base_url, args.token, args.concurrency, args.rate_limit)
    ideal.run()
    print(json.dumps(ideal.counts))


if __name__ == "__main__":
    main()

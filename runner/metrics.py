"""`pdrun serve`'s metrics, in Prometheus's text format through prometheus_client.

Counters of what this replica did (runs, their durations, PagerDuty
requests) live in the process, so a restart resets them as Prometheus
expects; what the history shows (findings, each schedule's last success,
which replica fires) is read from it at each scrape, so every replica
reports the same.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from runner.errors import HistoryError
from runner.history.gauges import findings_by_state, last_successes
from runner.timestamps import parse_iso

if TYPE_CHECKING:
    from runner.daemon import Daemon
    from runner.results import RunResult

log = structlog.get_logger()

DURATION_BUCKETS = (0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600)
# How long a scrape waits for the history (a database that stopped answering can hold a query for minutes).
HISTORY_WAIT_S = 5.0


class Metrics:
    """The registry `/metrics` serves: told of each run the daemon finishes, reading the rest when scraped."""

    def __init__(self, daemon: Daemon) -> None:
        self.registry = CollectorRegistry()
        self._runs = Counter("pdrun_runs", "Runs this replica finished, by recipe, status and account.",
                             ["recipe", "status", "account"], registry=self.registry)
        self._duration = Histogram("pdrun_run_duration_seconds", "How long this replica's runs took, by recipe.",
                                   ["recipe"], buckets=DURATION_BUCKETS, registry=self.registry)
        self.registry.register(_Now(daemon))
        daemon.on_finished = self.observe

    def observe(self, result: RunResult) -> None:
        """Count a finished run and its duration."""
        self._runs.labels(result.recipe, result.status, result.account_name).inc()
        self._duration.labels(result.recipe).observe(result.duration_ms / 1000)

    def exposition(self) -> bytes:
        """The metrics in Prometheus's text format."""
        return generate_latest(self.registry)


class _Now:
    """Collect, at each scrape, what the session, the rate budget, this replica and the history show."""

    def __init__(self, daemon: Daemon) -> None:
        self._daemon = daemon
        self._lock = threading.Lock()
        self._read: Future[Any] | None = None

    def collect(self) -> Iterator[Metric]:
        replica = self._daemon.replica
        requests = CounterMetricFamily("pdrun_api_requests", "PagerDuty API requests, by account and response status"
                                       " (error: no response).", labels=["account", "status"])
        limited = CounterMetricFamily("pdrun_api_rate_limited", "PagerDuty API responses that were 429 (each"
                                      " retried), by account.", labels=["account"])
        retries = CounterMetricFamily("pdrun_api_retries", "PagerDuty API requests retried (429, 5xx on reads,"
                                      " network), by account.", labels=["account"])
        remaining = GaugeMetricFamily("pdrun_rate_budget_remaining", "Requests this replica may still make in the"
                                      " current 60 seconds, by account.", labels=["account"])
        per_minute = GaugeMetricFamily("pdrun_rate_budget_per_minute", "This replica's share of each account's"
                                       " token's rate budget.", labels=["account"])
        for name, launch in sorted(self._daemon.launches.items()):
            session = launch.session
            answers = dict(session.api_counts.answers)
            for status, count in sorted(answers.items()):
                requests.add_metric([name, status], count)
            limited.add_metric([name], answers.get("429", 0))
            retries.add_metric([name], session.api_counts.retries)
            if session.limiter is not None:
                remaining.add_metric([name], session.limiter.remaining())
                per_minute.add_metric([name], session.limiter.per_minute)
        yield from (requests, limited, retries, remaining, per_minute)
        yield GaugeMetricFamily("pdrun_replica_firing", "1 if this replica fires the schedules.", value=replica.firing)
        yield GaugeMetricFamily("pdrun_replicas", "Live pdrun serve replicas on the history.", value=len(replica.peers))
        yield from self._history()

    def _history(self) -> Iterator[Metric]:
        try:
            counts, successes = self._read_history().result(timeout=HISTORY_WAIT_S)
        except HistoryError as exc:  # the scrape still shows the rest
            log.warning("metrics.history_unreadable", error=str(exc))
            return
        except TimeoutError:
            log.warning("metrics.history_unreadable", error=f"the history did not answer in {HISTORY_WAIT_S:g} s")
            return
        found = GaugeMetricFamily("pdrun_findings", "Findings the history remembers, by recipe, severity and state"
                                  " (new: seen by one run so far; open; resolved).",
                                  labels=["recipe", "severity", "state"])
        for recipe, severity, state, count in sorted(counts):
            found.add_metric([recipe, severity, state], count)
        yield found
        last = GaugeMetricFamily("pdrun_schedule_last_success_timestamp_seconds", "When each schedule's latest"
                                 " complete (ok or findings) run on each account finished, in Unix time.",
                                 labels=["schedule", "account"])
        for (schedule, account), finished_at in sorted(successes.items()):
            last.add_metric([schedule, account], parse_iso(finished_at).timestamp())
        yield last

    def _read_history(self) -> Future[Any]:
        """Read the history's gauges on a thread of their own; a read still waiting on it is waited on again."""
        with self._lock:
            if self._read is None or self._read.done():
                self._read = Future()
                threading.Thread(target=self._read_into, args=(self._read,), name="metrics-history",
                                 daemon=True).start()
            return self._read

    def _read_into(self, future: Future[Any]) -> None:
        history = self._daemon.history
        try:
            future.set_result((findings_by_state(history), last_successes(history)))
        except BaseException as exc:
            future.set_exception(exc)

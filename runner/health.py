"""`pdrun serve --http`: /healthz, /readyz, /metrics and /report, on a small HTTP server in a thread.

/healthz says the process is alive. /readyz says whether the history and
PagerDuty are reachable (503 when not), whether this replica fires and
which one does. /metrics is Prometheus's text format (`runner.metrics`).
/report is the HTML hygiene report (`runner.trends`), built on each request
from the shared history; `?days=N&team=ID&recipe=R` as `pdrun report` takes them.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from socketserver import TCPServer
from typing import TYPE_CHECKING, Any

import structlog

from runner.errors import ApiError, HistoryError, UsageError
from runner.history.fleet import HEARTBEAT_S

if TYPE_CHECKING:
    from runner.daemon import Daemon
    from runner.metrics import Metrics

log = structlog.get_logger()

ENDPOINTS = ("/healthz", "/readyz", "/metrics", "/report")
ADDRESS = re.compile(r"^(?:(?P<host>\[[0-9a-fA-F:.]+\]|[^:\[\]]*):)?(?P<port>\d{1,5})$")
# How often PagerDuty is checked (one small read), and how stale the last heartbeat may be, for /readyz.
PAGERDUTY_CHECK_S = 30.0
HISTORY_STALE_S = 3 * HEARTBEAT_S


def parse_address(text: str) -> tuple[str, int]:
    """Read `--http [HOST:]PORT`: HOST (default 127.0.0.1) an IP address or localhost; raise UsageError otherwise."""
    match = ADDRESS.match(text.strip())
    port = int(match.group("port")) if match else -1
    if not match or port > 65535:
        raise UsageError(f"--http {text}: expected [HOST:]PORT, such as 9100, 127.0.0.1:9100 or [::1]:9100")
    host = (match.group("host") or "127.0.0.1").strip("[]")
    if host != "localhost":
        try:
            ipaddress.ip_address(host)
        except ValueError:
            raise UsageError(f"--http {text}: give the host as an IP address (0.0.0.0 for every interface)") from None
    return host, port


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver would print a traceback to stderr; a client gone before its answer is routine.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            log.error("http.failed", client=client_address[0], error=f"{type(error).__name__}: {error}")

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up in DNS (getfqdn), which can hang offline.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class _IPv6Server(_Server):
    address_family = socket.AF_INET6


class Probes:
    """What the endpoints answer, from the daemon, its metrics, and a periodic check of PagerDuty."""

    def __init__(self, daemon: Daemon, metrics: Metrics) -> None:
        self.daemon = daemon
        self.metrics = metrics
        self.pagerduty: str | None = None  # None: reachable; else why not
        self._checked = threading.Event()
        self._stop = threading.Event()

    def watch_pagerduty(self) -> None:
        """Check PagerDuty now, then every PAGERDUTY_CHECK_S, until stopped: every account the schedules use."""
        while True:
            problems = []
            for name, launch in sorted(self.daemon.launches.items()):
                try:
                    launch.session.get("abilities")
                except ApiError as exc:
                    problems.append(f"account {name}: {exc}" if len(self.daemon.launches) > 1 else str(exc))
            self.pagerduty = "; ".join(problems) or None
            self._checked.set()
            if self._stop.wait(PAGERDUTY_CHECK_S):
                return

    def stop(self) -> None:
        self._stop.set()

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """Whether this replica is ready, and what /readyz shows."""
        replica = self.daemon.replica
        beat = replica.beat_at
        history = "ok" if beat is not None and time.monotonic() - beat <= HISTORY_STALE_S else (
            f"no heartbeat reached the history in {HISTORY_STALE_S:g} s")
        pagerduty = "not checked yet" if not self._checked.is_set() else self.pagerduty or "ok"
        firing = next((p for p in replica.peers if p.firing), None)
        return history == pagerduty == "ok", {
            "history": history, "pagerduty": pagerduty, "replica": replica.id, "firing": replica.firing,
            "firing_replica": {"id": firing.id, "host": firing.host, "pid": firing.pid} if firing else None,
            "replicas": len(replica.peers),
        }

    def report(self, query: str) -> tuple[int, str]:
        """The HTML report of the history for a query (`days`, `team`, `recipe`), or why there is none."""
        from urllib.parse import parse_qs

        from runner.trends.build import Scope, build_report
        from runner.trends.page import render

        asked = parse_qs(query)
        launcher = next(iter(self.daemon.launches.values())).launcher
        audits = [r.name for r in launcher.registry().recipes.values() if r.kind == "audit"]
        try:
            days = asked.get("days", ["90"])[-1]
            if not days.isdigit():
                raise UsageError(f"days {days}: give a number of days")
            scope = Scope(days=int(days), team=asked.get("team", [None])[-1], recipes=tuple(asked.get("recipe", ())))
            return 200, render(build_report(self.daemon.history, scope, audits=audits))
        except UsageError as exc:
            return 400, f"{exc}\n"
        except HistoryError as exc:
            return 503, f"{exc}\n"


def _handler(probes: Probes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                self._send(200, {"status": "alive"})
            elif path == "/readyz":
                ready, shown = probes.readiness()
                self._send(200 if ready else 503, {"ready": ready, **shown})
            elif path == "/metrics":
                from prometheus_client import CONTENT_TYPE_LATEST

                self._send(200, probes.metrics.exposition(), CONTENT_TYPE_LATEST)
            elif path == "/report":
                status, page = probes.report(self.path.partition("?")[2])
                self._send(status, page.encode(), "text/html; charset=utf-8" if status == 200 else "text/plain")
            else:
                self._send(404, {"error": f"no such endpoint; try {', '.join(ENDPOINTS)}"})

        def _send(self, status: int, body: Any, content_type: str = "application/json") -> None:
            data = body if isinstance(body, bytes) else (json.dumps(body) + "\n").encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http.request", line=format % args)

    return Handler


@contextlib.contextmanager
def serving(address: tuple[str, int] | None, daemon: Daemon) -> Iterator[None]:
    """Serve the endpoints on `address` (none: do nothing) until the block ends."""
    if address is None:
        yield
        return
    from runner.metrics import Metrics

    host, port = address
    probes = Probes(daemon, Metrics(daemon))
    try:
        server = (_IPv6Server if ":" in host else _Server)((host, port), _handler(probes))
    except OSError as exc:
        raise UsageError(f"--http {host}:{port}: cannot listen there: {exc.strerror or exc}") from None
    threads = [threading.Thread(target=server.serve_forever, name="http", daemon=True),
               threading.Thread(target=probes.watch_pagerduty, name="pagerduty-check", daemon=True)]
    for thread in threads:
        thread.start()
    bound = server.server_address
    log.info("http.serving", host=bound[0], port=bound[1], endpoints=list(ENDPOINTS))
    try:
        yield
    finally:
        probes.stop()
        server.shutdown()
        server.server_close()

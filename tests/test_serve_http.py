"""`pdrun serve --http`: /healthz, /readyz and /metrics, read by prometheus_client's own parser."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler
from types import SimpleNamespace

import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families
from replicas import Fleet, audit_schedule, requests
from test_sandbox_server import PDRUN, served
from test_serve import wait_for

from runner import health, metrics
from runner.history.schema import findings, runs
from runner.timestamps import parse_iso


@pytest.fixture
def fleet(tmp_path, history_url):
    """One replica's worth of fleet, on a sandbox whose log counts requests, firing an audit every second."""
    with served(log=tmp_path / "sandbox.log") as sandbox:
        made = Fleet(tmp_path, sandbox, history_url, audit_schedule())
        yield made
        made.kill_all()


def base_url(fleet: Fleet, rank: int = 0) -> str:
    """Where replica `rank` serves --http, from its log."""
    served_at = wait_for(lambda: next((e for e in fleet.events(rank) if e["event"] == "http.serving"), None),
                         "the http server")
    return f"http://{served_at['host']}:{served_at['port']}"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Parse Prometheus's text format: (sample name, sorted labels) -> value."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def history_view(fleet: Fleet) -> dict[tuple[str, tuple], float]:
    """What the metrics should say, read from the history and the sandbox's log."""
    expected: dict[tuple[str, tuple], float] = {}
    for (recipe, status), n in Counter((r["recipe"], r["status"]) for r in fleet.runs()).items():
        expected[("pdrun_runs_total", (("account", "default"), ("recipe", recipe), ("status", status)))] = n
    for row in fleet.rows(findings, findings.c.resolved_at.is_(None)):
        state = "new" if row["first_seen"] == row["last_seen"] else "open"
        key = ("pdrun_findings", (("recipe", row["recipe"]), ("severity", row["severity"]), ("state", state)))
        expected[key] = expected.get(key, 0) + 1
    last = max(r["finished_at"] for r in fleet.runs(runs.c.status == "findings"))
    expected[("pdrun_schedule_last_success_timestamp_seconds", (("account", "default"), ("schedule", "audit")))] = (
        parse_iso(last).timestamp())
    for (_, _, status), n in requests(fleet.tmp_path / "sandbox.log").items():
        key = ("pdrun_api_requests_total", (("account", "default"), ("status", str(status))))
        expected[key] = expected.get(key, 0) + n
    return expected


def test_metrics_agree_with_the_history_after_a_few_runs(fleet):
    fleet.start("--http", "127.0.0.1:0")
    url = base_url(fleet)
    fleet.wait_runs(3, runs.c.status == "findings")

    def agreeing() -> dict | None:  # runs go on: compare a scrape with the history until both are between runs
        scraped = samples(httpx2.get(f"{url}/metrics").text)
        expected = history_view(fleet)
        return scraped if all(scraped.get(key) == value for key, value in expected.items()) else None

    scraped = wait_for(agreeing, "metrics that agree with the history")
    fleet.stop_all()
    assert scraped[("pdrun_replica_firing", ())] == 1 and scraped[("pdrun_replicas", ())] == 1
    account = (("account", "default"),)
    assert scraped[("pdrun_api_rate_limited_total", account)] == 0 == scraped[("pdrun_api_retries_total", account)]
    assert 0 <= scraped[("pdrun_rate_budget_remaining", account)] < scraped[("pdrun_rate_budget_per_minute", account)]
    assert scraped[("pdrun_rate_budget_per_minute", account)] == 900
    finished = scraped[("pdrun_runs_total", (*account, ("recipe", "services-without-teams"), ("status", "findings")))]
    assert scraped[("pdrun_run_duration_seconds_count", (("recipe", "services-without-teams"),))] == finished


def test_healthz_and_readyz_say_alive_ready_and_who_fires(fleet):
    process = fleet.start("--http", "127.0.0.1:0")
    url = base_url(fleet)
    assert httpx2.get(f"{url}/healthz").json() == {"status": "alive"}
    ready = wait_for(lambda: (r := httpx2.get(f"{url}/readyz")).status_code == 200 and r.json(), "readiness")
    assert ready["ready"] and ready["history"] == ready["pagerduty"] == "ok" and ready["firing"]
    assert ready["firing_replica"]["pid"] == process.pid and ready["firing_replica"]["id"] == ready["replica"]
    missing = httpx2.get(f"{url}/nosuch")
    assert missing.status_code == 404 and "/healthz, /readyz, /metrics" in missing.json()["error"]
    fleet.stop_all()


def test_readyz_is_503_while_pagerduty_cannot_be_reached(tmp_path, history_url):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    with served() as sandbox:
        fleet = Fleet(tmp_path, sandbox, history_url, audit_schedule(every="1h"))
    fleet.sandbox.url = f"http://127.0.0.1:{port}"  # nothing listens there any more
    try:
        fleet.start("--http", "127.0.0.1:0")
        url = base_url(fleet)
        unready = wait_for(lambda: "cannot reach PagerDuty" in (r := httpx2.get(f"{url}/readyz")).json()["pagerduty"]
                           and r, "PagerDuty's check to fail")
        assert unready.status_code == 503 and unready.json()["history"] == "ok"
        assert httpx2.get(f"{url}/healthz").status_code == 200
        fleet.stop_all()
    finally:
        fleet.kill_all()


@pytest.mark.parametrize(
    ("address", "error"),
    [
        ("nonsense", "--http nonsense: expected [HOST:]PORT, such as 9100, 127.0.0.1:9100 or [::1]:9100"),
        ("127.0.0.1:70000", "--http 127.0.0.1:70000: expected [HOST:]PORT"),
        ("metrics.example.com:9100", "--http metrics.example.com:9100: give the host as an IP address"),
    ],
)
def test_a_bad_http_address_is_one_line_and_exit_2(tmp_path, address, error):
    result = subprocess.run([PDRUN, "serve", "--sandbox", "--http", address], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(f"pdrun: error: {error}") and len(result.stderr.splitlines()) == 1


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "config.toml").write_text(audit_schedule(every="1h"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([PDRUN, "serve", "--sandbox", "--http", f"127.0.0.1:{port}"], capture_output=True,
                                text=True, cwd=tmp_path, timeout=60, env={**os.environ, "XDG_STATE_HOME": str(tmp_path)})
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"pdrun: error: --http 127.0.0.1:{port}: cannot listen there" in result.stderr



def test_report_is_the_html_report_of_the_shared_history(fleet):
    fleet.start("--http", "127.0.0.1:0")
    url = base_url(fleet)
    fleet.wait_runs(2, runs.c.status == "findings")
    page = httpx2.get(f"{url}/report?days=7&recipe=services-without-teams")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    still_open = fleet.rows(findings, findings.c.resolved_at.is_(None))  # the same audit each time: they stay open
    assert len(still_open) == 6 and f"<b>{len(still_open)}</b><span>findings open now</span>" in page.text
    assert "the recipes services-without-teams, from the run history at " in page.text
    refused = httpx2.get(f"{url}/report?days=0")
    assert refused.status_code == 400 and refused.text == "--days 0: give a number of days from 1 to 3650\n"
    fleet.stop_all()


def test_metrics_answer_while_the_history_does_not(monkeypatch):
    """A database that stops answering holds a query for minutes: a scrape still answers, without the gauges
    read from the history, and the next scrape waits on the same read instead of starting another."""
    stuck = threading.Event()
    reads: list[object] = []

    def hanging(history):
        reads.append(history)
        stuck.wait()
        return []

    monkeypatch.setattr(metrics, "findings_by_state", hanging)
    monkeypatch.setattr(metrics, "HISTORY_WAIT_S", 0.05)
    daemon = SimpleNamespace(replica=SimpleNamespace(firing=True, peers=["r1"]), launches={}, history=object())
    scraped = metrics.Metrics(daemon)
    scrapes = [{family.name for family in text_string_to_metric_families(scraped.exposition().decode())}
               for _ in range(2)]
    stuck.set()
    assert all("pdrun_replica_firing" in names and "pdrun_findings" not in names for names in scrapes)
    assert len(reads) == 1


@pytest.mark.parametrize(("error", "logged"), [(BrokenPipeError(32, "Broken pipe"), []),
                                               (ValueError("bad"), [("http.failed", "ValueError: bad")])])
def test_an_endpoint_that_fails_logs_one_line_never_a_traceback(error, logged, capsys, pd_logs):
    server = health._Server(("127.0.0.1", 0), BaseHTTPRequestHandler)
    try:
        try:
            raise error
        except Exception:
            server.handle_error(None, ("127.0.0.1", 40000))
    finally:
        server.server_close()
    assert capsys.readouterr().err == ""
    assert [(e["event"], e["error"]) for e in pd_logs] == logged

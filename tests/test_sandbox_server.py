"""`pdrun sandbox serve`: the sandbox over HTTP on 127.0.0.1, for pdrun and any other client."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pagerduty
import pytest
from click.testing import CliRunner

from runner.errors import UsageError
from runner.sandbox import SANDBOX_TOKEN, Faults, SandboxApp, demo_account
from runner.sandbox.command import sandbox
from runner.sandbox.demo import DEMO_INCIDENT_ID
from runner.sandbox.server import running

PDRUN = str(Path(sys.executable).with_name("pdrun"))
STARTUP_S = 60.0
AUTH = {"Authorization": f"Token token={SANDBOX_TOKEN}"}


def serve_command() -> list[str]:
    """Return the command line of `pdrun sandbox serve`."""
    return [PDRUN, "sandbox", "serve"]


@dataclass
class Served:
    """A running `pdrun sandbox serve` and what it printed (with --tls, the CA file to trust)."""

    process: subprocess.Popen[str]
    url: str
    token: str
    lines: list[str]
    ca: str | None = None

    def client(self, token: str | None = None) -> httpx2.Client:
        return httpx2.Client(base_url=self.url, headers={"Authorization": f"Token token={token or self.token}"})

    def stop(self, signum: int = signal.SIGTERM) -> int:
        self.process.send_signal(signum)
        return self.process.wait(timeout=STARTUP_S)


def _read_lines(process: subprocess.Popen[str], count: int) -> list[str]:
    """Read `count` lines of the server's stdout, failing after STARTUP_S rather than hanging."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for _ in range(count):
            lines.put(process.stdout.readline())

    threading.Thread(target=read, daemon=True).start()
    read = []
    for _ in range(count):
        try:
            line = lines.get(timeout=STARTUP_S)
        except queue.Empty:
            pytest.fail(f"the sandbox printed only {read} in {STARTUP_S}s")
        if not line:
            pytest.fail(f"the sandbox exited ({process.wait()}): {process.stderr.read() if process.stderr else ''}")
        read.append(line.rstrip("\n"))
    return read


@contextlib.contextmanager
def served(*options: str, env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[Served]:
    """Run `pdrun sandbox serve --port 0 OPTIONS` until the block ends; its log (a line per request) goes to `log`."""
    with contextlib.ExitStack() as files:
        stderr = files.enter_context(log.open("w")) if log else subprocess.PIPE
        process = subprocess.Popen(
            [*serve_command(), "--port", "0", *options],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, **(env or {})},
        )
    try:
        lines = _read_lines(process, 3 if "--tls" in options else 2)
        ca = lines[2].removeprefix("ca: ") if "--tls" in options else None
        yield Served(process, lines[0].removeprefix("url: "), lines[1].removeprefix("token: "), lines, ca)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        if process.stderr:
            process.stderr.close()


def pdrun(*args: str, cwd: Path, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_STATE_HOME": str(cwd / "state")}
    if token:
        env["PAGERDUTY_API_TOKEN"] = token
    return subprocess.run([PDRUN, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=STARTUP_S)


def test_serve_prints_its_url_and_token_and_stops_on_sigterm():
    with served() as server:
        assert server.lines[0].startswith("url: http://127.0.0.1:") and server.token == SANDBOX_TOKEN
        with server.client() as client:
            response = client.get("/services", params={"limit": 1})
        assert response.status_code == 200
        assert response.json()["services"][0]["self"].startswith(server.url + "/services/")
        assert server.stop() == 0
        assert server.process.stdout.read() == ""


def test_sigint_stops_it_cleanly_too():
    with served() as server:
        assert server.stop(signal.SIGINT) == 0
        assert "Traceback" not in server.process.stderr.read()


def findings(result: subprocess.CompletedProcess[str]) -> list[tuple[str, str, str]]:
    report = json.loads(result.stdout)
    return sorted((f["fingerprint"], f["object"]["id"], f["message"]) for f in report["findings"])


def test_pdrun_finds_over_http_what_it_finds_in_process(tmp_path):
    with served() as server:
        audit = ("services-without-teams", "--base-url", server.url, "--format", "json")
        over_http = pdrun(*audit, cwd=tmp_path, token=server.token)
    in_process = pdrun("services-without-teams", "--sandbox", "--format", "json", cwd=tmp_path)
    assert over_http.returncode == in_process.returncode == 1, over_http.stderr
    assert findings(over_http) == findings(in_process) and len(findings(in_process)) == 6


def test_a_note_written_over_http_is_read_back(tmp_path):
    (tmp_path / "config.toml").write_text('[pagerduty]\nfrom_email = "alex.morgan@example.com"\n')
    with served() as server:
        added = pdrun(
            "incident-note", "--base-url", server.url, "--incident", DEMO_INCIDENT_ID, "--message", "Paged the DBA.",
            cwd=tmp_path, token=server.token,
        )
        assert added.returncode == 0, added.stderr
        with server.client() as client:
            notes = client.get(f"/incidents/{DEMO_INCIDENT_ID}/notes").json()["notes"]
    assert [(n["content"], n["user"]["summary"]) for n in notes] == [("Paged the DBA.", "Alex Morgan")]


def test_a_burst_meets_the_rate_limit():
    with served("--rate-limit", "5") as server, server.client() as client:
        responses = [client.get("/abilities") for _ in range(8)]
    assert [r.status_code for r in responses] == [200] * 5 + [429] * 3
    assert responses[-1].json()["error"]["code"] == 2020
    assert {r.headers["ratelimit-limit"] for r in responses} == {"5"}
    assert [r.headers["ratelimit-remaining"] for r in responses] == ["4", "3", "2", "1", "0", "0", "0", "0"]


def test_the_fail_rate_fails_the_same_requests_as_in_process():
    app = SandboxApp(demo_account(), faults=Faults(fail_rate=0.2, seed=7))
    with running(app) as local, httpx2.Client(base_url=local.url, headers=AUTH) as client:
        expected = [client.get("/abilities").status_code for _ in range(60)]
    with served("--fail-rate", "0.2", "--seed", "7") as server, server.client() as client:
        statuses = [client.get("/abilities").status_code for _ in range(60)]
    assert statuses == expected and 5 < sum(status >= 500 for status in statuses) < 20


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--profile", "nosuch"], "unknown profile 'nosuch'"),
        (["--host", "0.0.0.0"], "--host 0.0.0.0: the sandbox serves on loopback only"),
        (["--latency-ms", "nan"], "latency must be a finite number of milliseconds"),
        (["--latency-ms", "inf"], "latency must be a finite number of milliseconds"),
        (["--fail-rate", "nan"], "fail and drop rates are shares between 0 and 1"),
    ],
)
def test_usage_errors_are_clear(options, error):
    result = CliRunner().invoke(sandbox, ["serve", "--port", "0", *options])
    assert isinstance(result.exception, UsageError) and error in str(result.exception)


def test_a_busy_port_is_a_usage_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = CliRunner().invoke(sandbox, ["serve", "--port", str(taken.getsockname()[1])])
    assert isinstance(result.exception, UsageError) and "cannot listen on 127.0.0.1" in str(result.exception)


# The server in a thread, as the pytest plugin's pd_server runs it


def test_dropped_connections_close_unanswered():
    app = SandboxApp(demo_account(), faults=Faults(drop_rate=1))
    with running(app) as server, httpx2.Client(base_url=server.url) as client:
        with pytest.raises(httpx2.TransportError):
            client.post(
                f"/incidents/{DEMO_INCIDENT_ID}/notes",
                json={"note": {"content": "did it land?"}},
                headers={"Authorization": f"Token token={SANDBOX_TOKEN}", "From": "alex.morgan@example.com"},
            )
        app.faults = Faults()
        assert client.get("/abilities", headers={"Authorization": f"Token token={SANDBOX_TOKEN}"}).status_code == 200
    assert [(e.status, e.fault) for e in app.exchanges] == [(200, "drop"), (200, None)]
    assert [n["content"] for n in app.account.notes[DEMO_INCIDENT_ID]] == ["did it land?"]


def test_concurrent_requests_wait_out_their_latency_together():
    # Four requests only all reach the barrier if the server runs them at once and the app lets them wait together.
    barrier = threading.Barrier(4, timeout=10)
    app = SandboxApp(demo_account(), faults=Faults(latency_ms=50, sleep=lambda seconds: barrier.wait()))
    with running(app) as server, httpx2.Client(base_url=server.url, headers=AUTH) as client:
        with ThreadPoolExecutor(max_workers=4) as pool:
            codes = list(pool.map(lambda _: client.get("/teams").status_code, range(4)))
    assert codes == [200] * 4


# HTTPS, accounts of their own, and concurrency


def test_an_unmodified_pagerduty_client_talks_to_the_tls_sandbox():
    with served("--tls") as server:
        assert server.url.startswith("https://127.0.0.1:") and Path(server.ca).is_file()
        client = pagerduty.RestApiV2Client(
            server.token,
            default_from="alex.morgan@example.com",
            base_url=server.url,
            verify=ssl.create_default_context(cafile=server.ca),
        )
        services = client.list_all("services")
        one = client.rget(f"/services/{services[0]['id']}")
        assert one["self"].startswith(server.url + "/services/")
        followed = client.rget(one["escalation_policy"]["self"])
        policy = {"id": followed["id"], "type": "escalation_policy_reference"}
        created = client.rpost("services", json={"name": "Over TLS", "type": "service", "escalation_policy": policy})
        assert client.delete(created["self"]).status_code == 204
        assert client.get(created["self"]).status_code == 404
        assert len(services) == 25 and followed["id"] == one["escalation_policy"]["id"]
        client.close()
        assert server.stop() == 0
    assert not Path(server.ca).exists()  # the CA lives as long as the server


def test_a_client_not_trusting_the_ca_is_refused():
    with served("--tls") as server, httpx2.Client(base_url=server.url) as client:
        with pytest.raises(httpx2.ConnectError):
            client.get("/abilities", headers=AUTH)


def test_pdrun_not_trusting_the_ca_says_so_and_trusts_it_through_ssl_cert_file(tmp_path, monkeypatch):
    with served("--tls") as server:
        untrusted = pdrun("services-disabled", "--base-url", server.url, cwd=tmp_path, token=server.token)
        monkeypatch.setenv("SSL_CERT_FILE", server.ca)
        trusted = pdrun("services-disabled", "--base-url", server.url, cwd=tmp_path, token=server.token)
    assert untrusted.returncode == 3
    assert untrusted.stderr.splitlines()[-1] == (
        "pdrun: error: run failed: GET /services: cannot reach PagerDuty: its TLS certificate is not trusted"
        " (unable to get local issuer certificate); set SSL_CERT_FILE to the CA file that signs it"
        " (pdrun sandbox serve --tls prints its own)"
    )
    assert trusted.returncode == 1, trusted.stderr


def test_self_links_use_the_public_url():
    with served("--public-url", "https://pd.example.test/api/") as server:
        assert server.url == "https://pd.example.test/api"
    app = SandboxApp(demo_account(), public_url="https://pd.example.test/api")
    with running(app) as local, httpx2.Client(base_url=local.url, headers=AUTH) as client:
        service = client.get("/services", params={"limit": 1}).json()["services"][0]
    assert service["self"].startswith("https://pd.example.test/api/services/")


def test_two_sandboxes_stand_in_for_two_accounts():
    with served("--subdomain", "acme", "--token", "acme-token") as acme, served() as other:
        assert acme.token == "acme-token"
        with acme.client() as client:
            user = client.get("/users", params={"limit": 1}).json()["users"][0]
            assert client.get("/abilities", headers={"Authorization": f"Token token={SANDBOX_TOKEN}"}).status_code == 401
        with other.client() as client:
            theirs = client.get("/users", params={"limit": 1}).json()["users"][0]
    assert user["html_url"].startswith("https://acme.pagerduty.com/users/")
    assert theirs["html_url"].startswith("https://pdrun-sandbox.pagerduty.com/users/")


def test_tls_without_trustme_is_one_line_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "trustme", None)
    result = CliRunner().invoke(sandbox, ["serve", "--port", "0", "--tls"])
    assert isinstance(result.exception, UsageError)
    assert str(result.exception) == '--tls: HTTPS needs trustme: pip install "pdrun[tls]"'


@pytest.mark.parametrize(
    ("options", "error"),
    [
        (["--subdomain", "Not A Name"], "--subdomain Not A Name: expected lower-case letters"),
        (["--public-url", "ftp://x"], "--public-url ftp://x: expected an http:// or https:// URL"),
        (["--token", "two words"], "--token: expected a token without spaces"),
    ],
)
def test_bad_account_options_are_usage_errors(options, error):
    result = CliRunner().invoke(sandbox, ["serve", "--port", "0", *options])
    assert isinstance(result.exception, UsageError) and str(result.exception).startswith(error)


def test_two_slow_reads_are_served_at_once():
    # Both requests reach the barrier only if the app serves them at the same time, inside its account lock.
    account = demo_account()
    barrier = threading.Barrier(2, timeout=10)
    ordered = account.ordered

    def slow_ordered(*args, **kwargs):
        barrier.wait()
        return ordered(*args, **kwargs)

    account.ordered = slow_ordered
    app = SandboxApp(account)
    with running(app) as server, httpx2.Client(base_url=server.url, headers=AUTH) as client:
        with ThreadPoolExecutor(max_workers=2) as pool:
            codes = list(pool.map(lambda _: client.get("/incidents").status_code, range(2)))
    assert codes == [200, 200]

"""A run SIGKILLed half-way through its writes, then run again, completes the rest and duplicates nothing.

Both runs are real `pdrun` processes writing to one `pdrun sandbox serve --latency-ms` subprocess, so the
account outlives them, and every request is slow enough for the kill to land while a write is in flight.
Waits poll the history or the sandbox; no outcome depends on how fast the machine is.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic

import httpx2
import pytest
from test_sandbox_server import PDRUN, Served, served
from test_serve import PATIENCE_S, wait_for

LATENCY_MS = 400
# How long the write after a done one must have been recorded `sending` before the kill. Its request leaves
# pdrun a moment (CPU only) after it is recorded, and the sandbox answers it LATENCY_MS (a sleep) later:
# killing a quarter of the way in lands after the first and well before the second, on any machine. (A kill
# in that moment, before the request leaves, is another case: the rerun skips the write as possibly sent.)
IN_FLIGHT_S = LATENCY_MS / 4 / 1000


@dataclass(frozen=True)
class Recorded:
    """A row of the history's actions table."""

    run_id: str
    path: str
    status: str


def recorded(db: Path) -> list[Recorded]:
    """Return the actions pdrun recorded, in order; none while the history does not exist yet."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            rows = conn.execute("SELECT run_id, path, status FROM actions ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # no file or no table yet: pdrun has not opened its history
        return []
    return [Recorded(*row) for row in rows]


@dataclass
class Runs:
    """Start `pdrun RECIPE ... --yes --format json` processes on the sandbox, all with one config and history."""

    server: Served
    tmp_path: Path
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.db = self.tmp_path / "history.db"
        self.config = self.tmp_path / "config.toml"
        self.config.write_text(
            f'[pagerduty]\nfrom_email = "alex.morgan@example.com"\n[runner]\nstate = "sqlite:///{self.db}"\n'
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start pdrun with `args`, its output going to files named after its rank."""
        rank = len(self.started)
        env = {**os.environ, "PAGERDUTY_API_TOKEN": self.server.token, "XDG_STATE_HOME": str(self.tmp_path)}
        options = ["--base-url", self.server.url, "--config", str(self.config), "--yes", "--format", "json"]
        with self.output(rank, "out").open("w") as stdout, self.output(rank, "err").open("w") as stderr:
            process = subprocess.Popen(
                [PDRUN, *args, *options], stdout=stdout, stderr=stderr, env=env, cwd=self.tmp_path, text=True
            )
        self.started.append(process)
        return process

    def complete(self, *args: str, exit_code: int = 0) -> dict:
        """Run pdrun with `args` to its end (expecting `exit_code`); return its JSON report."""
        process = self.start(*args)
        rank = len(self.started) - 1
        assert process.wait(timeout=PATIENCE_S) == exit_code, self.output(rank, "err").read_text()
        return json.loads(self.output(rank, "out").read_text())

    def output(self, rank: int, stream: str) -> Path:
        return self.tmp_path / f"pdrun-{rank}.{stream}"


@pytest.fixture
def sandbox() -> Iterator[Served]:
    """A `pdrun sandbox serve` subprocess whose every request takes LATENCY_MS."""
    with served("--latency-ms", str(LATENCY_MS)) as server:
        yield server


@pytest.fixture
def client(sandbox: Served) -> Iterator[httpx2.Client]:
    """An HTTP client of the sandbox, with its token."""
    with sandbox.client() as http:
        yield http


@pytest.fixture
def runs(sandbox: Served, tmp_path: Path) -> Iterator[Runs]:
    """pdrun processes on the sandbox; any still running at the end of the test is killed."""
    started = Runs(sandbox, tmp_path)
    yield started
    for process in started.started:
        if process.poll() is None:
            process.kill()
            process.wait()


def triggered(client: httpx2.Client) -> list[str]:
    """Return the ids of the account's triggered incidents."""
    response = client.get("/incidents", params={"statuses[]": "triggered", "date_range": "all", "limit": 100})
    response.raise_for_status()
    return [incident["id"] for incident in response.json()["incidents"]]


def copies(client: httpx2.Client, incident_ids: Sequence[str], content: str) -> dict[str, int]:
    """Count the notes reading `content` on each incident (read all at once: each read waits out the latency)."""

    def count(incident_id: str) -> int:
        response = client.get(f"/incidents/{incident_id}/notes")
        response.raise_for_status()
        return [note["content"] for note in response.json()["notes"]].count(content)

    with ThreadPoolExecutor(max_workers=len(incident_ids)) as pool:
        return dict(zip(incident_ids, pool.map(count, incident_ids)))


def kill_mid_write(runs: Runs, *args: str) -> list[Recorded]:
    """Start pdrun with `args`; SIGKILL it while the write after a done one is in flight; return its actions."""
    process = runs.start(*args)
    first_seen: dict[str, float] = {}  # path of each write seen `sending` -> when

    def in_flight() -> bool:
        if process.poll() is not None:
            pytest.fail(f"pdrun ended ({process.returncode}) before it could be killed")
        rows = recorded(runs.db)
        if not rows or rows[-1].status != "sending" or not any(row.status == "done" for row in rows):
            return False
        return monotonic() - first_seen.setdefault(rows[-1].path, monotonic()) >= IN_FLIGHT_S

    wait_for(in_flight, "a write in flight after a done one")
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=PATIENCE_S) == -signal.SIGKILL
    killed = recorded(runs.db)
    statuses = [row.status for row in killed]
    assert len({row.run_id for row in killed}) == 1
    assert set(statuses[:-1]) == {"done"} and statuses[-1] == "sending", statuses
    return killed


def outcomes(report: dict) -> list[tuple[str, str, str | None]]:
    """Return (path, status, error) of each action of a run's report, sorted."""
    return sorted((action["path"], action["status"], action["error"]) for action in report["actions"])


def test_a_killed_note_run_rerun_leaves_each_incident_one_note(runs, client):
    """Notes PagerDuty lists: the rerun skips every incident that has the note, and adds it to the rest."""
    incidents = triggered(client)
    paths = {f"/incidents/{incident}/notes": incident for incident in incidents}
    args = ("incident-note", "--status", "triggered", "--message", "Rolled back the deploy.")
    killed = kill_mid_write(runs, *args)
    reached = {row.path for row in killed}
    assert len(reached) < len(incidents)
    # The note in flight at the kill lands all the same: wait for it, so the rerun finds every note sent.
    sent_last = paths[killed[-1].path]
    wait_for(lambda: copies(client, [sent_last], "Rolled back the deploy.")[sent_last], "the note in flight")

    rerun = runs.complete(*args)

    assert outcomes(rerun) == sorted(
        (path, "skipped", "already in PagerDuty") if path in reached else (path, "done", None) for path in paths
    )
    assert copies(client, incidents, "Rolled back the deploy.") == dict.fromkeys(incidents, 1)


def test_a_killed_status_update_run_rerun_sends_each_update_once(runs, client):
    """Status updates PagerDuty does not list: the rerun skips, by the history, every one the killed run made,
    and leaves the one in flight at the kill `unknown` (exit 3): it may have landed, and nothing can tell."""
    incidents = triggered(client)
    paths = [f"/incidents/{incident}/status_updates" for incident in incidents]
    args = ("status-update", "--status", "triggered", "--message", "Mitigated; monitoring.")
    killed = kill_mid_write(runs, *args)
    assert len(killed) < len(incidents)
    run_id = killed[0].run_id
    unknown = (f"may have been made by run {run_id}, which got no answer; check PagerDuty, then run again with"
               " --resend-unknown to send it anyway")
    reasons = {"done": ("skipped", f"already done by run {run_id}"), "sending": ("unknown", unknown)}
    by_path = {row.path: row.status for row in killed}

    rerun = runs.complete(*args, exit_code=3)

    assert outcomes(rerun) == sorted(
        (path, *reasons[by_path[path]]) if path in by_path else (path, "done", None) for path in paths
    )
    # The sandbox shows status updates to no one over HTTP (no GET route, no log entry), so count what pdrun
    # sent by its history, where every write is recorded `sending` before its request leaves: one per incident.
    sent = Counter(row.path for row in recorded(runs.db) if row.status in ("done", "sending"))
    assert sent == Counter(paths)

"""Exactly once across processes and dropped connections: real `pdrun` processes on one history and one sandbox.

The sandbox is served over HTTP from this test's process (`pd_server`), so its account shows what every
process wrote. Waits poll; no outcome depends on how fast the machine is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.sandbox import Faults

PDRUN = str(Path(sys.executable).with_name("pdrun"))
PATIENCE_S = 120


@dataclass
class Clients:
    """`pdrun` processes against one served sandbox, sharing one config.toml and one history."""

    url: str
    tmp_path: Path

    def __post_init__(self) -> None:
        self.config = self.tmp_path / "config.toml"
        self.config.write_text(
            '[pagerduty]\nfrom_email = "alex.morgan@example.com"\nmax_retries = 6\n'
            f'[runner]\nstate = "sqlite:///{self.tmp_path / "history.db"}"\n'
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        env = {**os.environ, "PAGERDUTY_API_TOKEN": "pdrun-sandbox-token", "XDG_STATE_HOME": str(self.tmp_path)}
        return subprocess.Popen(
            [PDRUN, *args, "--base-url", self.url, "--config", str(self.config), "--yes", "--format", "json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=self.tmp_path, text=True,
        )

    def run(self, *args: str) -> tuple[int, dict, str]:
        process = self.start(*args)
        out, err = process.communicate(timeout=PATIENCE_S)
        return process.returncode, json.loads(out), err


@pytest.fixture
def clients(pd_server, tmp_path) -> Clients:
    return Clients(pd_server.url, tmp_path)


def triggered(account) -> list[str]:
    return [i["id"] for i in account.incidents.values() if i["status"] == "triggered"]


@pytest.mark.parametrize(
    ("recipe", "written"),
    [
        ("incident-note", lambda account, incident: [n["content"] for n in account.notes.get(incident, ())]),
        ("status-update", lambda account, incident: [u["message"] for u in account.status_updates.get(incident, ())]),
    ],
)
def test_four_concurrent_runs_write_each_once(clients, pd_account, recipe, written):
    incidents = triggered(pd_account)
    message = "Failing over to the standby database."
    processes = [clients.start(recipe, "--status", "triggered", "--message", message) for _ in range(4)]
    results = [(p.wait(timeout=PATIENCE_S), p.stderr.read()) for p in processes]
    assert [code for code, _ in results] == [0, 0, 0, 0], results
    assert {incident: written(pd_account, incident).count(message) for incident in incidents} == dict.fromkeys(
        incidents, 1
    )


def test_dropped_connections_never_duplicate_a_status_update(clients, pd_sandbox, pd_account, tmp_path):
    """Status-update, a rerun, then apply of the plan twice, with 30 % of connections dropped after the
    sandbox served the request: every update lands once, and every write left in doubt is listed."""
    incidents = triggered(pd_account)
    args = ("status-update", "--status", "triggered", "--message", "Mitigated; monitoring.")
    plan = tmp_path / "plan.json"
    code, _, err = clients.run(*args, "--plan", str(plan))
    assert code == 0, err
    pd_sandbox.faults = Faults(drop_rate=0.3, seed=7)
    reports = [clients.run(*args), clients.run(*args), clients.run("apply", str(plan)), clients.run("apply", str(plan))]
    for code, report, err in reports:
        unknown = [a["path"] for a in report["actions"] if a["status"] == "unknown"]
        assert code == (3 if unknown else 0), err
        for path in unknown:  # each listed in the one error line
            assert path in err
        assert {a["status"] for a in report["actions"]} <= {"done", "skipped", "unknown"}
    first_unknown = [a for a in reports[0][1]["actions"] if a["status"] == "unknown"]
    assert first_unknown, "with 30 % drops, some write of the first run should be left in doubt"
    updates = Counter({incident: len(pd_account.status_updates.get(incident, ())) for incident in incidents})
    assert updates == Counter(dict.fromkeys(incidents, 1))


def test_resend_unknown_sends_exactly_the_writes_left_in_doubt(clients, pd_sandbox, pd_account):
    args = ("status-update", "--status", "triggered", "--message", "Rolled back.")
    pd_sandbox.faults = Faults(drop_rate=0.3, seed=3)
    _, first, _ = clients.run(*args)
    doubtful = sorted(a["path"] for a in first["actions"] if a["status"] == "unknown")
    assert doubtful
    pd_sandbox.faults = Faults()
    code, again, err = clients.run(*args, "--resend-unknown")
    assert code == 0, err
    assert sorted(a["path"] for a in again["actions"] if a["status"] == "done") == doubtful


def test_apply_leaves_a_checked_write_in_doubt_and_a_rerun_of_the_recipe_checks_it(clients, pd_sandbox, pd_account,
                                                                                  tmp_path):
    incidents = triggered(pd_account)
    args = ("incident-note", "--status", "triggered", "--message", "Paged the database team.")
    plan = tmp_path / "plan.json"
    assert clients.run(*args, "--plan", str(plan))[0] == 0
    pd_sandbox.faults = Faults(drop_rate=0.3, seed=7)
    _, first, _ = clients.run("apply", str(plan))
    doubtful = sorted(a["path"] for a in first["actions"] if a["status"] == "unknown")
    assert doubtful
    pd_sandbox.faults = Faults()
    code, applied, _ = clients.run("apply", str(plan))
    assert code == 3 and sorted(a["path"] for a in applied["actions"] if a["status"] == "unknown") == doubtful
    code, rerun, err = clients.run(*args)
    assert code == 0, err
    assert {a["status"] for a in rerun["actions"]} == {"skipped"}
    notes = Counter({i: [n["content"] for n in pd_account.notes.get(i, ())].count(args[-1]) for i in incidents})
    assert notes == Counter(dict.fromkeys(incidents, 1))

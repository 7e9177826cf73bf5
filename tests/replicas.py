"""`pdrun serve` replicas as real subprocesses on one history, against one `pdrun sandbox serve` subprocess."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from plugin_dist import make_plugin
from test_sandbox_server import PDRUN, Served
from test_serve import GATE_PLUGIN, PATIENCE_S, wait_for

from runner.history import History
from runner.history.schema import fires, replicas, runs

REQUEST = re.compile(r"^(?P<method>[A-Z]+) (?P<path>[^? ]+)\S* -> (?P<status>\d+)$")


def audit_schedule(name: str = "audit", every: str = "1s") -> str:
    return f'[[schedule]]\nname = "{name}"\nrecipe = "services-without-teams"\nevery = "{every}"\n'


@dataclass
class Fleet:
    """Replicas of `pdrun serve --base-url SANDBOX`, sharing one config (`schedules`) and history (`url`)."""

    tmp_path: Path
    sandbox: Served
    url: str
    schedules: str
    runner: str = ""
    rate_limit: int = 900
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.config = self.tmp_path / "config.toml"
        self.config.write_text(
            f'[pagerduty]\nfrom_email = "alex.morgan@example.com"\nrate_limit = {self.rate_limit}\n'
            f'[logging]\nformat = "json"\n[runner]\nstate = "{self.url}"\n{self.runner}\n{self.schedules}'
        )
        site = self.tmp_path / "site"
        make_plugin(site, GATE_PLUGIN, dist="pdrun-gate")
        self.env = {**os.environ, "PYTHONPATH": str(site), "PAGERDUTY_API_TOKEN": self.sandbox.token}
        History(self.url).close()  # migrated once, before the replicas race to it

    def start(self, *options: str) -> subprocess.Popen[str]:
        """Start one more replica; its log goes to serve-N.log."""
        with self.log(len(self.started)).open("w") as log:
            process = subprocess.Popen(
                [PDRUN, "serve", "--base-url", self.sandbox.url, "--config", str(self.config), *options],
                stdout=subprocess.DEVNULL, stderr=log, env=self.env, cwd=self.tmp_path, text=True,
            )
        self.started.append(process)
        return process

    def log(self, rank: int) -> Path:
        return self.tmp_path / f"serve-{rank}.log"

    def events(self, rank: int) -> list[dict]:
        """The JSON log lines of replica `rank` so far."""
        lines = self.log(rank).read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def stop(self, process: subprocess.Popen[str], signum: int = signal.SIGTERM) -> int:
        process.send_signal(signum)
        return process.wait(timeout=PATIENCE_S)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                assert self.stop(process) == 0

    def kill_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.kill()
                process.wait()

    def rows(self, table: sa.Table, *where: sa.ColumnElement[bool]) -> list[dict]:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                return [row._asdict() for row in conn.execute(sa.select(table).where(*where))]
        except sa.exc.OperationalError:  # SQLite: a writer holds the file a moment too long; ask again
            return []
        finally:
            engine.dispose()

    def runs(self, *where: sa.ColumnElement[bool]) -> list[dict]:
        return self.rows(runs, *where)

    def fires(self) -> list[dict]:
        return sorted(self.rows(fires), key=lambda f: (f["schedule"], f["fire_time"]))

    def firing_pid(self) -> int:
        """The pid of the replica firing the schedules, once one does."""
        return wait_for(lambda: next((r["pid"] for r in self.rows(replicas) if r["firing"]), None),
                        "a replica to fire")

    def wait_runs(self, count: int, *where: sa.ColumnElement[bool]) -> list[dict]:
        """Wait until at least `count` runs match `where`; return them."""

        def enough() -> list[dict] | None:
            found = self.runs(*where)
            return found if len(found) >= count else None

        return wait_for(enough, f"{count} runs")


def requests(log: Path) -> Counter[tuple[str, str, int]]:
    """Count the requests the sandbox logged, by (method, path without query, status)."""
    counted: Counter[tuple[str, str, int]] = Counter()
    for line in log.read_text().splitlines():
        if not line.startswith("{"):
            continue
        match = REQUEST.match(json.loads(line)["event"])
        if match:
            counted[(match["method"], match["path"], int(match["status"]))] += 1
    return counted

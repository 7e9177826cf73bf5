"""`pdrun serve` as a real subprocess on the sandbox. Waits poll the history; none relies on timing luck."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from plugin_dist import make_plugin

from runner.history import History
from runner.history.schema import runs
from runner.history.store import run_row
from runner.timestamps import iso

PDRUN = str(Path(sys.executable).with_name("pdrun"))
PATIENCE_S = 120

GATE_PLUGIN = """
    import pathlib, time
    from runner import Param, hookimpl, recipe

    @recipe(params=[Param(name="gate", required=True, help="Wait until this file exists.")])
    def gate(ctx):
        \"\"\"Wait until a file exists.\"\"\"
        gate = pathlib.Path(ctx.params["gate"])
        while not gate.exists():
            time.sleep(0.02)

    @hookimpl
    def pdrun_recipes(register):
        register(gate)
"""


def hours_ago(hours: int) -> str:
    return iso(datetime.now(UTC) - timedelta(hours=hours))


def seed_fire(url: str, *, schedule: str, recipe: str, at: str, run_id: str = "seed") -> None:
    """Record a fire of `schedule` at `at`, as an earlier daemon would have."""
    history = History(url)
    row = run_row(run_id, "x", "k", recipe, {}, schedule, replica=None)
    with history.engine.begin() as conn:
        conn.execute(sa.insert(runs).values(**row, trigger="schedule", started_at=at, finished_at=at, status="skipped"))
    history.close()


def wait_for(condition: Callable[[], object], what: str) -> object:
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


class Daemon:
    """A `pdrun serve --sandbox` subprocess with its own config and history."""

    def __init__(self, tmp_path: Path, schedules: str, *, runner: str = "") -> None:
        self.tmp_path = tmp_path
        self.config = tmp_path / "config.toml"
        self.db = tmp_path / "history.db"
        self.config.write_text(
            f'[pagerduty]\nfrom_email = "alex.morgan@example.com"\n'
            f'[logging]\nformat = "json"\n'
            f'[runner]\nstate = "sqlite:///{self.db}"\n{runner}\n{schedules}'
        )
        site = tmp_path / "site"
        make_plugin(site, GATE_PLUGIN, dist="pdrun-gate")
        self.env = {**os.environ, "PYTHONPATH": str(site)}
        self.proc: subprocess.Popen | None = None

    def start(self) -> Daemon:
        self.log = open(self.tmp_path / "serve.log", "w")
        self.proc = subprocess.Popen(
            [PDRUN, "serve", "--sandbox", "--config", str(self.config)],
            stdout=subprocess.DEVNULL, stderr=self.log, env=self.env, cwd=self.tmp_path,
        )
        return self

    def stop(self, signum: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        self.proc.send_signal(signum)
        code = self.proc.wait(timeout=PATIENCE_S)
        self.log.close()
        return code

    def runs(self, **where: str) -> list[dict]:
        if not self.db.exists():
            return []
        rows = History(f"sqlite:///{self.db}").list_runs(limit=10_000)
        return [r for r in rows if all(r[k] == v for k, v in where.items())]

    def logs(self) -> str:
        return (self.tmp_path / "serve.log").read_text()


@pytest.fixture
def daemons():
    started: list[Daemon] = []
    yield started
    for daemon in started:
        if daemon.proc and daemon.proc.poll() is None:
            daemon.proc.kill()
            daemon.proc.wait()


AUDIT_EVERY_SECOND = '[[schedule]]\nname = "audit"\nrecipe = "services-without-teams"\nevery = "1s"\n'


def gate_schedule(gate: Path, every: str = "1s") -> str:
    return f'[[schedule]]\nname = "slow"\nrecipe = "gate"\nevery = "{every}"\nparams = {{ gate = "{gate}" }}\n'


def test_scheduled_runs_are_recorded(tmp_path, daemons):
    daemon = Daemon(tmp_path, AUDIT_EVERY_SECOND).start()
    daemons.append(daemon)
    wait_for(lambda: len(daemon.runs(status="findings")) >= 2, "two scheduled runs")
    assert daemon.stop() == 0
    runs = daemon.runs()
    assert runs and {(r["trigger"], r["schedule"], r["status"]) for r in runs} == {("schedule", "audit", "findings")}
    assert '"event": "run.finished"' in daemon.logs() and '"schedule": "audit"' in daemon.logs()


def test_sigterm_lets_a_running_run_finish(tmp_path, daemons):
    gate = tmp_path / "gate"
    daemon = Daemon(tmp_path, gate_schedule(gate, every="1h"), runner="shutdown_grace_s = 600").start()
    daemons.append(daemon)
    # Seed a fire two hours ago so the daemon catches up at once.
    seed_fire(f"sqlite:///{daemon.db}", schedule="slow", recipe="gate", at=hours_ago(2))
    wait_for(lambda: daemon.runs(status="running"), "the run to start")
    daemon.proc.send_signal(signal.SIGTERM)
    gate.touch()
    assert daemon.proc.wait(timeout=PATIENCE_S) == 0
    daemon.log.close()
    runs = daemon.runs(recipe="gate")
    assert [r["status"] for r in runs if r["id"] != "seed"] == ["ok"]


def test_sigterm_records_a_run_past_the_grace_period_as_interrupted(tmp_path, daemons):
    gate = tmp_path / "never"
    daemon = Daemon(tmp_path, gate_schedule(gate), runner="shutdown_grace_s = 0").start()
    daemons.append(daemon)
    wait_for(lambda: daemon.runs(status="running"), "the run to start")
    assert daemon.stop() == 0
    runs = [r for r in daemon.runs() if r["status"] != "skipped"]
    assert len(runs) == 1 and runs[0]["status"] == "interrupted"
    assert not daemon.runs(status="running")


def test_an_overlapping_fire_is_recorded_as_skipped(tmp_path, daemons):
    gate = tmp_path / "gate"
    daemon = Daemon(tmp_path, gate_schedule(gate), runner="shutdown_grace_s = 600").start()
    daemons.append(daemon)
    wait_for(lambda: daemon.runs(status="skipped"), "a skipped fire")
    gate.touch()
    wait_for(lambda: daemon.runs(status="ok"), "the run to finish")
    assert daemon.stop() == 0
    skipped = daemon.runs(status="skipped")[0]
    assert skipped["schedule"] == "slow" and "still going" in skipped["error"]
    assert '"event": "run.skipped"' in daemon.logs()


def test_a_fire_missed_while_down_runs_once_on_start(tmp_path, daemons):
    daemon = Daemon(tmp_path, AUDIT_EVERY_SECOND.replace('"1s"', '"1d"'))
    seed_fire(f"sqlite:///{daemon.db}", schedule="audit", recipe="services-without-teams", at=hours_ago(48))
    daemons.append(daemon.start())
    wait_for(lambda: daemon.runs(status="findings"), "the catch-up run")
    assert daemon.stop() == 0
    assert len(daemon.runs(status="findings")) == 1
    assert '"event": "schedule.catch_up"' in daemon.logs()


def test_sighup_reloads_and_keeps_the_old_config_when_the_new_one_is_bad(tmp_path, daemons):
    daemon = Daemon(tmp_path, AUDIT_EVERY_SECOND.replace('"1s"', '"1h"')).start()
    daemons.append(daemon)
    wait_for(lambda: '"event": "serve.started"' in daemon.logs(), "the daemon to start")
    good = daemon.config.read_text().replace('every = "1h"', 'every = "1s"')
    daemon.config.write_text(good.replace('recipe = "services-without-teams"', 'recipe = "services-without-teamz"'))
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: '"event": "serve.reload_failed"' in daemon.logs(), "the reload to be refused")
    daemon.config.write_text(good)
    daemon.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: daemon.runs(status="findings"), "a run of the reloaded schedule")
    assert daemon.stop() == 0
    assert "services-without-teamz" in daemon.logs() and "did you mean" in daemon.logs()


def test_every_schedule_problem_is_listed_at_once(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[[schedule]]\nrecipe = "nosuch"\nevery = "5m"\n'
        '[[schedule]]\nrecipe = "services-without-teams"\ncron = "61 * * * *"\n'
        '[[schedule]]\nname = "notes"\nrecipe = "incident-note"\nevery = "1h"\nparams = { message = "x", status = ["triggered"] }\n'
        '[[schedule]]\nname = "tz"\nrecipe = "services-without-teams"\nevery = "90x"\ntimezone = "Mars/Olympus"\n'
    )
    result = subprocess.run([PDRUN, "serve", "--sandbox", "--config", str(config)], capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for expected in ("unknown recipe 'nosuch'", "bad cron '61 * * * *'", "set allow_writes = true", "unknown timezone"):
        assert expected in result.stderr


def test_every_fires_on_multiples_of_its_interval_since_1970_whatever_the_timezone(tmp_path):
    from runner.launch import Launcher
    from runner.schedules import build_schedules

    path = tmp_path / "config.toml"
    path.write_text("".join(
        f'[[schedule]]\nname = "{every}"\nrecipe = "services-without-teams"\nevery = "{every}"\n'
        f'timezone = "Asia/Kolkata"\n'
        for every in ("1h", "15m", "90s", "7d")
    ))
    launcher = Launcher(environ={"PAGERDUTY_API_TOKEN": "x"}, cwd=tmp_path)
    schedules = {s.name: s for s in build_schedules(launcher.config(path), launcher)}
    after = datetime(2026, 3, 4, 10, 7, 31, tzinfo=UTC)
    fires = {name: schedule.next_fire(after).astimezone(UTC) for name, schedule in schedules.items()}
    assert fires == {
        "1h": datetime(2026, 3, 4, 11, 0, tzinfo=UTC),
        "15m": datetime(2026, 3, 4, 10, 15, tzinfo=UTC),
        "90s": datetime(2026, 3, 4, 10, 7, 30, tzinfo=UTC) + timedelta(seconds=90),
        "7d": datetime(2026, 3, 5, tzinfo=UTC),  # 1970-01-01 was a Thursday, as is 2026-03-05
    }

"""The report's demo: days of simulated change on the demo account, audited day by day into a throwaway history.

The demo account starts `days - 1` days ago on a pinned clock (or the
launcher's sandbox account, where one is given, from its current time: tests
hand their own). Each day the clock moves on a day and the account drifts (`runner.sandbox.drift`: planted
problems fixed, new ones made, incidents opened and dealt with), then every
audit runs on it, through run_recipe like any audit, and is recorded at the
account's time in a temporary SQLite history, so the history holds real runs
and findings. The report is built from that history, which is then deleted.
"""

from __future__ import annotations

import dataclasses
import random
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from runner import log as pdlog
from runner.audit import run_audit
from runner.config import Config
from runner.errors import UsageError
from runner.history import History
from runner.launch import Launcher, Target
from runner.timestamps import iso
from runner.trends.build import Report, Scope, build_report

if TYPE_CHECKING:
    from runner.recipe import Recipe
    from runner.results import RunResult

MAX_DEMO_DAYS = 365
SEED = 0


def demo_report(launcher: Launcher, config: Config, scope: Scope, audits: Sequence[Recipe]) -> Report:
    """Replay `scope.days` days on the demo account into a temporary history and report on it."""
    from runner.sandbox import SandboxApp
    from runner.sandbox.clock import stopped
    from runner.sandbox.demo import demo_account
    from runner.sandbox.drift import drift

    if scope.days > MAX_DEMO_DAYS:
        raise UsageError(f"--days {scope.days}: the demo replays each day, at most {MAX_DEMO_DAYS}")
    if launcher.sandbox_app is None:
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=scope.days - 1)
        app = SandboxApp(demo_account(now=start, clock=stopped))
    else:
        app = launcher.sandbox_app()
    account = app.account
    first = account.now
    account.restart_clock(first, stopped)
    rng = random.Random(SEED)
    # The demo's own requests, in process: nothing to spare PagerDuty's budget for.
    config = dataclasses.replace(config, pagerduty=dataclasses.replace(config.pagerduty, rate_limit=0))
    demo = dataclasses.replace(launcher, sandbox_app=lambda: app)
    params = {recipe.name: demo.params(config, recipe) for recipe in audits}
    pdlog.configure(format=config.logging.format, level="warning")  # a line per run, hundreds of runs: too many
    with tempfile.TemporaryDirectory(prefix="pdrun-report-demo-") as folder:
        history = History(f"sqlite:///{Path(folder) / 'history.db'}")
        try:
            with demo.open(config, Target(sandbox=True), history=False) as launch:
                for day in range(scope.days):
                    if day:
                        account.now = first + timedelta(days=day)
                        drift(account, rng, progress=day / scope.days)
                    for section in run_audit(audits, launch=launch, params=params).sections:
                        _record(history, section, at=iso(account.now))
            report = build_report(history, scope, audits=[r.name for r in audits], now=account.now)
        finally:
            history.close()
    where = f"a temporary history of {scope.days} simulated days on the sandbox's demo account (since deleted)"
    return dataclasses.replace(report, history=where)


def _record(history: History, result: RunResult, *, at: str) -> None:
    """Record a run of the demo as made at the account's time `at`."""
    history.start(run_id=result.run_id, account=result.account, key=result.key, recipe=result.recipe,
                  params=result.params, trigger="audit", schedule=None, started_at=at)
    history.finish(dataclasses.replace(result, started_at=at, finished_at=at))

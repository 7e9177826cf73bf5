"""Two accounts of different shapes, each a `pdrun sandbox serve` of its own on loopback, audited and scheduled."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from replicas import requests
from test_sandbox_server import PDRUN, served
from test_serve import PATIENCE_S, wait_for

from runner.cli import cli
from runner.history import History
from runner.history.schema import fires, runs
from runner.launch import Launcher
from runner.rate_limit import RateLimiter

ACME = """
[[teams]]
name = "SRE"
managers = ["Kim Park"]

[[teams]]
name = "Data"

[[users]]
name = "Kim Park"
role = "owner"
teams = ["SRE"]
notification_rules = [{ contact_method = "phone", urgency = "high", start_delay_in_minutes = 5 }]

[[users]]
name = "Lee Wong"
teams = ["SRE"]
notification_rules = [{ contact_method = "phone", urgency = "high", start_delay_in_minutes = 5 }]

[[schedules]]
name = "SRE Primary"
teams = ["SRE"]
users = ["Kim Park", "Lee Wong"]

[[escalation_policies]]
name = "SRE"
teams = ["SRE"]
rules = [["SRE Primary"], ["Kim Park", "Lee Wong"]]

[[services]]
name = "Edge"
escalation_policy = "SRE"
description = "The CDN in front of everything."

[[services]]
name = "Legacy Monolith"
escalation_policy = "SRE"
teams = []
description = "What Edge replaced."

[[incidents]]
title = "Edge 5xx above 2%"
service = "Edge"
status = "resolved"
hours_ago = 5

[[incidents]]
title = "Monolith out of memory"
service = "Legacy Monolith"
status = "resolved"
hours_ago = 6
"""

GLOBEX = """
[[teams]]
name = "Payments"
managers = ["Ana Silva"]

[[users]]
name = "Ana Silva"
role = "owner"
teams = ["Payments"]
notification_rules = [{ contact_method = "phone", urgency = "high", start_delay_in_minutes = 5 }]

[[users]]
name = "Bo Chen"
teams = ["Payments"]
contact_methods = ["email"]

[[users]]
name = "Cy Diaz"
notification_rules = [{ contact_method = "phone", urgency = "high", start_delay_in_minutes = 5 }]

[[schedules]]
name = "Payments Primary"
teams = ["Payments"]
users = ["Ana Silva", "Bo Chen"]

[[schedules]]
name = "Payments Weekend"
teams = ["Payments"]
users = ["Ana Silva"]

[[escalation_policies]]
name = "Payments"
teams = ["Payments"]
rules = [["Payments Primary"], ["Ana Silva", "Bo Chen"]]

[[escalation_policies]]
name = "Payments Old"
teams = ["Payments"]
rules = [["Payments Primary"], ["Ana Silva", "Bo Chen"]]

[[services]]
name = "Ledger"
escalation_policy = "Payments"
description = "The books."

[[services]]
name = "Billing"
escalation_policy = "Payments"
description = "Invoices, retired."
status = "disabled"

[[incidents]]
title = "Ledger lag"
service = "Ledger"
status = "acknowledged"
hours_ago = 30

[[incidents]]
title = "Billing batch failed"
service = "Billing"
status = "resolved"
hours_ago = 3
"""

# Each account's findings under every hygiene audit, by recipe: what its profile plants, and nothing else.
EXPECTED = {
    "acme": {"services-without-teams": {"Legacy Monolith"}, "teams-without-members": {"Data"}},
    "globex": {
        "escalation-policies-unused": {"Payments Old"}, "incidents-stale": {"[#1] Ledger lag"},
        "schedules-unused": {"Payments Weekend"}, "services-disabled": {"Billing"}, "users-orphaned": {"Cy Diaz"},
        "users-without-contact-methods": {"Bo Chen"}, "users-weak-notification-rules": {"Bo Chen"},
        "licenses-unused": {"Cy Diaz"},
    },
}
TOKENS = {"acme": "acme-token-5f0d1c", "globex": "globex-token-9a7e3b"}
RATE_LIMITS = {"acme": 700, "globex": 800}


@dataclass
class Accounts:
    """Two served sandboxes configured as [accounts.acme] and [accounts.globex], with one history."""

    tmp_path: Path
    urls: dict[str, str]

    def __post_init__(self) -> None:
        self.config = self.tmp_path / "config.toml"
        self.db = self.tmp_path / "history.db"
        tables = "".join(
            f'[accounts.{name}]\ntoken_env = "{name.upper()}_TOKEN"\nbase_url = "{url}"\n'
            f'rate_limit = {RATE_LIMITS[name]}\n'
            for name, url in self.urls.items()
        )
        self.config.write_text(f'{tables}[logging]\nformat = "json"\n[runner]\nstate = "sqlite:///{self.db}"\n')
        self.env = {f"{name.upper()}_TOKEN": token for name, token in TOKENS.items()}

    def log(self, name: str) -> Path:
        return self.tmp_path / f"{name}.log"

    def requests(self, name: str) -> int:
        """How many requests the account's sandbox served."""
        return sum(requests(self.log(name)).values())

    def pdrun(self, *args: str, env: dict[str, str] | None = None):
        """Run pdrun in process with the accounts' tokens (or `env`) as its whole environment."""
        launcher = Launcher(environ={"XDG_STATE_HOME": str(self.tmp_path / "state"), **(env or self.env)},
                            cwd=self.tmp_path)
        return CliRunner().invoke(cli, ["--config", str(self.config), *args], obj=launcher)

    def leaked(self, token: str, *texts: str) -> bool:
        """Whether the token shows in any of `texts`, in the history's file, or in the sandboxes' logs."""
        stored = [path.read_bytes().decode(errors="replace") for path in self.tmp_path.glob("history.db*")]
        logs = [self.log(name).read_text() for name in self.urls]
        return any(token in text for text in (*texts, *stored, *logs))


@pytest.fixture
def accounts(tmp_path) -> Iterator[Accounts]:
    for name, profile in (("acme", ACME), ("globex", GLOBEX)):
        (tmp_path / f"{name}.toml").write_text(profile)
    with contextlib.ExitStack() as stack:
        urls = {
            name: stack.enter_context(served("--profile", str(tmp_path / f"{name}.toml"), "--subdomain", name,
                                             "--token", TOKENS[name], log=tmp_path / f"{name}.log")).url
            for name in ("acme", "globex")
        }
        yield Accounts(tmp_path, urls)


def found(audit: dict) -> dict[str, set[str]]:
    """An account's findings in a JSON audit, as object names by recipe."""
    return {recipe: {f["object"]["summary"] for f in section["findings"]}
            for recipe, section in audit["sections"].items() if section["findings"]}


def test_all_accounts_reports_each_accounts_exact_findings_and_totals(accounts):
    result = accounts.pdrun("audit", "--all-accounts", "--format", "json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert list(report["accounts"]) == ["acme", "globex"]
    for name, audit in report["accounts"].items():
        assert found(audit) == EXPECTED[name], name
        assert audit["account"] == f"{name}@{accounts.urls[name]}"
        assert audit["totals"]["findings"] == sum(len(v) for v in EXPECTED[name].values())
        assert audit["totals"]["api_calls"] == accounts.requests(name)
        for section in audit["sections"].values():
            assert all(f["object"]["html_url"].startswith(f"https://{name}.pagerduty.com/") for f in section["findings"])
    totals, expected = report["totals"], sum(len(v) for found in EXPECTED.values() for v in found.values())
    audits = len(report["accounts"]["acme"]["sections"])
    assert (totals["accounts"], totals["recipes"], totals["findings"]) == (2, 2 * audits, expected)
    assert totals["by_severity"] == {
        severity: sum(a["totals"]["by_severity"][severity] for a in report["accounts"].values())
        for severity in ("critical", "error", "warning", "info")
    }
    assert totals["api_calls"] == accounts.requests("acme") + accounts.requests("globex")
    assert (totals["failed"], totals["not_run"], totals["new"]) == ({}, {}, expected)

    rows = list(csv.DictReader(io.StringIO(accounts.pdrun("audit", "--all-accounts", "--format", "csv").stdout)))
    by_account = Counter(row["account"] for row in rows)
    assert by_account == {name: sum(len(v) for v in found.values()) for name, found in EXPECTED.items()}
    assert {row["state"] for row in rows} == {"open"}
    table = accounts.pdrun("audit", "--all-accounts").stdout
    assert f"ACCOUNT acme ({accounts.urls['acme']})" in table and f"ACCOUNT globex ({accounts.urls['globex']})" in table
    by_severity = ", ".join(f"{n} {severity}" for severity, n in totals["by_severity"].items() if n)
    assert f"of 2 accounts: {expected} findings ({by_severity}) from {2 * audits} recipes; 0 new, 0 resolved" in table
    assert not any(accounts.leaked(token, result.output, table) for token in TOKENS.values())


def test_a_rejected_token_leaves_the_other_accounts_report_whole(accounts):
    wrong = "globex-token-revoked-41c2"
    result = accounts.pdrun("audit", "--all-accounts", "--format", "json", env={**accounts.env, "GLOBEX_TOKEN": wrong})
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert found(report["accounts"]["acme"]) == EXPECTED["acme"]
    assert report["accounts"]["acme"]["totals"]["failed"] == []
    globex = report["accounts"]["globex"]
    [(recipe, section)] = globex["sections"].items()
    assert "PagerDuty rejected the API token from $GLOBEX_TOKEN for account 'globex' (401)" in section["error"]
    audits = len(report["accounts"]["acme"]["sections"])
    assert len(globex["totals"]["not_run"]) == audits - 1 and accounts.requests("globex") == 1
    assert report["totals"]["failed"] == {"globex": [recipe]}
    assert report["totals"]["findings"] == sum(len(v) for v in EXPECTED["acme"].values())
    assert f"pdrun: error: account globex: {recipe} failed: PagerDuty rejected" in result.stderr
    assert not accounts.leaked(wrong, result.output) and not accounts.leaked(TOKENS["acme"], result.output)


def test_each_account_spends_its_own_budget(accounts, monkeypatch):
    """Each account's requests are counted by its own session's rate limiter, and by no other."""
    spent: Counter[int] = Counter()
    acquire = RateLimiter.acquire

    def counted(limiter: RateLimiter) -> float:
        spent[limiter.budget] += 1
        return acquire(limiter)

    monkeypatch.setattr(RateLimiter, "acquire", counted)
    result = accounts.pdrun("audit", "--all-accounts", "--format", "json")
    assert result.exit_code == 1, result.stderr
    assert spent == {RATE_LIMITS[name]: accounts.requests(name) for name in ("acme", "globex")}
    assert all(accounts.requests(name) > 0 for name in ("acme", "globex"))


def test_a_schedule_on_several_accounts_records_a_run_per_account(accounts):
    with accounts.config.open("a") as config:
        config.write('[[schedule]]\nname = "teamless"\nrecipe = "services-without-teams"\nevery = "1s"\n'
                     'accounts = ["acme", "globex"]\n')
    history = f"sqlite:///{accounts.db}"

    def fired_on_both() -> set[str]:
        """The fire times at which both accounts' runs finished."""
        if not accounts.db.exists():
            return set()
        with contextlib.closing(History(history)) as store, store.engine.connect() as conn:
            claimed = conn.execute(sa.select(fires.c.schedule, fires.c.fire_time, runs.c.account_name, runs.c.status)
                                   .join(runs, runs.c.id == fires.c.run_id)).all()
        assert all(key == f"teamless@{account}" for key, _, account, _ in claimed)
        done = [(time, account) for _, time, account, status in claimed if status in ("ok", "findings")]
        return {time for time, account in done if account == "acme"} & {t for t, a in done if a == "globex"}

    with (accounts.tmp_path / "serve.log").open("w") as log:
        process = subprocess.Popen([PDRUN, "serve", "--config", str(accounts.config)], stdout=subprocess.DEVNULL,
                                   stderr=log, env={**os.environ, **accounts.env}, cwd=accounts.tmp_path)
    try:
        wait_for(lambda: len(fired_on_both()) >= 2, "two fires that ran on both accounts")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=PATIENCE_S) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    ran = [r for r in History(history).list_runs(limit=10_000) if r["status"] != "skipped"]
    assert {(r["schedule"], r["account_name"], r["status"], r["findings"]) for r in ran} == {
        ("teamless", "acme", "findings", 1), ("teamless", "globex", "ok", 0)}
    listed = accounts.pdrun("history", "--account", "globex", "--format", "json")
    assert {r["account_name"] for r in json.loads(listed.stdout)} == {"globex"}
    shown = json.loads(accounts.pdrun("schedules", "--format", "json").stdout)
    assert [(s["name"], s["account"]) for s in shown] == [("teamless", "acme"), ("teamless", "globex")]
    assert all(s["last_status"] for s in shown)
    assert not any(accounts.leaked(token, (accounts.tmp_path / "serve.log").read_text()) for token in TOKENS.values())

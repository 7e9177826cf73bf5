"""Named accounts in process: configuration, choosing one, bad input, identity in the history, plans and schedules."""

from __future__ import annotations

import hashlib
import io
import json
import gc
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from demo_expectations import DEMO_PLANTED
from test_bad_input import refused

from runner import config as pdconfig
from runner.audit import run_audit
from runner.history import History, migrate
from runner.results import Action, account_identity, account_name, run_key
from runner.sandbox import SANDBOX_BASE_URL
from runner.sandbox.demo import DEMO_INCIDENT_ID
from runner.timestamps import iso

TWO_ACCOUNTS = """
[pagerduty]
from_email = "alex.morgan@example.com"

[accounts.eu]
token_env = "PD_EU_TOKEN"
region = "eu"
from_email = "alex.morgan@example.com"
rate_limit = 300
"""
EU_TOKEN = "eu-secret-token-0123456789"
TEAMLESS = len(DEMO_PLANTED["services-without-teams"])


@pytest.fixture
def two_accounts(workdir):
    (workdir / "config.toml").write_text(TWO_ACCOUNTS)
    return workdir


def one_line(result) -> str:
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pdrun: error: "), result.stderr
    return lines[0]


def test_accounts_are_read_beside_the_default_one(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(TWO_ACCOUNTS)
    loaded = pdconfig.load(path, {}, tmp_path)
    assert list(loaded.accounts) == ["default", "eu"]
    assert loaded.accounts["eu"].url == "https://api.eu.pagerduty.com" and loaded.accounts["eu"].rate_limit == 300
    assert loaded.accounts["default"] is loaded.pagerduty
    path.write_text('[accounts.us]\ntoken_env = "PD_US"\n[accounts.eu]\ntoken_file = "/run/eu"\nregion = "eu"\n')
    assert list(pdconfig.load(path, {}, tmp_path).accounts) == ["us", "eu"]  # no [pagerduty]: no default account


@pytest.mark.parametrize(
    ("setting", "phrase"),
    [
        ('[accounts.EU]\ntoken_env = "X"', "[accounts.EU]: an account's name is lower-case letters, digits and dashes"),
        ('[accounts.default]\ntoken_env = "X"', "[accounts.default]: the account named default is [pagerduty]"),
        ('[accounts.eu]\nregion = "eu"', "[accounts.eu]: give token_env"),
        ('[accounts.eu]\ntoken_env = "X"\nregoin = "eu"', "[accounts.eu] regoin: unknown key"),
        ('[accounts.eu]\ntoken_env = "X"\nbase_url = "http://example.com"', "[accounts.eu] base_url: plain http://"),
        ("[accounts]\neu = 1", "[accounts] must hold one table per account"),
    ],
)
def test_a_bad_account_table(invoke, workdir, pd_sandbox, setting, phrase):
    (workdir / "config.toml").write_text(setting + "\n")
    refused(invoke("services-without-teams", "--sandbox"), pd_sandbox, phrase)


@pytest.mark.parametrize(
    ("args", "environ", "phrase"),
    [
        (["services-disabled", "--account", "mars"], {},
         "--account mars: no account named 'mars' in {config} (known: default, eu)"),
        (["audit", "--account", "eu", "--account", "euu"], {}, "--account euu: no account named 'euu'"),
        (["services-disabled"], {"PDRUN_ACCOUNT": "mars"}, "$PDRUN_ACCOUNT=mars: no account named 'mars'"),
        (["services-disabled", "--account", "eu"], {},
         "no PagerDuty API token for account 'eu': set the environment variable PD_EU_TOKEN"),
        (["audit", "--all-accounts"], {"PAGERDUTY_API_TOKEN": "x"}, "no PagerDuty API token for account 'eu'"),
        (["audit", "--account", "eu", "--all-accounts"], {}, "--account and --all-accounts exclude each other"),
        (["audit", "--all-accounts", "--base-url", "http://127.0.0.1:9"], {},
         "--base-url points one account elsewhere, and these runs are on every account"),
        (["schedules", "--account", "mars"], {}, "--account mars: no account named 'mars'"),
    ],
)
def test_a_bad_account_on_the_command_line(invoke, two_accounts, pd_sandbox, args, environ, phrase):
    refused(invoke(*args, environ=environ), pd_sandbox, phrase.format(config=two_accounts / "config.toml"))


def test_without_pagerduty_a_command_must_name_an_account(invoke, workdir, pd_sandbox):
    (workdir / "config.toml").write_text('[accounts.us]\ntoken_env = "PD_US"\n[accounts.eu]\ntoken_env = "PD_EU"\n')
    refused(invoke("services-disabled", "--sandbox"), pd_sandbox, "has no [pagerduty] (the default account)",
            "--account NAME or $PDRUN_ACCOUNT (known: us, eu)")
    result = invoke("services-disabled", "--sandbox", "--format", "json", environ={"PDRUN_ACCOUNT": "eu"})
    assert result.exit_code == 1 and json.loads(result.stdout)["account_name"] == "eu"


def test_a_write_names_the_table_missing_from_email(invoke, workdir, pd_server, pd_sandbox):
    (workdir / "config.toml").write_text('[pagerduty]\nfrom_email = "alex.morgan@example.com"\n'
                                         f'[accounts.eu]\ntoken_env = "PD_EU_TOKEN"\nbase_url = "{pd_server.url}"\n')
    result = invoke("incident-note", "--account", "eu", "--incident", DEMO_INCIDENT_ID, "--message", "hi",
                    environ={"PD_EU_TOKEN": EU_TOKEN})
    refused(result, pd_sandbox, "set from_email in [accounts.eu] of")
    assert EU_TOKEN not in result.output


def test_identity_keeps_the_default_account_as_it_was_and_tells_the_others_apart():
    url = "https://api.pagerduty.com"
    assert account_identity("default", url) == url
    assert account_identity("us2", url) == f"us2@{url}" != url
    assert [account_name(i) for i in (url, f"us2@{url}", "http://127.0.0.1:8089")] == ["default", "us2", "default"]
    # The keys the default account's history holds were made from its base URL: they still are.
    before = json.dumps({"account": url, "recipe": "r", "params": {"p": [1]}}, sort_keys=True)
    assert run_key(url, "r", {"p": (1,)}) == hashlib.sha256(before.encode()).hexdigest()[:16]
    note = Action.plan("POST", "/incidents/P1/notes", {"note": {"content": "hi"}}, headers={})
    claimed = json.dumps([url, "POST", "/incidents/P1/notes", {"note": {"content": "hi"}}], sort_keys=True)
    assert note.key(url) == hashlib.sha256(claimed.encode()).hexdigest()[:24] != note.key(f"us2@{url}")


def runs_of(invoke, *args: str) -> dict:
    result = invoke("services-without-teams", "--sandbox", "--format", "json", *args)
    assert result.exit_code == 1, result.stderr
    return json.loads(result.stdout)


def test_findings_remember_per_account_even_on_one_url(invoke, two_accounts, pd_sandbox):
    first = runs_of(invoke)
    other = runs_of(invoke, "--account", "eu")  # the same sandbox, under another account's name
    again = runs_of(invoke)
    assert first["account"] == SANDBOX_BASE_URL and other["account"] == f"eu@{SANDBOX_BASE_URL}"
    assert first["summary"]["new"] == other["summary"]["new"] == TEAMLESS
    assert again["summary"] == {"new": 0, "open": TEAMLESS, "resolved": 0}
    listed = json.loads(invoke("history", "--account", "eu", "--format", "json").stdout)
    assert [(r["id"], r["account_name"]) for r in listed] == [(other["run_id"], "eu")]
    table = invoke("history").stdout.splitlines()
    assert table[0].split()[:4] == ["RUN", "STARTED", "ACCOUNT", "RECIPE"]
    assert [line.split()[2] for line in table[1:]] == ["default", "eu", "default"]


def test_an_old_history_keeps_its_memory_of_the_default_account(invoke, two_accounts, pd_sandbox, pd_account,
                                                                 state_home):
    """A history of schema 0003 (before account names) upgrades in place, and the default account's runs
    carry on from the findings it remembers; a named account on the same URL starts afresh."""
    db = state_home / "pdrun" / "history.db"
    db.parent.mkdir(parents=True)
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        command.upgrade(migrate._alembic_config(conn), "0003")
    engine.dispose()
    service = next(s for s in pd_account.services.values() if not s["teams"])
    old_key = hashlib.sha256(json.dumps({"account": SANDBOX_BASE_URL, "recipe": "services-without-teams",
                                         "params": {}}, sort_keys=True).encode()).hexdigest()[:16]
    fingerprint = hashlib.sha256(f"services-without-teams\0services-without-teams\0service\0{service['id']}"
                                 .encode()).hexdigest()[:16]
    yesterday = iso(datetime.now(UTC) - timedelta(days=1))
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO runs (id, recipe, account, params, run_key, trigger, started_at, finished_at,"
                     " status, api_calls, findings, new, resolved, actions) VALUES ('old', 'services-without-teams',"
                     " ?, '{}', ?, 'cli', ?, ?, 'findings', 1, 1, 1, 0, 0)",
                     (SANDBOX_BASE_URL, old_key, yesterday, yesterday))
        conn.execute("INSERT INTO findings VALUES (?, ?, 'services-without-teams', 'services-without-teams',"
                     " 'warning', 'no team owns this service', ?, ?, ?, NULL)",
                     (old_key, fingerprint, json.dumps({"type": "service", "id": service["id"]}), yesterday, yesterday))
    named = runs_of(invoke, "--account", "eu")
    default = runs_of(invoke)
    assert named["summary"] == {"new": TEAMLESS, "open": 0, "resolved": 0}
    assert default["summary"] == {"new": TEAMLESS - 1, "open": 1, "resolved": 0}
    assert History(f"sqlite:///{db}").list_runs(account="default")[-1]["id"] == "old"


def test_the_sandbox_audits_every_account_at_once(invoke, two_accounts, pd_sandbox):
    result = invoke("audit", "--sandbox", "--all-accounts", "--format", "json")
    assert result.exit_code == 1, result.stderr
    report = json.loads(result.stdout)
    assert list(report["accounts"]) == ["default", "eu"]
    for name, audit in report["accounts"].items():
        assert audit["account_name"] == name and set(audit["sections"]) == set(DEMO_PLANTED)
        assert audit["totals"]["findings"] == sum(len(v) for v in DEMO_PLANTED.values())
    totals = report["totals"]
    assert totals["accounts"] == 2 and totals["findings"] == 2 * sum(len(v) for v in DEMO_PLANTED.values())
    assert totals["api_calls"] == len(pd_sandbox.exchanges) and totals["failed"] == {} == totals["not_run"]
    markdown = invoke("audit", "--sandbox", "--all-accounts", "--format", "markdown").stdout
    assert markdown.startswith("# pdrun audit of 2 accounts\n")
    assert f"## Account default ({SANDBOX_BASE_URL})" in markdown and f"## Account eu ({SANDBOX_BASE_URL})" in markdown
    one = invoke("audit", "--sandbox", "--account", "eu", "--format", "json")
    assert json.loads(one.stdout)["account_name"] == "eu" and "accounts" not in json.loads(one.stdout)


def test_progress_shows_every_account_on_one_line():
    from runner.progress import Progress

    screen = io.StringIO()
    progress = Progress(screen)
    us, eu = progress.account("us"), progress.account("eu")
    us.begin(2)
    eu.begin(2)
    us.started("services-disabled")
    eu.started("users-orphaned")
    eu.started("teams-without-members")
    eu.finished("users-orphaned")
    progress.request(None)
    assert screen.getvalue().endswith(
        "auditing us [0/2 done] services-disabled, eu [1/2 done] teams-without-members - 1 requests")
    us.done()
    assert screen.getvalue().endswith("auditing eu [1/2 done] teams-without-members - 1 requests")
    eu.done()
    assert screen.getvalue().endswith("\r\033[K")


def test_a_plan_is_bound_to_its_account(invoke, two_accounts, pd_sandbox):
    plan = two_accounts / "plan.json"
    made = invoke("incident-note", "--sandbox", "--account", "eu", "--incident", DEMO_INCIDENT_ID, "--message", "hi",
                  "--plan", str(plan))
    assert made.exit_code == 0, made.stderr
    assert json.loads(plan.read_text())["account"] == f"eu@{SANDBOX_BASE_URL}"
    refusal = one_line(invoke("apply", str(plan), "--sandbox", "--yes"))
    assert f"was planned for account 'eu' ({SANDBOX_BASE_URL}, subdomain pdrun-sandbox)" in refusal
    assert f"this session is account 'default' ({SANDBOX_BASE_URL})" in refusal
    applied = invoke("apply", str(plan), "--sandbox", "--account", "eu", "--yes", "--format", "json")
    assert applied.exit_code == 0, applied.stderr
    assert [a["status"] for a in json.loads(applied.stdout)["actions"]] == ["done"]


SCHEDULES = """
[[schedule]]
name = "teamless"
recipe = "services-without-teams"
every = "1h"
accounts = ["default", "eu"]

[[schedule]]
name = "eu-only"
recipe = "services-disabled"
every = "1d"
account = "eu"
"""


def test_schedules_show_and_filter_by_account(invoke, two_accounts):
    (two_accounts / "config.toml").write_text(TWO_ACCOUNTS + SCHEDULES)
    rows = json.loads(invoke("schedules", "--format", "json").stdout)
    assert [(r["name"], r["account"]) for r in rows] == [("teamless", "default"), ("teamless", "eu"),
                                                         ("eu-only", "eu")]
    only = json.loads(invoke("schedules", "--account", "eu", "--format", "json").stdout)
    assert [(r["name"], r["account"]) for r in only] == [("teamless", "eu"), ("eu-only", "eu")]
    assert invoke("schedules").stdout.splitlines()[0].split()[:3] == ["NAME", "ACCOUNT", "RECIPE"]


@pytest.mark.parametrize(
    ("table", "phrase"),
    [
        ('account = "mars"', "account 'mars': no account named 'mars'"),
        ('accounts = ["eu", "mars"]', "account 'mars': no account named 'mars'"),
        ('account = "eu"\naccounts = ["eu"]', "give account or accounts, not both"),
        ('accounts = ["eu", "eu"]', "accounts: expected distinct account names"),
    ],
)
def test_a_schedule_on_a_bad_account(invoke, two_accounts, pd_sandbox, table, phrase):
    (two_accounts / "config.toml").write_text(
        TWO_ACCOUNTS + f'[[schedule]]\nrecipe = "services-without-teams"\nevery = "1h"\n{table}\n')
    result = invoke("schedules")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "1 problem(s) with the schedules" in result.stderr and phrase in result.stderr


def test_serve_refuses_a_reload_onto_an_account_it_did_not_open(pd_sandbox, tmp_path):
    from runner.daemon import Daemon
    from runner.errors import ConfigError
    from runner.launch import Launcher, Target
    from runner.schedules import build_schedules

    path = tmp_path / "config.toml"
    path.write_text(TWO_ACCOUNTS + f'[runner]\nstate = "sqlite:///{tmp_path / "history.db"}"\n' + SCHEDULES)
    launcher = Launcher(environ={}, cwd=tmp_path, sandbox_app=lambda: pd_sandbox)
    config = launcher.config(path)
    schedules = build_schedules(config, launcher)
    with launcher.open(config, Target(sandbox=True)) as launch:
        daemon = Daemon(launches={"default": launch}, schedules=[s for s in schedules if s.account == "default"])
        with pytest.raises(ConfigError, match=r"schedules on accounts pdrun serve did not start with \(eu\)"):
            daemon.reload(schedules)
        assert [s.key for s in daemon.schedules] == ["teamless"]
    assert [s.key for s in schedules] == ["teamless", "teamless@eu", "eu-only@eu"]


def test_ctrl_c_in_an_audit_of_several_accounts_records_their_runs_interrupted(invoke, two_accounts, monkeypatch):
    started, release = threading.Barrier(3), threading.Event()

    def audit(recipes, *, launch, params, progress):
        name = launch.session.account_name
        launch.history.start(run_id=f"audit-of-{name}", account=launch.session.account, key=name, recipe="r",
                             params={}, trigger="audit", schedule=None, started_at=iso(datetime.now(UTC)))
        started.wait()
        release.wait()

    def cut_short(futures):  # Ctrl-C, once every account's audit has its run recorded
        started.wait()
        raise KeyboardInterrupt

    monkeypatch.setattr("runner.accounts_audit.run_audit", audit)
    monkeypatch.setattr("runner.accounts_audit.wait", cut_short)
    try:
        result = invoke("audit", "--sandbox", "--all-accounts")
    finally:
        release.set()
    assert result.exit_code == 130 and result.stderr.splitlines()[-1] == "pdrun: interrupted"
    runs = json.loads(invoke("history", "list", "--format", "json").stdout)
    assert sorted((run["id"], run["status"]) for run in runs) == [
        ("audit-of-default", "interrupted"), ("audit-of-eu", "interrupted")]


def test_the_collector_stays_paused_until_every_accounts_audit_has_ended(invoke, two_accounts, monkeypatch):
    first_done, seen = threading.Event(), {}

    def audit(recipes, *, launch, params, progress):
        name = launch.session.account_name
        if name != "default":
            first_done.wait(timeout=60)
        seen[name] = gc.isenabled()
        if name == "default":
            first_done.set()
        return run_audit([], launch=launch, params=params)

    monkeypatch.setattr("runner.accounts_audit.run_audit", audit)
    assert gc.isenabled()
    result = invoke("audit", "--sandbox", "--all-accounts", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert seen == {"default": False, "eu": False} and gc.isenabled()

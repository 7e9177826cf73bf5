from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from runner import recipe
from runner.history import History, default_url
from runner.policy import READ_ONLY
from runner.run import run_recipe
from runner.sandbox.demo import DEMO_INCIDENT_ID
from runner.sinks import BoundSink, Sink
from runner.timestamps import now_iso


def audit(invoke, *args):
    result = invoke("services-without-teams", "--sandbox", "--format", "json", *args)
    return result, json.loads(result.stdout)


def test_findings_remember_new_open_and_resolved(invoke, pd_account):
    _, first = audit(invoke)
    assert first["summary"] == {"new": 6, "open": 0, "resolved": 0}
    assert {f["state"] for f in first["findings"]} == {"new"}

    teamless = [s for s in pd_account.services.values() if not s["teams"]]
    fixed = teamless[0]
    fixed["teams"] = [next(iter(pd_account.teams.values()))]
    added = pd_account.add_service("Shadow IT", escalation_policy=fixed["escalation_policy"]["id"])

    result, second = audit(invoke)
    assert result.exit_code == 1
    states = {f["object"]["id"]: f["state"] for f in second["findings"]}
    assert states.pop(added["id"]) == "new"
    assert set(states.values()) == {"open"} and fixed["id"] not in states
    assert [f["object"]["id"] for f in second["resolved"]] == [fixed["id"]]
    assert second["summary"] == {"new": 1, "open": 5, "resolved": 1}

    _, third = audit(invoke, "--new-only")
    assert third["findings"] == [] and third["summary"] == {"new": 0, "open": 6, "resolved": 0}


def test_fail_on_decides_exit_code_1(invoke):
    assert audit(invoke, "--fail-on", "new")[0].exit_code == 1
    assert audit(invoke, "--fail-on", "new")[0].exit_code == 0
    assert audit(invoke, "--fail-on", "any")[0].exit_code == 1
    assert audit(invoke, "--fail-on", "never")[0].exit_code == 0


def test_a_failed_run_resolves_nothing(invoke, pd_account, pd_sandbox):
    audit(invoke)
    pd_sandbox.token = "another-token"  # every request of the next run is rejected
    failed = invoke("services-without-teams", "--sandbox", "--format", "json")
    assert failed.exit_code == 3
    pd_sandbox.token = "pdrun-sandbox-token"
    _, after = audit(invoke)
    assert after["summary"] == {"new": 0, "open": 6, "resolved": 0}


def test_no_history_records_nothing(invoke, state_home):
    result, report = audit(invoke, "--no-history")
    assert report["summary"] is None and {f["state"] for f in report["findings"]} == {None}
    assert History(default_url({"XDG_STATE_HOME": str(state_home)})).list_runs() == []


def test_history_show_returns_the_printed_json(invoke):
    _, printed = audit(invoke)
    shown = invoke("history", "show", printed["run_id"][:8])
    assert shown.exit_code == 0
    assert json.loads(shown.stdout) == printed


def test_history_lists_runs_newest_first(invoke):
    audit(invoke)
    invoke("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "hi")
    listed = json.loads(invoke("history", "--format", "json").stdout)
    assert [r["recipe"] for r in listed] == ["incident-note", "services-without-teams"]
    assert listed[0]["status"] == "ok" and listed[0]["actions"] == 1 and listed[0]["trigger"] == "cli"
    only = json.loads(invoke("history", "services-without-teams", "--format", "json").stdout)
    assert [r["recipe"] for r in only] == ["services-without-teams"]
    table = invoke("history", "--limit", "1")
    assert table.exit_code == 0 and "incident-note" in table.stdout and "services-without-teams" not in table.stdout


def test_unknown_run_id_is_a_usage_error(invoke):
    result = invoke("history", "show", "nosuchrun")
    assert result.exit_code == 2 and "no run with an id starting 'nosuchrun'" in result.stderr
    invoke("services-without-teams", "--sandbox")
    invoke("services-without-teams", "--sandbox")
    empty = invoke("history", "show", " ")
    assert empty.exit_code == 2 and empty.stderr == "pdrun: error: give a run's id, or the start of one ('pdrun history' lists them)\n"


def test_actions_are_recorded(invoke, state_home):
    invoke("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "hi", "--format", "json")
    history = History(default_url({"XDG_STATE_HOME": str(state_home)}))
    with history.engine.connect() as conn:
        rows = conn.execute(history_actions()).all()
    assert [(r.method, r.path, r.status) for r in rows] == [("POST", f"/incidents/{DEMO_INCIDENT_ID}/notes", "done")]


def history_actions():
    from sqlalchemy import select

    from runner.history.schema import actions

    return select(actions)


def test_retention_drops_old_runs(tmp_path):
    history = History(f"sqlite:///{tmp_path / 'h.db'}")
    old = (datetime.now(UTC) - timedelta(days=40)).isoformat().replace("+00:00", "Z")
    for run_id, started in (("old", old), ("new", datetime.now(UTC).isoformat().replace("+00:00", "Z"))):
        history.start(run_id=run_id, account="a", key="k", recipe="r", params={}, trigger="cli", schedule=None, started_at=started)
    assert history.prune(keep_days=30) == 1
    assert [r["id"] for r in history.list_runs()] == ["new"]


def test_runs_of_a_dead_process_become_interrupted(tmp_path):
    history = History(f"sqlite:///{tmp_path / 'h.db'}")
    history.start(run_id="r1", account="a", key="k", recipe="r", params={}, trigger="cli", schedule=None, started_at="2026-01-01T00:00:00.000Z")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with history.engine.begin() as conn:
        from sqlalchemy import update

        from runner.history.schema import runs

        conn.execute(update(runs).values(pid=int(dead.stdout)))
    assert history.interrupt_orphans(at="2026-01-01T00:01:00.000Z") == 1
    assert history.list_runs()[0]["status"] == "interrupted"


WRITER = """
import sys
from runner.history import History
from runner.results import Finding, ObjectRef, RunResult
history = History(sys.argv[1])
for n in range(int(sys.argv[3])):
    run_id = f"{sys.argv[2]}-{n}"
    history.start(run_id=run_id, account="a", key="k", recipe="r", params={"p": sys.argv[2]}, trigger="cli",
                  schedule=None, started_at="2026-01-01T00:00:00.000Z")
    finding = Finding(recipe="r", rule="r", severity="info", message="m", object=ObjectRef(type="service", id=str(n)))
    history.finish(RunResult(recipe="r", run_id=run_id, account="a", key=sys.argv[2], status="findings", dry_run=False,
                             params={"p": sys.argv[2]}, started_at="2026-01-01T00:00:00.000Z",
                             finished_at="2026-01-01T00:00:01.000Z", findings=(finding,)))
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'h.db'}"
    History(url).close()
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, url, name, "60"], stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0, writer.stderr.read()
    runs = History(url).list_runs(limit=1000)
    assert len(runs) == 120 and {r["status"] for r in runs} == {"findings"}
    assert sorted(r["id"] for r in runs) == sorted(f"{w}-{n}" for w in "ab" for n in range(60))


def test_an_interrupted_run_shows_the_writes_it_recorded(tmp_path):
    from runner.results import Action

    history = History(f"sqlite:///{tmp_path / 'h.db'}")
    history.start(run_id="cut", account="a", key="k", recipe="incident-note", params={}, trigger="cli",
                  schedule=None, started_at="2026-01-01T00:00:00.000Z")
    for seq, status in enumerate(("done", "sending")):
        action = Action(method="POST", path=f"/incidents/P{seq}/notes", body={"note": {"content": "x"}})
        history.action_sending("cut", seq, action, key=action.key("a"))
        if status == "done":
            history.action_finished("cut", seq, Action(**{**action.to_dict(), "status": "done"}))
    history.interrupt(["cut"], at="2026-01-01T00:01:00.000Z")
    [run] = history.list_runs()
    assert (run["status"], run["actions"]) == ("interrupted", 2)
    shown = history.find_run("cut")
    assert [(a["path"], a["status"]) for a in shown["actions"]] == [("/incidents/P0/notes", "done"),
                                                                   ("/incidents/P1/notes", "sending")]


def test_the_schema_head_is_alembics(tmp_path):
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from runner.history.migrate import HEAD, MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD


def test_a_history_from_before_migrations_is_upgraded_in_place(tmp_path):
    """The first histories were made by create_all, with a pdrun_meta table: they keep their runs and writes."""
    import sqlite3

    from runner.history.migrate import HEAD

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(OLD_SCHEMA)
    history = History(f"sqlite:///{db}")
    assert history.migrated == ("0001", HEAD)
    assert [r["id"] for r in history.list_runs()] == ["old-run"]
    claim = history.claim_of("k1")
    assert claim is not None and (claim.run_id, claim.status) == ("old-run", "done")
    with sqlite3.connect(db) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "pdrun_meta" not in tables and "claims" in tables


def test_a_history_newer_than_this_pdrun_is_refused(tmp_path):
    import sqlite3

    from runner.errors import ConfigError

    url = f"sqlite:///{tmp_path / 'h.db'}"
    History(url).close()
    with sqlite3.connect(tmp_path / "h.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(ConfigError, match="schema revision 9999, newer than this pdrun knows"):
        History(url)


OLD_SCHEMA = """
CREATE TABLE pdrun_meta (key VARCHAR(50) PRIMARY KEY, value VARCHAR(200) NOT NULL);
CREATE TABLE runs (id VARCHAR(32) PRIMARY KEY, recipe VARCHAR(200) NOT NULL, account VARCHAR(255) NOT NULL,
    params JSON NOT NULL, run_key VARCHAR(16) NOT NULL, "trigger" VARCHAR(20) NOT NULL, schedule VARCHAR(200),
    started_at VARCHAR(32) NOT NULL, finished_at VARCHAR(32), status VARCHAR(20) NOT NULL, error TEXT,
    api_calls INTEGER NOT NULL, findings INTEGER NOT NULL, new INTEGER NOT NULL, resolved INTEGER NOT NULL,
    actions INTEGER NOT NULL, result JSON, sink_errors JSON, host VARCHAR(255), pid INTEGER);
CREATE TABLE findings (run_key VARCHAR(16) NOT NULL, fingerprint VARCHAR(16) NOT NULL, recipe VARCHAR(200) NOT NULL,
    rule VARCHAR(200) NOT NULL, severity VARCHAR(20) NOT NULL, message TEXT NOT NULL, object JSON NOT NULL,
    first_seen VARCHAR(32) NOT NULL, last_seen VARCHAR(32) NOT NULL, resolved_at VARCHAR(32),
    PRIMARY KEY (run_key, fingerprint));
CREATE TABLE actions (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id VARCHAR(32) NOT NULL REFERENCES runs (id)
    ON DELETE CASCADE, seq INTEGER NOT NULL, "key" VARCHAR(24) NOT NULL, method VARCHAR(10) NOT NULL,
    path TEXT NOT NULL, headers JSON, body JSON, changes INTEGER NOT NULL, once BOOLEAN NOT NULL,
    status VARCHAR(20) NOT NULL, error TEXT, UNIQUE (run_id, seq));
INSERT INTO runs VALUES ('old-run', 'status-update', 'a', '{}', 'rk', 'cli', NULL, '2099-01-01T00:00:00.000Z',
    '2099-01-01T00:00:01.000Z', 'ok', NULL, 2, 0, 0, 0, 1, NULL, NULL, 'h', 1);
INSERT INTO actions (run_id, seq, "key", method, path, headers, body, changes, once, status)
    VALUES ('old-run', 0, 'k1', 'POST', '/incidents/P1/status_updates', '{}', '{}', 1, 1, 'done');
INSERT INTO findings VALUES ('rk', 'fp', 'r', 'r', 'info', 'm', '{"type": "service", "id": "P1"}',
    '2099-01-01T00:00:00.000Z', '2099-01-01T00:00:00.000Z', NULL);
"""


def test_runs_older_than_keep_runs_days_go_with_their_claims_when_pdrun_opens_the_history(invoke, workdir):
    from runner.history import claims

    url = f"sqlite:///{workdir / 'h.db'}"
    history = History(url)
    for run_id, days in (("old", 3), ("kept", 1)):
        started = (datetime.now(UTC) - timedelta(days=days)).isoformat().replace("+00:00", "Z")
        history.start(run_id=run_id, account="a", key="k", recipe="r", params={}, trigger="cli", schedule=None,
                      started_at=started)
        with history.engine.begin() as conn:
            claims.claim(conn, key=f"write of {run_id}", account="a", run_id=run_id, once=True, now=started)
    (workdir / "config.toml").write_text(f'[runner]\nstate = "{url}"\nkeep_runs_days = 2\n')
    listed = invoke("history", "list", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    assert [run["id"] for run in json.loads(listed.stdout)] == ["kept"]
    assert history.claim_of("write of old") is None and history.claim_of("write of kept") is not None


def test_a_run_interrupted_while_it_ran_is_neither_delivered_nor_logged_as_crashed(tmp_path, pd_session, pd_logs):
    history = History(f"sqlite:///{tmp_path / 'h.db'}")

    @recipe()
    def cut_short(ctx):
        """Stopped by a Ctrl-C while it reads: its reads then fail as pdrun exits."""
        history.interrupt([ctx.run_id], at=now_iso())
        raise RuntimeError("cannot schedule new futures after shutdown")
        yield

    delivered = []
    sink = BoundSink("spy", Sink(name="spy", summary="", deliver=lambda *args: delivered.append(args)), {})
    result = run_recipe(cut_short, session=pd_session, params={}, policy=READ_ONLY, history=history, sinks=[sink])
    assert result.status == "interrupted" and delivered == []
    assert history.find_run(result.run_id)["status"] == "interrupted"
    ends = [e for e in pd_logs if e["event"] in ("run.finished", "run.failed")]
    assert [(e["status"], e["error"]) for e in ends] == [("interrupted", "pdrun stopped before the run finished")]

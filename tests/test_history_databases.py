"""The history on SQLite and on PostgreSQL: migrations, write claims, fire claims and replicas, alike on both."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from sessions import sandbox_launch

from runner.config import Config, RunnerConfig
from runner.errors import ConfigError
from runner.history import History
from runner.history import migrate
from runner.history.engine import CONNECT_TIMEOUT_S, POSTGRES_CONNECTION
from runner.history.fleet import DEAD_AFTER_S, HEARTBEAT_S, Fleet, db_now
from runner.history.schema import replicas, runs
from runner.history.store import run_row
from runner.policy import WritePolicy
from runner.replicas import KEEPALIVES, Leadership
from runner.sandbox import demo_app
from runner.timestamps import iso, parse_iso
from test_sandbox_server import PDRUN

OLD_RUN = {
    "id": "old-run", "recipe": "services-without-teams", "account": "https://sandbox.example", "params": "{}",
    "run_key": "k" * 16, "trigger": "cli", "schedule": None, "started_at": "2026-01-01T00:00:00.000Z",
    "finished_at": "2026-01-01T00:00:01.000Z", "status": "findings", "error": None, "api_calls": 1, "findings": 1,
    "new": 1, "resolved": 0, "actions": 0, "result": None, "sink_errors": None, "host": "elsewhere", "pid": 1,
}
OLD_FINDING = {
    "run_key": "k" * 16, "fingerprint": "f" * 16, "recipe": "services-without-teams", "rule": "r", "severity": "warning",
    "message": "no owning team", "object": json.dumps({"type": "service", "id": "P1"}),
    "first_seen": "2026-01-01T00:00:01.000Z", "last_seen": "2026-01-01T00:00:01.000Z", "resolved_at": None,
}


def test_an_old_schema_is_upgraded_in_place_keeping_runs_and_findings(history_url):
    engine = sa.create_engine(history_url)
    with engine.begin() as conn:
        config = migrate._alembic_config(conn)
        command.upgrade(config, "0002")
        conn.execute(sa.text(f"INSERT INTO runs ({', '.join(OLD_RUN)}) VALUES ({', '.join(':' + k for k in OLD_RUN)})"),
                     OLD_RUN)
        conn.execute(sa.text(f"INSERT INTO findings ({', '.join(OLD_FINDING)}) VALUES "
                             f"({', '.join(':' + k for k in OLD_FINDING)})"), OLD_FINDING)
    engine.dispose()

    history = History(history_url)
    assert history.migrated == ("0002", migrate.HEAD)
    [run] = history.list_runs()
    assert (run["id"], run["status"], run["findings"], run["replica"]) == ("old-run", "findings", 1, None)
    with history.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT message FROM findings")).scalars().all() == ["no owning team"]
    assert History(history_url).migrated == (migrate.HEAD, migrate.HEAD)


def test_a_history_newer_than_pdrun_is_refused(history_url):
    History(history_url).close()
    engine = sa.create_engine(history_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(ConfigError, match="schema revision 9999, newer than this pdrun knows"):
        History(history_url)


def audit_results(url: str) -> list[tuple]:
    """Run an audit three times, fixing one service and adding another in between; return what each run said."""
    app = demo_app()
    account = app.account
    said = []
    with sandbox_launch(app, Config(runner=RunnerConfig(state=url))) as launch:
        recipe = launch.launcher.registry().recipes["services-without-teams"]
        for step in range(3):
            if step == 1:
                fixed = next(s for s in account.services.values() if not s["teams"])
                fixed["teams"] = [next(iter(account.teams.values()))]
            if step == 2:
                account.add_service("Shadow IT", escalation_policy=next(iter(account.escalation_policies)))
            result = launch.run(recipe, {}, policy=WritePolicy())
            said.append((result.status, result.summary, sorted((f.fingerprint, f.state) for f in result.findings),
                         sorted(f.fingerprint for f in result.resolved)))
        said.append([(r["recipe"], r["status"], r["findings"], r["new"], r["resolved"])
                     for r in launch.history.list_runs()])
    return said


def test_sqlite_and_postgresql_remember_the_same_runs_alike(tmp_path, postgres_url):
    assert audit_results(f"sqlite:///{tmp_path / 'h.db'}") == audit_results(postgres_url)


def test_concurrent_writers_claim_a_write_once(history_url):
    History(history_url).close()
    writers = 8
    ready = threading.Barrier(writers)
    won: list[str] = []

    def claim(n: int) -> None:
        history = History(history_url)
        ready.wait()
        if history.claim(key="note-on-P1", account="a", run_id=f"run-{n}", once=True) is None:
            won.append(f"run-{n}")
        history.close()

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1
    assert History(history_url).claim_of("note-on-P1").run_id == won[0]


def row(run_id: str, replica: str, schedule: str = "audit") -> dict:
    return run_row(run_id, "https://sandbox.example", "k" * 16, "services-without-teams", {}, schedule, replica=replica)


def test_each_fire_is_claimed_by_one_replica_and_never_overlaps(history_url):
    history = History(history_url)
    a, b = Fleet(history, "replica-a"), Fleet(history, "replica-b")
    first = a.claim_fire(fire="audit", fire_time="2026-01-01T00:00:00.000Z", row=row("r1", "replica-a"))
    again = b.claim_fire(fire="audit", fire_time="2026-01-01T00:00:00.000Z", row=row("r2", "replica-b"))
    overlapping = b.claim_fire(fire="audit", fire_time="2026-01-01T00:00:01.000Z", row=row("r3", "replica-b"))
    other = b.claim_fire(fire="notes", fire_time="2026-01-01T00:00:01.000Z",
                         row=row("r4", "replica-b", schedule="notes"))
    assert [first[0], again[0], overlapping[0], other[0]] == ["run", "taken", "skipped", "run"]
    statuses = {r["id"]: r["status"] for r in history.list_runs()}
    assert statuses == {"r1": "running", "r3": "skipped", "r4": "running"}


def test_a_replica_that_stops_beating_has_its_runs_interrupted_by_another(history_url):
    history = History(history_url)
    dead, live = Fleet(history, "replica-dead"), Fleet(history, "replica-live")
    dead.beat(firing=True)
    with history.engine.begin() as conn:
        orphan = {**row("orphan", "replica-dead"), "host": "elsewhere"}  # its replica's host
        conn.execute(sa.insert(runs).values(**orphan, trigger="schedule", started_at=OLD_RUN["started_at"],
                                            status="running"))
    assert history.run_alive("orphan")  # its replica beats, on another host

    peers, interrupted = live.beat(firing=False)
    assert interrupted == 0 and {p.id for p in peers} == {"replica-dead", "replica-live"}

    with history.engine.begin() as conn:
        long_ago = iso(parse_iso(db_now(conn)) - timedelta(seconds=DEAD_AFTER_S + 1))
        conn.execute(sa.update(replicas).where(replicas.c.id == "replica-dead").values(heartbeat_at=long_ago))
    assert not history.run_alive("orphan")
    peers, interrupted = live.beat(firing=True)
    assert interrupted == 1 and [(p.id, p.firing) for p in peers] == [("replica-live", True)]
    [run] = history.list_runs()
    assert run["status"] == "interrupted" and "no heartbeat" in run["error"]


def pdrun_history(tmp_path, state: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "config.toml"
    config.write_text(f'[runner]\nstate = "{state}"\n')
    return subprocess.run([PDRUN, "history", "--config", str(config)], capture_output=True, text=True, timeout=60)


def test_an_unreachable_database_is_one_line_and_exit_2_without_its_password(tmp_path):
    result = pdrun_history(tmp_path, "postgresql+psycopg://pdrun:s3cret-pw@127.0.0.1:1/pdrun")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("pdrun: error: cannot open the run history at postgresql+psycopg://pdrun:***@")
    assert "s3cret-pw" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


WITHOUT_PSYCOPG = "import sys; sys.modules['psycopg'] = None; from runner.cli import main; sys.argv[0] = 'pdrun'; main()"


def test_a_missing_driver_is_one_line_naming_the_extra(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[runner]\nstate = "postgresql+psycopg://pdrun@127.0.0.1/pdrun"\n')
    result = subprocess.run([sys.executable, "-c", WITHOUT_PSYCOPG, "history", "--config", str(config)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "pdrun: error: [runner] state postgresql+psycopg://pdrun@127.0.0.1/pdrun: its database driver is not"
        ' installed: pip install "pdrun[postgres]"'
    )


def test_the_readmes_replica_timings_are_the_codes():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = " ".join(readme.split("### Several replicas, one history", 1)[1].split("### ", 1)[0].split())
    idle, interval, count = (int(setting.rsplit(" ", 1)[1]) for setting in KEEPALIVES)
    assert f"the others try for it every {HEARTBEAT_S:g} s" in section
    assert f"dropped by TCP keepalives within about {idle + interval * count} s" in section
    assert f"writes a heartbeat every {HEARTBEAT_S:g} s" in section
    assert f"A replica silent for {DEAD_AFTER_S:g} s is dead" in section
    assert f"pdrun gives up connecting after {CONNECT_TIMEOUT_S} s" in " ".join(readme.split())
    client = POSTGRES_CONNECTION
    silence = client["keepalives_idle"] + client["keepalives_interval"] * client["keepalives_count"]
    assert (f"after about {silence} s of silence (TCP keepalives) or {client['tcp_user_timeout'] // 1000} s for data"
            " sent and never acknowledged") in " ".join(readme.split())


def test_the_firing_replicas_connection_asks_postgresql_for_keepalives(postgres_url):
    leadership = Leadership(sa.create_engine(postgres_url))
    try:
        assert leadership.hold()
        settings = [leadership._conn.execute(sa.text(f"SHOW {name}")).scalar()
                    for name in ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")]
        assert settings == [setting.rsplit(" ", 1)[1] for setting in KEEPALIVES]
    finally:
        leadership.release()


def test_retention_forgets_findings_resolved_before_it_and_keeps_open_ones_whole(history_url):
    from runner.history.schema import finding_events, findings

    history = History(history_url)
    long_ago, lately = "2026-01-01T00:00:00.000Z", iso(datetime.now(UTC) - timedelta(days=1))
    stories = {  # fingerprint: (resolved_at, the events of its story)
        "resolved-of-old": (long_ago, [("opened", "2025-12-01T00:00:00.000Z"), ("resolved", long_ago)]),
        "resolved-lately": (lately, [("opened", long_ago), ("resolved", lately)]),
        "open-for-long": (None, [("opened", "2025-12-01T00:00:00.000Z")]),
    }
    with history.engine.begin() as conn:
        for fingerprint, (resolved_at, events) in stories.items():
            conn.execute(sa.insert(findings).values(
                {**OLD_FINDING, "object": {"type": "service", "id": "P1"}, "fingerprint": fingerprint,
                 "resolved_at": resolved_at}))
            conn.execute(sa.insert(finding_events), [
                {"run_key": OLD_FINDING["run_key"], "fingerprint": fingerprint, "account": "a", "state": state, "at": at}
                for state, at in events])
    history.prune(keep_days=30)
    with history.engine.connect() as conn:
        kept = set(conn.execute(sa.select(findings.c.fingerprint)).scalars())
        told = sorted(conn.execute(sa.select(finding_events.c.fingerprint, finding_events.c.state)).all())
    assert kept == {"resolved-lately", "open-for-long"}
    assert told == [("open-for-long", "opened"), ("resolved-lately", "opened"), ("resolved-lately", "resolved")]


def test_pdruns_own_connections_drop_a_server_that_stops_answering_unless_the_url_says_otherwise(postgres_url):
    def parameters(url: str) -> dict[str, str]:
        history = History(url)
        try:
            with history.engine.connect() as conn:
                return conn.connection.driver_connection.info.get_parameters()
        finally:
            history.close()

    given = parameters(postgres_url)
    assert {k: given.get(k) for k in POSTGRES_CONNECTION} == {k: str(v) for k, v in POSTGRES_CONNECTION.items()}
    assert parameters(f"{postgres_url}?tcp_user_timeout=60000")["tcp_user_timeout"] == "60000"

"""The run history: runs, findings by fingerprint, and actions, in SQLite (or any SQLAlchemy URL).

SQLite runs in WAL mode with a busy timeout, and every write transaction
starts with BEGIN IMMEDIATE, so concurrent runs and several pdrun processes
on one host queue up instead of failing or losing a write.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runner.clock import iso, now_iso
from runner.errors import HistoryError, UsageError
from runner.recipe import (
    Action,
    Finding,
    ObjectRef,
    RunResult,
    plain_params,
    run_key,
    summarize,
)

metadata = sa.MetaData()
SCHEMA_VERSION = 1

meta = sa.Table(
    "pdrun_meta",
    metadata,
    sa.Column("key", sa.String(50), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("recipe", sa.String(200), nullable=False, index=True),
    sa.Column("account", sa.String(255), nullable=False),
    sa.Column("params", sa.JSON, nullable=False),
    sa.Column("run_key", sa.String(16), nullable=False, index=True),
    sa.Column("trigger", sa.String(20), nullable=False),
    sa.Column("schedule", sa.String(200), index=True),
    sa.Column("started_at", sa.String(32), nullable=False, index=True),
    sa.Column("finished_at", sa.String(32)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error", sa.Text),
    sa.Column("api_calls", sa.Integer, nullable=False, default=0),
    sa.Column("findings", sa.Integer, nullable=False, default=0),
    sa.Column("new", sa.Integer, nullable=False, default=0),
    sa.Column("resolved", sa.Integer, nullable=False, default=0),
    sa.Column("actions", sa.Integer, nullable=False, default=0),
    sa.Column("result", sa.JSON),
    sa.Column("sink_errors", sa.JSON),
    sa.Column("host", sa.String(255)),
    sa.Column("pid", sa.Integer),
)

findings = sa.Table(
    "findings",
    metadata,
    sa.Column("run_key", sa.String(16), primary_key=True),
    sa.Column("fingerprint", sa.String(16), primary_key=True),
    sa.Column("recipe", sa.String(200), nullable=False),
    sa.Column("rule", sa.String(200), nullable=False),
    sa.Column("severity", sa.String(20), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("object", sa.JSON, nullable=False),
    sa.Column("first_seen", sa.String(32), nullable=False),
    sa.Column("last_seen", sa.String(32), nullable=False),
    sa.Column("resolved_at", sa.String(32)),
)

actions = sa.Table(
    "actions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), sa.ForeignKey("runs.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("key", sa.String(24), nullable=False, index=True),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("headers", sa.JSON),
    sa.Column("body", sa.JSON),
    sa.Column("changes", sa.Integer, nullable=False, default=1),
    sa.Column("once", sa.Boolean, nullable=False, default=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error", sa.Text),
    sa.UniqueConstraint("run_id", "seq"),
)
# An action in these states must not be sent again: done, or sent by a run that stopped before it knew.
SETTLED_ACTIONS = ("done", "sending")

def default_url(environ: Mapping[str, str]) -> str:
    """Return the SQLite URL under $XDG_STATE_HOME/pdrun (default ~/.local/state/pdrun)."""
    state_home = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return f"sqlite:///{Path(state_home) / 'pdrun' / 'history.db'}"


class History:
    """Where every run is recorded, and where findings are remembered between runs."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            self.engine = sa.create_engine(url)
            if self.engine.dialect.name == "sqlite":
                _tune_sqlite(self.engine)
            metadata.create_all(self.engine)
        except (OSError, sa.exc.SQLAlchemyError) as exc:
            raise HistoryError(f"cannot open the run history at {url}: {_reason(exc)}") from None

    def start(self, *, run_id: str, account: str, recipe: str, params: Mapping[str, Any], trigger: str,
              schedule: str | None, started_at: str) -> None:
        """Record a run as running, so a crash or a shutdown cannot lose it."""
        row = _run_row(run_id, account, recipe, params, schedule)
        self._write(sa.insert(runs).values(**row, trigger=trigger, started_at=started_at, status="running"))

    def finish(self, result: RunResult) -> RunResult:
        """Store a finished run; compare its findings with what the previous runs left open.

        Returns the result with each finding's state (new or open) and the
        findings resolved since. Only complete runs (ok or findings) move
        findings to resolved; a failed run leaves the memory as it was.
        """
        key = result.key
        try:
            with self.engine.begin() as conn:
                status = conn.execute(sa.select(runs.c.status).where(runs.c.id == result.run_id)).scalar()
                if status != "running":  # recorded as interrupted at shutdown: that record stands
                    return result
                result = _remember(conn, key, result)
                summary = result.summary or {}
                conn.execute(
                    sa.update(runs)
                    .where(runs.c.id == result.run_id)
                    .values(
                        finished_at=result.finished_at, status=result.status, error=result.error,
                        api_calls=result.api_calls, findings=len(result.findings),
                        new=summary.get("new", 0), resolved=summary.get("resolved", 0),
                        actions=len(result.actions), result=result.to_dict(),
                    )
                )
                # Rows written as the writes went out are the truth; add the ones never sent.
                recorded = set(conn.execute(sa.select(actions.c.seq).where(actions.c.run_id == result.run_id)).scalars())
                missing = [
                    _action_row(result.run_id, n, a, result.account)
                    for n, a in enumerate(result.actions)
                    if n not in recorded
                ]
                if missing:
                    conn.execute(sa.insert(actions), missing)
        except sa.exc.SQLAlchemyError as exc:
            raise HistoryError(f"cannot record run {result.run_id}: {_reason(exc)}") from None
        return result

    def action_sending(self, run_id: str, seq: int, action: Action, *, key: str) -> None:
        """Record a write about to be sent, so a run killed mid-write is never repeated blindly."""
        row = {"run_id": run_id, "seq": seq, "key": key, **action.to_dict(), "status": "sending"}
        self._write(sa.insert(actions).values(**row))

    def action_finished(self, run_id: str, seq: int, action: Action) -> None:
        """Record how a sent write ended."""
        self._write(
            sa.update(actions)
            .where(actions.c.run_id == run_id, actions.c.seq == seq)
            .values(status=action.status, error=action.error)
        )

    def earlier_action(self, key: str) -> tuple[str, str] | None:
        """Return (run id, status) of an earlier write with this key that is done or was sent, if any."""
        with self._reading() as conn:
            row = conn.execute(
                sa.select(actions.c.run_id, actions.c.status)
                .where(actions.c.key == key, actions.c.status.in_(SETTLED_ACTIONS))
                .limit(1)
            ).first()
        return (row.run_id, row.status) if row else None

    def record_sink_errors(self, run_id: str, errors: Mapping[str, str]) -> None:
        """Record which sinks failed to deliver a run's result, and why."""
        self._write(sa.update(runs).where(runs.c.id == run_id).values(sink_errors=dict(errors)))

    def record_skipped(self, *, run_id: str, account: str, recipe: str, params: Mapping[str, Any],
                       schedule: str, at: str, reason: str) -> None:
        """Record a fire that did not run (its schedule's previous run was still going)."""
        row = _run_row(run_id, account, recipe, params, schedule)
        self._write(
            sa.insert(runs).values(
                **row, trigger="schedule", started_at=at, finished_at=at, status="skipped", error=reason
            )
        )

    def interrupt(self, run_ids: list[str], *, at: str) -> int:
        """Mark runs that were still running at shutdown as interrupted; return how many."""
        if not run_ids:
            return 0
        return self._write(
            sa.update(runs)
            .where(runs.c.id.in_(run_ids), runs.c.status == "running")
            .values(status="interrupted", finished_at=at, error="pdrun stopped before the run finished")
        ).rowcount

    def interrupt_orphans(self, *, at: str) -> int:
        """Mark runs left running by a pdrun process of this host that no longer exists."""
        with self._reading() as conn:
            rows = conn.execute(
                sa.select(runs.c.id, runs.c.pid).where(runs.c.status == "running", runs.c.host == socket.gethostname())
            ).all()
        return self.interrupt([r.id for r in rows if not _alive(r.pid)], at=at)

    def last_fire(self, schedule: str) -> str | None:
        """Return when the schedule last fired (ran or was skipped), per the history."""
        with self._reading() as conn:
            return conn.execute(sa.select(sa.func.max(runs.c.started_at)).where(runs.c.schedule == schedule)).scalar()

    def last_outcome(self, schedule: str) -> Mapping[str, Any] | None:
        """Return the latest run of a schedule (id, status, started_at, finished_at), if any."""
        with self._reading() as conn:
            row = conn.execute(
                sa.select(runs.c.id, runs.c.status, runs.c.started_at, runs.c.finished_at)
                .where(runs.c.schedule == schedule)
                .order_by(runs.c.started_at.desc())
                .limit(1)
            ).first()
        return row._asdict() if row else None

    def list_runs(self, *, recipe: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Return the latest runs, newest first."""
        query = sa.select(*[c for c in runs.c if c.name not in ("result", "run_key")])
        if recipe:
            query = query.where(runs.c.recipe == recipe)
        with self._reading() as conn:
            rows = conn.execute(query.order_by(runs.c.started_at.desc()).limit(limit)).all()
        return [row._asdict() for row in rows]

    def find_run(self, prefix: str) -> dict[str, Any]:
        """Return the result a run printed (or, for a run that has none, its record), by id or unique prefix."""
        with self._reading() as conn:
            rows = conn.execute(
                sa.select(runs).where(runs.c.id.startswith(prefix, autoescape=True)).limit(2)
            ).all()
        if len(rows) != 1:
            problem = "no run" if not rows else "more than one run"
            raise UsageError(f"{problem} with an id starting {prefix!r} in the history at {self.url}")
        row = rows[0]._asdict()
        return row["result"] or {k: v for k, v in row.items() if k not in ("result", "run_key")}

    def prune(self, *, keep_days: int, now: datetime | None = None) -> int:
        """Delete runs (and their actions) older than `keep_days`; return how many."""
        cutoff = iso((now or datetime.now(UTC)) - timedelta(days=keep_days))
        old = sa.select(runs.c.id).where(runs.c.started_at < cutoff)
        self._write(sa.delete(actions).where(actions.c.run_id.in_(old)))
        return self._write(sa.delete(runs).where(runs.c.started_at < cutoff)).rowcount

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise HistoryError(f"cannot read the run history at {self.url}: {_reason(exc)}") from None

    def _write(self, statement: sa.Executable) -> Any:
        try:
            with self.engine.begin() as conn:
                return conn.execute(statement)
        except sa.exc.SQLAlchemyError as exc:
            raise HistoryError(f"cannot write the run history at {self.url}: {_reason(exc)}") from None


def _remember(conn: sa.Connection, key: str, result: RunResult) -> RunResult:
    """Give each finding its state against the open set, and update the set if the run completed."""
    open_rows = {
        row.fingerprint: row
        for row in conn.execute(
            sa.select(findings).where(findings.c.run_key == key, findings.c.resolved_at.is_(None))
        )
    }
    current = {f.fingerprint: f for f in result.findings}
    stated = tuple(replace(f, state="open" if f.fingerprint in open_rows else "new") for f in result.findings)
    if result.status not in ("ok", "findings"):
        return replace(result, findings=stated)
    resolved = tuple(_finding(row) for fp, row in open_rows.items() if fp not in current)
    now = result.finished_at
    if resolved:
        conn.execute(
            sa.update(findings)
            .where(findings.c.run_key == key, findings.c.fingerprint.in_([f.fingerprint for f in resolved]))
            .values(resolved_at=now)
        )
    for finding in stated:
        values = {
            "rule": finding.rule, "severity": finding.severity, "message": finding.message,
            "object": finding.object.to_dict(), "last_seen": now, "resolved_at": None,
        }
        updated = conn.execute(
            sa.update(findings)
            .where(findings.c.run_key == key, findings.c.fingerprint == finding.fingerprint)
            .values(**values)
        ).rowcount
        if not updated:
            conn.execute(
                sa.insert(findings).values(
                    run_key=key, fingerprint=finding.fingerprint, recipe=finding.recipe, first_seen=now, **values
                )
            )
    return replace(result, findings=stated, resolved=resolved, summary=summarize(stated, resolved))


def _run_row(
    run_id: str, account: str, recipe: str, params: Mapping[str, Any], schedule: str | None
) -> dict[str, Any]:
    """The columns every run record starts with, and where it was made."""
    return {
        "id": run_id, "account": account, "recipe": recipe, "params": plain_params(params),
        "run_key": run_key(account, recipe, params), "schedule": schedule,
        "host": socket.gethostname(), "pid": os.getpid(),
    }


def _action_row(run_id: str, seq: int, action: Action, account: str) -> dict[str, Any]:
    return {"run_id": run_id, "seq": seq, "key": action.key(account), **action.to_dict()}


def _finding(row: Any) -> Finding:
    return Finding(
        recipe=row.recipe, rule=row.rule, severity=row.severity, message=row.message,
        object=ObjectRef(**{**row.object, "teams": tuple(row.object.get("teams", ()))}), state="resolved",
    )


def _tune_sqlite(engine: sa.Engine) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # pysqlite's own BEGIN would be DEFERRED; we issue ours
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reason(exc: BaseException) -> str:
    return str(getattr(exc, "orig", None) or exc).splitlines()[0]


def open_history(state: str | None, *, keep_runs_days: int, environ: Mapping[str, str]) -> History:
    """Open the configured history (default: SQLite under $XDG_STATE_HOME), tidied.

    Runs past retention are dropped, and runs left `running` by a pdrun
    process of this host that no longer exists are marked interrupted.
    """
    history = History(state or default_url(environ))
    history.prune(keep_days=keep_runs_days)
    history.interrupt_orphans(at=now_iso())
    return history

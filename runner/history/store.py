"""The run history: runs, their actions and write claims, findings by fingerprint (SQLite or PostgreSQL).

SQLite runs in WAL mode with a busy timeout, and every write transaction
starts with BEGIN IMMEDIATE, so concurrent runs and several pdrun processes
on one host queue up instead of failing or losing a write.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa

from runner.errors import ConfigError, HistoryError, UsageError
from runner.history import claims as claim_rows
from runner.history import fleet
from runner.history.engine import create_engine, reason, safe_url
from runner.history.memory import forget, remember
from runner.history.migrate import upgrade
from runner.history.schema import actions, runs
from runner.results import Action, RunResult, account_name, plain_params
from runner.timestamps import iso, now_iso

T = TypeVar("T")


def default_url(environ: Mapping[str, str]) -> str:
    """Return the SQLite URL under $XDG_STATE_HOME/pdrun (default ~/.local/state/pdrun)."""
    state_home = environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return f"sqlite:///{Path(state_home) / 'pdrun' / 'history.db'}"


class History:
    """Where every run is recorded, writes are claimed, and findings are remembered between runs."""

    def __init__(self, url: str) -> None:
        self.url = safe_url(url)  # as messages show it: never with a password
        self.replica: str | None = None  # the pdrun serve replica this process is, which marks the runs it records
        self.engine = create_engine(url)
        try:
            # The schema revisions before and after opening: (None, head) for a new history.
            self.migrated = upgrade(self.engine, self.url)
        except (OSError, sa.exc.SQLAlchemyError) as exc:  # unreachable or unusable: the setting is what to fix
            raise ConfigError(f"cannot open the run history at {self.url}: {reason(exc)}") from None

    # Runs

    def start(self, *, run_id: str, account: str, key: str, recipe: str, params: Mapping[str, Any], trigger: str,
              schedule: str | None, started_at: str) -> None:
        """Record a run as running, so a crash or a shutdown cannot lose it."""
        row = run_row(run_id, account, key, recipe, params, schedule, replica=self.replica)
        self._write(lambda c: c.execute(sa.insert(runs).values(**row, trigger=trigger, started_at=started_at,
                                                               status="running")))

    def finish(self, result: RunResult) -> RunResult:
        """Store a finished run; return it with each finding's state and the findings resolved since.

        A run recorded as interrupted meanwhile (pdrun stopped) keeps that record, and comes back so marked.
        """

        def store(conn: sa.Connection) -> RunResult:
            recorded = conn.execute(sa.select(runs.c.status, runs.c.error).where(runs.c.id == result.run_id)).first()
            if recorded is not None and recorded.status != "running":
                return dataclasses.replace(result, status=recorded.status, error=recorded.error)
            remembered = remember(conn, result)
            summary = remembered.summary or {}
            conn.execute(
                sa.update(runs)
                .where(runs.c.id == result.run_id)
                .values(
                    finished_at=result.finished_at, status=result.status, error=result.error,
                    api_calls=result.api_calls, findings=len(result.findings), new=summary.get("new", 0),
                    resolved=summary.get("resolved", 0), actions=len(result.actions), result=remembered.to_dict(),
                )
            )
            # Rows written as the writes went out are the truth; add the ones never sent, and settle the ones
            # whose ending could not be recorded then (the history was locked), so no later run doubts them.
            recorded = dict(conn.execute(sa.select(actions.c.seq, actions.c.status)
                                         .where(actions.c.run_id == result.run_id)).all())
            for seq, action in enumerate(result.actions):
                if recorded.get(seq) == "sending" and action.status in ("done", "failed", "unknown"):
                    conn.execute(sa.update(actions).where(actions.c.run_id == result.run_id, actions.c.seq == seq)
                                 .values(status=action.status, error=action.error))
                    claim_rows.settle(conn, key=action.key(result.account), run_id=result.run_id,
                                      status=action.status, now=now_iso())
            missing = [{"run_id": result.run_id, "seq": n, "key": a.key(result.account), **a.to_dict()}
                       for n, a in enumerate(result.actions) if n not in recorded]
            if missing:
                conn.execute(sa.insert(actions), missing)
            return remembered

        return self._write(store, what=f"record run {result.run_id}")

    def record_sink_errors(self, run_id: str, errors: Mapping[str, str]) -> None:
        """Record which sinks failed to deliver a run's result, and why."""
        self._write(lambda c: c.execute(sa.update(runs).where(runs.c.id == run_id).values(sink_errors=dict(errors))))

    def interrupt(self, run_ids: list[str], *, at: str) -> int:
        """Mark runs that were still running at shutdown as interrupted; return how many."""
        if not run_ids:
            return 0
        return self._write(lambda c: c.execute(
            sa.update(runs)
            .where(runs.c.id.in_(run_ids), runs.c.status == "running")
            .values(status="interrupted", finished_at=at, error="pdrun stopped before the run finished")
        ).rowcount)

    def interrupt_orphans(self, *, at: str) -> int:
        """Mark runs left running by a pdrun process of this host that no longer exists."""
        return self.interrupt([run_id for run_id, pid in self._running_here() if not _alive(pid)], at=at)

    def interrupt_own(self, *, at: str) -> int:
        """Mark the runs this process has still running as interrupted (it is stopping without them)."""
        return self.interrupt([run_id for run_id, pid in self._running_here() if pid == os.getpid()], at=at)

    def _running_here(self) -> list[tuple[str, int | None]]:
        """The runs recorded running by a process of this host, with its pid."""
        with self._reading() as conn:
            return [(r.id, r.pid) for r in conn.execute(
                sa.select(runs.c.id, runs.c.pid).where(runs.c.status == "running", runs.c.host == socket.gethostname())
            )]

    def run_alive(self, run_id: str) -> bool:
        """Whether a run may still be going: recorded running, and its process exists (on this host) or its
        pdrun serve replica still beats (on another)."""
        with self._reading() as conn:
            row = conn.execute(
                sa.select(runs.c.status, runs.c.host, runs.c.pid, runs.c.replica).where(runs.c.id == run_id)
            ).first()
            if row is None or row.status != "running":
                return False
            if row.host == socket.gethostname():
                return _alive(row.pid)
            return row.replica is None or fleet.replica_alive(conn, row.replica)

    # Actions and claims

    def action_sending(self, run_id: str, seq: int, action: Action, *, key: str) -> None:
        """Record a write about to be sent, so a run killed mid-write is never repeated blindly."""
        row = {"run_id": run_id, "seq": seq, "key": key, **action.to_dict(), "status": "sending"}
        self._write(lambda c: c.execute(sa.insert(actions).values(**row)))

    def action_finished(self, run_id: str, seq: int, action: Action) -> None:
        """Record how a sent write ended."""
        self._write(lambda c: c.execute(
            sa.update(actions).where(actions.c.run_id == run_id, actions.c.seq == seq)
            .values(status=action.status, error=action.error)))

    def claim(self, *, key: str, account: str, run_id: str, once: bool) -> claim_rows.Claim | None:
        """Claim a write for `run_id` (None), or return the claim another run holds on it."""
        return self._write(lambda c: claim_rows.claim(c, key=key, account=account, run_id=run_id, once=once,
                                                      now=now_iso()))

    def take_over(self, held: claim_rows.Claim, *, run_id: str, once: bool) -> bool:
        """Move a claim left unknown or abandoned to `run_id`, unless another run took it first."""
        return self._write(lambda c: claim_rows.take_over(c, held, run_id=run_id, once=once, now=now_iso()))

    def settle(self, *, key: str, run_id: str, status: str) -> None:
        """Record how a claimed write ended (done, unknown, or failed, which gives the claim up)."""
        self._write(lambda c: claim_rows.settle(c, key=key, run_id=run_id, status=status, now=now_iso()))

    def claim_of(self, key: str) -> claim_rows.Claim | None:
        """The claim on a write's key, if any run holds one."""
        with self._reading() as conn:
            return claim_rows.find(conn, key)

    # Reading

    def last_fire(self, schedule: str, account: str) -> str | None:
        """Return when the schedule last fired on an account (ran or was skipped), per the history."""
        with self._reading() as conn:
            return conn.execute(
                sa.select(sa.func.max(runs.c.started_at)).where(runs.c.schedule == schedule,
                                                               runs.c.account_name == account)
            ).scalar()

    def last_outcome(self, schedule: str, account: str) -> Mapping[str, Any] | None:
        """Return the latest run of a schedule on an account (id, status, started_at, finished_at), if any."""
        with self._reading() as conn:
            row = conn.execute(
                sa.select(runs.c.id, runs.c.status, runs.c.started_at, runs.c.finished_at)
                .where(runs.c.schedule == schedule, runs.c.account_name == account)
                .order_by(runs.c.started_at.desc()).limit(1)
            ).first()
        return row._asdict() if row else None

    def list_runs(self, *, recipe: str | None = None, account: str | None = None,
                  limit: int = 20) -> list[dict[str, Any]]:
        """Return the latest runs, newest first, each with the writes it recorded (whether or not it finished);
        of one recipe, and of the account of that name, when given."""
        recorded = sa.select(sa.func.count()).where(actions.c.run_id == runs.c.id).scalar_subquery()
        columns = [c for c in runs.c if c.name not in ("result", "run_key", "actions")]
        query = sa.select(*columns, recorded.label("actions"))
        if recipe:
            query = query.where(runs.c.recipe == recipe)
        if account:
            query = query.where(runs.c.account_name == account)
        with self._reading() as conn:
            rows = conn.execute(query.order_by(runs.c.started_at.desc()).limit(limit)).all()
        return [row._asdict() for row in rows]

    def find_run(self, prefix: str) -> dict[str, Any]:
        """Return the result a run printed, by id or unique prefix; a run that has none, its record and actions."""
        if not prefix.strip():
            raise UsageError("give a run's id, or the start of one ('pdrun history' lists them)")
        with self._reading() as conn:
            rows = conn.execute(
                sa.select(runs).where(runs.c.id.startswith(prefix, autoescape=True)).limit(2)
            ).all()
            if len(rows) != 1:
                problem = "no run" if not rows else "more than one run"
                raise UsageError(f"{problem} with an id starting {prefix!r} in the history at {self.url}")
            row = rows[0]._asdict()
            if row["result"]:
                return row["result"]
            recorded = conn.execute(
                sa.select(actions.c.method, actions.c.path, actions.c.headers, actions.c.body, actions.c.status,
                          actions.c.error, actions.c.changes, actions.c.once)
                .where(actions.c.run_id == row["id"]).order_by(actions.c.seq)
            ).all()
        record = {k: v for k, v in row.items() if k not in ("result", "run_key")}
        return record | {"actions": [a._asdict() for a in recorded]}

    def prune(self, *, keep_days: int, now: datetime | None = None) -> int:
        """Delete runs (their actions, and claims) and findings resolved longer ago than `keep_days`; return how many
        runs."""
        cutoff = iso((now or datetime.now(UTC)) - timedelta(days=keep_days))

        def delete(conn: sa.Connection) -> int:
            old = sa.select(runs.c.id).where(runs.c.started_at < cutoff)
            conn.execute(sa.delete(actions).where(actions.c.run_id.in_(old)))
            claim_rows.prune(conn, cutoff=cutoff)
            fleet.prune(conn, cutoff=cutoff)
            forget(conn, cutoff=cutoff)
            return conn.execute(sa.delete(runs).where(runs.c.started_at < cutoff)).rowcount

        return self._write(delete)

    def close(self) -> None:
        self.engine.dispose()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sa.Connection]:
        try:
            with self.engine.connect() as conn:
                yield conn
        except sa.exc.SQLAlchemyError as exc:
            raise HistoryError(f"cannot read the run history at {self.url}: {reason(exc)}") from None

    def _write(self, work: Callable[[sa.Connection], T], *, what: str = "write") -> T:
        try:
            with self.engine.begin() as conn:
                return work(conn)
        except sa.exc.SQLAlchemyError as exc:
            raise HistoryError(f"cannot {what} the run history at {self.url}: {reason(exc)}") from None


def run_row(run_id: str, account: str, key: str, recipe: str, params: Mapping[str, Any], schedule: str | None,
            *, replica: str | None) -> dict[str, Any]:
    """The columns every run record starts with, and where it was made."""
    return {
        "id": run_id, "account": account, "account_name": account_name(account), "recipe": recipe,
        "params": plain_params(params), "run_key": key,
        "schedule": schedule, "host": socket.gethostname(), "pid": os.getpid(), "replica": replica, "api_calls": 0,
        "findings": 0, "new": 0, "resolved": 0, "actions": 0,
    }


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


def open_history(state: str | None, *, keep_runs_days: int, environ: Mapping[str, str]) -> History:
    """Open the configured history (default: SQLite under $XDG_STATE_HOME), migrated and tidied.

    Runs past retention are dropped, and runs left `running` by a pdrun
    process of this host that no longer exists are marked interrupted.
    """
    history = History(state or default_url(environ))
    history.prune(keep_days=keep_runs_days)
    history.interrupt_orphans(at=now_iso())
    return history

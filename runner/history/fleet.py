"""The replicas of `pdrun serve` on one history: their heartbeats, the runs dead ones left, and claims on fires.

Heartbeats are stamped with the database's clock, so replicas on hosts whose
clocks disagree still judge each other alike. A replica whose heartbeat is
older than DEAD_AFTER_S is dead: whichever replica notices marks its
running runs interrupted, so the writer treats their unsettled write claims
as unknown. A fire runs only on the replica that inserted its row in
`fires`, whose (schedule, fire time) key is unique.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from runner.history.schema import fires, replicas, runs
from runner.timestamps import iso, now_iso, parse_iso

if TYPE_CHECKING:
    from runner.history.store import History

HEARTBEAT_S = 2.0
DEAD_AFTER_S = 15.0
STILL_GOING = "the previous run of this schedule was still going"
DEAD_REPLICA = f"its pdrun serve replica stopped: no heartbeat for {DEAD_AFTER_S:g} s"


@dataclass(frozen=True)
class Peer:
    """A live replica, as the history shows it."""

    id: str
    host: str
    pid: int
    started_at: str
    heartbeat_at: str
    firing: bool


def db_now(conn: sa.Connection) -> str:
    """The database's current time, as pdrun writes timestamps."""
    if conn.dialect.name == "postgresql":
        query = "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
    else:
        query = "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
    return conn.execute(sa.text(query)).scalar_one()


def _live_since(conn: sa.Connection) -> tuple[str, str]:
    """The database's time now, and the oldest heartbeat a live replica may have."""
    now = db_now(conn)
    return now, iso(parse_iso(now) - timedelta(seconds=DEAD_AFTER_S))


def replica_alive(conn: sa.Connection, replica: str) -> bool:
    """Whether a replica has beaten within DEAD_AFTER_S."""
    _, cutoff = _live_since(conn)
    beat = conn.execute(sa.select(replicas.c.heartbeat_at).where(replicas.c.id == replica)).scalar()
    return beat is not None and beat >= cutoff


def prune(conn: sa.Connection, *, cutoff: str) -> None:
    """Forget fires older than the history keeps runs."""
    conn.execute(sa.delete(fires).where(fires.c.fire_time < cutoff))


def _lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class Fleet:
    """One replica's dealings with the others through the history."""

    def __init__(self, history: History, replica: str) -> None:
        self._history = history
        self.replica = replica

    def beat(self, *, firing: bool) -> tuple[list[Peer], int]:
        """Stamp this replica's heartbeat; mark dead replicas' runs interrupted; return the live ones and how many."""

        def work(conn: sa.Connection) -> tuple[list[Peer], int]:
            now, cutoff = _live_since(conn)
            mine = {"heartbeat_at": now, "firing": firing}
            if not conn.execute(sa.update(replicas).where(replicas.c.id == self.replica).values(**mine)).rowcount:
                conn.execute(sa.insert(replicas).values(id=self.replica, host=socket.gethostname(), pid=os.getpid(),
                                                        started_at=now, **mine))
            live = sa.select(replicas.c.id).where(replicas.c.heartbeat_at >= cutoff)
            interrupted = conn.execute(
                sa.update(runs)
                .where(runs.c.status == "running", runs.c.replica.is_not(None), runs.c.replica.not_in(live))
                .values(status="interrupted", finished_at=now, error=DEAD_REPLICA)
            ).rowcount
            conn.execute(sa.delete(replicas).where(replicas.c.heartbeat_at < cutoff))
            rows = conn.execute(sa.select(replicas).order_by(replicas.c.started_at)).all()
            return [Peer(**row._asdict()) for row in rows], interrupted

        return self._history._write(work, what="beat in")

    def leave(self) -> None:
        """Take this replica off the list (it stops cleanly: its runs are already settled)."""
        self._history._write(lambda c: c.execute(sa.delete(replicas).where(replicas.c.id == self.replica)))

    def claim_fire(self, *, fire: str, fire_time: str, row: dict[str, Any]) -> tuple[str, str]:
        """Claim a schedule's fire (`fire`: the schedule's name, with its account unless the default one) for
        the run `row` describes, and record that run as it starts.

        Returns the outcome and when it was decided. The outcome is "run"
        (this replica runs it; the run is recorded running),
        "skipped" (the schedule's previous run on that account is still
        going, on any replica: recorded skipped) or "taken" (another replica
        claimed it). One transaction, serialized per fire key, so no two
        replicas ever start overlapping runs of one schedule on one account.
        """

        def work(conn: sa.Connection) -> tuple[str, str]:
            if conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already serializes writers
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _lock_key(f"fire {fire}")})
            now = now_iso()
            try:
                with conn.begin_nested():
                    conn.execute(sa.insert(fires).values(schedule=fire, fire_time=fire_time, run_id=row["id"],
                                                         replica=self.replica, claimed_at=now))
            except sa.exc.IntegrityError:
                return "taken", now
            going = sa.select(runs.c.id).where(runs.c.schedule == row["schedule"], runs.c.status == "running",
                                               runs.c.account_name == row["account_name"]).limit(1)
            if conn.execute(going).first() is not None:
                conn.execute(sa.insert(runs).values(**row, trigger="schedule", started_at=now, finished_at=now,
                                                    status="skipped", error=STILL_GOING))
                return "skipped", now
            conn.execute(sa.insert(runs).values(**row, trigger="schedule", started_at=now, status="running"))
            return "run", now

        return self._history._write(work, what="claim a fire in")

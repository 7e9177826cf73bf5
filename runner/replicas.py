"""This `pdrun serve` among the others on one history: whether it fires, its heartbeat, its share of the budget.

On PostgreSQL, the replica holding a session-level advisory lock fires the
schedules; the others retry every HEARTBEAT_S, so when the holder dies (its
connection closes and the server releases the lock) another takes over
within seconds. On SQLite every replica fires, and the claims on fires
keep each fire to one run. Every replica beats into the history, marks the
runs of dead replicas interrupted, and keeps to an equal share of the
token's rate budget with the other firing replicas.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
import structlog

from runner.errors import HistoryError
from runner.history.engine import reason
from runner.history.fleet import HEARTBEAT_S, Fleet, Peer

if TYPE_CHECKING:
    from runner.history import History
    from runner.rate_limit import RateLimiter

log = structlog.get_logger()

# pg_try_advisory_lock key: held by the one replica whose schedules fire.
LEADER_LOCK = 7_420_112
# A leader whose host vanishes (no FIN, no RST) leaves its connection, and the lock, to TCP keepalives: ask
# the server to probe after 5 s idle, every 2 s, 3 times, so it lets the lock go within about 11 s.
KEEPALIVES = ("SET tcp_keepalives_idle = 5", "SET tcp_keepalives_interval = 2", "SET tcp_keepalives_count = 3")


class Leadership:
    """PostgreSQL's session-level advisory lock, on a connection of its own: whoever holds it fires."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._conn: sa.Connection | None = None
        self.held = False

    def hold(self) -> bool:
        """Take the lock if it is free, or check this replica still holds it; return whether it does."""
        try:
            if self._conn is None:
                self._conn = self._engine.connect()
                for setting in KEEPALIVES:
                    self._conn.execute(sa.text(setting))
            if self.held:  # a session-level lock lasts as long as its session: a live session holds it
                self._conn.execute(sa.text("SELECT 1"))
            else:
                self.held = bool(
                    self._conn.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK}).scalar()
                )
            self._conn.commit()
        except sa.exc.SQLAlchemyError as exc:
            log.warning("replica.lock_lost" if self.held else "replica.lock_unavailable",
                        error=reason(exc))
            self.release()
        return self.held

    def release(self) -> None:
        """Give the lock up by closing its connection (never returned to the pool still holding it)."""
        if self._conn is not None:
            self._conn.invalidate()
            self._conn.close()
        self._conn = None
        self.held = False


class Replica:
    """Beat, take or keep the lead, split the rate budget: on a thread, every HEARTBEAT_S.

    `lead` is called when this replica starts firing, `follow` when it
    stops; both from the replica's thread.
    """

    def __init__(self, history: History, *, lead: Callable[[], None], follow: Callable[[], None],
                 limiters: Sequence[RateLimiter] = ()) -> None:
        self.id = uuid.uuid4().hex[:16]
        history.replica = self.id
        self.fleet = Fleet(history, self.id)
        postgres = history.engine.dialect.name == "postgresql"
        self._leadership = Leadership(history.engine) if postgres else None
        self._lead = lead
        self._follow = follow
        self._limiters = limiters  # each account's budget: its token's, split between the firing replicas
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="replica", daemon=True)
        self.firing = False
        self.peers: list[Peer] = []
        self.beat_at: float | None = None  # when a heartbeat last reached the history (time.monotonic)

    def start(self) -> None:
        """Beat once (taking the lead if it is free), then keep beating on a thread."""
        self._tick()
        self._thread.start()

    def stop(self) -> None:
        """Stop beating, give the lead up, and leave the list of replicas."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        if self._leadership is not None:
            self._leadership.release()
        try:
            self.fleet.leave()
        except HistoryError as exc:
            log.warning("replica.leave_failed", error=str(exc))

    def _loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self._tick()

    def _tick(self) -> None:
        firing = self._leadership.hold() if self._leadership is not None else True
        try:  # beat before firing, so no replica takes this one's first runs for a dead replica's
            self.peers, interrupted = self.fleet.beat(firing=firing)
        except HistoryError as exc:
            log.error("replica.heartbeat_failed", error=str(exc))
        else:
            self.beat_at = time.monotonic()
            if interrupted:
                log.warning("runs.orphaned", interrupted=interrupted, reason="their replica stopped beating")
            for limiter in self._limiters:
                limiter.share(sum(peer.firing for peer in self.peers))
        if firing != self.firing:
            self.firing = firing
            if firing:
                log.info("replica.firing", replica=self.id)
                self._lead()
            else:
                log.warning("replica.standby", replica=self.id, reason="lost the lead")
                self._follow()

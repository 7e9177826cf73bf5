"""Write claims: before a write is sent, its key is claimed in one unique row, so no two runs send it.

A claim starts `sending`, and settles `done` or `unknown` (the request may
have reached PagerDuty, but no answer came back); a write that failed gives
its claim up, since PagerDuty did not make it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from runner.history.schema import claims


@dataclass(frozen=True)
class Claim:
    """Who holds a write's key, and how far that write got."""

    key: str
    account: str
    run_id: str
    once: bool
    status: str
    claimed_at: str
    settled_at: str | None


def find(conn: sa.Connection, key: str) -> Claim | None:
    row = conn.execute(sa.select(claims).where(claims.c.key == key)).first()
    return Claim(**row._asdict()) if row else None


def claim(conn: sa.Connection, *, key: str, account: str, run_id: str, once: bool, now: str) -> Claim | None:
    """Take the key for `run_id` and return None; or return the claim that already holds it."""
    try:
        with conn.begin_nested():  # a savepoint: a lost race leaves the transaction usable
            conn.execute(
                sa.insert(claims).values(
                    key=key, account=account, run_id=run_id, once=once, status="sending", claimed_at=now
                )
            )
    except sa.exc.IntegrityError:
        return find(conn, key)
    return None


def take_over(conn: sa.Connection, held: Claim, *, run_id: str, once: bool, now: str) -> bool:
    """Move a claim left `unknown` or abandoned to `run_id`, unless another run took it first."""
    moved = conn.execute(
        sa.update(claims)
        .where(claims.c.key == held.key, claims.c.run_id == held.run_id, claims.c.status == held.status)
        .values(run_id=run_id, once=once, status="sending", claimed_at=now, settled_at=None)
    )
    return moved.rowcount == 1


def settle(conn: sa.Connection, *, key: str, run_id: str, status: str, now: str) -> None:
    """Record how the claimed write ended: `done` or `unknown` keep the claim; `failed` gives it up."""
    mine = sa.and_(claims.c.key == key, claims.c.run_id == run_id)
    if status == "failed":
        conn.execute(sa.delete(claims).where(mine))
    else:
        conn.execute(sa.update(claims).where(mine).values(status=status, settled_at=now))


def prune(conn: sa.Connection, *, cutoff: str) -> None:
    """Forget claims older than the history keeps runs."""
    conn.execute(sa.delete(claims).where(claims.c.claimed_at < cutoff))

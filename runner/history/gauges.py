"""What the history shows now, for metrics: findings by recipe, severity and state; each schedule's last success."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from runner.history.memory import COMPLETE
from runner.history.schema import findings, runs

if TYPE_CHECKING:
    from runner.history.store import History


def findings_by_state(history: History) -> list[tuple[str, str, str, int]]:
    """Count remembered findings by recipe, severity and state: new (seen by one run so far), open, or resolved."""
    state = sa.case(
        (findings.c.resolved_at.is_not(None), "resolved"),
        (findings.c.first_seen == findings.c.last_seen, "new"),
        else_="open",
    ).label("state")
    query = (
        sa.select(findings.c.recipe, findings.c.severity, state, sa.func.count())
        .group_by(findings.c.recipe, findings.c.severity, state)
    )
    with history._reading() as conn:
        return [tuple(row) for row in conn.execute(query)]


def last_successes(history: History) -> dict[tuple[str, str], str]:
    """When each schedule's latest complete (ok or findings) run on each account finished, by (schedule, account)."""
    query = (
        sa.select(runs.c.schedule, runs.c.account_name, sa.func.max(runs.c.finished_at))
        .where(runs.c.schedule.is_not(None), runs.c.status.in_(COMPLETE))
        .group_by(runs.c.schedule, runs.c.account_name)
    )
    with history._reading() as conn:
        return {(schedule, account): finished for schedule, account, finished in conn.execute(query)}

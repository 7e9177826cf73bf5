"""What the history shows over time, for the HTML report: every finding with its events, and the runs."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from runner.history.schema import finding_events, findings, runs
from runner.results import ObjectRef

if TYPE_CHECKING:
    from runner.history.store import History


@dataclass(frozen=True)
class Seen:
    """A finding on an account, as a run last saw it."""

    account: str
    fingerprint: str
    recipe: str
    rule: str
    severity: str
    message: str
    object: ObjectRef
    last_seen: str


@dataclass(frozen=True)
class Remembered(Seen):
    """A finding as one run key remembers it, with each time it opened or was resolved, in order."""

    run_key: str
    events: tuple[tuple[str, str], ...]  # (state, at): opened | resolved


@dataclass(frozen=True)
class RunRecord:
    """A run of a recipe: when it started and how it ended."""

    recipe: str
    status: str
    started_at: str


def findings_of(history: History, recipes: Collection[str]) -> list[Remembered]:
    """Every finding the history remembers of `recipes`, with its events up to now."""
    key = (findings.c.run_key == finding_events.c.run_key) & (findings.c.fingerprint == finding_events.c.fingerprint)
    query = (
        sa.select(finding_events.c.run_key, finding_events.c.fingerprint, finding_events.c.account,
                  finding_events.c.state, finding_events.c.at)
        .join(findings, key)
        .where(findings.c.recipe.in_(list(recipes)))
        .order_by(finding_events.c.at, finding_events.c.id)
    )
    with history._reading() as conn:
        rows = conn.execute(sa.select(findings).where(findings.c.recipe.in_(list(recipes)))).all()
        events: dict[tuple[str, str], list[Any]] = {}
        for event in conn.execute(query):
            events.setdefault((event.run_key, event.fingerprint), []).append(event)
    return [
        Remembered(
            run_key=row.run_key, fingerprint=row.fingerprint, account=_account(seen), recipe=row.recipe,
            rule=row.rule, severity=row.severity, message=row.message, object=ObjectRef.from_dict(row.object),
            last_seen=row.last_seen, events=tuple((e.state, e.at) for e in seen),
        )
        for row in rows
        if (seen := events.get((row.run_key, row.fingerprint)))
    ]


def _account(events: list[Any]) -> str:
    """The account of a run key's events: events made when 0004 migrated a history whose runs were gone have none."""
    return next((e.account for e in reversed(events) if e.account), "")


def runs_of(history: History, recipes: Collection[str], *, since: str) -> list[RunRecord]:
    """The runs of `recipes` started since `since`, oldest first."""
    query = (
        sa.select(runs.c.recipe, runs.c.status, runs.c.started_at)
        .where(runs.c.recipe.in_(list(recipes)), runs.c.started_at >= since)
        .order_by(runs.c.started_at)
    )
    with history._reading() as conn:
        return [RunRecord(*row) for row in conn.execute(query)]


def recipes_with_findings(history: History) -> set[str]:
    """The recipes the history remembers findings of."""
    with history._reading() as conn:
        return set(conn.execute(sa.select(findings.c.recipe).distinct()).scalars())

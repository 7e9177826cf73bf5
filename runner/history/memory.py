"""Findings that remember: each run's findings compared with what earlier runs of its key left open."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from runner.history.schema import finding_events, findings
from runner.results import Finding, ObjectRef, RunResult, summarize

COMPLETE = ("ok", "findings")


def remember(conn: sa.Connection, result: RunResult) -> RunResult:
    """Give each finding its state against the open set, and update the set if the run completed.

    A bounded number of statements, however many findings: one read of the
    open set's fingerprints, one read and one update of those resolved, one
    upsert of the current ones, one insert of the events (each finding opened
    or resolved by this run). Only complete runs (ok or findings) move
    findings to resolved; a failed run leaves the memory as it was.
    """
    key = result.key
    still_open = findings.c.run_key == key, findings.c.resolved_at.is_(None)
    open_now = set(conn.execute(sa.select(findings.c.fingerprint).where(*still_open)).scalars())
    current = {f.fingerprint for f in result.findings}
    stated = tuple(replace(f, state="open" if f.fingerprint in open_now else "new") for f in result.findings)
    if result.status not in COMPLETE:
        return replace(result, findings=stated)
    gone = open_now - current
    now = result.finished_at
    resolved: tuple[Finding, ...] = ()
    if gone:
        resolved = tuple(
            _finding(row)
            for row in conn.execute(sa.select(findings).where(*still_open, findings.c.fingerprint.in_(gone)))
        )
        conn.execute(sa.update(findings).where(*still_open, findings.c.fingerprint.in_(gone)).values(resolved_at=now))
    if stated:
        rows = [
            {
                "run_key": key, "fingerprint": f.fingerprint, "recipe": f.recipe, "rule": f.rule,
                "severity": f.severity, "message": f.message, "object": f.object.to_dict(),
                "first_seen": now, "last_seen": now, "resolved_at": None,
            }
            for f in {f.fingerprint: f for f in stated}.values()
        ]
        conn.execute(_upsert(conn), rows)
    events = [("opened", f.fingerprint) for f in stated if f.state == "new"]
    events += [("resolved", f.fingerprint) for f in resolved]
    if events:
        conn.execute(sa.insert(finding_events), [
            {"run_key": key, "fingerprint": fingerprint, "account": result.account, "state": state, "at": now,
             "run_id": result.run_id}
            for state, fingerprint in dict.fromkeys(events)
        ])
    return replace(result, findings=stated, resolved=resolved, summary=summarize(stated, resolved))


def forget(conn: sa.Connection, *, cutoff: str) -> None:
    """Drop the findings resolved before `cutoff`, with their events; open ones keep their whole story."""
    old = findings.c.resolved_at < cutoff
    gone = sa.select(findings.c.run_key, findings.c.fingerprint).where(old)
    conn.execute(sa.delete(finding_events).where(sa.tuple_(finding_events.c.run_key, finding_events.c.fingerprint).in_(gone)))
    conn.execute(sa.delete(findings).where(old))


def _upsert(conn: sa.Connection) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE of findings, keeping when each was first seen."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(findings)
    changed = ("rule", "severity", "message", "object", "last_seen", "resolved_at")
    return statement.on_conflict_do_update(
        index_elements=[findings.c.run_key, findings.c.fingerprint],
        set_={name: statement.excluded[name] for name in changed},
    )


def _finding(row: Any) -> Finding:
    return Finding(
        recipe=row.recipe, rule=row.rule, severity=row.severity, message=row.message,
        object=ObjectRef.from_dict(row.object), state="resolved",
    )

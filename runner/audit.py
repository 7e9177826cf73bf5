"""pdrun audit: several read-only recipes in one pass over the account, sharing one read cache."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import structlog

from runner.policy import READ_ONLY
from runner.read_cache import ReadCache
from runner.results import SEVERITIES, RunResult, account_name, summarize
from runner.run import new_run_id
from runner.timestamps import now_iso

if TYPE_CHECKING:
    from runner.launch import Launch
    from runner.progress import Progress
    from runner.recipe import Recipe

log = structlog.get_logger()


@dataclass(frozen=True)
class AuditResult:
    """The results of the recipes of one audit, in the order they ran."""

    audit_id: str
    account: str
    started_at: str
    finished_at: str
    sections: tuple[RunResult, ...]
    not_run: tuple[str, ...] = ()  # recipes an audit stopped before, once PagerDuty became unusable

    @property
    def totals(self) -> dict[str, Any]:
        findings = [f for s in self.sections for f in s.findings]
        summaries = [s.summary for s in self.sections if s.summary is not None]
        return {
            "recipes": len(self.sections),
            "failed": [s.recipe for s in self.sections if s.status == "failed"],
            "not_run": list(self.not_run),
            "findings": len(findings),
            "by_severity": {sev: sum(f.severity == sev for f in findings) for sev in reversed(SEVERITIES)},
            "new": sum(s["new"] for s in summaries) if summaries else None,
            "resolved": sum(s["resolved"] for s in summaries) if summaries else None,
            "api_calls": sum(s.api_calls for s in self.sections),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "audit_id": self.audit_id,
            "account": self.account,
            "account_name": account_name(self.account),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "sections": {s.recipe: s.to_dict() for s in self.sections},
            "totals": self.totals,
        }


def run_audit(
    recipes: Sequence[Recipe],
    *,
    launch: Launch,
    params: Mapping[str, Mapping[str, Any]],
    progress: Progress | None = None,
) -> AuditResult:
    """Run each recipe in `launch`, read-only, all reading through one shared cache."""
    session = launch.session
    audit_id, started_at = new_run_id(), now_iso()
    reads = ReadCache(session)
    sections = []
    not_run: tuple[str, ...] = ()
    with structlog.contextvars.bound_contextvars(audit_id=audit_id):
        for n, recipe in enumerate(recipes, 1):
            if progress:
                progress.recipe(n, len(recipes), recipe.name)
            sections.append(
                launch.run(recipe, params.get(recipe.name, {}), policy=READ_ONLY, trigger="audit", reads=reads)
            )
            if session.unusable:  # every later audit would fail the same way, slowly
                not_run = tuple(r.name for r in recipes[n:])
                log.error("audit.stopped", reason=session.unusable, not_run=list(not_run))
                break
        if progress:
            progress.done()
        audit = AuditResult(audit_id, session.account, started_at, now_iso(), tuple(sections), not_run)
        log.info("audit.finished", **{k: v for k, v in audit.totals.items() if k != "by_severity"})
    return audit


def scoped(result: RunResult, team: str) -> RunResult:
    """Keep only the findings about objects that `team` owns."""
    findings = tuple(f for f in result.findings if team in f.object.teams)
    resolved = tuple(f for f in result.resolved if team in f.object.teams)
    summary = summarize(findings, resolved) if result.summary is not None else None
    return replace(result, findings=findings, resolved=resolved, summary=summary)

"""pdrun audit: several read-only recipes in one pass over the account, sharing one read cache."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TextIO

import structlog

from runner.clock import now_iso
from runner.log import get_logger
from runner.reads import SharedReads
from runner.recipe import SEVERITIES, Recipe, RunResult, exit_code_for, summarize
from runner.run import new_run_id, run_recipe

if TYPE_CHECKING:
    import httpx2

    from runner.history import History
    from runner.session import Session

log = get_logger(__name__)


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

    def exit_code(self, fail_on: str = "any") -> int:
        return exit_code_for(self.sections, fail_on)

    def to_dict(self) -> dict[str, Any]:
        return {
            "audit_id": self.audit_id,
            "account": self.account,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "sections": {s.recipe: s.to_dict() for s in self.sections},
            "totals": self.totals,
        }


def run_audit(
    recipes: Sequence[Recipe],
    *,
    session: Session,
    params: Mapping[str, Mapping[str, Any]],
    history: History | None = None,
    progress: Progress | None = None,
) -> AuditResult:
    """Run each recipe through run_recipe, all reading through one shared cache."""
    audit_id, started_at = new_run_id(), now_iso()
    reads = SharedReads(session)
    sections = []
    not_run: tuple[str, ...] = ()
    with structlog.contextvars.bound_contextvars(audit_id=audit_id):
        for n, recipe in enumerate(recipes, 1):
            if progress:
                progress.recipe(n, len(recipes), recipe.name)
            result = run_recipe(
                recipe, session=session, params=params.get(recipe.name, {}), trigger="audit",
                history=history, reads=reads,
            )
            sections.append(result)
            if session.unusable:  # every later audit would fail the same way, slowly
                not_run = tuple(r.name for r in recipes[n:])
                log.error("audit.stopped", reason=session.unusable, not_run=list(not_run))
                break
        if progress:
            progress.done()
        audit = AuditResult(audit_id, session.url, started_at, now_iso(), tuple(sections), not_run)
        log.info("audit.finished", **{k: v for k, v in audit.totals.items() if k != "by_severity"})
    return audit


def scoped(result: RunResult, team: str) -> RunResult:
    """Keep only the findings about objects that `team` owns."""
    findings = tuple(f for f in result.findings if team in f.object.teams)
    resolved = tuple(f for f in result.resolved if team in f.object.teams)
    summary = summarize(findings, resolved) if result.summary is not None else None
    return replace(result, findings=findings, resolved=resolved, summary=summary)


class Progress:
    """Progress of a long audit on a terminal's stderr: the recipe running and requests so far."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._stream = stream
        self._label = ""
        self._requests = 0

    def recipe(self, n: int, total: int, name: str) -> None:
        self._label = f"[{n}/{total}] {name}"
        self._show()

    def request(self, _request: httpx2.Request) -> None:
        self._requests += 1
        self._show()

    def done(self) -> None:
        self._stream.write("\r\033[K")
        self._stream.flush()

    def write(self, text: str) -> int:
        """Print a log line above the progress line (so logging can use this object as its stream)."""
        self._stream.write(f"\r\033[K{text}")
        if text.endswith("\n") and self._label:
            self._show()
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def _show(self) -> None:
        self._stream.write(f"\r\033[Kauditing {self._label} - {self._requests} requests")
        self._stream.flush()

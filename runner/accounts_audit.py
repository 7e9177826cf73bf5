"""pdrun audit over several accounts at once: each on a thread of its own, with its own session, budget and runs."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import wait
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import structlog

from runner.audit import AuditResult, collector_paused, in_thread, run_audit
from runner.results import SEVERITIES, account_name
from runner.run import new_run_id, recorded
from runner.timestamps import now_iso

if TYPE_CHECKING:
    from runner.launch import Launch
    from runner.progress import Progress
    from runner.recipe import Recipe
    from runner.results import RunResult

log = structlog.get_logger()


@dataclass(frozen=True)
class AccountsAudit:
    """The audits of one or more accounts made together, in the order the accounts were named."""

    audit_id: str
    started_at: str
    finished_at: str
    audits: tuple[AuditResult, ...]

    @property
    def sections(self) -> list[RunResult]:
        """Every recipe's result, of every account."""
        return [section for audit in self.audits for section in audit.sections]

    @property
    def totals(self) -> dict[str, Any]:
        each = {account_name(audit.account): audit.totals for audit in self.audits}
        remembered = all(t["new"] is not None for t in each.values())
        return {
            "accounts": len(each),
            "recipes": sum(t["recipes"] for t in each.values()),
            "failed": {name: t["failed"] for name, t in each.items() if t["failed"]},
            "not_run": {name: t["not_run"] for name, t in each.items() if t["not_run"]},
            "findings": sum(t["findings"] for t in each.values()),
            "by_severity": {sev: sum(t["by_severity"][sev] for t in each.values()) for sev in reversed(SEVERITIES)},
            "new": sum(t["new"] for t in each.values()) if remembered else None,
            "resolved": sum(t["resolved"] for t in each.values()) if remembered else None,
            "api_calls": sum(t["api_calls"] for t in each.values()),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "audit_id": self.audit_id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "accounts": {account_name(audit.account): audit.to_dict() for audit in self.audits},
            "totals": self.totals,
        }

    def each_section(self, change: Callable[[RunResult], RunResult]) -> AccountsAudit:
        """This audit with `change` made to every recipe's result (what a command line shows of it)."""
        audits = tuple(replace(a, sections=tuple(change(s) for s in a.sections)) for a in self.audits)
        return replace(self, audits=audits)


def audit_accounts(recipes: Sequence[Recipe], *, launches: Sequence[Launch], params: Mapping[str, Mapping[str, Any]],
                   progress: Progress | None = None) -> AccountsAudit:
    """Audit the account of each launch with `run_audit`: one in this thread, several at once on threads.

    Each account reads through its own session, within its own rate budget,
    and records its own runs; a failure of one (a rejected token,
    PagerDuty unreachable) is that account's result and stops no other.
    """
    audit_id, started_at = new_run_id(), now_iso()

    def audit(launch: Launch) -> AuditResult:
        name = launch.session.account_name
        shown = progress.account(name) if progress and len(launches) > 1 else progress
        with structlog.contextvars.bound_contextvars(account=name):
            return run_audit(recipes, launch=launch, params=params, progress=shown)

    with collector_paused():
        audits = (audit(launches[0]),) if len(launches) == 1 else _on_threads(audit, launches)
    result = AccountsAudit(audit_id, started_at, now_iso(), audits)
    if len(launches) > 1:
        totals = result.totals
        log.info("audits.finished", accounts=[account_name(a.account) for a in audits], findings=totals["findings"],
                 failed=totals["failed"], api_calls=totals["api_calls"])
    return result


def _on_threads(audit: Callable[[Launch], AuditResult], launches: Sequence[Launch]) -> tuple[AuditResult, ...]:
    """Run `audit` for each launch at once, each on a thread of its own; once all have ended, raise the first
    launch's failure, if any. Ctrl-C interrupts the wait."""
    running = [in_thread(audit, launch, name=f"audit-{launch.session.account_name}") for launch in launches]
    try:
        wait(running)
    except KeyboardInterrupt:  # the accounts' audits are left to die with the process: record their runs cut short
        _interrupt_own(launches)
        raise
    return tuple(future.result() for future in running)


def _interrupt_own(launches: Sequence[Launch]) -> None:
    """Record the runs of this process still going as interrupted, in the history the launches share."""
    history = launches[0].history
    if history is not None:
        log.error("audits.interrupted", runs=recorded(lambda: history.interrupt_own(at=now_iso()), fallback=0))

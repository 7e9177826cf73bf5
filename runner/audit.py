"""pdrun audit: several read-only recipes at once over the account, sharing one read cache."""

from __future__ import annotations

import contextlib
import contextvars
import gc
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from runner.policy import READ_ONLY
from runner.read_cache import ReadCache
from runner.results import SEVERITIES, RunResult, account_name, summarize
from runner.run import new_run_id, recorded
from runner.timestamps import now_iso

if TYPE_CHECKING:
    from runner.launch import Launch
    from runner.progress import Progress
    from runner.recipe import Recipe

log = structlog.get_logger()
T, R = TypeVar("T"), TypeVar("R")


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
    """Run the recipes in `launch` at once, read-only, all reading through one shared cache.

    Each recipe is its own run in its own thread, so the collections they
    read are fetched together, within the session's rate budget and
    concurrency, and each audit goes on as its data arrives. They all see
    the same `ctx.now`, so they ask for the same time windows. The first
    recipe starts alone: a rejected token or an unreachable PagerDuty would
    fail every audit the same way, so the others start once PagerDuty has
    answered it, and are listed as not run if it cannot be used. Sections
    come back in the order of `recipes`.
    """
    session = launch.session
    audit_id, started_at, now = new_run_id(), now_iso(), session.now()
    reads = ReadCache(session)
    run_ids = [new_run_id() for _ in recipes]
    not_run: tuple[str, ...] = ()

    def run(n: int) -> RunResult:
        recipe = recipes[n]
        if progress:
            progress.started(recipe.name)
        try:
            return launch.run(recipe, params.get(recipe.name, {}), policy=READ_ONLY, trigger="audit", reads=reads,
                              now=now, run_id=run_ids[n])
        finally:
            if progress:
                progress.finished(recipe.name)

    with structlog.contextvars.bound_contextvars(audit_id=audit_id):
        if progress:
            progress.begin(len(recipes))
        with collector_paused():
            running = [in_thread(run, 0, name="pdrun-audit-0")] if recipes else []
            try:
                while running and not session.answered.wait(0.005) and not running[0].done():
                    continue
                if session.unusable:  # every other audit would fail the same way
                    not_run = tuple(r.name for r in recipes[1:])
                    log.error("audit.stopped", reason=session.unusable, not_run=list(not_run))
                else:
                    running += [in_thread(run, n, name=f"pdrun-audit-{n}") for n in range(1, len(recipes))]
                sections = tuple(future.result() for future in running)
            except KeyboardInterrupt:
                _interrupted(launch, [run_id for run_id, future in zip(run_ids, running) if not future.done()])
                raise
        if progress:
            progress.done()
        audit = AuditResult(audit_id, session.account, started_at, now_iso(), sections, not_run)
        log.info("audit.finished", **{k: v for k, v in audit.totals.items() if k != "by_severity"})
    return audit


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the block, and resume it after unless it was already paused.

    What audits read piles up as a million small acyclic objects: each automatic collection of cycles would
    scan them all again, for nothing to free. Reference counting frees them all the same. The switch is the
    process's: audits of several accounts at once pause it around them all, not each around its own.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def in_thread(work: Callable[[T], R], arg: T, *, name: str) -> Future[R]:
    """Run `work(arg)` in a daemon thread of its own, with a copy of this context (log fields, request
    observers); a Ctrl-C of the caller does not wait for it, and the process does not linger for it."""
    future: Future[R] = Future()

    def target() -> None:
        try:
            future.set_result(work(arg))
        except BaseException as exc:  # handed to the caller, which raises it
            future.set_exception(exc)

    context = contextvars.copy_context()
    threading.Thread(target=context.run, args=(target,), daemon=True, name=name).start()
    return future


def _interrupted(launch: Launch, run_ids: list[str]) -> None:
    """Record the runs a Ctrl-C cut short as interrupted."""
    log.error("audit.interrupted", runs=run_ids)
    if launch.history is not None and run_ids:
        history = launch.history
        recorded(lambda: history.interrupt(run_ids, at=now_iso()))


def scoped(result: RunResult, team: str) -> RunResult:
    """Keep only the findings about objects that `team` owns."""
    findings = tuple(f for f in result.findings if team in f.object.teams)
    resolved = tuple(f for f in result.resolved if team in f.object.teams)
    summary = summarize(findings, resolved) if result.summary is not None else None
    return replace(result, findings=findings, resolved=resolved, summary=summary)

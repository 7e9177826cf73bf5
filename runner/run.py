"""run_recipe: the one path every run takes, from the CLI or a schedule."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import structlog

from runner import log as pdlog
from runner.clock import now_iso
from runner.context import Context
from runner.errors import HistoryError, PdrunError
from runner.recipe import Finding, Recipe, RunResult
from runner.writes import DEFAULT_POLICY, WritePolicy, Writer

if TYPE_CHECKING:
    from runner.history import History
    from runner.reads import SharedReads
    from runner.session import Session
    from runner.sinks import BoundSink, SinkContext

log = pdlog.get_logger(__name__)


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def run_recipe(
    recipe: Recipe,
    *,
    session: Session,
    params: Mapping[str, Any],
    dry_run: bool = False,
    trigger: str = "cli",
    schedule: str | None = None,
    history: History | None = None,
    sinks: Sequence[BoundSink] = (),
    sink_context: SinkContext | None = None,
    run_id: str | None = None,
    reads: SharedReads | None = None,
    policy: WritePolicy = DEFAULT_POLICY,
) -> RunResult:
    """Run `recipe` once: record it, time it, catch its failure, deliver it, and log one canonical line."""
    run_id = run_id or new_run_id()
    with structlog.contextvars.bound_contextvars(run_id=run_id, recipe=recipe.name, trigger=trigger):
        started_at = now_iso()
        if history is not None:
            history.start(
                run_id=run_id, account=session.url, recipe=recipe.name, params=params, trigger=trigger,
                schedule=schedule, started_at=started_at,
            )
        ctx = Context(recipe=recipe, params=params, session=session, dry_run=dry_run, reads=reads, run_id=run_id)
        writer = Writer(session=session, policy=policy, history=history, run_id=run_id)
        try:
            result = _execute(ctx, writer, started_at=started_at)
        except KeyboardInterrupt:
            if history is not None:
                _recorded(lambda: history.interrupt([run_id], at=now_iso()))
            log.error("run.failed", status="interrupted", error="interrupted (Ctrl-C)")
            raise
        if history is not None:
            result = _recorded(history.finish, result, fallback=result)
        sink_errors = {bound.label: bound.send(result, sink_context) for bound in sinks}
        failed_sinks = {label: error for label, error in sink_errors.items() if error is not None}
        if failed_sinks and history is not None:
            _recorded(history.record_sink_errors, run_id, failed_sinks)
        fields: dict[str, Any] = {
            "status": result.status,
            "duration_ms": result.duration_ms,
            "api_calls": result.api_calls,
            "findings": len(result.findings),
            "actions": len(result.actions),
            **(result.summary or {}),
        }
        if schedule:
            fields["schedule"] = schedule
        if failed_sinks:
            fields["sinks_failed"] = sorted(failed_sinks)
        if result.error:
            log.error("run.failed", error=result.error, **fields)
        else:
            log.info("run.finished", **fields)
        return result


def _recorded(write: Callable[..., Any], *args: Any, fallback: Any = None) -> Any:
    """Write to the history; a failure is logged, and never loses the result already in hand."""
    try:
        return write(*args)
    except HistoryError as exc:
        log.error("history.failed", error=str(exc))
        return fallback


def _execute(ctx: Context, writer: Writer, *, started_at: str) -> RunResult:
    """Run the recipe (reads and a plan of writes), then carry out the plan unless the recipe failed."""
    recipe = ctx.recipe
    t0 = time.perf_counter()
    findings: list[Finding] = []
    error, refused = None, False
    actions = ()
    with ctx.session.counting() as calls:
        try:
            for finding in recipe.func(ctx) or ():
                findings.append(finding)
            outcome = writer.carry_out(ctx.actions, ctx.checks, dry_run=ctx.dry_run)
            actions, error, refused = outcome.actions, outcome.error, outcome.refused
        except PdrunError as exc:
            error = str(exc)
        except Exception as exc:  # a recipe bug ends this run, never the process
            log.debug("recipe.crashed", exc_info=True)
            error = f"recipe {recipe.name!r} crashed: {type(exc).__name__}: {exc}"
    return RunResult(
        recipe=recipe.name,
        run_id=ctx.run_id,
        account=ctx.session.url,
        status="refused" if refused else "failed" if error else "findings" if findings else "ok",
        dry_run=ctx.dry_run,
        params=dict(ctx.params),
        started_at=started_at,
        finished_at=now_iso(),
        findings=tuple(findings),
        actions=tuple(actions or ctx.actions),
        api_calls=calls.value,
        error=pdlog.redact(error) if error else None,
        duration_ms=round((time.perf_counter() - t0) * 1000),
    )

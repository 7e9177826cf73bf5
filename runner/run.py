"""run_recipe: the one path every run takes, from the CLI, an audit, a schedule or a test."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import structlog

from runner import log as pdlog
from runner.context import Context, Source
from runner.errors import PLUGIN_FAILURES, HistoryError, PdrunError, RecipeError, UsageError
from runner.policy import WritePolicy
from runner.results import Finding, Row, RunResult, run_key
from runner.timestamps import now_iso
from runner.transport import tracking
from runner.writer import Writer

if TYPE_CHECKING:
    from datetime import datetime

    from runner.history import History
    from runner.recipe import Recipe
    from runner.session import Session
    from runner.sinks import BoundSink, SinkContext

log = structlog.get_logger()


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def run_recipe(
    recipe: Recipe,
    *,
    session: Session,
    params: Mapping[str, Any],
    policy: WritePolicy,
    dry_run: bool = False,
    trigger: str = "cli",
    schedule: str | None = None,
    history: History | None = None,
    sinks: Sequence[BoundSink] = (),
    sink_context: SinkContext | None = None,
    run_id: str | None = None,
    reads: Source | None = None,
    read_since: str | None = None,
    started_at: str | None = None,
    now: datetime | None = None,
) -> RunResult:
    """Run `recipe` once: record it, time it, catch its failure, deliver it, and log one canonical line.

    `reads` stands in for the session's reads (an audit's shared cache);
    `ctx.now` is `now`, else the account's current time as the session tells
    it (an audit gives all its runs one moment, so they ask for one window);
    `read_since` is when the plan's view of PagerDuty was read, for plans
    replayed later. `started_at` is when a run already recorded as running
    began (a scheduled fire records its run as it claims the fire); without
    it, the run is recorded here.
    """
    run_id = run_id or new_run_id()
    account = session.account
    key = run_key(account, recipe.name, params)
    bound = {"run_id": run_id, "recipe": recipe.name, "trigger": trigger, "account": session.account_name}
    bound |= {"schedule": schedule} if schedule else {}
    with structlog.contextvars.bound_contextvars(**bound):
        if started_at is None:
            started_at = now_iso()
            if history is not None:
                history.start(run_id=run_id, account=account, key=key, recipe=recipe.name, params=params,
                              trigger=trigger, schedule=schedule, started_at=started_at)
        ctx = Context(recipe=recipe, params=params, source=reads or session, now=now or session.now(),
                      run_id=run_id, write_headers=session.write_headers(),
                      log=structlog.get_logger(f"recipes.{recipe.name}"))
        writer = Writer(session=session, policy=policy, history=history, run_id=run_id, account=account,
                        read_since=read_since or started_at)
        try:
            result = _execute(ctx, writer, dry_run=dry_run, base=RunResult(
                recipe=recipe.name, run_id=run_id, account=account, key=key, status="running", dry_run=dry_run,
                params=dict(params), started_at=started_at, finished_at=started_at))
        except KeyboardInterrupt:
            if history is not None:
                recorded(lambda: history.interrupt([run_id], at=now_iso()))
            log.error("run.failed", status="interrupted", error="interrupted (Ctrl-C)")
            raise
        if history is not None:
            result = recorded(history.finish, result, fallback=result)
        if result.status == "interrupted":  # pdrun stopped while it ran: what it came to after is no result
            log.error("run.failed", status="interrupted", error=result.error)
            return result
        _deliver(result, sinks, sink_context, history)
        return result


def _execute(ctx: Context, writer: Writer, *, dry_run: bool, base: RunResult) -> RunResult:
    """Run the recipe (reads and a plan of writes), then carry out the plan unless the recipe failed."""
    t0 = time.perf_counter()
    findings: list[Finding] = []
    rows: list[Row] = []
    error, refused, crash = None, False, None
    actions = ()
    with tracking() as traffic:
        try:
            for item in ctx.recipe.func(ctx) or ():
                _collect(item, findings, rows, ctx)
            if ctx.refused or traffic.refused:
                attempts = ", ".join([*ctx.refused, *traffic.refused])
                error = f"recipe {ctx.recipe.name!r} tried to write outside its plan: {attempts}; nothing was written"
            else:
                report = writer.carry_out(ctx.planned, dry_run=dry_run)
                actions, error, refused = report.actions, report.error, report.refused
                if traffic.refused:  # from a recipe's `already_done` check, while the plan was carried out
                    error = f"recipe {ctx.recipe.name!r} tried to write outside its plan: {', '.join(traffic.refused)}"
        except PdrunError as exc:  # a UsageError is the recipe refusing what it was asked: nothing was written
            error, refused = str(exc), isinstance(exc, UsageError)
        except PLUGIN_FAILURES as exc:  # a recipe bug, or its sys.exit(), ends this run, never the process
            log.debug("recipe.crashed", exc_info=True)
            error, crash = f"recipe {ctx.recipe.name!r} crashed: {type(exc).__name__}: {exc}", exc
    return replace(
        base,
        status="refused" if refused else "failed" if error else "findings" if findings else "ok",
        finished_at=now_iso(),
        findings=tuple(findings),
        columns=ctx.recipe.columns,
        rows=tuple(row.values for row in rows),
        actions=tuple(actions or (action for action, _ in ctx.planned)),
        api_calls=traffic.calls,
        error=pdlog.redact(error) if error else None,
        duration_ms=round((time.perf_counter() - t0) * 1000),
        exception=crash,
    )


def _collect(item: object, findings: list[Finding], rows: list[Row], ctx: Context) -> None:
    """Keep what the recipe yielded: a finding (from ctx.finding) or, in a report, a row (from ctx.row)."""
    if isinstance(item, Finding) and not ctx.recipe.columns:
        findings.append(item)
    elif isinstance(item, Row) and ctx.recipe.columns:
        rows.append(item)
    else:
        expected = "ctx.row(...)" if ctx.recipe.columns else "ctx.finding(...)"
        raise RecipeError(f"recipe {ctx.recipe.name!r} yielded {type(item).__name__}; yield {expected}")


def _deliver(result: RunResult, sinks: Sequence[BoundSink], context: SinkContext | None,
             history: History | None) -> None:
    """Send the result to its sinks, record any that failed, and log the run's one canonical line."""
    sink_errors = {bound.label: bound.send(result, context) for bound in sinks}
    failed_sinks = {label: error for label, error in sink_errors.items() if error is not None}
    if failed_sinks and history is not None:
        recorded(history.record_sink_errors, result.run_id, failed_sinks)
    fields: dict[str, Any] = {
        "status": result.status,
        "duration_ms": result.duration_ms,
        "api_calls": result.api_calls,
        "findings": len(result.findings),
        "actions": len(result.actions),
        **(result.summary or {}),
    }
    if failed_sinks:
        fields["sinks_failed"] = sorted(failed_sinks)
    if result.error:
        log.error("run.failed", error=result.error, **fields)
    else:
        log.info("run.finished", **fields)


def recorded(write: Callable[..., Any], *args: Any, fallback: Any = None) -> Any:
    """Write to the history; a failure is logged, and never loses the result already in hand."""
    try:
        return write(*args)
    except HistoryError as exc:
        log.error("history.failed", error=str(exc))
        return fallback

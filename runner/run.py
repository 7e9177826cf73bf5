"""run_recipe: the one path every run takes, from the CLI or a schedule."""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from runner import log as pdlog
from runner.context import Context
from runner.errors import PdrunError
from runner.recipe import Finding, Recipe, RunResult

if TYPE_CHECKING:
    from runner.session import Session

log = structlog.get_logger()


def run_recipe(
    recipe: Recipe,
    *,
    session: Session,
    params: Mapping[str, Any],
    dry_run: bool = False,
    trigger: str = "cli",
) -> RunResult:
    """Run `recipe` once: time it, catch its failure, and log one canonical line."""
    run_id = uuid.uuid4().hex[:16]
    with structlog.contextvars.bound_contextvars(run_id=run_id, recipe=recipe.name, trigger=trigger):
        started_at, t0 = _now(), time.perf_counter()
        ctx = Context(recipe=recipe, params=params, session=session, dry_run=dry_run)
        findings: list[Finding] = []
        error = None
        with session.counting() as calls:
            try:
                for finding in recipe.func(ctx) or ():
                    findings.append(finding)
            except PdrunError as exc:
                error = str(exc)
            except Exception as exc:  # a recipe bug ends this run, never the process
                log.debug("recipe.crashed", exc_info=True)
                error = f"recipe {recipe.name!r} crashed: {type(exc).__name__}: {exc}"
        failed_actions = [a for a in ctx.actions if a.status == "failed"]
        if error is None and failed_actions:
            error = f"{len(failed_actions)} of {len(ctx.actions)} writes failed"
        status = "failed" if error else "findings" if findings else "ok"
        result = RunResult(
            recipe=recipe.name,
            run_id=run_id,
            status=status,
            dry_run=dry_run,
            params=params,
            started_at=started_at,
            finished_at=_now(),
            findings=tuple(findings),
            actions=tuple(ctx.actions),
            api_calls=calls.value,
            error=pdlog.redact(error) if error else None,
            duration_ms=round((time.perf_counter() - t0) * 1000),
        )
        fields = {
            "status": status,
            "duration_ms": result.duration_ms,
            "api_calls": result.api_calls,
            "findings": len(findings),
            "actions": len(ctx.actions),
        }
        if error:
            log.error("run.failed", error=result.error, **fields)
        else:
            log.info("run.finished", **fields)
        return result


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

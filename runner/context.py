"""The Context a recipe receives: the session, its parameters, and the only way to write."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import structlog

from runner.errors import ApiError, TokenRejected
from runner.recipe import Action, Finding, ObjectRef, Recipe

if TYPE_CHECKING:
    from runner.reads import SharedReads
    from runner.session import Session

log = structlog.get_logger()


class Context:
    """What a recipe gets: `ctx.pd` to read, `ctx.finding()` to report, `ctx.write()` to change.

    `ctx.now` is the run's start (UTC), so every age a recipe computes is measured from one instant.
    """

    def __init__(
        self,
        *,
        recipe: Recipe,
        params: Mapping[str, Any],
        session: Session,
        dry_run: bool,
        reads: SharedReads | None = None,
        now: datetime | None = None,
    ) -> None:
        self.recipe = recipe
        self.params = MappingProxyType(dict(params))
        self.pd: Session | SharedReads = reads or session
        self.dry_run = dry_run
        self.now = now or datetime.now(UTC)
        self.log = log
        self.actions: list[Action] = []
        self.session = session

    def finding(
        self, obj: Mapping[str, Any], message: str, *, rule: str | None = None, severity: str = "warning"
    ) -> Finding:
        """Describe a problem with a PagerDuty object; yield the result from the recipe."""
        return Finding(
            recipe=self.recipe.name,
            rule=rule or self.recipe.name,
            severity=severity,
            message=message,
            object=ObjectRef.of(obj),
        )

    def write(self, method: str, path: str, body: Any = None) -> Action:
        """Make a write through the session, or only plan it in a dry run; record it either way.

        A rejected write is recorded as failed with PagerDuty's message and the
        recipe goes on; a rejected token stops the run.
        """
        method = method.upper()
        status, error = "planned", None
        if not self.dry_run:
            try:
                self.session.write(method, path, body)
                status = "done"
            except TokenRejected:
                raise
            except ApiError as exc:
                status, error = "failed", str(exc)
        action = Action(method=method, path=path, body=body, status=status, error=error)
        self.actions.append(action)
        log.info(f"action.{status}", method=method, path=path, **({"error": error} if error else {}))
        return action

"""The Context a recipe receives: the session, its parameters, and the only way to write."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from runner.log import get_logger
from runner.recipe import Action, Finding, ObjectRef, Recipe
from runner.writes import Check

if TYPE_CHECKING:
    from runner.reads import SharedReads
    from runner.session import Session

log = get_logger(__name__)


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
        run_id: str = "",
    ) -> None:
        self.recipe = recipe
        self.run_id = run_id
        self.params = MappingProxyType(dict(params))
        self.pd: Session | SharedReads = reads or session
        self.dry_run = dry_run
        self.now = now or datetime.now(UTC)
        self.log = log
        self.actions: list[Action] = []
        self.checks: list[Check | None] = []
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

    def write(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        changes: int = 1,
        check: Check | None = None,
        once: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Action:
        """Plan a write. pdrun carries out the plan, in order, once the recipe returns.

        `changes` is how many objects the request changes (a bulk update changes
        many); caps count it. `check`, when given, tells whether the write has
        already taken effect in PagerDuty: such a write is skipped, and a 5xx
        is retried only when the check shows the write did not happen. Where
        PagerDuty shows nothing to check, `once=True` makes the history's
        record of this exact write enough to skip it.
        `headers` replaces the session's write headers (a replayed plan keeps its own `From`).
        """
        sent = dict(headers) if headers is not None else self.session.write_headers()
        action = Action(method=method.upper(), path=path, body=body, headers=sent, changes=changes, once=once)
        self.actions.append(action)
        self.checks.append(check)
        return action

"""Build the hygiene report of a history: what it covers (days, team, recipes) and its numbers."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from runner.errors import UsageError, suggest
from runner.history.timeline import findings_of, recipes_with_findings, runs_of
from runner.trends.numbers import Numbers, count, end_of, team_names, track

if TYPE_CHECKING:
    from runner.history import History

MAX_DAYS = 3650


@dataclass(frozen=True)
class Scope:
    """What a report covers: the last `days` days, one team's objects, some recipes (none named: every audit)."""

    days: int = 90
    team: str | None = None
    recipes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.days <= MAX_DAYS:
            raise UsageError(f"--days {self.days}: give a number of days from 1 to {MAX_DAYS}")


@dataclass(frozen=True)
class Report:
    """A report's numbers, with what it covers and where they come from."""

    scope: Scope
    numbers: Numbers
    recipes: tuple[str, ...]
    team_name: str | None
    accounts: tuple[str, ...]
    history: str


def build_report(history: History, scope: Scope, *, audits: Collection[str], now: datetime | None = None) -> Report:
    """Read the history and count what the report shows; bad input (a recipe or team it cannot know, no run in
    the period) is a UsageError.

    `audits` are the names of the installed audits: without `scope.recipes`,
    the report covers them and any other recipe the history has findings of.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    remembered = recipes_with_findings(history)
    possible = set(audits) | remembered
    for name in scope.recipes:
        if name not in possible:
            raise UsageError(f"--recipe {name}: no audit of that name is installed or in the history at"
                             f" {history.url}{suggest(name, sorted(possible))}")
    recipes = tuple(sorted(set(scope.recipes) or possible))
    since = end_of(now.date() - timedelta(days=scope.days))  # the start of the period's first day
    runs = runs_of(history, recipes, since=since)
    if not runs:
        what = ", ".join(scope.recipes) if scope.recipes else "any audit"
        raise UsageError(f"the history at {history.url} holds no run of {what} in the last {scope.days} days:"
                         " run `pdrun audit` first, or give a longer --days")
    tracked = track(findings_of(history, recipes))
    names = team_names(tracked)
    if scope.team:
        tracked = [t for t in tracked if scope.team in t.object.teams]
        if not tracked:
            known = ", ".join(f"{team} ({name})" for team, name in sorted(names.items())[:10])
            raise UsageError(f"--team {scope.team}: no finding in the history at {history.url} is about an object"
                             f" this team owns" + (f"; teams it knows: {known}" if known else ""))
    return Report(
        scope=scope, numbers=count(tracked, recipes, runs, now=now, days=scope.days, team_names=names),
        recipes=recipes, team_name=names.get(scope.team) if scope.team else None,
        accounts=tuple(sorted({t.account for t in tracked})), history=history.url,
    )

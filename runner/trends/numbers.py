"""The report's numbers, from the history alone: open findings by day, new and resolved by week, by team, by recipe.

A finding is a fingerprint (recipe, rule, object) on one account. Each run
key (a recipe with its parameters) remembers when it opened and resolved it;
the finding is open while any of its run keys has it open, so a problem
found by two runs of a recipe with other parameters counts once. Open on a
day means open at the end of that day (UTC): found on or before it and not
resolved by then. A finding resolved and found again is not open in between,
and counts as new again (and as resolved again) when it comes back and goes.
Severity, message, object and owning teams are as the latest run saw them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta

from runner.history.timeline import Remembered, RunRecord, Seen
from runner.results import SEVERITIES
from runner.timestamps import iso, parse_iso

WEEK = 7
FAILED = ("failed", "interrupted")


@dataclass(frozen=True)
class Stint:
    """A stretch of time a finding was open: from `opened` until `resolved` (None: still open)."""

    opened: str
    resolved: str | None

    def covers(self, at: str) -> bool:
        """Whether the finding was open at the instant `at`."""
        return self.opened < at and (self.resolved is None or self.resolved >= at)


@dataclass(frozen=True)
class Tracked(Seen):
    """One finding over time: as its latest run saw it, and every stint it was open."""

    stints: tuple[Stint, ...]

    def open_at(self, at: str) -> bool:
        return any(s.covers(at) for s in self.stints)


def track(remembered: Iterable[Remembered]) -> list[Tracked]:
    """Join what each run key remembers of a finding into one finding, open whenever any of them had it open."""
    groups: dict[tuple[str, str], list[Remembered]] = {}
    for row in remembered:
        groups.setdefault((row.account, row.fingerprint), []).append(row)
    tracked = []
    for rows in groups.values():
        latest = max(rows, key=lambda r: r.last_seen)
        seen = {f.name: getattr(latest, f.name) for f in fields(Seen)}
        tracked.append(Tracked(**seen, stints=_union([s for row in rows for s in _stints(row.events)])))
    return tracked


def _stints(events: Iterable[tuple[str, str]]) -> list[Stint]:
    stints: list[Stint] = []
    opened: str | None = None
    for state, at in events:
        if state == "opened" and opened is None:
            opened = at
        elif state == "resolved" and opened is not None:
            stints.append(Stint(opened, at))
            opened = None
    return stints + ([Stint(opened, None)] if opened is not None else [])


def _union(stints: list[Stint]) -> tuple[Stint, ...]:
    merged: list[Stint] = []
    for stint in sorted(stints, key=lambda s: s.opened):
        last = merged[-1] if merged else None
        if last is not None and (last.resolved is None or stint.opened <= last.resolved):
            ends = None if last.resolved is None or stint.resolved is None else max(last.resolved, stint.resolved)
            merged[-1] = Stint(last.opened, ends)
        else:
            merged.append(stint)
    return tuple(merged)


@dataclass(frozen=True)
class Week:
    """Findings that appeared and were resolved in a week (the first may be shorter)."""

    first_day: date
    last_day: date
    new: int
    resolved: int


@dataclass(frozen=True)
class TeamRow:
    """Open findings about objects a team owns (`id` None: owned by no team): now, and at the end of the
    charts' first day (the period's first, or the history's if it starts later)."""

    id: str | None
    name: str
    open: int
    at_start: int

    @property
    def change(self) -> int:
        return self.open - self.at_start


@dataclass(frozen=True)
class RecipeRow:
    """A recipe's open findings: now, at the end of each day of the chart, and the oldest still open."""

    name: str
    open: int
    daily: tuple[int, ...]
    oldest: Tracked | None
    oldest_since: str | None
    last_run: str | None


@dataclass(frozen=True)
class Numbers:
    """Every number the report shows, for the days from `first_day` to `last_day`, as of `now`."""

    now: str
    first_day: date
    last_day: date
    days: tuple[date, ...]  # the days the charts cover: the period, from the first the history knows of
    open_by_day: dict[str, tuple[int, ...]]  # severity -> open findings at the end of each of `days`
    weeks: tuple[Week, ...]
    teams: tuple[TeamRow, ...]
    recipes: tuple[RecipeRow, ...]
    new_this_week: tuple[tuple[Tracked, Stint], ...]  # opened in the last 7 days (today and the 6 before), newest first
    resolved_this_week: int
    runs: int
    failed_runs: int
    last_run: str | None

    @property
    def trend(self) -> bool:
        """Whether the history covers two days or more of the period: one day draws no trend."""
        return len(self.days) > 1


def end_of(day: date) -> str:
    """The instant a day ends (the next one starts), as the history writes instants."""
    return iso(datetime.combine(day + timedelta(days=1), time(), UTC))


def count(tracked: list[Tracked], recipes: Iterable[str], runs: list[RunRecord], *, now: datetime, days: int,
          team_names: dict[str, str]) -> Numbers:
    """Compute the report's numbers for the `days` days ending on `now`'s day."""
    last_day = now.astimezone(UTC).date()
    first_day = last_day - timedelta(days=days - 1)
    known = min([s.opened for t in tracked for s in t.stints] + [r.started_at for r in runs], default=None)
    since = max(first_day, parse_iso(known).date()) if known else last_day
    chart_days = tuple(since + timedelta(days=n) for n in range((last_day - since).days + 1))
    ends = [end_of(day) for day in chart_days]  # the end of today stands for now: no event is later
    daily = {id(t): tuple(t.open_at(at) for at in ends) for t in tracked}  # each finding open at each day's end
    open_by_day = {
        severity: _summed((daily[id(t)] for t in tracked if t.severity == severity), len(ends))
        for severity in SEVERITIES
    }
    week_from = end_of(last_day - timedelta(days=WEEK))
    fresh = [(t, s) for t in tracked for s in t.stints if s.opened >= week_from]
    return Numbers(
        now=iso(now), first_day=first_day, last_day=last_day, days=chart_days,
        open_by_day={s: counts for s, counts in open_by_day.items() if any(counts)},
        weeks=_weeks(tracked, chart_days),
        teams=_teams(tracked, team_names, daily),
        recipes=tuple(_recipe(name, tracked, runs, ends, daily) for name in sorted(set(recipes))),
        new_this_week=tuple(sorted(fresh, key=lambda ts: ts[1].opened, reverse=True)),
        resolved_this_week=sum(s.resolved is not None and s.resolved >= week_from for t in tracked for s in t.stints),
        runs=len(runs), failed_runs=sum(r.status in FAILED for r in runs),
        last_run=max((r.started_at for r in runs), default=None),
    )


def _weeks(tracked: list[Tracked], days: tuple[date, ...]) -> tuple[Week, ...]:
    weeks = []
    stints = [s for t in tracked for s in t.stints]
    last = days[-1]
    while last >= days[0]:
        first = max(days[0], last - timedelta(days=WEEK - 1))
        start, end = end_of(first - timedelta(days=1)), end_of(last)
        weeks.append(Week(first, last, new=sum(start <= s.opened < end for s in stints),
                          resolved=sum(s.resolved is not None and start <= s.resolved < end for s in stints)))
        last = first - timedelta(days=1)
    return tuple(reversed(weeks))


def _summed(rows: Iterable[tuple[bool, ...]], width: int) -> tuple[int, ...]:
    """How many of the rows are open at the end of each day."""
    sums = [0] * width
    for row in rows:
        for day, is_open in enumerate(row):
            sums[day] += is_open
    return tuple(sums)


def _teams(tracked: list[Tracked], names: dict[str, str], daily: dict[int, tuple[bool, ...]]) -> tuple[TeamRow, ...]:
    now_open: dict[str | None, int] = {}
    start_open: dict[str | None, int] = {}
    for t in tracked:
        for team in t.object.teams or (None,):
            now_open[team] = now_open.get(team, 0) + daily[id(t)][-1]
            start_open[team] = start_open.get(team, 0) + daily[id(t)][0]
    rows = [TeamRow(team, names.get(team, team) if team else "no team", now_open[team], start_open[team])
            for team in now_open if now_open[team] or start_open[team]]
    return tuple(sorted(rows, key=lambda r: (-r.open, -r.change, r.name)))


def _recipe(name: str, tracked: list[Tracked], runs: list[RunRecord], ends: list[str],
            daily: dict[int, tuple[bool, ...]]) -> RecipeRow:
    mine = [t for t in tracked if t.recipe == name]
    still = [(s.opened, t) for t in mine for s in t.stints if s.covers(ends[-1])]
    oldest = min(still, key=lambda pair: pair[0], default=None)
    return RecipeRow(
        name=name, open=len(still), daily=_summed((daily[id(t)] for t in mine), len(ends)),
        oldest=oldest[1] if oldest else None, oldest_since=oldest[0] if oldest else None,
        last_run=max((r.started_at for r in runs if r.recipe == name), default=None),
    )


def team_names(tracked: Iterable[Tracked]) -> dict[str, str]:
    """Each team id's name as the latest run that saw the team named it."""
    names: dict[str, tuple[str, str]] = {}
    for t in tracked:
        for team, name in zip(t.object.teams, t.object.team_names, strict=False):
            if name and (team not in names or names[team][0] < t.last_seen):
                names[team] = (t.last_seen, name)
    return {team: name for team, (_, name) in names.items()}

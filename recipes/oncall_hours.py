"""Report: hours on call per user and team over a period, in business hours, nights and weekends."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from recipes.listings import rendered_schedules
from recipes.spans import TIME_ZONE, Span, clipped, day_parts, hours, merged, stamp, zone_of
from runner import Context, Param, UsageError, hookimpl, parse_iso, recipe

NO_TEAM = "(no team)"


def _workday(params: Mapping[str, Any]) -> None:
    zone_of(params)
    if params["workday_start"] >= params["workday_end"]:
        raise UsageError("oncall-hours: --workday-start must come before --workday-end")


@recipe(
    columns=["user", "team", "hours", "business_hours", "nights", "weekends"],
    period_days=30,
    tags=["oncall"],
    params=[
        TIME_ZONE,
        Param(name="workday_start", default=9, minimum=0, maximum=23, help="The hour business hours start."),
        Param(name="workday_end", default=17, minimum=1, maximum=24, help="The hour business hours end."),
    ],
    validate=_workday,
)
def oncall_hours(ctx: Context) -> Iterator[Any]:
    """Hours on call per user and team over a period, split into business hours, nights and weekends.

    Fair rotations and on-call pay start from who carried the pager when:
    a night or a weekend on call costs more than a weekday afternoon. Hours
    come from each schedule's final rendering (overrides included) in one
    schedules listing; a user on two of a team's schedules at once counts
    once for that team. Schedules no escalation policy uses page nobody and
    are left out; weekdays are Monday to Friday in --time-zone.
    """
    since, until = ctx.period
    zone, workday = zone_of(ctx.params), (ctx.params["workday_start"], ctx.params["workday_end"])
    found: dict[tuple[str, str], list[Span]] = {}
    for schedule in rendered_schedules(ctx, stamp(since), stamp(until)):
        if not schedule.get("escalation_policies"):
            continue
        teams = [team["summary"] for team in schedule.get("teams") or ()] or [NO_TEAM]
        for entry in (schedule.get("final_schedule") or {}).get("rendered_schedule_entries") or ():
            span = clipped((parse_iso(entry["start"]), parse_iso(entry["end"])), since, until)
            for team in teams if span else ():
                found.setdefault((entry["user"]["summary"], team), []).append(span)
    rows = []
    for (user, team), spans in found.items():
        stretches = merged(spans)
        parts = [day_parts(stretch, zone, workday) for stretch in stretches]
        totals = {part: round(sum(p[part] for p in parts), 2) for part in parts[0]}
        rows.append({"user": user, "team": team, "hours": round(sum(map(hours, stretches)), 2), **totals})
    for row in sorted(rows, key=lambda row: (row["team"] == NO_TEAM, row["team"], -row["hours"], row["user"])):
        yield ctx.row(**row)


@hookimpl
def pdrun_recipes(register):
    register(oncall_hours)

"""Report: notifications sent per team, service, user and hour of day over a period."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from recipes.spans import TIME_ZONE, stamp, zone_of
from runner import Context, Param, hookimpl, parse_iso, recipe

DIMENSIONS = ("team", "service", "user", "hour")


@recipe(
    columns=["by", "name", "notifications", "share"],
    period_days=7,
    tags=["noise"],
    params=[
        TIME_ZONE,
        Param(name="by", multiple=True, choices=DIMENSIONS, help="Count per team, service, user or hour; repeatable"
              " (default: all four)."),
    ],
    validate=zone_of,
)
def notifications_by_team(ctx: Context) -> Iterator[Any]:
    """Notifications sent per team, service and user, and per hour of the day, over a period.

    Every notification is someone's phone going off: a team, a service or a
    person with far more than the others, or a peak at 3 a.m., is the noise
    worth fixing first. Counts come from the notify entries of the period's
    log entries; `share` is the percentage of all notifications (a
    notification about an incident of two teams counts for both).
    """
    since, until = ctx.period
    zone = zone_of(ctx.params)
    counts: dict[str, Counter[str]] = {dimension: Counter() for dimension in DIMENSIONS}
    for entry in ctx.pd.iter("log_entries", since=stamp(since), until=stamp(until)):
        if entry["type"] != "notify_log_entry":
            continue
        for team in entry.get("teams") or [{"summary": "(no team)"}]:
            counts["team"][team["summary"]] += 1
        counts["service"][(entry.get("service") or {}).get("summary", "(no service)")] += 1
        counts["user"][(entry.get("user") or {}).get("summary", "(no user)")] += 1
        counts["hour"][f"{parse_iso(entry['created_at']).astimezone(zone):%H}:00"] += 1
    total = counts["service"].total()
    for dimension in ctx.params["by"] or DIMENSIONS:
        if dimension == "hour":
            named = [(f"{hour:02d}:00", counts["hour"][f"{hour:02d}:00"]) for hour in range(24)]
        else:
            named = sorted(counts[dimension].items(), key=lambda item: (-item[1], item[0]))
        for name, count in named:
            yield ctx.row(by=dimension, name=name, notifications=count, share=round(100 * count / total, 2) if total else 0.0)


@hookimpl
def pdrun_recipes(register):
    register(notifications_by_team)

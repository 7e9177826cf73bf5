"""Schedule overrides: cover for someone away, and schedules that overrides have taken over."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from recipes.listings import COVERAGE_DAYS, schedules
from recipes.people import find_user, user_ref
from recipes.spans import Span, clipped, merged, stamp
from runner import USER_ID_OR_EMAIL, Context, Finding, Param, UsageError, hookimpl, parse_iso, parse_moment, recipe

ONCALL_RANGE = timedelta(days=90)  # the longest range GET /oncalls takes


def _period(params: Mapping[str, Any]) -> tuple[datetime, datetime]:
    since, until = parse_moment(params["from"], "--from"), parse_moment(params["to"], "--to")
    assert since is not None and until is not None
    if until <= since:
        raise UsageError(f"schedule-cover: --to {params['to']} must come after --from {params['from']}")
    if until - since > ONCALL_RANGE:
        raise UsageError("schedule-cover: the period may be at most 90 days (PagerDuty's longest on-call range)")
    if params["with"].casefold() == params["user"].casefold():
        raise UsageError("schedule-cover: --with names the user who is away; name who covers for them")
    return since, until


@recipe(
    writes=["POST /schedules/{id}/overrides"],
    tags=["schedules"],
    params=[
        Param(name="user", required=True, pattern=USER_ID_OR_EMAIL, help="Who is away: an ID or an email address."),
        Param(name="from", required=True, help="When they leave, ISO 8601 (e.g. 2026-12-21 or 2026-12-21T09:00:00Z)."),
        Param(name="to", required=True, help="When they are back, ISO 8601."),
        Param(name="with", required=True, pattern=USER_ID_OR_EMAIL, help="Who covers: an ID or an email address."),
    ],
    validate=_period,
)
def schedule_cover(ctx: Context) -> None:
    """Cover someone's on-call shifts while they are away, with overrides for another user.

    Vacation cover done by hand means finding every schedule the person is
    on and every shift that falls in their absence; one missed shift pages
    someone on a beach. This reads their shifts from PagerDuty's on-calls
    (GET /oncalls, overrides included) and puts the cover on call for exactly
    those shifts, in one request per schedule (POST /schedules/{id}/overrides).
    Shifts already covered are left alone, so a rerun plans nothing.
    """
    away, cover = find_user(ctx, ctx.params["user"]), find_user(ctx, ctx.params["with"])
    if away["id"] == cover["id"]:
        raise UsageError("schedule-cover: --with names the user who is away; name who covers for them")
    since, until = _period(ctx.params)
    since = max(since, ctx.now)
    if until <= since:
        raise UsageError(f"schedule-cover: the period ended at {stamp(until)}: nothing is left to cover")
    for schedule_id, shifts in sorted(_shifts(ctx, away["id"], since, until).items(), key=lambda item: item[1][0]):
        overrides = [{"start": stamp(start), "end": stamp(end), "user": user_ref(cover["id"])} for start, end in shifts]
        ctx.write("POST", f"/schedules/{schedule_id}/overrides", {"overrides": overrides},
                  already_done=lambda schedule_id=schedule_id, shifts=shifts: _covered(ctx, schedule_id, shifts, cover))


def _shifts(ctx: Context, user_id: str, since: datetime, until: datetime) -> dict[str, list[Span]]:
    """Return the stretches the user is on call in each schedule within [since, until), from the on-calls."""
    found: dict[str, list[Span]] = {}
    for oncall in ctx.pd.iter("oncalls", user_ids=[user_id], since=stamp(since), until=stamp(until)):
        if oncall.get("schedule") and oncall.get("start") and oncall.get("end"):
            span = clipped((parse_iso(oncall["start"]), parse_iso(oncall["end"])), since, until)
            if span:
                found.setdefault(oncall["schedule"]["id"], []).append(span)
    return {schedule_id: merged(spans) for schedule_id, spans in found.items()}


def _covered(ctx: Context, schedule_id: str, shifts: list[Span], cover: Mapping[str, Any]) -> bool:
    """Tell whether overrides already put the cover on call for every one of `shifts`."""
    window = {"since": stamp(shifts[0][0]), "until": stamp(shifts[-1][1])}
    overrides = [
        (parse_iso(o["start"]), parse_iso(o["end"]))
        for o in ctx.pd.iter(f"schedules/{schedule_id}/overrides", **window)
        if o["user"]["id"] == cover["id"]
    ]
    return all(any(start <= s and e <= end for start, end in overrides) for s, e in shifts)


@recipe(
    tags=["hygiene"],
    params=[
        Param(name="days", default=COVERAGE_DAYS, minimum=1, maximum=90, help="How far ahead to look."),
        Param(name="share", default=0.5, minimum=0, maximum=1, help="Heavy when overrides cover more than this share."),
    ],
)
def schedules_overrides_heavy(ctx: Context) -> Iterator[Finding]:
    """Schedules where overrides cover more than a share of the coming days.

    A schedule mostly made of overrides no longer says who is on call: the
    rotation behind it is out of date, and every swap done by hand is one
    that can be forgotten. The share comes from the overrides PagerDuty
    renders over the period, in the schedules listing itself.
    """
    for schedule in schedules(ctx, ctx.params["days"]):
        covered = (schedule.get("overrides_subschedule") or {}).get("rendered_coverage_percentage") or 0
        if covered > 100 * ctx.params["share"]:
            yield ctx.finding(schedule, f"overrides cover {covered:g}% of the next {ctx.params['days']} days")


@hookimpl
def pdrun_recipes(register):
    register(schedule_cover)
    register(schedules_overrides_heavy)

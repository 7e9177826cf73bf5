"""Hygiene audits of on-call schedules."""

from __future__ import annotations

from collections.abc import Iterator

from recipes.listings import COVERAGE_DAYS, schedules
from runner import Context, Finding, Param, hookimpl, recipe


@recipe(
    tags=["hygiene"],
    params=[Param(name="days", default=COVERAGE_DAYS, minimum=1, maximum=90, help="How far ahead to look for gaps.")],
)
def schedules_with_gaps(ctx: Context) -> Iterator[Finding]:
    """Schedules with gaps in on-call coverage in the coming days.

    During a gap the schedule has nobody on call, so an escalation policy
    that relies on it pages no one. Coverage comes from PagerDuty's rendered
    final schedule (layers and overrides), which the schedules listing
    carries for a whole page at once.
    """
    for schedule in schedules(ctx, ctx.params["days"]):
        coverage = (schedule.get("final_schedule") or {}).get("rendered_coverage_percentage")
        if coverage is not None and coverage < 100:
            yield ctx.finding(
                schedule,
                f"covers {coverage:g}% of the next {ctx.params['days']} days",
                severity="error",
            )


@recipe(tags=["hygiene"])
def schedules_unused(ctx: Context) -> Iterator[Finding]:
    """Schedules that no escalation policy uses.

    People on an unused schedule believe they are on call, and nothing can
    ever page them through it.
    """
    for schedule in schedules(ctx):
        if not schedule.get("escalation_policies"):
            yield ctx.finding(schedule, "no escalation policy uses this schedule", severity="info")


@hookimpl
def pdrun_recipes(register):
    register(schedules_with_gaps)
    register(schedules_unused)

"""The collection reads the hygiene audits share, each asked for the same way everywhere.

Run together (`pdrun audit`), recipes that read the same path with the same
parameters and `include[]` share one fetch; so every audit that lists users
asks for the includes any of them needs, and every audit that lists
schedules asks for their coverage over the same window. An audit that
reads several listings asks for all of them before reading any, so an
audit run fetches them at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from recipes.spans import stamp
from runner import Context

USER_INCLUDES = ["notification_rules"]  # contact methods' references carry their type, all the audits look at
COVERAGE_DAYS = 14  # the window schedules are listed with their coverage over (schedules-with-gaps' default)


def services(ctx: Context) -> Iterator[dict[str, Any]]:
    return ctx.pd.iter("services")


def escalation_policies(ctx: Context) -> Iterator[dict[str, Any]]:
    return ctx.pd.iter("escalation_policies")


def schedules(ctx: Context, days: int = COVERAGE_DAYS) -> Iterator[dict[str, Any]]:
    """Schedules, each with its final schedule and overrides rendered over the `days` from `ctx.now`."""
    return rendered_schedules(ctx, stamp(ctx.now), stamp(ctx.now + timedelta(days=days)))


def users(ctx: Context) -> Iterator[dict[str, Any]]:
    return ctx.pd.iter("users", include=USER_INCLUDES)


def teams(ctx: Context) -> Iterator[dict[str, Any]]:
    return ctx.pd.iter("teams")


def ids(refs: Any) -> set[str]:
    """The ids of a list of references (or objects)."""
    return {ref["id"] for ref in refs or ()}


RENDERED_SCHEDULE_INCLUDES = ["final_schedule", "overrides_subschedule"]


def rendered_schedules(ctx: Context, since: str, until: str) -> Iterator[dict[str, Any]]:
    """List schedules with their final schedule and overrides rendered from `since` to `until`, in one listing."""
    return ctx.pd.iter("schedules", since=since, until=until, include=RENDERED_SCHEDULE_INCLUDES)


def license_allocations(ctx: Context) -> Iterator[dict[str, Any]]:
    return ctx.pd.iter("license_allocations")


def scheduled_users(listed: Iterator[dict[str, Any]]) -> set[str]:
    """Return the ids of the users on any of these schedules."""
    return {uid for schedule in listed for uid in ids(schedule.get("users"))}


def targeted_users(policies: Iterator[dict[str, Any]]) -> set[str]:
    """Return the ids of the users escalation policies' rules target directly."""
    return {
        target["id"]
        for policy in policies
        for rule in policy.get("escalation_rules") or ()
        for target in rule.get("targets") or ()
        if target["type"].startswith("user")
    }

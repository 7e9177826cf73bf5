"""Hygiene audits of users and teams."""

from __future__ import annotations

from collections.abc import Iterator

from recipes.listings import escalation_policies, ids, scheduled_users, schedules, targeted_users, teams, users
from runner import Context, Finding, hookimpl, recipe

PAGING_METHODS = frozenset({"phone_contact_method", "sms_contact_method", "push_notification_contact_method"})


@recipe(tags=["hygiene"])
def users_without_contact_methods(ctx: Context) -> Iterator[Finding]:
    """Users who cannot be paged: no phone, SMS or push method, or no high-urgency rule.

    Email alone does not wake anyone at 3 a.m.; and without a notification
    rule for high urgency, a user's methods are never used for the incidents
    that matter most.
    """
    for user in users(ctx):
        kinds = {m["type"].removesuffix("_reference") for m in user.get("contact_methods") or ()}
        if not kinds & PAGING_METHODS:
            yield ctx.finding(user, "no phone, SMS or push contact method")
        elif not any(r.get("urgency") in ("high", "any") for r in user.get("notification_rules") or ()):
            yield ctx.finding(user, "no notification rule for high-urgency incidents")


@recipe(tags=["hygiene"])
def users_orphaned(ctx: Context) -> Iterator[Finding]:
    """Users on no team, no schedule and no escalation policy.

    Such accounts usually belong to people who moved on; they cost a licence
    and widen the account's attack surface.
    """
    listed_schedules, policies, listed_users = schedules(ctx), escalation_policies(ctx), users(ctx)
    scheduled = scheduled_users(listed_schedules)
    targeted = targeted_users(policies)
    for user in listed_users:
        if not user.get("teams") and user["id"] not in scheduled | targeted:
            yield ctx.finding(user, "on no team, schedule or escalation policy", severity="info")


@recipe(tags=["hygiene"])
def teams_without_members(ctx: Context) -> Iterator[Finding]:
    """Teams with no members.

    An empty team owns services and policies on paper only. Membership is
    read from the users' teams, so the audit needs no request per team.
    """
    listed_users, listed_teams = users(ctx), teams(ctx)
    staffed = {tid for user in listed_users for tid in ids(user.get("teams"))}
    for team in listed_teams:
        if team["id"] not in staffed:
            yield ctx.finding(team, "no members", severity="info")


@hookimpl
def pdrun_recipes(register):
    register(users_without_contact_methods)
    register(users_orphaned)
    register(teams_without_members)

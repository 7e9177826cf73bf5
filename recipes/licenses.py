"""Hygiene audits of licenses: invitations never accepted, and full licenses nobody uses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from recipes.listings import escalation_policies, license_allocations, scheduled_users, schedules, targeted_users, users
from recipes.spans import stamp
from runner import Context, Finding, Param, hookimpl, parse_iso, recipe

RESPONSES = ("acknowledge_log_entry", "resolve_log_entry")


@recipe(
    tags=["hygiene"],
    params=[Param(name="days", default=7, minimum=1, maximum=3650, help="Pending when invited longer ago than this.")],
)
def users_invitation_pending(ctx: Context) -> Iterator[Finding]:
    """Users who have not accepted their invitation after a number of days.

    An invitation left pending holds a license and names someone who cannot
    be paged: they never set up a contact method. Resend it or remove the
    user. The invitation's date is when PagerDuty allocated the user their
    license, from the license allocations listing: no request per user.
    """
    invited = {user["id"]: user for user in users(ctx) if user.get("invitation_sent")}
    if not invited:
        return
    cutoff = ctx.now - timedelta(days=ctx.params["days"])
    for allocation in license_allocations(ctx):
        user, since = invited.get(allocation["user"]["id"]), parse_iso(allocation["allocated_at"])
        if user is not None and since < cutoff:
            days = (ctx.now - since).days
            yield ctx.finding(user, f"invited {days} days ago ({since:%Y-%m-%d}) and has not accepted", severity="info")


@recipe(
    tags=["hygiene"],
    params=[Param(name="days", default=30, minimum=1, maximum=180, help="Unused when idle for this many days.")],
)
def licenses_unused(ctx: Context) -> Iterator[Finding]:
    """Users holding a full license who are on no schedule or escalation policy and responded to nothing lately.

    A full (responder) license costs the most; someone who is never on call
    and has not acknowledged or resolved an incident for weeks can do with a
    stakeholder license, or none. Responses come from the log entries'
    overview of the period, read only when someone is on no schedule and no
    policy. The account owner is left out: PagerDuty never downgrades them.
    """
    allocations, listed_schedules, policies = license_allocations(ctx), schedules(ctx), escalation_policies(ctx)
    full = {a["user"]["id"]: a["license"] for a in allocations if a["license"].get("role_group") == "FullUser"}
    on_call = scheduled_users(listed_schedules)
    idle = set(full) - on_call - targeted_users(policies)
    if not idle:
        return
    since = ctx.now - timedelta(days=ctx.params["days"])
    entries = ctx.pd.iter("log_entries", since=stamp(since), until=stamp(ctx.now), is_overview=True)
    idle -= {entry["agent"]["id"] for entry in entries if entry["type"] in RESPONSES and entry.get("agent")}
    for user in users(ctx):
        if user["id"] in idle and user.get("role") != "owner":
            yield ctx.finding(user, f"holds a {full[user['id']]['name']} license, is on no schedule or escalation policy"
                              f" and acknowledged or resolved nothing in {ctx.params['days']} days")


@hookimpl
def pdrun_recipes(register):
    register(users_invitation_pending)
    register(licenses_unused)

"""Write: offboard a leaving user from every schedule, escalation policy and team, and hand over their incidents."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from recipes.incident_actions import BULK_UPDATE, bulk_update
from recipes.listings import ids
from recipes.offboarding import Removal, off_policy, off_schedule
from recipes.people import find_user, user_ref
from runner import USER_ID_OR_EMAIL, Context, Param, UsageError, hookimpl, recipe

OPEN = ["triggered", "acknowledged"]


def _not_themselves(params: Mapping[str, Any]) -> None:
    if params["replace_with"] is not None and params["replace_with"].casefold() == params["user"].casefold():
        raise UsageError("user-offboard: --replace-with names the leaving user; name their successor")


@recipe(
    writes=["PUT /schedules/{id}", "PUT /escalation_policies/{id}", "DELETE /teams/{id}/users/{user_id}", BULK_UPDATE,
            "DELETE /users/{id}"],
    tags=["users"],
    params=[
        Param(name="user", required=True, pattern=USER_ID_OR_EMAIL, help="The leaving user: an ID or an email address."),
        Param(name="replace_with", pattern=USER_ID_OR_EMAIL,
              help="Their successor (ID or email), who takes their turns in schedule layers and escalation rules."),
        Param(name="incidents", default="reassign", choices=("reassign", "resolve"),
              help="What becomes of their open incidents: reassigned (to the successor, else to the incident's other"
                   " assignees, else back to its escalation policy) or resolved."),
        Param(name="delete", default=False, help="Delete the user once they are off everything."),
    ],
    validate=_not_themselves,
)
def user_offboard(ctx: Context) -> None:
    """Take a leaving user off every schedule layer, escalation rule and team, and hand over their open incidents.

    Someone who left keeps being paged, and pages nobody who can act, for as
    long as a rotation or an escalation rule still names them; deleting them
    in the web UI first fails while they hold open incidents or are the last
    target of a rule. The plan takes them off each schedule's current layers
    (PUT /schedules/{id}), each escalation rule (PUT /escalation_policies/{id})
    and each team (DELETE /teams/{id}/users/{user_id}), then reassigns or
    resolves their open incidents, and with --delete deletes them. When that
    would leave a layer or a rule with nobody, it refuses unless
    --replace-with names a successor. A rerun plans only what is left to do.
    """
    user = find_user(ctx, ctx.params["user"])
    successor = find_user(ctx, ctx.params["replace_with"])["id"] if ctx.params["replace_with"] else None
    if successor == user["id"]:
        raise UsageError("user-offboard: --replace-with names the leaving user; name their successor")
    if ctx.params["delete"] and user["role"] == "owner":
        raise UsageError(f"{user['name']} owns the account, which PagerDuty never deletes: transfer ownership first")
    removals = list(_removals(ctx, user["id"], successor))
    empty = [place for _, removal in removals for place in removal.empty]
    if empty and successor is None:
        raise UsageError(f"taking {user['name']} off would leave nobody on {'; '.join(empty)}:"
                         " name a successor with --replace-with USER")
    for path, removal in removals:
        ctx.write("PUT", f"/{path}", removal.body, already_done=_left(ctx, path, user["id"], successor))
    for team in [ref["id"] for ref in user.get("teams") or ()]:
        ctx.write("DELETE", f"/teams/{team}/users/{user['id']}", already_done=_off_team(ctx, team, user["id"]))
    bulk_update(ctx, _incident_updates(ctx, user["id"], successor))
    if ctx.params["delete"]:
        ctx.write("DELETE", f"/users/{user['id']}", already_done=lambda: _gone(ctx, user))


def _removals(ctx: Context, leaving: str, successor: str | None) -> Iterator[tuple[str, Removal]]:
    """Yield each schedule and policy the user is on, with the write that takes them off it."""
    listed = [s["id"] for s in ctx.pd.iter("schedules") if leaving in ids(s.get("users"))]
    for schedule in ctx.pd.get_each((f"schedules/{schedule_id}", {}) for schedule_id in listed):
        removal = off_schedule(schedule, leaving, successor, ctx.now)
        if removal is not None:
            yield f"schedules/{schedule['id']}", removal
    for policy in ctx.pd.iter("escalation_policies", user_ids=[leaving]):
        removal = off_policy(policy, leaving, successor)
        if removal is not None:
            yield f"escalation_policies/{policy['id']}", removal


def _left(ctx: Context, path: str, leaving: str, successor: str | None) -> Callable[[], bool]:
    """Return the check of whether PagerDuty shows the user off this schedule or policy already."""
    if path.startswith("schedules/"):
        return lambda: off_schedule(ctx.pd.get(path), leaving, successor, ctx.now) is None
    return lambda: off_policy(ctx.pd.get(path), leaving, successor) is None


def _off_team(ctx: Context, team: str, leaving: str) -> Callable[[], bool]:
    return lambda: team not in ids(ctx.pd.get(f"users/{leaving}").get("teams"))


def _gone(ctx: Context, user: dict[str, Any]) -> bool:
    return all(found["id"] != user["id"] for found in ctx.pd.iter("users", query=user["email"]))


def _incident_updates(ctx: Context, leaving: str, successor: str | None) -> Iterator[dict[str, Any]]:
    """Yield the update of each open incident assigned to the user: resolved, or assigned to others."""
    for incident in ctx.pd.iter("incidents", user_ids=[leaving], statuses=OPEN, date_range="all"):
        if ctx.params["incidents"] == "resolve":
            yield {"id": incident["id"], "status": "resolved"}
            continue
        others = [a["assignee"]["id"] for a in incident["assignments"] if a["assignee"]["id"] != leaving]
        assignees = others + ([successor] if successor and successor not in others else [])
        if assignees:
            yield {"id": incident["id"], "assignments": [{"assignee": user_ref(user)} for user in assignees]}
        else:
            policy = {"id": incident["escalation_policy"]["id"], "type": "escalation_policy_reference"}
            yield {"id": incident["id"], "escalation_policy": policy}


@hookimpl
def pdrun_recipes(register):
    register(user_offboard)

"""Actions on many incidents at once: resolve, acknowledge, reassign, through bulk PUT /incidents."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from recipes.incident_selection import SELECTION_PARAMS, SELECTORS, select_incidents
from recipes.people import user_ref
from runner import PAGERDUTY_ID, Context, Param, UsageError, hookimpl, recipe

BULK_LIMIT = 250  # PagerDuty's cap on incidents per PUT /incidents (413 beyond)


BULK_UPDATE = "PUT /incidents"


def bulk_update(ctx: Context, updates: Iterable[dict[str, Any]]) -> None:
    """Plan PUT /incidents requests carrying at most BULK_LIMIT incident updates each."""
    batch: list[dict[str, Any]] = []
    for update in updates:
        batch.append({"id": update["id"], "type": "incident_reference", **update})
        if len(batch) == BULK_LIMIT:
            ctx.write("PUT", "/incidents", {"incidents": batch})
            batch = []
    if batch:
        ctx.write("PUT", "/incidents", {"incidents": batch})


@recipe(writes=[BULK_UPDATE], tags=["incidents"], params=SELECTION_PARAMS, one_of=SELECTORS)
def incidents_resolve(ctx: Context) -> None:
    """Resolve incidents.

    Chooses open (triggered or acknowledged) incidents by id or filter, e.g.
    every incident of a service older than 48 hours, and resolves them with
    bulk updates of at most 250. Already resolved incidents are left alone.
    """
    bulk_update(ctx, ({"id": i["id"], "status": "resolved"} for i in select_incidents(ctx, among=("triggered", "acknowledged"))))


@recipe(writes=[BULK_UPDATE], tags=["incidents"], params=SELECTION_PARAMS, one_of=SELECTORS)
def incidents_acknowledge(ctx: Context) -> None:
    """Acknowledge triggered incidents.

    Chooses triggered incidents by id or filter and acknowledges them with
    bulk updates of at most 250. Incidents already acknowledged or resolved
    are left alone.
    """
    bulk_update(ctx, ({"id": i["id"], "status": "acknowledged"} for i in select_incidents(ctx, among=("triggered",))))


def _one_target(params: Mapping[str, Any]) -> None:
    if bool(params["to_user"]) == bool(params["to_escalation_policy"]):
        raise UsageError("incidents-reassign: give exactly one of --to-user and --to-escalation-policy")


@recipe(
    writes=[BULK_UPDATE],
    tags=["incidents"],
    params=[
        Param(name="to_user", pattern=PAGERDUTY_ID, help="Assign the incidents to this user ID."),
        Param(name="to_escalation_policy", pattern=PAGERDUTY_ID, help="Hand the incidents to this escalation policy ID."),
        *SELECTION_PARAMS,
    ],
    one_of=SELECTORS,
    validate=_one_target,
)
def incidents_reassign(ctx: Context) -> None:
    """Reassign open incidents to a user or an escalation policy.

    Incidents already assigned that way are left alone, so a rerun changes nothing.
    """
    user, policy = ctx.params["to_user"], ctx.params["to_escalation_policy"]
    updates = []
    for incident in select_incidents(ctx, among=("triggered", "acknowledged")):
        if user:
            if [a["assignee"]["id"] for a in incident.get("assignments") or ()] != [user]:
                updates.append({"id": incident["id"], "assignments": [{"assignee": user_ref(user)}]})
        elif (incident.get("escalation_policy") or {}).get("id") != policy:
            updates.append({"id": incident["id"], "escalation_policy": {"id": policy, "type": "escalation_policy_reference"}})
    bulk_update(ctx, updates)


@hookimpl
def pdrun_recipes(register):
    register(incidents_resolve)
    register(incidents_acknowledge)
    register(incidents_reassign)

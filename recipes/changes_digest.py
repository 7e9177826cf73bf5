"""Report: the account's audit records over a period, grouped by who changed what."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from recipes.spans import stamp, windows
from runner import Context, hookimpl, recipe

AUDIT_RANGE = timedelta(days=31)  # the longest range GET /audit/records takes
KINDS = ("users", "schedules", "escalation_policies", "services")
ACTIONS = ("create", "update", "delete")


@recipe(columns=["who", "kind", "what", "actions", "fields", "changes", "last_change"], period_days=7, tags=["changes"])
def changes_digest(ctx: Context) -> Iterator[Any]:
    """Who changed which users (roles), schedules, escalation policies and services over a period.

    When a page went nowhere, the first question is what changed: a role
    downgraded, a layer edited, a policy rewired. This groups PagerDuty's
    audit records (GET /audit/records, filtered to those kinds, read in
    ranges of at most 31 days) into one row per person and object, with the
    fields they changed.
    """
    since, until = ctx.period
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    seen: set[str] = set()
    for start, end in windows(since, until, AUDIT_RANGE):
        for record in ctx.pd.iter("audit/records", since=stamp(start), until=stamp(end), root_resource_types=list(KINDS)):
            if record["id"] in seen:  # a record on the edge of two ranges
                continue
            seen.add(record["id"])
            resource = record["root_resource"]
            who = ", ".join(actor.get("summary") or actor["id"] for actor in record.get("actors") or ())
            kind = resource["type"].removesuffix("_reference").replace("_", " ")
            group = groups.setdefault((who or record["method"]["type"], kind, resource["id"]), {
                "who": who or record["method"]["type"], "kind": kind, "what": resource.get("summary") or resource["id"],
                "actions": set(), "fields": set(), "changes": 0, "last_change": "",
            })
            group["actions"].add(record["action"])
            group["fields"] |= {field["name"] for field in (record.get("details") or {}).get("fields") or ()}
            group["changes"] += 1
            group["last_change"] = max(group["last_change"], record["execution_time"])
    for group in sorted(groups.values(), key=lambda g: (g["who"], g["kind"], g["what"])):
        actions = ", ".join(action for action in ACTIONS if action in group["actions"])
        yield ctx.row(**group | {"actions": actions, "fields": ", ".join(sorted(group["fields"]))})


@hookimpl
def pdrun_recipes(register):
    register(changes_digest)

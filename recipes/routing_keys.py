"""Report: every integration key and event orchestration route, per service."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runner import Context, hookimpl, recipe


@recipe(columns=["service", "team", "kind", "name", "key", "route"], tags=["inventory"])
def routing_keys(ctx: Context) -> Iterator[Any]:
    """Every integration key and event orchestration route, per service.

    Migrating monitoring, rotating keys or retiring a service starts with
    knowing what sends to it: the Events API keys and email addresses of its
    integrations, and the orchestration rules routing events to it. Services
    come with their integrations in one listing; an orchestration's router is
    read only when it has routes.
    """
    services = {service["id"]: service for service in ctx.pd.iter("services", include=["integrations"])}
    rows = []
    for service in services.values():
        for integration in service.get("integrations") or ():
            kind = integration["type"].removesuffix("_reference").removesuffix("_inbound_integration")
            key = integration.get("integration_key") or integration.get("integration_email") or ""
            rows.append(_row(service, kind=kind, name=integration.get("name") or integration.get("summary"), key=key))
    routed = [orchestration for orchestration in ctx.pd.iter("event_orchestrations") if orchestration.get("routes")]
    routers = ctx.pd.get_each((f"event_orchestrations/{o['id']}/router", {}) for o in routed)
    for orchestration, router in zip(routed, routers, strict=True):
        keys = ", ".join(i["parameters"]["routing_key"] for i in orchestration.get("integrations") or ())
        path = router.get("orchestration_path", router)
        for rule in (rule for rule_set in path.get("sets") or () for rule in rule_set.get("rules") or ()):
            target = (rule.get("actions") or {}).get("route_to")
            conditions = " or ".join(c["expression"] for c in rule.get("conditions") or ()) or "every event"
            service = services.get(target, {"name": target or "(dynamic)"})
            rows.append(_row(service, kind="event_orchestration", name=orchestration["name"], key=keys,
                             route=f"{rule.get('label') or rule.get('id')}: {conditions}"))
    for row in sorted(rows, key=lambda row: (row["service"], row["kind"], row["name"])):
        yield ctx.row(**row)


def _row(service: dict[str, Any], **values: Any) -> dict[str, Any]:
    team = ", ".join(team["summary"] for team in service.get("teams") or ())
    return {"service": service["name"], "team": team, "route": "", **values}


@hookimpl
def pdrun_recipes(register):
    register(routing_keys)

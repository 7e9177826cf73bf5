"""How the incident recipes choose their incidents: by id, by service, by status."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from runner import Context, Param

INCIDENT_STATUSES = ("triggered", "acknowledged", "resolved")
SELECTORS = ("incident", "service", "status")
SELECTION_PARAMS = (
    Param(name="incident", multiple=True, help="An incident ID; repeat for several."),
    Param(name="service", multiple=True, help="Incidents of this service ID; repeat for several."),
    Param(
        name="status",
        multiple=True,
        choices=INCIDENT_STATUSES,
        help="Incidents in this status; repeat for several.",
    ),
)


def select_incidents(ctx: Context) -> Iterator[dict[str, Any]]:
    """Yield the incidents the run's parameters name; filters narrow explicit ids too."""
    ids, services, statuses = (ctx.params[name] for name in SELECTORS)
    if not ids:
        filters: dict[str, Any] = {"date_range": "all"}
        if services:
            filters["service_ids"] = list(services)
        if statuses:
            filters["statuses"] = list(statuses)
        yield from ctx.pd.iter("incidents", **filters)
        return
    for incident_id in dict.fromkeys(ids):
        incident = ctx.pd.get(f"incidents/{incident_id}")
        if services and incident["service"]["id"] not in services:
            continue
        if statuses and incident["status"] not in statuses:
            continue
        yield incident

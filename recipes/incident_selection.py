"""How the incident recipes choose their incidents: by id, or by service, team, status, urgency and age."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from recipes.named import get_named
from runner import PAGERDUTY_ID, Context, Param, parse_iso

INCIDENT_STATUSES = ("triggered", "acknowledged", "resolved")
SELECTORS = ("incident", "service", "team", "status", "urgency", "older_than_hours")
SELECTION_PARAMS = (
    Param(name="incident", multiple=True, pattern=PAGERDUTY_ID, help="An incident ID; repeat for several."),
    Param(name="service", multiple=True, pattern=PAGERDUTY_ID, help="Incidents of this service ID; repeat for several."),
    Param(name="team", multiple=True, pattern=PAGERDUTY_ID, help="Incidents of this team ID; repeat for several."),
    Param(name="status", multiple=True, choices=INCIDENT_STATUSES, help="Incidents in this status; repeatable."),
    Param(name="urgency", multiple=True, choices=("high", "low"), help="Incidents of this urgency; repeatable."),
    Param(name="older_than_hours", type=int, minimum=0, maximum=87_600,
          help="Incidents opened more than this many hours ago."),
)


def select_incidents(ctx: Context, *, among: Iterable[str] = INCIDENT_STATUSES) -> Iterator[dict[str, Any]]:
    """Yield the incidents the run's parameters choose, in a status of `among`.

    Filters narrow explicit ids too. Listings go through PagerDuty's own
    filters; explicit ids are read one by one.
    """
    statuses = [s for s in (ctx.params["status"] or among) if s in among]
    if not statuses:
        return
    cutoff = None
    if ctx.params["older_than_hours"] is not None:
        cutoff = ctx.now - timedelta(hours=ctx.params["older_than_hours"])
    for incident in _candidates(ctx, statuses):
        if _matches(incident, ctx, statuses, cutoff):
            yield incident


def _candidates(ctx: Context, statuses: list[str]) -> Iterator[dict[str, Any]]:
    if ctx.params["incident"]:
        for incident_id in dict.fromkeys(ctx.params["incident"]):
            yield get_named(ctx, "incidents", incident_id)
        return
    filters: dict[str, Any] = {"date_range": "all", "statuses": statuses}
    for param, name in (("service", "service_ids"), ("team", "team_ids"), ("urgency", "urgencies")):
        if ctx.params[param]:
            filters[name] = list(ctx.params[param])
    yield from ctx.pd.iter("incidents", **filters)


def _matches(incident: dict[str, Any], ctx: Context, statuses: list[str], cutoff: datetime | None) -> bool:
    teams = {t["id"] for t in incident.get("teams") or ()}
    return (
        incident["status"] in statuses
        and (not ctx.params["service"] or incident["service"]["id"] in ctx.params["service"])
        and (not ctx.params["team"] or bool(teams.intersection(ctx.params["team"])))
        and (not ctx.params["urgency"] or incident["urgency"] in ctx.params["urgency"])
        and (cutoff is None or parse_iso(incident["created_at"]) < cutoff)
    )

"""Hygiene audits of incidents."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from runner import Context, Finding, Param, hookimpl, parse_iso, recipe


@recipe(
    tags=["hygiene"],
    params=[Param(name="hours", default=24, minimum=1, maximum=87_600, help="Stale when open for longer than this.")],
)
def incidents_stale(ctx: Context) -> Iterator[Finding]:
    """Incidents triggered or acknowledged for longer than a threshold.

    An incident left open for days is either forgotten or no longer an
    incident; either way it hides the ones that are. Only the open incidents
    opened before the threshold are read, however old.
    """
    cutoff = (ctx.now - timedelta(hours=ctx.params["hours"])).isoformat()
    stale = ctx.pd.iter("incidents", statuses=["triggered", "acknowledged"], date_range="all", until=cutoff)
    for incident in stale:
        hours = int((ctx.now - parse_iso(incident["created_at"])).total_seconds() // 3600)
        yield ctx.finding(incident, f"{incident['status']} for {hours} hours")


@hookimpl
def pdrun_recipes(register):
    register(incidents_stale)

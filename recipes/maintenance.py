"""Maintenance windows: create them (weekly too), purge the ones to come, and find services kept quiet too long."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from recipes.listings import services
from recipes.spans import stamp
from runner import PAGERDUTY_ID, Context, Finding, Param, UsageError, hookimpl, parse_iso, parse_moment, recipe

WEEK = timedelta(days=7)
ENDLESS = timedelta(days=365)  # PagerDuty needs an end time: a window set to last a year or more is meant never to end
CHOICE = (
    Param(name="service", multiple=True, pattern=PAGERDUTY_ID, help="A service ID; repeat for several."),
    Param(name="team", multiple=True, pattern=PAGERDUTY_ID, help="Every service of this team ID; repeatable."),
)


def chosen_services(ctx: Context) -> list[str]:
    """Return the ids of the services --service names and those the --team teams own (one listing), each once."""
    owned = [s["id"] for s in ctx.pd.iter("services", team_ids=list(ctx.params["team"]))] if ctx.params["team"] else []
    chosen = list(dict.fromkeys([*ctx.params["service"], *owned]))
    if not chosen:
        raise UsageError(f"the teams {', '.join(ctx.params['team'])} own no service")
    return chosen


def windows_of(ctx: Context, when: str, service_ids: Iterable[str] = ()) -> list[dict[str, Any]]:
    """List the maintenance windows `future` or `open` (under way or to come), of the services if any are given."""
    chosen = {"service_ids": sorted(service_ids)} if service_ids else {}
    return list(ctx.pd.iter("maintenance_windows", filter=when, **chosen))


def _start(params: Mapping[str, Any]) -> None:
    parse_moment(params["start"], "--start")


@recipe(
    writes=["POST /maintenance_windows"],
    tags=["maintenance"],
    params=[
        *CHOICE,
        Param(name="start", required=True, help="When it starts, ISO 8601 (e.g. 2026-12-05T22:00:00Z)."),
        Param(name="hours", type=float, required=True, minimum=0.1, maximum=720, help="How long it lasts, in hours."),
        Param(name="repeat_weeks", default=0, minimum=0, maximum=52, help="Also create it each week after, this many times."),
        Param(name="description", required=True, help="What the maintenance is, as PagerDuty shows it."),
    ],
    one_of=("service", "team"),
    validate=_start,
)
def maintenance_window_create(ctx: Context) -> None:
    """Hold services' new incidents back during planned work, once or every week.

    Planned work that pages the on-call engineer trains them to ignore pages.
    Choose the services by ID or by team; each window holds all of them. A
    window already in PagerDuty for the same services, end and description is
    not created again, so a rerun plans nothing.
    """
    chosen = chosen_services(ctx)
    start, length = parse_moment(ctx.params["start"], "--start"), timedelta(hours=ctx.params["hours"])
    assert start is not None
    if start + length <= ctx.now:
        raise UsageError(f"maintenance-window-create: a window from {stamp(start)} would be over already")
    existing = windows_of(ctx, "open", chosen)
    for week in range(ctx.params["repeat_weeks"] + 1):
        begin = start + week * WEEK
        window = {"type": "maintenance_window", "start_time": stamp(begin), "end_time": stamp(begin + length),
                  "description": ctx.params["description"],
                  "services": [{"id": service, "type": "service_reference"} for service in chosen]}
        if not _among(window, existing):
            ctx.write("POST", "/maintenance_windows", {"maintenance_window": window},
                      already_done=lambda window=window: _among(window, windows_of(ctx, "open", chosen)))


def _among(window: Mapping[str, Any], windows: Iterable[Mapping[str, Any]]) -> bool:
    """Tell whether a window for the same services, end and description is there (a past start becomes now)."""
    services_held = {ref["id"] for ref in window["services"]}
    return any(
        {ref["id"] for ref in other["services"]} == services_held
        and parse_iso(other["end_time"]) == parse_iso(window["end_time"])
        and other.get("description") == window["description"]
        for other in windows
    )


@recipe(
    writes=["DELETE /maintenance_windows/{id}", "PUT /maintenance_windows/{id}"],
    tags=["maintenance"],
    params=CHOICE,
    one_of=("service", "team"),
)
def maintenance_windows_purge(ctx: Context) -> None:
    """Cancel the maintenance windows to come of chosen services.

    When planned work is called off, its windows still silence the services
    when the time comes. A window holding only chosen services is deleted; one
    holding others too keeps them and lets the chosen ones go. Windows under
    way or over are left alone.
    """
    chosen = set(chosen_services(ctx))
    for window in windows_of(ctx, "future", chosen):
        kept = [ref["id"] for ref in window["services"] if ref["id"] not in chosen]
        path = f"/maintenance_windows/{window['id']}"

        def purged(window_id: str = window["id"]) -> bool:
            return all(other["id"] != window_id for other in windows_of(ctx, "future", chosen))

        if kept:
            body = {"type": "maintenance_window", "start_time": window["start_time"], "end_time": window["end_time"],
                    "services": [{"id": service, "type": "service_reference"} for service in kept]}
            ctx.write("PUT", path, {"maintenance_window": body}, already_done=purged)
        else:
            ctx.write("DELETE", path, already_done=purged)


@recipe(
    tags=["hygiene"],
    params=[Param(name="hours", default=24, minimum=1, maximum=87_600, help="Too long once in maintenance this long.")],
)
def maintenance_windows_long(ctx: Context) -> Iterator[Finding]:
    """Services in maintenance for longer than a threshold, and windows that never end.

    A service in maintenance opens no incident: a window left running after
    the work is done, or set to end years from now, silences a service that
    may be failing. One listing of the windows under way or to come
    carries what it needs.
    """
    held_since: dict[str, datetime] = {}
    for window in windows_of(ctx, "open"):
        start, end = parse_iso(window["start_time"]), parse_iso(window["end_time"])
        if end - start >= ENDLESS:
            names = ", ".join(ref.get("summary") or ref["id"] for ref in window["services"])
            yield ctx.finding(window, f"set to last {(end - start).days} days, until {end:%Y-%m-%d}: its services"
                              f" ({names}) never page")
        if start <= ctx.now:
            for ref in window["services"]:
                held_since[ref["id"]] = min(start, held_since.get(ref["id"], start))
    cutoff = ctx.now - timedelta(hours=ctx.params["hours"])
    long_held = {service: since for service, since in held_since.items() if since < cutoff}
    if long_held:
        by_id = {service["id"]: service for service in services(ctx)}
        for service, since in long_held.items():
            hours = int((ctx.now - since).total_seconds() // 3600)
            shown = by_id.get(service, {"id": service, "type": "service"})
            yield ctx.finding(shown, f"in maintenance for {hours} hours, since {stamp(since)}")


@hookimpl
def pdrun_recipes(register):
    register(maintenance_window_create)
    register(maintenance_windows_purge)
    register(maintenance_windows_long)

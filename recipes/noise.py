"""Hygiene audit of services' noise settings, each compared with the other services of its team."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from recipes.listings import services
from runner import Context, Finding, hookimpl, recipe

Service = dict[str, Any]
# (what is missing, whether a service has the setting)
SETTINGS: tuple[tuple[str, Callable[[Service], bool]], ...] = (
    ("alert grouping off", lambda s: (s.get("alert_grouping_parameters") or {}).get("type") is not None),
    ("auto-pause off", lambda s: bool((s.get("auto_pause_notifications_parameters") or {}).get("enabled"))),
    ("no acknowledgement timeout", lambda s: bool(s.get("acknowledgement_timeout"))),
    ("no auto-resolve", lambda s: bool(s.get("auto_resolve_timeout"))),
)


@recipe(tags=["hygiene"])
def services_noise_settings(ctx: Context) -> Iterator[Finding]:
    """Services without alert grouping, auto-pause, an acknowledgement timeout or auto-resolve that their team uses.

    When a team groups alerts or pauses transient ones on its other services,
    the one service that does not pages once per alert, at 3 a.m., for
    blips; without the timeouts, acknowledged incidents are forgotten and
    stale ones pile up. Each setting is held to the team's own practice: a
    service is reported only where another service of its team has the
    setting. The settings come with the services listing.
    """
    active = [service for service in services(ctx) if service.get("status") != "disabled"]
    by_team: dict[str, list[Service]] = {}
    for service in active:
        for team in service.get("teams") or ():
            by_team.setdefault(team["id"], []).append(service)
    for service in active:
        peers = {p["id"]: p for team in service.get("teams") or () for p in by_team[team["id"]] if p["id"] != service["id"]}
        missing = [
            f"{label} ({sum(map(has, peers.values()))} of its team's {len(peers)} other services have it)"
            for label, has in SETTINGS
            if not has(service) and any(map(has, peers.values()))
        ]
        if missing:
            yield ctx.finding(service, "; ".join(missing), severity="info")


@hookimpl
def pdrun_recipes(register):
    register(services_noise_settings)

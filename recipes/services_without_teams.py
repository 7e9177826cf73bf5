"""Audit: services that no team owns."""

from __future__ import annotations

from collections.abc import Iterator

from runner import Context, Finding, hookimpl, recipe


@recipe(tags=["hygiene"])
def services_without_teams(ctx: Context) -> Iterator[Finding]:
    """Services that no team owns.

    A service with no owning team has nobody accountable for its alerts, its
    escalation policy or its runbook, and it drops out of every team's
    reports. Each such service is one finding.
    """
    for service in ctx.pd.iter("services"):
        if not service.get("teams"):
            yield ctx.finding(service, "no team owns this service")


@hookimpl
def pdrun_recipes(register):
    register(services_without_teams)

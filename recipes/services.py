"""Hygiene audits of services."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from recipes.listings import services
from runner import Context, Finding, Param, hookimpl, parse_iso, recipe

STANDARDS_PER_REQUEST = 100  # PagerDuty's cap on `ids[]` for standards scores


@recipe(tags=["hygiene"])
def services_without_teams(ctx: Context) -> Iterator[Finding]:
    """Services that no team owns.

    A service with no owning team has nobody accountable for its alerts, its
    escalation policy or its runbook, and it drops out of every team's
    reports. Each such service is one finding.
    """
    for service in services(ctx):
        if not service.get("teams"):
            yield ctx.finding(service, "no team owns this service")


@recipe(tags=["hygiene"])
def services_without_integrations(ctx: Context) -> Iterator[Finding]:
    """Services with no integration, which therefore cannot receive alerts.

    Without an integration (Events API key, email, a monitoring tool) nothing
    can open an incident on the service: it looks covered and pages no one.
    """
    for service in services(ctx):
        if not service.get("integrations"):
            yield ctx.finding(service, "no integration: nothing can alert this service")


@recipe(
    tags=["hygiene"],
    params=[Param(name="days", default=30, minimum=1, maximum=3650, help="Inactive when the last incident is older than this.")],
)
def services_inactive(ctx: Context) -> Iterator[Finding]:
    """Services that have had no incident for a long time.

    A service that never alerts is either retired, or watched by nothing that
    works. Either way it deserves a look. Disabled services are left to
    services-disabled.
    """
    cutoff = ctx.now - timedelta(days=ctx.params["days"])
    for service in services(ctx):
        if service.get("status") == "disabled":
            continue
        last = service.get("last_incident_timestamp")
        if last is None:
            yield ctx.finding(service, "never had an incident", severity="info")
        elif parse_iso(last) < cutoff:
            yield ctx.finding(service, f"no incident since {last[:10]}", severity="info")


@recipe(tags=["hygiene"])
def services_disabled(ctx: Context) -> Iterator[Finding]:
    """Services that are disabled.

    A disabled service drops every alert sent to it. That is right during a
    migration and wrong forever: each one should be re-enabled or deleted.
    """
    for service in services(ctx):
        if service.get("status") == "disabled":
            yield ctx.finding(service, "disabled: its alerts are dropped", severity="info")


@recipe(
    tags=["hygiene"],
    params=[
        Param(name="min_score", default=0.8, minimum=0, maximum=1, help="Lowest acceptable share of standards passed (0-1).")
    ],
)
def service_standards(ctx: Context) -> Iterator[Finding]:
    """Services below a score on PagerDuty's Service Standards.

    Service Standards check what makes a service operable (a description, an
    owning team, an escalation policy that reaches a schedule…). A low score
    predicts a confused response when the service pages.
    """
    by_id: dict[str, dict[str, Any]] = {}

    def batches() -> Iterator[tuple[str, dict[str, Any]]]:
        """Ask for scores 100 services at a time, as the services listing arrives."""
        batch: list[str] = []
        for service in services(ctx):
            by_id[service["id"]] = service
            batch.append(service["id"])
            if len(batch) == STANDARDS_PER_REQUEST:
                yield scores_of(batch)
                batch = []
        if batch:
            yield scores_of(batch)

    for scores in ctx.pd.get_each(batches()):
        for resource in scores["resources"] if isinstance(scores, dict) else scores:
            passing, total = resource["score"]["passing"], resource["score"]["total"]
            if total and passing / total < ctx.params["min_score"]:
                failed = [s["name"] for s in resource.get("standards", ()) if s.get("active") and not s.get("pass")]
                yield ctx.finding(
                    by_id[resource["resource_id"]],
                    f"passes {passing} of {total} standards; fails: {'; '.join(failed)}",
                )


def scores_of(ids: list[str]) -> tuple[str, dict[str, Any]]:
    """Return the read of these services' standards scores."""
    # A tuple is sent as `ids=a&ids=b`, as the spec asks; a list would become `ids[]`.
    return "standards/scores/technical_services", {"ids": tuple(ids)}


@hookimpl
def pdrun_recipes(register):
    for audit in (
        services_without_teams,
        services_without_integrations,
        services_inactive,
        services_disabled,
        service_standards,
    ):
        register(audit)

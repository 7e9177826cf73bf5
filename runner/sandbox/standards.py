"""Service standards: the checks the sandbox scores technical services on, and their endpoints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from runner.sandbox.account import Account
from runner.sandbox.api import Request, Result, invalid_input, not_found
from runner.sandbox.objects import Obj, object_id

MAX_SCORED = 100


@dataclass(frozen=True)
class Standard:
    """One standard a technical service passes or fails."""

    type: str
    name: str
    description: str
    check: Callable[[Account, Obj], bool]

    def summary(self, number: int) -> Obj:
        """Return the standard as a score lists it (without its result)."""
        return {
            "id": object_id("standard", number),
            "type": self.type,
            "name": self.name,
            "description": self.description,
            "active": True,
        }

    def as_served(self, number: int) -> Obj:
        """Return the standard as GET /standards serves it."""
        return self.summary(number) | {"resource_type": "technical_service", "exclusions": [], "inclusions": []}


def _rules(account: Account, service: Obj) -> list[Obj]:
    return account.escalation_policies[service["escalation_policy"]["id"]]["escalation_rules"]


STANDARDS = (
    Standard(
        "has_description",
        "Service has a description",
        "Responders see what the service does and who depends on it.",
        lambda account, service: bool(service["description"].strip()),
    ),
    Standard(
        "has_owner",
        "Service is owned by a team",
        "A team is accountable for the service.",
        lambda account, service: bool(service["teams"]),
    ),
    Standard(
        "has_integration",
        "Service has an integration",
        "Alerts reach the service from monitoring.",
        lambda account, service: bool(service["integrations"]),
    ),
    Standard(
        "escalation_has_levels",
        "Escalation policy has more than one level",
        "An unacknowledged incident escalates to someone else.",
        lambda account, service: len(_rules(account, service)) > 1,
    ),
    Standard(
        "escalation_uses_schedule",
        "Escalation policy notifies an on-call schedule",
        "Incidents reach whoever is on call, not a fixed person.",
        lambda account, service: any(
            target["type"] == "schedule_reference" for rule in _rules(account, service) for target in rule["targets"]
        ),
    ),
)


def list_standards(account: Account, request: Request) -> Result:
    """List the standards services are scored on."""
    if request.value("active") == "false":
        return 200, {"standards": []}
    return 200, {"standards": [standard.as_served(n) for n, standard in enumerate(STANDARDS, 1)]}


def list_scores(account: Account, request: Request) -> Result:
    """Score technical services (`ids`, at most 100) on each standard."""
    if request.params["resource_type"] != "technical_services":
        raise not_found()
    wanted = request.values("ids") or request.values("ids[]")
    if not wanted or len(wanted) > MAX_SCORED:
        raise invalid_input(f"Give between 1 and {MAX_SCORED} ids.")
    services = [account.services[id_] for id_ in dict.fromkeys(wanted) if id_ in account.services]
    return 200, {"resources": [score(account, service) for service in services]}


def score(account: Account, service: Obj) -> Obj:
    """Return how `service` fares on each standard, as the scores endpoint serves it."""
    results = [
        standard.summary(n) | {"pass": standard.check(account, service)} for n, standard in enumerate(STANDARDS, 1)
    ]
    return {
        "resource_id": service["id"],
        "resource_type": "technical_service",
        "score": {"passing": sum(result["pass"] for result in results), "total": len(results)},
        "standards": results,
    }

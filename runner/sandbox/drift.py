"""A day of change on an account: hygiene problems fixed, new ones made, incidents opened and dealt with.

`drift(account, rng, progress=...)` makes one day's changes at the account's
current time, the same for the same random generator. Fixes grow more likely
as `progress` goes from 0 to 1 (a team working its debt down) while new
problems keep coming; the HTML report's demo replays a month of it on the
demo account. Only the account's own methods are used, so every change is
one PagerDuty could have made.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from runner.sandbox.account import Account
from runner.sandbox.objects import Obj

NEW_SERVICES = ("Search v2", "Recommendations", "Feature Flags", "Image Resizer", "Webhooks Out", "Inventory Sync",
                "Geo Lookup", "Audit Log", "Tax Service", "Loyalty Points", "Chat Support", "Export Jobs")
NEW_TEAMS = ("Growth", "Identity", "Observability", "Partners")
INCIDENTS = ("Latency above SLO", "Error rate spike", "Queue backlog growing", "Disk almost full",
             "Certificate expiring", "Health check failing")


def drift(account: Account, rng: random.Random, *, progress: float) -> None:
    """Make one day's changes: a fix or two (more as `progress` nears 1), maybe a new problem, and incidents."""
    for _ in range(2):
        if rng.random() < 0.25 + 0.55 * progress:
            _first_that_works(account, rng, FIXES)
    if rng.random() < 0.5 - 0.25 * progress:
        _first_that_works(account, rng, PROBLEMS)
    _incidents(account, rng, progress)


def _first_that_works(account: Account, rng: random.Random, changes: tuple[Change, ...]) -> None:
    for change in rng.sample(changes, len(changes)):
        if change(account, rng):
            return


def _owned_teams(account: Account) -> list[Obj]:
    return [team for team in account.teams.values() if account.team_members[team["id"]]]


def _team_policy(account: Account, team: Obj) -> Obj | None:
    return next((p for p in account.escalation_policies.values()
                 if any(t["id"] == team["id"] for t in p["teams"]) and len(p["escalation_rules"]) > 1), None)


# Fixes: each mends one problem an audit reports, if there is one, and says whether it did.

def _own_a_service(account: Account, rng: random.Random) -> bool:
    teamless = [s for s in account.services.values() if not s["teams"]]
    if not teamless:
        return False
    account.update_service(rng.choice(teamless), {"teams": [rng.choice(_owned_teams(account))], "status": "active"})
    return True


def _integrate_a_service(account: Account, rng: random.Random) -> bool:
    silent = [s for s in account.services.values() if not s["integrations"]]
    if silent:
        account.add_integration(rng.choice(silent))
    return bool(silent)


def _reach_a_user(account: Account, rng: random.Random) -> bool:
    unreachable = [u for u in account.users.values()
                   if not {account.contact_methods[c["id"]]["type"] for c in u["contact_methods"]}
                   & {"phone_contact_method", "push_notification_contact_method", "sms_contact_method"}
                   or not any(account.notification_rules[r["id"]]["urgency"] == "high" for r in u["notification_rules"])]
    if not unreachable:
        return False
    user = rng.choice(unreachable)
    account.add_notification_rule(user, account.add_contact_method(user, "phone"), urgency="high")
    return True


def _staff_a_team(account: Account, rng: random.Random) -> bool:
    empty = [t for t in account.teams.values() if not account.team_members[t["id"]]]
    loners = [u for u in account.users.values() if not u["teams"]]
    if not empty and not loners:
        return False
    if empty:
        account.add_team_member(rng.choice(empty), rng.choice(list(account.users.values())))
    else:
        account.add_team_member(rng.choice(_owned_teams(account)), rng.choice(loners))
    return True


def _use_a_policy(account: Account, rng: random.Random) -> bool:
    unused = [p for p in account.escalation_policies.values() if not p["services"] and p["teams"]]
    if not unused:
        return False
    policy = rng.choice(unused)
    account.add_service(_new_name(account, rng, NEW_SERVICES), escalation_policy=policy, teams=policy["teams"])
    return True


def _resolve_stale_incidents(account: Account, rng: random.Random) -> bool:
    stale = [i for i in account.incidents.values() if i["status"] == "acknowledged"]
    for incident in rng.sample(stale, min(len(stale), 2)):
        account.set_incident_status(incident, "resolved", by=incident["service"])
    return bool(stale)


# New problems: each makes one kind of problem an audit reports.

def _unowned_service(account: Account, rng: random.Random) -> bool:
    policy = next((p for p in account.escalation_policies.values() if not p["teams"]), None)
    if policy:
        account.add_service(_new_name(account, rng, NEW_SERVICES), escalation_policy=policy)
    return policy is not None


def _service_without_integration(account: Account, rng: random.Random) -> bool:
    team = rng.choice(_owned_teams(account))
    policy = _team_policy(account, team)
    if policy:
        account.add_service(_new_name(account, rng, NEW_SERVICES), escalation_policy=policy, teams=[team],
                            integrations=())
    return policy is not None


def _unreachable_user(account: Account, rng: random.Random) -> bool:
    user = rng.choice([u for u in account.users.values() if u["teams"]])
    paging = [c for c in user["contact_methods"] if c["type"] != "email_contact_method_reference"]
    for method in paging:
        account.delete_contact_method(user, method["id"])
    return bool(paging)


def _empty_team(account: Account, rng: random.Random) -> bool:
    account.add_team(_new_name(account, rng, NEW_TEAMS))
    return True


Change = Callable[[Account, random.Random], bool]
FIXES: tuple[Change, ...] = (_own_a_service, _integrate_a_service, _reach_a_user, _staff_a_team, _use_a_policy,
                             _resolve_stale_incidents)
PROBLEMS: tuple[Change, ...] = (_unowned_service, _service_without_integration, _unreachable_user, _empty_team)


def _incidents(account: Account, rng: random.Random, progress: float) -> None:
    """Open a few incidents; acknowledge or resolve those of earlier days, leaving some acknowledged to go stale."""
    for incident in [i for i in account.incidents.values() if i["status"] != "resolved"]:
        if incident["status"] == "triggered" and rng.random() < 0.3:
            account.set_incident_status(incident, "acknowledged", by=incident["service"])
        elif incident["status"] == "triggered" or rng.random() < 0.2 + 0.6 * progress:
            account.set_incident_status(incident, "resolved", by=incident["service"])
    services = [s for s in account.services.values() if s["status"] != "disabled"]
    for _ in range(rng.randint(1, 3)):
        account.add_incident(rng.choice(INCIDENTS), service=rng.choice(services),
                             created_at=account.now - timedelta(minutes=rng.randint(5, 600)))


def _new_name(account: Account, rng: random.Random, names: tuple[str, ...]) -> str:
    taken = {s["name"] for s in account.services.values()} | {t["name"] for t in account.teams.values()}
    free = [name for name in names if name not in taken]
    if free:
        return rng.choice(free)
    return f"{rng.choice(names)} {len(taken)}"

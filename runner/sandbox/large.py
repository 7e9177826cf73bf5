"""The large profile: an account the size of a big company's, generated in seconds, the same for a seed.

10,000 services, 2,000 teams, 5,000 users, 1,000 escalation policies, 500
schedules and 50,000 incidents opened over the last 90 days, with a few
percent of every hygiene problem the demo plants.
"""

from __future__ import annotations

import contextlib
import gc
import random
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

from runner.sandbox.account import Account
from runner.sandbox.builder import SETUP_AGE
from runner.sandbox.clock import Ticks, stopped, wall_time
from runner.sandbox.objects import DEFAULT_SUBDOMAIN, Obj
from runner.sandbox.people import PAGING_CONTACT_METHODS

SIZES = {
    "teams": 2_000,
    "users": 5_000,
    "schedules": 500,
    "escalation_policies": 1_000,
    "services": 10_000,
    "incidents": 50_000,
}
HISTORY = timedelta(days=90)
FIRST_NAMES = ("Alex", "Sam", "Priya", "Jordan", "Maria", "Ben", "Aisha", "Lucas", "Hana", "Omar", "Elena", "Grace")
LAST_NAMES = ("Morgan", "Shah", "Lee", "Garcia", "Carter", "Bello", "Martin", "Sato", "Haddad", "Chen", "Novak", "Kim")
AREAS = ("Payments", "Search", "Identity", "Checkout", "Data", "Mobile", "Edge", "Billing", "Messaging", "Storage")
SYSTEMS = ("API", "Worker", "Database", "Cache", "Queue", "Gateway", "Scheduler", "Frontend", "Pipeline", "Index")


def large_account(
    *,
    seed: int = 0,
    now: datetime | None = None,
    sizes: dict[str, int] | None = None,
    clock: Ticks = time.monotonic,
    subdomain: str = DEFAULT_SUBDOMAIN,
) -> Account:
    """Generate the large account (or one of other `sizes`) as it stands at `now`, the same for a `seed`.

    Its clock then moves on as `clock` ticks. The built objects are moved out
    of the garbage collector's sight (`gc.freeze`): they live as long as the
    process, and a collection scanning their million dicts would stall the
    first request that allocates.
    """
    with _collector_paused():
        account = _generate(seed, now or wall_time(), SIZES | (sizes or {}), subdomain)
        gc.freeze()
    account.restart_clock(account.now, clock)
    return account


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector, which the build's million small dicts keep waking for nothing."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _generate(seed: int, now: datetime, sizes: dict[str, int], subdomain: str) -> Account:
    rng = random.Random(seed)
    account = Account(now=now - SETUP_AGE, clock=stopped, subdomain=subdomain)
    teams = [account.add_team(f"{AREAS[i % len(AREAS)]} {i + 1:04d}") for i in range(sizes["teams"])]
    users = _users(account, rng, teams, sizes["users"])
    members: dict[str, list[Obj]] = {team["id"]: [] for team in teams}
    for user in users:
        for ref in user["teams"]:
            members[ref["id"]].append(user)
    schedules = [_schedule(account, rng, i, teams, members, users) for i in range(sizes["schedules"])]
    policies = [_policy(account, rng, i, teams, members, users, schedules) for i in range(sizes["escalation_policies"])]
    services = [_service(account, rng, i, policies) for i in range(sizes["services"])]
    account.now = now
    _incidents(account, rng, services, sizes["incidents"], now)
    return account


def _users(account: Account, rng: random.Random, teams: list[Obj], count: int) -> list[Obj]:
    users = []
    for i in range(count):
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        home, second = teams[i % len(teams)], rng.choice(teams) if rng.random() < 0.1 else None
        on = [] if rng.random() < 0.01 else [home, *([second] if second else [])]
        reachable = rng.random() >= 0.03
        users.append(
            account.add_user(
                name,
                f"{name.lower().replace(' ', '.')}.{i + 1}@example.com",
                teams=list({team["id"]: team for team in on}.values()),
                role="admin" if i == 0 else "user",
                contact_methods=PAGING_CONTACT_METHODS if reachable else ("email",),
            )
        )
    return users


def _schedule(
    account: Account, rng: random.Random, i: int, teams: list[Obj], members: dict[str, list[Obj]], users: list[Obj]
) -> Obj:
    team = teams[(i * 4) % len(teams)]
    rotation = members[team["id"]] or [rng.choice(users)]
    restrictions = (
        [{"type": "daily_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 8 * 3600}]
        if rng.random() < 0.05
        else []
    )
    return account.add_schedule(f"{team['name']} On-Call", users=rotation, teams=[team], restrictions=restrictions)


def _policy(
    account: Account,
    rng: random.Random,
    i: int,
    teams: list[Obj],
    members: dict[str, list[Obj]],
    users: list[Obj],
    schedules: list[Obj],
) -> Obj:
    team = teams[(i * 2) % len(teams)]
    policy = account.add_escalation_policy(f"{team['name']} Escalation {i + 1}", teams=[team])
    account.add_escalation_rule(policy, [schedules[i % len(schedules)]])
    if rng.random() >= 0.05:
        backups = members[team["id"]][:2] or rng.sample(users, 2)
        account.add_escalation_rule(policy, backups if len(backups) > 1 else [*backups, rng.choice(users)])
    return policy


def _service(account: Account, rng: random.Random, i: int, policies: list[Obj]) -> Obj:
    policy = policies[i % len(policies)]
    return account.add_service(
        f"{AREAS[i % len(AREAS)]} {SYSTEMS[(i // len(AREAS)) % len(SYSTEMS)]} {i + 1:05d}",
        escalation_policy=policy,
        teams=[] if rng.random() < 0.05 else [ref["id"] for ref in policy["teams"]],
        status="disabled" if rng.random() < 0.02 else "active",
        description="" if rng.random() < 0.1 else "Generated for the large profile.",
        integrations=() if rng.random() < 0.05 else ("events_api_v2",),
    )


def _incidents(account: Account, rng: random.Random, services: list[Obj], count: int, now: datetime) -> None:
    """Open `count` incidents at random times over the last 90 days, oldest first, mostly resolved."""
    active = [service for service in services if service["status"] != "disabled"]
    ages = sorted((HISTORY * rng.random() for _ in range(count)), reverse=True)
    for age in ages:
        if age > timedelta(days=2):
            status = "resolved" if rng.random() < 0.98 else "acknowledged"
        else:
            status = rng.choice(("triggered", "acknowledged", "resolved"))
        account.add_incident(
            "Alert on " + rng.choice(SYSTEMS).lower(),
            service=rng.choice(active),
            status=status,
            urgency="high" if rng.random() < 0.8 else "low",
            created_at=now - age,
        )

"""The demo account plants one or more cases of every hygiene problem pdrun audits, and nothing else.

Each audit is written here from its definition, against the API as a recipe
sees it, independently of how the demo derives `DEMO_PLANTED` from its tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone

import httpx2
import pytest
from demo_expectations import DEMO_PLANTED

from docs import sandbox_doc
from runner.sandbox import (
    SANDBOX_BASE_URL,
    SANDBOX_TOKEN,
    SandboxApp,
    demo_account,
)
from runner.sandbox.demo import DEMO_TEAMLESS_SERVICES

NOW = datetime(2024, 5, 6, 12, tzinfo=timezone.utc)
PAGING_METHODS = {"phone_contact_method", "sms_contact_method", "push_notification_contact_method"}
MIN_STANDARDS_SCORE = 0.8


def every(client: httpx2.Client, path: str, wrapper: str, **params) -> Iterator[dict]:
    """Yield every object of a classic-paginated listing."""
    offset = 0
    while True:
        page = client.get(path, params={**params, "limit": 100, "offset": offset}).json()
        yield from page[wrapper]
        if not page["more"]:
            return
        offset += len(page[wrapper])


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def services_without_teams(client, now):
    return {s["name"] for s in every(client, "/services", "services") if not s["teams"]}


def services_without_integrations(client, now):
    return {s["name"] for s in every(client, "/services", "services") if not s["integrations"]}


def services_inactive(client, now, days=30):
    cutoff = iso(now - timedelta(days=days))
    return {
        s["name"]
        for s in every(client, "/services", "services")
        if s["status"] != "disabled" and (s["last_incident_timestamp"] is None or s["last_incident_timestamp"] < cutoff)
    }


def services_disabled(client, now):
    return {s["name"] for s in every(client, "/services", "services") if s["status"] == "disabled"}


def escalation_policies_unused(client, now):
    return {p["name"] for p in every(client, "/escalation_policies", "escalation_policies") if not p["services"]}


def escalation_policies_single_level(client, now):
    def single(rule: dict) -> bool:
        return [t["type"] for t in rule["targets"]] == ["user_reference"]

    policies = every(client, "/escalation_policies", "escalation_policies")
    return {p["name"] for p in policies if len(p["escalation_rules"]) == 1 or any(map(single, p["escalation_rules"]))}


def schedules_with_gaps(client, now, days=14):
    window = {"since": iso(now), "until": iso(now + timedelta(days=days))}
    found = set()
    for listed in every(client, "/schedules", "schedules"):
        schedule = client.get(f"/schedules/{listed['id']}", params=window).json()["schedule"]
        if schedule["final_schedule"]["rendered_coverage_percentage"] < 100:
            found.add(schedule["name"])
    return found


def schedules_unused(client, now):
    return {s["name"] for s in every(client, "/schedules", "schedules") if not s["escalation_policies"]}


def users_without_contact_methods(client, now):
    params = {"include[]": ["contact_methods", "notification_rules"]}
    return {
        u["name"]
        for u in every(client, "/users", "users", **params)
        if not PAGING_METHODS & {m["type"] for m in u["contact_methods"]}
        or not {"high", "any"} & {r["urgency"] for r in u["notification_rules"]}
    }


def users_orphaned(client, now):
    scheduled = {u["id"] for s in every(client, "/schedules", "schedules") for u in s["users"]}
    targeted = {
        t["id"]
        for p in every(client, "/escalation_policies", "escalation_policies")
        for rule in p["escalation_rules"]
        for t in rule["targets"]
        if t["type"] == "user_reference"
    }
    users = every(client, "/users", "users")
    return {u["name"] for u in users if not u["teams"] and u["id"] not in scheduled | targeted}


def teams_without_members(client, now):
    staffed = {t["id"] for u in every(client, "/users", "users") for t in u["teams"]}
    return {t["name"] for t in every(client, "/teams", "teams") if t["id"] not in staffed}


def incidents_stale(client, now, hours=24):
    cutoff = iso(now - timedelta(hours=hours))
    params = {"statuses[]": ["triggered", "acknowledged"], "date_range": "all"}
    return {i["title"] for i in every(client, "/incidents", "incidents", **params) if i["created_at"] < cutoff}


def service_standards(client, now):
    services = {s["id"]: s["name"] for s in every(client, "/services", "services")}
    ids = list(services)
    found = set()
    for start in range(0, len(ids), 100):
        scores = client.get("/standards/scores/technical_services", params={"ids": ids[start : start + 100]}).json()
        for resource in scores["resources"]:
            score = resource["score"]
            if score["passing"] / score["total"] < MIN_STANDARDS_SCORE:
                found.add(services[resource["resource_id"]])
    return found


def users_invitation_pending(client, now, days=7):
    invited = {u["id"]: u["name"] for u in every(client, "/users", "users") if u["invitation_sent"]}
    allocations = every(client, "/license_allocations", "license_allocations")
    cutoff = iso(now - timedelta(days=days))
    return {invited[a["user"]["id"]] for a in allocations if a["user"]["id"] in invited and a["allocated_at"] < cutoff}


def licenses_unused(client, now, days=30):
    full = {a["user"]["id"] for a in every(client, "/license_allocations", "license_allocations")
            if a["license"]["role_group"] == "FullUser"}
    scheduled = {u["id"] for s in every(client, "/schedules", "schedules") for u in s["users"]}
    targeted = {t["id"] for p in every(client, "/escalation_policies", "escalation_policies")
                for rule in p["escalation_rules"] for t in rule["targets"] if t["type"] == "user_reference"}
    window = {"since": iso(now - timedelta(days=days)), "until": iso(now)}
    responded = {e["agent"]["id"] for e in every(client, "/log_entries", "log_entries", **window)
                 if e["type"] in ("acknowledge_log_entry", "resolve_log_entry")}
    idle = full - scheduled - targeted - responded
    return {u["name"] for u in every(client, "/users", "users") if u["id"] in idle and u["role"] != "owner"}


def webhooks_disabled(client, now):
    subscriptions = every(client, "/webhook_subscriptions", "webhook_subscriptions")
    hooks = {h["description"] or h["delivery_method"]["url"] for h in subscriptions
             if not h["active"] or h["delivery_method"]["temporarily_disabled"]}
    return hooks | {e["name"] for e in every(client, "/extensions", "extensions") if e["temporarily_disabled"]}


def maintenance_windows_long(client, now, hours=24):
    found = set()
    for window in every(client, "/maintenance_windows", "maintenance_windows", filter="open"):
        start, end = (datetime.fromisoformat(window[key].replace("Z", "+00:00")) for key in ("start_time", "end_time"))
        if end - start >= timedelta(days=365):
            found.add(window["description"])
        if start < now - timedelta(hours=hours):
            found |= {s["summary"] for s in window["services"]}
    return found


def services_noise_settings(client, now):
    def settings(s: dict) -> set[str]:
        on = {"grouping": s["alert_grouping_parameters"]["type"], "pause": s["auto_pause_notifications_parameters"]["enabled"],
              "ack": s["acknowledgement_timeout"], "resolve": s["auto_resolve_timeout"]}
        return {key for key, value in on.items() if value}

    def peers(s: dict, p: dict) -> bool:
        return p is not s and bool({t["id"] for t in p["teams"]} & {t["id"] for t in s["teams"]})

    active = [s for s in every(client, "/services", "services") if s["status"] != "disabled"]
    return {s["name"] for s in active if any(settings(p) - settings(s) for p in active if peers(s, p))}


def schedules_overrides_heavy(client, now, days=14, share=0.5):
    window = {"since": iso(now), "until": iso(now + timedelta(days=days))}
    return {s["name"] for s in every(client, "/schedules", "schedules", **window)
            if s["overrides_subschedule"]["rendered_coverage_percentage"] > 100 * share}


def users_weak_notification_rules(client, now, minutes=1):
    found = set()
    for user in every(client, "/users", "users", **{"include[]": ["notification_rules"]}):
        delays = [r["start_delay_in_minutes"] for r in user["notification_rules"] if r["urgency"] == "high"]
        if len(delays) == 1 or delays and max(delays) < minutes:
            found.add(user["name"])
    return found


AUDITS: dict[str, Callable[[httpx2.Client, datetime], set[str]]] = {
    audit.__name__.replace("_", "-"): audit
    for audit in (
        services_without_teams,
        services_without_integrations,
        services_inactive,
        services_disabled,
        escalation_policies_unused,
        escalation_policies_single_level,
        schedules_with_gaps,
        schedules_unused,
        users_without_contact_methods,
        users_orphaned,
        teams_without_members,
        incidents_stale,
        service_standards,
        users_invitation_pending,
        licenses_unused,
        webhooks_disabled,
        maintenance_windows_long,
        services_noise_settings,
        schedules_overrides_heavy,
        users_weak_notification_rules,
    )
}


@pytest.fixture(scope="module")
def client():
    app = SandboxApp(demo_account(now=NOW))
    headers = {"Authorization": f"Token token={SANDBOX_TOKEN}"}
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL, headers=headers) as client:
        yield client


def test_every_audit_has_planted_cases():
    assert set(AUDITS) == set(DEMO_PLANTED)
    assert all(DEMO_PLANTED.values())


# A recipe reads its clock later than the account's hour: the planted set must hold all hour long.
@pytest.mark.parametrize("late", [timedelta(0), timedelta(minutes=59)], ids=["on the hour", "59 minutes later"])
@pytest.mark.parametrize("audit", sorted(AUDITS))
def test_each_audit_finds_exactly_the_planted_cases(client, audit, late):
    assert AUDITS[audit](client, NOW + late) == DEMO_PLANTED[audit]


def test_teamless_services_are_the_planted_ones():
    assert DEMO_PLANTED["services-without-teams"] == set(DEMO_TEAMLESS_SERVICES)


def test_the_docs_list_the_planted_cases():
    table = [line for line in sandbox_doc().splitlines() if line.startswith("  | ")]
    rows = {line.split("|")[1].split("(")[0].strip(): line for line in table}
    for audit, names in DEMO_PLANTED.items():
        if audit != "incidents-stale":
            assert all(name in rows[audit] for name in names), audit

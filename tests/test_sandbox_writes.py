"""Writes show up in every related read; the clock moves on; notifications are logged; unknown methods are 405."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx2
import pytest
from spec import check_exchanges

from runner.sandbox import SANDBOX_BASE_URL, SANDBOX_TOKEN, Account, SandboxApp, demo_account
from runner.sandbox.clock import stopped
from runner.sandbox.demo import DEMO_FROM_EMAIL, DEMO_INCIDENT_ID, DEMO_ROUTING_KEY

NOW = datetime(2024, 5, 6, 12, tzinfo=timezone.utc)
HEADERS = {"Authorization": f"Token token={SANDBOX_TOKEN}", "From": DEMO_FROM_EMAIL}


class Ticks:
    """A tick source (seconds) that moves only when told to."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def account() -> Account:
    return demo_account(now=NOW, clock=stopped)


@pytest.fixture
def app(account):
    app = SandboxApp(account)
    yield app
    check_exchanges(app.exchanges)


@pytest.fixture
def client(app):
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL, headers=HEADERS) as client:
        yield client


def named(account: Account, collection: str, name: str) -> dict:
    return next(obj for obj in getattr(account, collection).values() if obj["name"] == name)


def test_a_removed_team_member_leaves_the_members_and_the_users_teams(client, account):
    payments = named(account, "teams", "Payments")
    ben = account.user_by_email("ben.carter@example.com")
    assert client.delete(f"/teams/{payments['id']}/users/{ben['id']}").status_code == 204
    members = client.get(f"/teams/{payments['id']}/members").json()["members"]
    assert ben["id"] not in {m["user"]["id"] for m in members} and len(members) == 3
    assert client.get(f"/users/{ben['id']}").json()["user"]["teams"] == []
    assert client.delete(f"/teams/{payments['id']}/users/{ben['id']}").status_code == 404


def test_an_override_changes_the_oncalls_and_the_rendered_schedule(client, account):
    schedule = named(account, "schedules", "Data Weekly")
    casey = account.user_by_email("casey.brooks@example.com")
    window = {"since": "2024-05-08T00:00:00Z", "until": "2024-05-09T00:00:00Z"}
    override = {"start": window["since"], "end": window["until"], "user": {"id": casey["id"], "type": "user_reference"}}
    created = client.post(f"/schedules/{schedule['id']}/overrides", json={"overrides": [override]})
    assert created.status_code == 201 and created.json()[0]["status"] == 201
    rendered = client.get(f"/schedules/{schedule['id']}", params=window).json()["schedule"]["final_schedule"]
    assert [e["user"]["id"] for e in rendered["rendered_schedule_entries"]] == [casey["id"]]
    oncalls = client.get("/oncalls", params={**window, "schedule_ids[]": schedule["id"]}).json()["oncalls"]
    assert casey["id"] in {o["user"]["id"] for o in oncalls}
    on_schedule = client.get(f"/schedules/{schedule['id']}/users", params=window).json()["users"]
    assert [u["id"] for u in on_schedule] == [casey["id"]]
    override_id = created.json()[0]["override"]["id"]
    assert client.delete(f"/schedules/{schedule['id']}/overrides/{override_id}").status_code == 204
    listed = client.get(f"/schedules/{schedule['id']}/overrides", params=window).json()["overrides"]
    assert override_id not in {o["id"] for o in listed}


def test_a_deleted_contact_method_leaves_the_users_includes_and_its_rules(client, account):
    user = account.user_by_email("taylor.kim@example.com")
    phone = next(ref for ref in user["contact_methods"] if ref["type"] == "phone_contact_method_reference")
    assert client.delete(f"/users/{user['id']}/contact_methods/{phone['id']}").status_code == 204
    shown = client.get(f"/users/{user['id']}", params={"include[]": ["contact_methods", "notification_rules"]}).json()
    assert phone["id"] not in {m["id"] for m in shown["user"]["contact_methods"]}
    assert all(r["contact_method"]["id"] != phone["id"] for r in shown["user"]["notification_rules"])
    rules = client.get(f"/users/{user['id']}/notification_rules", params={"urgency": "all"}).json()
    assert len(rules["notification_rules"]) == 4


def test_a_changed_policy_moves_its_schedules_back_references(client, account):
    policy = named(account, "escalation_policies", "Mobile Release Pager")
    rotation, weekly = named(account, "schedules", "Mobile Rotation"), named(account, "schedules", "Data Weekly")
    rules = [{"escalation_delay_in_minutes": 5, "targets": [{"id": weekly["id"], "type": "schedule_reference"}]}]
    body = {"escalation_policy": {"type": "escalation_policy", "name": "Mobile Pager", "escalation_rules": rules}}
    assert client.put(f"/escalation_policies/{policy['id']}", json=body).status_code == 200
    assert policy["id"] not in {p["id"] for p in rotation["escalation_policies"]}
    assert policy["id"] in {p["id"] for p in weekly["escalation_policies"]}
    service = client.get(f"/services/{account.service_by_name('Mobile BFF')['id']}").json()["service"]
    assert service["escalation_policy"]["summary"] == "Mobile Pager"


def test_a_deleted_user_leaves_teams_schedules_and_tokens(client, account):
    omar = account.user_by_email("omar.haddad@example.com")
    assert client.delete(f"/users/{omar['id']}").status_code == 204
    assert client.get(f"/users/{omar['id']}").status_code == 404
    checkout = named(account, "teams", "Checkout")
    assert omar["id"] not in {m["user"]["id"] for m in client.get(f"/teams/{checkout['id']}/members").json()["members"]}
    primary = named(account, "schedules", "Checkout Primary")
    assert omar["id"] not in {ref["id"] for ref in primary["users"]}
    assert omar["id"] not in account.user_tokens.values()
    licenses = client.get("/licenses").json()["licenses"]
    assert sum(license["current_value"] for license in licenses) == len(account.users)


def test_maintenance_holds_back_incidents_until_it_ends(client, account):
    gateway = account.service_by_name("API Gateway")
    window = {
        "type": "maintenance_window",
        "start_time": "2024-05-06T11:00:00Z",
        "end_time": "2024-05-06T13:00:00Z",
        "services": [{"id": gateway["id"], "type": "service_reference"}],
    }
    created = client.post("/maintenance_windows", json={"maintenance_window": window}).json()["maintenance_window"]
    assert created["start_time"] == "2024-05-06T12:00:00Z"  # a start in the past starts now
    assert created["created_by"]["summary"] == "Alex Morgan"
    ongoing = client.get("/maintenance_windows", params={"filter": "ongoing"}).json()["maintenance_windows"]
    assert created["id"] in {w["id"] for w in ongoing}
    event = {
        "routing_key": DEMO_ROUTING_KEY,
        "event_action": "trigger",
        "payload": {"summary": "Edge down", "source": "lb-1", "severity": "critical"},
    }
    before = len(account.incidents)
    assert client.post("/v2/enqueue", json=event).status_code == 202
    assert len(account.incidents) == before
    assert client.delete(f"/maintenance_windows/{created['id']}").status_code == 204
    client.post("/v2/enqueue", json=event)
    assert len(account.incidents) == before + 1


def test_writes_are_stamped_with_the_accounts_moving_clock():
    ticks = Ticks()
    account = demo_account(now=NOW, clock=ticks)
    app = SandboxApp(account)
    ticks.seconds = 90
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL, headers=HEADERS) as client:
        note = client.post(f"/incidents/{DEMO_INCIDENT_ID}/notes", json={"note": {"content": "On it."}}).json()
        ticks.seconds = 3600 + 90
        resolved = client.put(f"/incidents/{DEMO_INCIDENT_ID}", json={"incident": {"type": "incident", "status": "resolved"}})
    assert note["note"]["created_at"] == "2024-05-06T12:01:30Z"
    assert resolved.json()["incident"]["resolved_at"] == "2024-05-06T13:01:30Z"
    assert account.now == NOW + timedelta(hours=1, seconds=90)
    check_exchanges(app.exchanges)


def test_every_assignment_notifies_through_the_assignees_rules(client, account):
    grace = account.user_by_email("grace.chen@example.com")
    body = {"incident": {"type": "incident", "assignments": [{"assignee": {"id": grace["id"], "type": "user_reference"}}]}}
    assert client.put(f"/incidents/{DEMO_INCIDENT_ID}", json=body).status_code == 200
    entries = client.get(f"/incidents/{DEMO_INCIDENT_ID}/log_entries", params={"include[]": "channels"}).json()
    notified = [e for e in entries["log_entries"] if e["type"] == "notify_log_entry" and e["user"]["id"] == grace["id"]]
    assert sorted(e["channel"]["type"] for e in notified) == ["email", "phone", "push_notification"]
    assert all(e["created_at"] == "2024-05-06T12:00:00Z" for e in notified)
    assert {e["channel"]["notification"]["status"] for e in notified} == {"success"}
    plain = client.get(f"/log_entries/{notified[0]['id']}").json()["log_entry"]
    assert plain["channel"] == {"type": notified[0]["channel"]["type"]}


def test_a_low_urgency_incident_notifies_by_low_urgency_rules_only(account):
    fatima = account.user_by_email("fatima.khan@example.com")  # low-urgency rules only
    service = account.service_by_name("Data Warehouse")
    high = account.add_incident("Lag", service=service, assignees=[fatima])
    low = account.add_incident("Slow", service=service, urgency="low", assignees=[fatima])
    notified = {
        incident["id"]: [e for e in account.incident_log[incident["id"]] if e["type"] == "notify_log_entry"]
        for incident in (high, low)
    }
    assert notified[high["id"]] == [] and len(notified[low["id"]]) == 3


@pytest.mark.parametrize(("method", "path"), [("PATCH", "/services/{service}"), ("POST", "/priorities")])
def test_an_unsupported_method_on_a_known_path_is_405(client, account, method, path):
    response = client.request(method, path.format(service=next(iter(account.services))))
    assert response.status_code == 405
    assert response.json() == {"error": {"message": "Method Not Allowed", "code": 2000}}
    assert response.headers["allow"]


def test_an_incidents_alert_follows_its_event(client, account):
    event = {
        "routing_key": DEMO_ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "disk/db-1",
        "payload": {"summary": "Disk full", "source": "db-1", "severity": "error", "custom_details": {"free": "0%"}},
    }
    client.post("/v2/enqueue", json=event)
    incident = next(i for i in account.incidents.values() if i["incident_key"] == "disk/db-1")
    (alert,) = client.get(f"/incidents/{incident['id']}/alerts").json()["alerts"]
    assert (alert["alert_key"], alert["severity"], alert["body"]["details"]) == ("disk/db-1", "error", {"free": "0%"})
    client.post("/v2/enqueue", json={**event, "event_action": "resolve"})
    resolved = client.get(f"/incidents/{incident['id']}/alerts", params={"statuses[]": "resolved"}).json()["alerts"]
    assert [a["status"] for a in resolved] == ["resolved"]


def test_webhooks_and_extensions_disabled_after_failures_are_enabled_again(client, account):
    failing = next(s for s in account.webhook_subscriptions.values() if s["delivery_method"]["temporarily_disabled"])
    enabled = client.post(f"/webhook_subscriptions/{failing['id']}/enable")
    assert enabled.status_code == 200 and enabled.json()["webhook_subscription"]["delivery_method"]["temporarily_disabled"] is False
    extension = named(account, "extensions", "Status page")
    assert client.post(f"/extensions/{extension['id']}/enable").json()["extension"]["temporarily_disabled"] is False
    assert client.get(f"/extensions/{extension['id']}").json()["extension"]["temporarily_disabled"] is False


def test_a_services_noise_settings_change(client, account):
    service = named(account, "services", "ETL Pipeline")
    policy = {"id": service["escalation_policy"]["id"], "type": "escalation_policy_reference"}
    body = {"service": {"type": "service", "escalation_policy": policy,
                        "alert_grouping_parameters": {"type": None}, "auto_pause_notifications_parameters": {"enabled": False}}}
    changed = client.put(f"/services/{service['id']}", json=body).json()["service"]
    assert changed["alert_grouping_parameters"] == {"type": None}
    assert changed["auto_pause_notifications_parameters"] == {"enabled": False}


def test_an_orchestrations_router_routes_to_services(client, account):
    platform = named(account, "event_orchestrations", "Platform Alerts")
    router = client.get(f"/event_orchestrations/{platform['id']}/router").json()["orchestration_path"]
    routed = [account.services[rule["actions"]["route_to"]]["name"] for rule in router["sets"][0]["rules"]]
    assert routed == ["API Gateway", "Kubernetes Cluster"] and router["catch_all"]["actions"]["route_to"] == "unrouted"

"""PagerDuty's Python client works unchanged on the sandbox: the user guide's walk-through, events, a large account."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx2
import pagerduty
import pytest
from sessions import sandbox_session
from spec import check_exchanges

from runner.config import PagerDutyConfig
from runner.sandbox import SANDBOX_BASE_URL, SANDBOX_TOKEN, SandboxApp, demo_account
from runner.sandbox.demo import DEMO_FROM_EMAIL, DEMO_ROUTING_KEY
from runner.sandbox.large import SIZES, large_account
from runner.sinks import EVENTS_ENQUEUE
from runner.transport import permit

NOW = datetime(2024, 5, 6, 12, tzinfo=timezone.utc)


def rest_client(app: SandboxApp) -> pagerduty.RestApiV2Client:
    client = pagerduty.RestApiV2Client(
        SANDBOX_TOKEN, default_from=DEMO_FROM_EMAIL, base_url=SANDBOX_BASE_URL, transport=httpx2.WSGITransport(app=app)
    )
    return client


@pytest.fixture
def app() -> SandboxApp:
    return SandboxApp(demo_account(now=NOW))


def test_the_user_guide_walk_through(app):
    client = rest_client(app)
    (service,) = client.rget("/services?limit=1")
    assert service["teams"] and service["escalation_policy"]["type"] == "escalation_policy_reference"

    team_id = service["teams"][0]["id"]
    team = client.rget(f"/teams/{team_id}")
    members = client.rget(f"/teams/{team_id}/members")
    assert team["name"] == service["teams"][0]["summary"] and members

    policy = client.rget(f"/escalation_policies/{service['escalation_policy']['id']}")
    targets = [target for rule in policy["escalation_rules"] for target in rule["targets"]]
    schedule_ref = next(target for target in targets if target["type"] == "schedule_reference")
    schedule = client.rget(f"/schedules/{schedule_ref['id']}")
    assert schedule["final_schedule"]["rendered_schedule_entries"]

    (incident,) = client.rget("/incidents?limit=1")
    assert incident["assignments"] is not None and "priority" in incident
    assert incident["first_trigger_log_entry"]["type"] == "trigger_log_entry_reference"

    created = client.rpost(
        "services",
        json={
            "name": "New Service",
            "type": "service",
            "escalation_policy": {"id": policy["id"], "type": "escalation_policy_reference"},
        },
    )
    assert created["name"] == "New Service"
    assert client.delete(f"/services/{created['id']}").status_code == 204

    everything = list(client.iter_all("services"))
    assert len(everything) == len(client.list_all("users")) + 3 == 25
    mine = client.list_all("services", params={"team_ids[]": [team_id]})
    assert mine and all(team_id in {t["id"] for t in s["teams"]} for s in mine)
    check_exchanges(app.exchanges)


def test_the_events_client_triggers_and_resolves(app):
    events = pagerduty.EventsApiV2Client(
        DEMO_ROUTING_KEY, base_url=SANDBOX_BASE_URL, transport=httpx2.WSGITransport(app=app)
    )
    key = events.trigger("Disk full on db-1", "db-1", dedup_key="db-1/disk")
    events.acknowledge(key)
    events.resolve(key)
    (incident,) = [i for i in app.account.incidents.values() if i["incident_key"] == key]
    assert incident["status"] == "resolved" and app.account.alerts[key]["status"] == "resolved"
    check_exchanges(app.exchanges)


def test_pdrun_sends_events_to_the_sandbox(app):
    session = sandbox_session(app, PagerDutyConfig())
    payload = {"summary": "3 services no team owns", "source": "pdrun", "severity": "warning"}
    try:
        with permit(*EVENTS_ENQUEUE):  # as a sink sends it
            session.send_event(DEMO_ROUTING_KEY, "trigger", dedup_key="pdrun/audit", payload=payload)
    finally:
        session.close()
    assert app.account.alerts["pdrun/audit"]["payload"] == payload


@pytest.fixture(scope="module")
def large() -> SandboxApp:
    return SandboxApp(large_account(seed=0, now=NOW))


def test_the_large_profile_has_its_sizes(large):
    assert {name: len(getattr(large.account, name)) for name in SIZES} == SIZES
    client = rest_client(large)
    assert client.get("/incidents", params={"date_range": "all", "total": "true", "limit": 1}).json()["total"] == 50_000


def test_iterating_every_incident_stops_at_the_cap(large):
    client = rest_client(large)
    with pytest.warns(UserWarning, match="limit\\+offset=10100"):
        incidents = list(client.iter_all("incidents", params={"date_range": "all"}))
    assert len(incidents) == 10_000 and len({i["id"] for i in incidents}) == 10_000
    assert client.get("/incidents", params={"date_range": "all", "offset": 10_000, "limit": 1}).status_code == 400

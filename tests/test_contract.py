"""Every sandbox route, and the main errors, checked against PagerDuty's OpenAPI specs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import httpx2
import pytest
import spec
from spec import KNOWN_SPEC_BUGS, check_exchanges, validate_exchange

from runner.sandbox import (
    SANDBOX_BASE_URL,
    SANDBOX_TOKEN,
    Account,
    Exchange,
    Faults,
    SandboxApp,
    demo_account,
)
from runner.sandbox.clock import stopped
from runner.sandbox.demo import (
    DEMO_FROM_EMAIL,
    DEMO_INCIDENT_ID,
    DEMO_RESTRICTED_TOKEN,
    DEMO_ROUTING_KEY,
    DEMO_USER_TOKEN,
)
from runner.sandbox.objects import reference
from runner.sandbox.routes import ROUTES

NOW = datetime(2024, 5, 6, 12, tzinfo=timezone.utc)
WEEK_AHEAD = {"since": "2024-05-06T12:00:00Z", "until": "2024-05-13T12:00:00Z"}


@dataclass(frozen=True)
class Case:
    """One request to send.

    `route` is "METHOD /pattern": `{id}` becomes `id` or the first object of the
    collection; an `id` with a slash is the whole path after the collection.
    Placeholders in `id`, parameters and the JSON body (`PLACEHOLDERS`) become
    the ids of demo objects.
    """

    route: str
    status: int = 200
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    sender: str | None = DEMO_FROM_EMAIL
    token: str | None = SANDBOX_TOKEN
    id: str | None = None
    scheme: str = "Token token="

    def __str__(self) -> str:
        return f"{self.route} {self.status} {json.dumps(self.params)}{' ' + self.scheme if self.scheme != 'Token token=' else ''}"


NOTE = {"note": {"content": "Rolled back; watching."}}
STATUS_UPDATE = {"message": "Mitigated.", "subject": "Checkout", "html_message": "<p>Mitigated.</p>"}
NEW_SERVICE = {
    "service": {
        "type": "service",
        "name": "Search v3",
        "description": "Replaces Old Search.",
        "escalation_policy": {"id": "{policy}", "type": "escalation_policy_reference"},
    }
}
ACKNOWLEDGE = {"incidents": [{"id": DEMO_INCIDENT_ID, "type": "incident_reference", "status": "acknowledged"}]}
REASSIGN = {
    "incidents": [
        {
            "id": DEMO_INCIDENT_ID,
            "type": "incident_reference",
            "assignments": [{"assignee": {"id": demo_account().user_by_email("sam.rivera@example.com")["id"], "type": "user_reference"}}],
        }
    ]
}
NEW_CONTACT_METHOD = {"contact_method": {"type": "sms_contact_method", "label": "Spare", "address": "5550001111", "country_code": 1}}
NEW_RULE = {
    "notification_rule": {
        "type": "assignment_notification_rule",
        "start_delay_in_minutes": 5,
        "urgency": "high",
        "contact_method": {"id": "{contact_method}", "type": "email_contact_method_reference"},
    }
}
POLICY_UPDATE = {
    "escalation_policy": {
        "type": "escalation_policy",
        "name": "Renamed",
        "num_loops": 2,
        "escalation_rules": [
            {"escalation_delay_in_minutes": 10, "targets": [{"id": "{schedule}", "type": "schedule_reference"}]},
            {"escalation_delay_in_minutes": 10, "targets": [{"id": "{user}", "type": "user_reference"}]},
        ],
    }
}
SCHEDULE_UPDATE = {
    "schedule": {
        "type": "schedule",
        "name": "Renamed",
        "time_zone": "Etc/UTC",
        "schedule_layers": [
            {
                "start": "2024-04-01T00:00:00Z",
                "rotation_virtual_start": "2024-04-01T00:00:00Z",
                "rotation_turn_length_seconds": 86400,
                "users": [{"user": {"id": "{user}", "type": "user_reference"}}],
            }
        ],
    }
}
NEW_OVERRIDES = {
    "overrides": [
        {"start": "2024-05-07T00:00:00Z", "end": "2024-05-08T00:00:00Z", "user": {"id": "{user}", "type": "user_reference"}}
    ]
}
NEW_WINDOW = {
    "maintenance_window": {
        "type": "maintenance_window",
        "start_time": "2024-05-07T00:00:00Z",
        "end_time": "2024-05-07T02:00:00Z",
        "description": "Database upgrade",
        "services": [{"id": "{service}", "type": "service_reference"}],
    }
}
NEW_WEBHOOK = {
    "webhook_subscription": {
        "type": "webhook_subscription",
        "delivery_method": {"type": "http_delivery_method", "url": "https://hooks.example.com/new"},
        "events": ["incident.triggered", "incident.resolved"],
        "filter": {"type": "account_reference"},
    }
}
NEW_EXTENSION = {
    "extension": {
        "type": "extension",
        "name": "Webhook",
        "endpoint_url": "https://hooks.example.com/ext",
        "extension_schema": {"id": "PWEBHK3", "type": "extension_schema_reference"},
        "extension_objects": [{"id": "{service}", "type": "service_reference"}],
    }
}
TRIGGER = {
    "routing_key": DEMO_ROUTING_KEY,
    "event_action": "trigger",
    "dedup_key": "edge/5xx",
    "payload": {"summary": "5xx above 2% at the edge", "source": "edge-lb-1", "severity": "critical"},
}

CASES = (
    Case("GET /services", params={"include[]": ["teams", "escalation_policies", "integrations"], "total": "true"}),
    Case("GET /services", params={"team_ids[]": "{team}", "query": "a", "limit": 2, "offset": 1, "sort_by": "name"}),
    Case("GET /services", params={"sort_by": "name:desc", "limit": 7, "offset": 0, "total": "true"}),
    Case("GET /services/{id}", params={"include[]": ["teams", "escalation_policies", "integrations"]}),
    Case("POST /services", status=201, json=NEW_SERVICE),
    Case(
        "PUT /services/{id}",
        json={"service": {**NEW_SERVICE["service"], "status": "disabled", "auto_resolve_timeout": 6}},
    ),
    Case("DELETE /services/{id}", status=204),
    Case("GET /teams", params={"query": "pay"}),
    Case("GET /teams/{id}"),
    Case("GET /teams/{id}/members", params={"total": "true", "include[]": "users"}),
    Case("GET /users", params={"team_ids[]": "{team}", "limit": 3}),
    Case("GET /users", params={"include[]": ["contact_methods", "notification_rules", "teams"]}),
    Case("GET /users/me", token=DEMO_USER_TOKEN, params={"include[]": "contact_methods"}),
    Case("GET /users/{id}", params={"include[]": ["contact_methods", "notification_rules"]}),
    Case("GET /escalation_policies", params={"total": "true", "include[]": ["services", "teams", "targets"]}),
    Case("GET /escalation_policies", params={"sort_by": "name:asc", "limit": 100, "offset": 0, "total": "true"}),
    Case("GET /escalation_policies/{id}", params={"include[]": "targets"}),
    Case("GET /schedules", params=WEEK_AHEAD),
    Case("GET /schedules", params={**WEEK_AHEAD, "include[]": "final_schedule", "limit": 100, "offset": 0, "total": "true"}),
    Case("GET /schedules/{id}"),
    Case("GET /schedules/{id}", params={**WEEK_AHEAD, "overflow": "true"}),
    Case("GET /oncalls", params={"include[]": ["users", "schedules", "escalation_policies"], "limit": 100}),
    Case("GET /oncalls", params={**WEEK_AHEAD, "earliest": "true", "schedule_ids[]": "null"}),
    Case("GET /incidents", params={"statuses[]": ["triggered", "acknowledged", "resolved"], "limit": 100}),
    Case("GET /incidents", params={"date_range": "all", "service_ids[]": "{service}", "total": "true"}),
    Case("GET /incidents", params={"date_range": "all", "statuses[]": ["triggered", "acknowledged"],
                                   "sort_by": "created_at:asc", "limit": 100, "offset": 0, "total": "true"}),
    Case("GET /incidents", params={"include[]": ["first_trigger_log_entries", "assignees"], "sort_by": "urgency:desc"}),
    Case("PUT /incidents", json=ACKNOWLEDGE),
    Case("PUT /incidents", json=REASSIGN),
    Case("GET /incidents/{id}", id=DEMO_INCIDENT_ID, params={"include[]": ["services", "teams"]}),
    Case("PUT /incidents/{id}", json={"incident": {"type": "incident", "status": "resolved"}}, id=DEMO_INCIDENT_ID),
    Case("GET /incidents/{id}/notes", id=DEMO_INCIDENT_ID),
    Case("POST /incidents/{id}/notes", status=200, json=NOTE, id=DEMO_INCIDENT_ID),
    Case("POST /incidents/{id}/status_updates", status=200, json=STATUS_UPDATE, id=DEMO_INCIDENT_ID),
    Case("GET /incidents/{id}/log_entries", id=DEMO_INCIDENT_ID, params={"include[]": "services"}),
    Case("GET /log_entries", params={"limit": 100, "team_ids[]": "{team}"}),
    Case("GET /log_entries/{id}", params={"include[]": ["incidents", "teams"]}),
    Case("GET /audit/records", params={"since": "2024-02-05T00:00:00Z", "until": "2024-02-07T00:00:00Z", "limit": 5}),
    Case("GET /users/{id}/audit/records", params={"since": "2024-02-05T00:00:00Z", "until": "2024-02-07T00:00:00Z"}),
    Case("PUT /users/{id}", id="{user}", json={"user": {"type": "user", "name": "Kim Lee", "email": "kim.lee@example.com", "job_title": "SRE"}}),
    Case("DELETE /users/{id}", status=204, id="{orphan}"),
    Case("GET /users/{id}/contact_methods", id="{user}"),
    Case("POST /users/{id}/contact_methods", status=201, id="{user}", json=NEW_CONTACT_METHOD),
    Case("GET /users/{id}/contact_methods/{contact_method_id}", id="{user}/contact_methods/{contact_method}"),
    Case("PUT /users/{id}/contact_methods/{contact_method_id}", id="{user}/contact_methods/{contact_method}", json={"contact_method": {"type": "email_contact_method", "label": "Home", "address": "kim@home.example"}}),
    Case("DELETE /users/{id}/contact_methods/{contact_method_id}", status=204, id="{user}/contact_methods/{contact_method}"),
    Case("GET /users/{id}/notification_rules", id="{user}", params={"urgency": "all", "include[]": "contact_methods"}),
    Case("POST /users/{id}/notification_rules", status=201, id="{user}", json=NEW_RULE),
    Case("DELETE /users/{id}/notification_rules/{notification_rule_id}", status=204, id="{user}/notification_rules/{rule}"),
    Case("DELETE /teams/{id}/users/{user_id}", status=204, id="{team}/users/{member}"),
    Case("PUT /escalation_policies/{id}", id="{policy}", json=POLICY_UPDATE),
    Case("PUT /schedules/{id}", id="{schedule}", json=SCHEDULE_UPDATE),
    Case("GET /schedules/{id}/overrides", id="{schedule}", params=WEEK_AHEAD),
    Case("POST /schedules/{id}/overrides", status=201, id="{schedule}", json=NEW_OVERRIDES),
    Case("DELETE /schedules/{id}/overrides/{override_id}", status=204, id="{schedule}/overrides/{override}"),
    Case("GET /schedules/{id}/users", id="{schedule}", params=WEEK_AHEAD),
    Case("GET /oncalls", params={"since": "2024-05-06T12:00:00Z", "until": "2024-06-06T12:00:00Z", "user_ids[]": "{user}"}),
    Case("GET /incidents/{id}/alerts", id=DEMO_INCIDENT_ID, params={"statuses[]": "triggered", "include[]": "services"}),
    Case("GET /log_entries", params={"include[]": "channels", "limit": 5}),
    Case("GET /priorities"),
    Case("GET /licenses"),
    Case("GET /license_allocations", params={"limit": 5}),
    Case("GET /maintenance_windows", params={"filter": "open", "include[]": "services"}),
    Case("POST /maintenance_windows", status=201, json=NEW_WINDOW),
    Case("GET /maintenance_windows/{id}"),
    Case("PUT /maintenance_windows/{id}", id="{window}", json={"maintenance_window": {**NEW_WINDOW["maintenance_window"], "description": "Longer"}}),
    Case("DELETE /maintenance_windows/{id}", status=204, id="{window}"),
    Case("GET /webhook_subscriptions", params={"filter_type": "team"}),
    Case("POST /webhook_subscriptions", json=NEW_WEBHOOK),
    Case("GET /webhook_subscriptions/{id}"),
    Case("PUT /webhook_subscriptions/{id}", json={"webhook_subscription": {"active": False, "description": "Paused"}}),
    Case("DELETE /webhook_subscriptions/{id}", status=204),
    Case("POST /webhook_subscriptions/{id}/enable"),
    Case("GET /extensions", params={"extension_object_id": "{service}", "include[]": "extension_objects"}),
    Case("POST /extensions", status=201, json=NEW_EXTENSION),
    Case("GET /extensions/{id}"),
    Case("DELETE /extensions/{id}", status=204),
    Case("POST /extensions/{id}/enable"),
    Case("GET /event_orchestrations", params={"sort_by": "name:desc"}),
    Case("POST /event_orchestrations", status=201, json={"orchestration": {"name": "Edge", "team": {"id": "{team}"}}}),
    Case("GET /event_orchestrations/{id}"),
    Case("DELETE /event_orchestrations/{id}", status=204),
    Case("GET /event_orchestrations/{id}/router"),
    Case("GET /rulesets"),
    Case("GET /rulesets/{id}"),
    Case("GET /abilities"),
    Case("GET /standards", params={"resource_type": "technical_service"}),
    Case("GET /standards/scores/{resource_type}", id="technical_services", params={"ids": ["{service}"]}),
    Case("POST /v2/enqueue", status=202, json=TRIGGER, token=None),
    # The errors recipes meet.
    Case("GET /services", status=401, token="not-the-token"),
    Case("GET /incidents", status=401, token=None),
    Case("GET /services/{id}", status=404, id="PNOSUCH"),
    Case("GET /incidents/{id}/notes", status=404, id="PNOSUCH"),
    Case("GET /no_such_collection", status=404),
    Case("PATCH /services/{id}", status=405),
    Case("GET /services", status=200, scheme="Bearer "),
    Case("GET /services/{id}", status=403, token=DEMO_RESTRICTED_TOKEN, id="{other_service}"),
    Case("POST /incidents/{id}/notes", status=403, json=NOTE, token=DEMO_USER_TOKEN, id="{other_incident}"),
    Case("DELETE /users/{id}", status=403, id="{owner}"),
    Case("GET /incidents", status=400, params={"offset": 9950, "limit": 100}),
    Case("GET /incidents", status=400, params={"statuses[]": "open"}),
    Case("GET /users/me", status=400),
    Case("POST /services", status=400, json={"service": {**NEW_SERVICE["service"], "name": "API Gateway"}}),
    Case("PUT /incidents", status=413, json={"incidents": ACKNOWLEDGE["incidents"] * 251}),
    Case("PUT /incidents", status=400, json=ACKNOWLEDGE, sender=None),
    Case("POST /incidents/{id}/notes", status=400, json=NOTE, sender=None, id=DEMO_INCIDENT_ID),
    Case(
        "POST /incidents/{id}/status_updates",
        status=400,
        json=STATUS_UPDATE,
        sender="nobody@example.com",
        id=DEMO_INCIDENT_ID,
    ),
    Case("POST /v2/enqueue", status=400, json={**TRIGGER, "routing_key": "0" * 32}, token=None),
)


def _app() -> SandboxApp:
    return SandboxApp(demo_account(now=NOW, clock=stopped))


def _fill(value: Any, placeholders: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**placeholders)
    if isinstance(value, list):
        return [_fill(item, placeholders) for item in value]
    if isinstance(value, dict):
        return {key: _fill(item, placeholders) for key, item in value.items()}
    return value


def _placeholders(account: Account) -> dict[str, str]:
    """Return the demo objects cases name: `{user}` (a responder), `{orphan}` (on nothing), `{owner}`, and more."""
    checkout = [reference(next(t for t in account.teams.values() if t["name"] == "Checkout"))]
    user = account.user_by_email("taylor.kim@example.com")
    schedule = next(iter(account.schedules.values()))
    team = next(iter(account.teams))
    return {
        "team": team,
        "service": next(iter(account.services)),
        "policy": next(iter(account.escalation_policies)),
        "other_service": next(s["id"] for s in account.services.values() if s["teams"] not in ([], checkout)),
        "other_incident": next(i["id"] for i in account.incidents.values() if i["teams"] not in ([], checkout)),
        "user": user["id"],
        "orphan": account.user_by_email("casey.brooks@example.com")["id"],
        "owner": account.user_by_email(DEMO_FROM_EMAIL)["id"],
        "contact_method": user["contact_methods"][0]["id"],
        "rule": user["notification_rules"][0]["id"],
        "member": account.team_members[team][1]["user"]["id"],
        "schedule": schedule["id"],
        "override": account.overrides[schedule["id"]][0]["id"],
        "window": next(w["id"] for w in account.maintenance_windows.values() if w["description"] == "CDN migration"),
    }


def send(app: SandboxApp, case: Case) -> Exchange:
    """Send `case` to `app` in process and return the one exchange it produced."""
    method, pattern = case.route.split(" ")
    placeholders = _placeholders(app.account)
    if "{" in pattern:
        collection = pattern.split("/")[1]
        given = _fill(case.id, placeholders) or next(iter(getattr(app.account, collection)))
        head = pattern[: pattern.index("{")]
        pattern = f"/{collection}/{given}" if "/" in given else pattern.replace(pattern[len(head) : pattern.index("}") + 1], given)
    headers = {}
    if case.token is not None:
        headers["Authorization"] = f"{case.scheme}{case.token}"
    if case.sender is not None and method != "GET":
        headers["From"] = case.sender
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL) as client:
        params, body = _fill(case.params, placeholders), _fill(case.json, placeholders)
        response = client.request(method, pattern, params=params, json=body, headers=headers)
    assert response.status_code == case.status, response.text
    assert len(app.exchanges) == 1
    return app.exchanges[0]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_exchange_follows_the_spec(case: Case) -> None:
    validate_exchange(send(_app(), case))


def test_every_route_is_covered() -> None:
    covered = {case.route for case in CASES if case.status < 300}
    assert covered == {f"{route.method} {route.pattern}" for route in ROUTES}


def test_every_known_spec_bug_is_still_needed() -> None:
    excused = set().union(*(validate_exchange(send(_app(), case)) for case in CASES))
    assert excused == set(KNOWN_SPEC_BUGS)


LOG_ENTRY_SCHEMAS = {
    "trigger_log_entry": "TriggerLogEntry",
    "assign_log_entry": "AssignLogEntry",
    "acknowledge_log_entry": "AcknowledgeLogEntry",
    "resolve_log_entry": "ResolveLogEntry",
    "annotate_log_entry": "AnnotateLogEntry",
    "notify_log_entry": "NotifyLogEntry",
}


def test_log_entries_match_their_own_schemas() -> None:
    """Log entries pass their own type's schema, but for the spec bugs that make every one fail its oneOf."""
    entries = list(demo_account(now=NOW, clock=stopped).log_entries.values())
    assert {entry["type"] for entry in entries} == set(LOG_ENTRY_SCHEMAS)
    for entry in entries:
        errors = spec.component_errors(entry, LOG_ENTRY_SCHEMAS[entry["type"]])
        places = {place for place, _ in errors}
        expected = {"channel", "type"} if entry["type"] == "acknowledge_log_entry" else {"channel"}
        assert places == expected, errors
        assert all("is valid under each of" in message for place, message in errors if place == "channel")


def test_checker_reports_a_response_breaking_the_spec() -> None:
    exchange = send(_app(), Case("GET /incidents/{id}", id=DEMO_INCIDENT_ID))
    body = json.loads(exchange.response_body)
    body["incident"]["status"] = "open"
    with pytest.raises(AssertionError, match="incident/status"):
        validate_exchange(replace(exchange, response_body=json.dumps(body).encode()))


def test_checker_reports_a_bad_request_served_as_success() -> None:
    exchange = send(_app(), Case("GET /services", params={"include[]": "bogus"}))
    with pytest.raises(AssertionError, match="request"):
        validate_exchange(exchange)


def test_checker_reads_events_against_the_events_spec() -> None:
    exchange = send(_app(), Case("POST /v2/enqueue", status=202, json=TRIGGER, token=None))
    with pytest.raises(AssertionError, match="request"):
        validate_exchange(replace(exchange, body=json.dumps({**TRIGGER, "event_action": "explode"}).encode()))


def test_injected_faults_are_not_held_against_the_spec() -> None:
    app = _app()
    app.faults = Faults(fail_rate=1)
    with httpx2.Client(transport=httpx2.WSGITransport(app=app), base_url=SANDBOX_BASE_URL) as client:
        client.get("/abilities", headers={"Authorization": f"Token token={SANDBOX_TOKEN}"})
    (exchange,) = app.exchanges
    assert exchange.status in (500, 502, 503) and exchange.fault == "error"
    assert validate_exchange(exchange) == set()


def test_check_exchanges_lists_every_failure() -> None:
    good = send(_app(), Case("GET /teams"))
    bad = replace(good, response_body=b'{"limit": "many"}')
    with pytest.raises(AssertionError) as failure:
        check_exchanges([bad, good, replace(bad, path="/users")])
    assert str(failure.value).count(" -> 200") == 2


@pytest.mark.parametrize(("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)])
def test_a_missing_spec_skips_except_under_ci(monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setattr(spec, "SPEC_PATH", tmp_path / "missing.json")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome):
        spec.load_spec()

"""The Events API v2 (`POST /v2/enqueue` on the events host): alerts that open and close incidents."""

from __future__ import annotations

import json
from typing import Any

from runner.sandbox.account import Account
from runner.sandbox.api import Request, Result
from runner.sandbox.objects import Obj, reference, secret

EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
# What acknowledge and resolve events do to the alert's incident.
INCIDENT_STATUSES = {"acknowledge": "acknowledged", "resolve": "resolved"}
SEVERITIES = ("critical", "error", "warning", "info")


def enqueue(account: Account, request: Request) -> Result:
    """Accept an Events API v2 event (events host, authenticated by its routing_key); services in maintenance open no
    incident.
    """
    try:
        event = json.loads(request.body)
    except ValueError:
        return _invalid("Unrecognized object", "Event object format is unrecognized", ["JSON parse error"])
    problems = _problems(account, event)
    if problems:
        return _invalid("invalid event", "Event object is invalid", problems)
    service = account.services.get(account.integration_by_key(event["routing_key"])["service"]["id"])
    dedup_key = event.get("dedup_key") or secret("dedup", str(len(account.events)))
    account.events.append(event)
    if service is not None and service["status"] != "disabled" and not account.in_maintenance(service, account.now):
        _alert(account, service, event["event_action"], dedup_key, event.get("payload"))
    return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}


def _invalid(status: str, message: str, errors: list[str]) -> Result:
    return 400, {"status": status, "message": message, "errors": errors}


def _problems(account: Account, event: Any) -> list[str]:
    """Return what is wrong with an event, as the Events API's `errors` list."""
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    problems = []
    key = event.get("routing_key")
    if not isinstance(key, str) or not key:
        problems.append("'routing_key' is missing or blank")
    elif account.integration_by_key(key) is None:
        problems.append("Invalid routing key")
    action = event.get("event_action")
    if action not in EVENT_ACTIONS:
        problems.append(f"'event_action' must be one of {', '.join(EVENT_ACTIONS)}")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and not isinstance(dedup_key, str):
        problems.append("'dedup_key' must be a string")
    elif action in ("acknowledge", "resolve") and not dedup_key:
        problems.append("'dedup_key' is required to acknowledge or resolve")
    if action == "trigger":
        problems += _payload_problems(event.get("payload"))
    return problems


def _payload_problems(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object"]
    problems = [f"'payload.{key}' is missing or blank" for key in ("summary", "source") if not _text(payload.get(key))]
    if payload.get("severity") not in SEVERITIES:
        problems.append(f"'payload.severity' must be one of {', '.join(SEVERITIES)}")
    return problems


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _alert(account: Account, service: Obj, action: str, dedup_key: str, payload: Obj | None) -> None:
    """Apply an event to its alert: a trigger opens an incident unless one is open for the key."""
    alert = account.alerts.get(dedup_key)
    is_open = alert is not None and alert["status"] == "triggered"
    if action == "trigger" and is_open:
        alert["payload"] = payload
    elif action == "trigger":
        incident = account.add_incident(
            payload["summary"], service=service, urgency=_urgency(service, payload), incident_key=dedup_key
        )
        account.alerts[dedup_key] = {"status": "triggered", "payload": payload, "incident_id": incident["id"]}
    elif is_open:
        if action == "resolve":
            alert["status"] = "resolved"
        incident = account.incidents[alert["incident_id"]]
        if incident["status"] != "resolved":
            account.set_incident_status(incident, INCIDENT_STATUSES[action], by=reference(service))


def _urgency(service: Obj, payload: Obj) -> str:
    urgency = service["incident_urgency_rule"].get("urgency")
    if urgency in ("high", "low"):
        return urgency
    return "high" if payload["severity"] in ("critical", "error") else "low"

"""GET /incidents/{id}/alerts: the alert behind each incident, from its event if an event opened it."""

from __future__ import annotations

from runner.sandbox.access import find
from runner.sandbox.account import Account
from runner.sandbox.api import Request, Result, check_choices, filtered, including, invalid_input, paginate
from runner.sandbox.objects import Obj, object_id, reference

ALERT_INCLUDES = {
    "services": ("service",),
    "incidents": ("incident",),
    "first_trigger_log_entries": ("first_trigger_log_entry",),
}
ALERT_ORDERS = {"created_at": False, "created_at:asc": False, "created_at:desc": True}


def list_alerts(account: Account, request: Request) -> Result:
    """List an incident's alerts (alert_key, statuses[] triggered or resolved, sort_by created_at, include[] services,
    incidents, first_trigger_log_entries).
    """
    incident = find(account, "incidents", request)
    check_choices(request, {"statuses[]": ("triggered", "resolved")})
    order = request.value("sort_by") or "created_at"
    if order not in ALERT_ORDERS:
        raise invalid_input(f"sort_by must be one of {', '.join(ALERT_ORDERS)}.")
    alerts = filtered([alert_of(account, incident)], request, {"statuses[]": lambda alert: {alert["status"]}})
    if (key := request.value("alert_key")) is not None:
        alerts = [alert for alert in alerts if alert["alert_key"] == key]
    alerts.sort(key=lambda alert: alert["created_at"], reverse=ALERT_ORDERS[order])
    return 200, paginate(request, "alerts", alerts, including(ALERT_INCLUDES)(account, request))


def alert_of(account: Account, incident: Obj) -> Obj:
    """Return the alert that opened `incident`: its event's payload if the Events API opened it."""
    key = incident["incident_key"]
    event = account.alerts.get(key)
    payload = (event["payload"] if event and event["incident_id"] == incident["id"] else None) or {}
    alert_id = object_id("alert", incident["incident_number"])
    service = account.services.get(incident["service"]["id"])
    alert = {
        "id": alert_id,
        "type": "alert",
        "summary": payload.get("summary", incident["title"]),
        "self": f"{incident['self']}/alerts/{alert_id}",
        "html_url": f"{incident['html_url']}/alerts/{alert_id}",
        "created_at": incident["created_at"],
        "status": "resolved" if incident["status"] == "resolved" else "triggered",
        "alert_key": key,
        "service": incident["service"],
        "first_trigger_log_entry": incident["first_trigger_log_entry"],
        "incident": reference(incident),
        "suppressed": False,
        "severity": payload.get("severity", "critical" if incident["urgency"] == "high" else "warning"),
        "body": {"type": "alert_body", "contexts": [], "details": payload.get("custom_details") or {}},
    }
    if service and service["integrations"]:
        alert["integration"] = service["integrations"][0]
    return alert

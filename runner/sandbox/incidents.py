"""REST handlers for incidents: listing, updating one or many, notes, status updates and log entries."""

from __future__ import annotations

from bisect import bisect_left
from datetime import timedelta
from typing import Any

from runner.sandbox.access import check_access, check_write, find, owners, requester, visible
from runner.sandbox.account import Account
from runner.sandbox.api import (
    ApiError,
    Filters,
    Request,
    Result,
    View,
    check_choices,
    filtered,
    ids,
    including,
    invalid_input,
    not_found,
    paginate,
    time_window,
)
from runner.sandbox.lifecycle import INCIDENT_STATUSES
from runner.sandbox.objects import Obj, reference

INCIDENT_WINDOW = timedelta(days=30)
MAX_BULK_UPDATE = 250
SORT_FIELDS = ("incident_number", "created_at", "resolved_at", "urgency")
OVERVIEW_ENTRIES = ("trigger_log_entry", "acknowledge_log_entry", "resolve_log_entry")

INCIDENT_FILTERS: Filters = {
    "team_ids[]": lambda incident: ids(incident["teams"]),
    "urgencies[]": lambda incident: (incident["urgency"],),
    "service_ids[]": lambda incident: (incident["service"]["id"],),
    "user_ids[]": lambda incident: {a["assignee"]["id"] for a in incident["assignments"]},
}
INCIDENT_INCLUDES = {
    "services": ("service",),
    "teams": ("teams",),
    "escalation_policies": ("escalation_policy",),
    "assignees": ("assignments.assignee",),
    "users": ("assignments.assignee", "acknowledgements.acknowledger"),
    "acknowledgers": ("acknowledgements.acknowledger",),
    "first_trigger_log_entries": ("first_trigger_log_entry",),
}
LOG_ENTRY_INCLUDES = {"incidents": ("incident",), "services": ("service",), "teams": ("teams",)}


def list_incidents(account: Account, request: Request) -> Result:
    """List incidents, by default opened in the last 30 days, oldest first.

    Filters: statuses[], urgencies[], service_ids[], team_ids[], user_ids[],
    incident_key, since/until or date_range=all; sort_by (up to two of
    incident_number, created_at, resolved_at, urgency, each :asc or :desc);
    include[] services, teams, escalation_policies, assignees, users,
    acknowledgers, first_trigger_log_entries.
    """
    check_choices(request, {"statuses[]": INCIDENT_STATUSES, "urgencies[]": ("high", "low")})
    if request.value("date_range") == "all":
        since = until = None
    else:
        given = request.value("since") or request.value("until")
        since, until = time_window(request, None if given else account.now - INCIDENT_WINDOW, None)
    ordered = account.ordered("incidents", key=lambda i: (i["created_at"], i["incident_number"]))
    incidents = _created_between(ordered, since, until)
    if statuses := set(request.values("statuses[]")):  # the filter nearly every listing has: kept plain and fast
        incidents = [incident for incident in incidents if incident["status"] in statuses]
    incidents = filtered(visible(account, request, incidents), request, INCIDENT_FILTERS)
    if (key := request.value("incident_key")) is not None:
        incidents = [incident for incident in incidents if incident["incident_key"] == key]
    for field, descending in reversed(_sort_order(request)):
        incidents.sort(key=lambda incident: _sort_key(incident[field]), reverse=descending)
    return 200, paginate(request, "incidents", incidents, including(INCIDENT_INCLUDES)(account, request))


def _created(incident: Obj) -> str:
    return incident["created_at"]


def _sort_order(request: Request) -> list[tuple[str, bool]]:
    order = []
    for item in request.values("sort_by"):
        field, _, direction = item.partition(":")
        if field not in SORT_FIELDS or direction not in ("", "asc", "desc") or len(order) == 2:
            raise invalid_input(f"sort_by takes up to two of {', '.join(SORT_FIELDS)}, each with :asc or :desc.")
        order.append((field, direction == "desc"))
    return order


def _sort_key(value: Any) -> tuple[bool, Any]:
    return (value is None, value)


def show_incident(account: Account, request: Request) -> Result:
    """Show one incident, by id or by incident number (include[] as when listing)."""
    return 200, {"incident": including(INCIDENT_INCLUDES)(account, request)(_incident(account, request))}


def _incident(account: Account, request: Request) -> Obj:
    key = request.params["id"]
    if key.isdigit():
        number = int(key)
        incident = next((i for i in account.incidents.values() if i["incident_number"] == number), None)
        if incident is None:
            raise not_found()
        check_access(account, request, incident)
        return incident
    return find(account, "incidents", request)


def update_incident(account: Account, request: Request) -> Result:
    """Acknowledge, resolve or reassign (escalation_policy, assignments) one incident."""
    user = requester(account, request)
    incident = _incident(account, request)
    check_write(account, request, "respond", owners(incident))
    change = request.json_object("incident")
    _check_change(account, incident, change)
    _apply(account, incident, change, user)
    return 200, {"incident": incident}


def update_incidents(account: Account, request: Request) -> Result:
    """Acknowledge, resolve or reassign up to 250 incidents at once (413 beyond)."""
    user = requester(account, request)
    changes = request.json_object().get("incidents")
    if not isinstance(changes, list) or not changes:
        raise invalid_input("Incidents must be a non-empty list.")
    if len(changes) > MAX_BULK_UPDATE:
        raise ApiError(413, 2001, "Request Entity Too Large", [f"At most {MAX_BULK_UPDATE} incidents at a time."])
    targets = []
    for change in changes:
        if not isinstance(change, dict) or change.get("type") not in ("incident", "incident_reference"):
            raise invalid_input("Each incident needs an id and a type of incident or incident_reference.")
        incident = account.incidents.get(change.get("id"))
        if incident is None:
            raise not_found()
        check_access(account, request, incident)
        check_write(account, request, "respond", owners(incident))
        _check_change(account, incident, change)
        targets.append((incident, change))
    for incident, change in targets:
        _apply(account, incident, change, user)
    updated = [incident for incident, _ in targets]
    return 200, {"incidents": updated, "limit": len(updated), "offset": 0, "total": None, "more": False}


def _check_change(account: Account, incident: Obj, change: Obj) -> None:
    """Refuse, before anything changes, what `_apply` could not do."""
    status = change.get("status")
    if status is not None and status not in INCIDENT_STATUSES:
        raise invalid_input(f"Status must be one of {', '.join(INCIDENT_STATUSES)}.")
    reassigning = "escalation_policy" in change or "assignments" in change
    if incident["status"] == "resolved" and (reassigning or status not in (None, "resolved")):
        raise invalid_input("Incident Already Resolved")
    if status == "triggered" and incident["status"] != "triggered":
        raise invalid_input("An incident cannot be set back to triggered.")
    if "escalation_policy" in change and _ref_id(change["escalation_policy"]) not in account.escalation_policies:
        raise invalid_input("Escalation policy not found.")
    for assignee in _assignees(change):
        if assignee not in account.users:
            raise invalid_input(f"User {assignee} not found.")


def _apply(account: Account, incident: Obj, change: Obj, user: Obj) -> None:
    by = reference(user)
    if "escalation_policy" in change:
        account.reassign_incident(incident, by=by, escalation_policy=_ref_id(change["escalation_policy"]))
    if "assignments" in change:
        account.reassign_incident(incident, by=by, users=_assignees(change))
    if change.get("status") is not None:
        account.set_incident_status(incident, change["status"], by=by)


def _assignees(change: Obj) -> list[str]:
    assignments = change.get("assignments", [])
    if not isinstance(assignments, list) or "assignments" in change and not assignments:
        raise invalid_input("Assignments must be a non-empty list.")
    return [_ref_id(a.get("assignee") if isinstance(a, dict) else None) for a in assignments]


def _ref_id(ref: Any) -> str:
    if not isinstance(ref, dict) or not isinstance(ref.get("id"), str):
        raise invalid_input("References need an id.")
    return ref["id"]


def list_notes(account: Account, request: Request) -> Result:
    """List an incident's notes."""
    incident = find(account, "incidents", request)
    return 200, {"notes": account.notes[incident["id"]]}


def create_note(account: Account, request: Request) -> Result:
    """Add a note to an incident."""
    user = requester(account, request)
    incident = find(account, "incidents", request)
    check_write(account, request, "respond", owners(incident))
    content = _text(request.json_object("note"), "content")
    if content is None:
        raise invalid_input("Note content is required.")
    return 200, {"note": account.add_note(incident["id"], content, user=user)}


def create_status_update(account: Account, request: Request) -> Result:
    """Post a status update on an incident (optionally a custom email: subject and html_message)."""
    user = requester(account, request)
    incident = find(account, "incidents", request)
    check_write(account, request, "respond", owners(incident))
    body = request.json_object()
    message = _text(body, "message")
    if message is None:
        raise invalid_input("Message is required.")
    email = {key: _text(body, key) for key in ("subject", "html_message") if key in body}
    if len(email) == 1 or None in email.values():
        raise invalid_input("A custom email needs both subject and html_message, as text.")
    return 200, {"status_update": account.add_status_update(incident["id"], message, user=user, **email)}


def _text(obj: Any, key: str) -> str | None:
    """Return `obj[key]` if `obj` is a dict and that is a non-empty string."""
    value = obj.get(key) if isinstance(obj, dict) else None
    return value if isinstance(value, str) and value else None


def list_incident_log_entries(account: Account, request: Request) -> Result:
    """List an incident's log entries (notifications too), newest first (since/until, is_overview, include[])."""
    incident = find(account, "incidents", request)
    since, until = time_window(request, None, None)
    overview = request.flag("is_overview")
    kept = [
        entry
        for entry in reversed(account.incident_log[incident["id"]])
        if (since is None or since <= entry["created_at"])
        and (until is None or entry["created_at"] < until)
        and (not overview or entry["type"] in OVERVIEW_ENTRIES)
    ]
    return _log_entries(account, request, kept)


def list_log_entries(account: Account, request: Request) -> Result:
    """List every incident's log entries, newest first (since/until, team_ids[], is_overview, include[] incidents,
    services, teams, channels).
    """
    # Oldest first, the time range is cut out of the sorted entries; reversed, the later of two at one instant
    # comes first, as when sorted newest first.
    types = OVERVIEW_ENTRIES if request.flag("is_overview") else None
    ordered = account.ordered("log_entries", key=_created, types=types)
    since, until = time_window(request, None, None)
    entries = _created_between(ordered, since, until)[::-1]
    return _log_entries(account, request, filtered(entries, request, {"team_ids[]": lambda e: ids(e["teams"])}))


def _created_between(ordered: list[Obj], since: str | None, until: str | None) -> list[Obj]:
    """The objects of `ordered` (by created_at) created at or after `since` and before `until` (None: no bound)."""
    first = 0 if since is None else bisect_left(ordered, since, key=_created)
    end = len(ordered) if until is None else bisect_left(ordered, until, key=_created)
    return ordered[first:end]


def _log_entries(account: Account, request: Request, entries: list[Obj]) -> Result:
    return 200, paginate(request, "log_entries", visible(account, request, entries), log_entry_view(account, request))


def log_entry_view(account: Account, request: Request) -> View:
    """Return how log entries are served: `include[]` expanded, channels in full only with `include[]=channels`."""
    expand = including(LOG_ENTRY_INCLUDES)(account, request)
    if "channels" in request.values("include[]"):
        return expand
    return lambda entry: expand(entry | {"channel": {"type": entry["channel"]["type"]}})


def show_log_entry(account: Account, request: Request) -> Result:
    """Show one log entry (include[] as when listing)."""
    entry = find(account, "log_entries", request)
    return 200, {"log_entry": log_entry_view(account, request)(entry)}

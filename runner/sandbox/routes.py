"""The sandbox's endpoints: one table of routes, and the Markdown table documenting them."""

from __future__ import annotations

from runner.sandbox import audit, events, incidents, resources, standards
from runner.sandbox.api import Route
from runner.sandbox.resources import (
    BY_TEAM,
    POLICY_FILTERS,
    POLICY_INCLUDES,
    SERVICE_INCLUDES,
    USER_INCLUDES,
    index,
    show,
)

ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        "/services",
        index(
            "services",
            "services",
            filters=BY_TEAM,
            includes=SERVICE_INCLUDES,
            sortable=True,
            by_name=True,
            doc="List services (query, name, team_ids[], sort_by, include[] teams, escalation_policies, integrations).",
        ),
    ),
    Route("POST", "/services", resources.create_service),
    Route("GET", "/services/{id}", show("services", "service", includes=SERVICE_INCLUDES)),
    Route("PUT", "/services/{id}", resources.update_service),
    Route("DELETE", "/services/{id}", resources.delete_service),
    Route("GET", "/teams", index("teams", "teams", doc="List teams (query).")),
    Route("GET", "/teams/{id}", show("teams", "team")),
    Route("GET", "/teams/{id}/members", resources.list_team_members),
    Route(
        "GET",
        "/users",
        index(
            "users",
            "users",
            filters=BY_TEAM,
            searched=("name", "email"),
            includes=USER_INCLUDES,
            doc="List users (query on name and email, team_ids[], "
            "include[] contact_methods, notification_rules, teams).",
        ),
    ),
    Route("GET", "/users/me", resources.show_current_user),
    Route("GET", "/users/{id}", show("users", "user", includes=USER_INCLUDES)),
    Route(
        "GET",
        "/escalation_policies",
        index(
            "escalation_policies",
            "escalation_policies",
            filters=POLICY_FILTERS,
            includes=POLICY_INCLUDES,
            sortable=True,
            doc="List escalation policies (query, team_ids[], user_ids[], sort_by, "
            "include[] services, teams, targets).",
        ),
    ),
    Route(
        "GET",
        "/escalation_policies/{id}",
        show("escalation_policies", "escalation_policy", includes=POLICY_INCLUDES),
    ),
    Route("GET", "/schedules", resources.list_schedules),
    Route("GET", "/schedules/{id}", resources.show_schedule),
    Route("GET", "/oncalls", resources.list_oncalls),
    Route("GET", "/incidents", incidents.list_incidents),
    Route("PUT", "/incidents", incidents.update_incidents),
    Route("GET", "/incidents/{id}", incidents.show_incident),
    Route("PUT", "/incidents/{id}", incidents.update_incident),
    Route("GET", "/incidents/{id}/notes", incidents.list_notes),
    Route("POST", "/incidents/{id}/notes", incidents.create_note),
    Route("POST", "/incidents/{id}/status_updates", incidents.create_status_update),
    Route("GET", "/incidents/{id}/log_entries", incidents.list_incident_log_entries),
    Route("GET", "/log_entries", incidents.list_log_entries),
    Route("GET", "/log_entries/{id}", incidents.show_log_entry),
    Route("GET", "/audit/records", audit.list_audit_records),
    Route("GET", "/abilities", resources.list_abilities),
    Route("GET", "/standards", standards.list_standards),
    Route("GET", "/standards/scores/{resource_type}", standards.list_scores),
    Route("POST", "/v2/enqueue", events.enqueue, api="Events"),
)


def endpoint_table() -> str:
    """Return the Markdown table of every route, as docs/sandbox.md shows it."""
    rows = ["| API | Method | Path | What it does |", "| --- | --- | --- | --- |"]
    rows += [f"| {r.api} | {r.method} | `{r.pattern}` | {r.summary} |" for r in ROUTES]
    return "\n".join(rows) + "\n"

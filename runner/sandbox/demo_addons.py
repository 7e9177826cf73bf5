"""What surrounds the demo account's core: maintenance windows, webhooks, extensions and event orchestrations."""

from __future__ import annotations

from typing import Any

# (description, services, starts in hours from now, hours): one over, one under way, one to come, one under way
# for days, and one set to last ten years.
MAINTENANCE_WINDOWS = (
    ("Payments API database upgrade", ("Payments API",), -72, 2),
    ("CDN migration", ("Marketing Site",), -1, 3),
    ("Warehouse re-indexing", ("Data Warehouse", "Analytics API"), 48, 4),
    ("Cron host rebuild", ("Cron Runner",), -100, 120),
    ("Ledger on hold until the rewrite", ("Ledger",), -960, 10 * 365 * 24),
)

# Webhook subscriptions: the whole account's, one of a team whose endpoint keeps failing, one switched off.
WEBHOOKS = (
    {"url": "https://hooks.example.com/pagerduty", "description": "Incident feed for the data lake"},
    {"url": "https://payments.example.com/hooks", "team": "Payments", "disabled": True},
    {"url": "https://checkout.example.com/hooks", "service": "Checkout Web", "active": False},
)

# (name, kind, services, endpoint, temporarily disabled)
EXTENSIONS = (
    ("Slack #payments", "slack", ("Payments API", "Billing Worker"), "https://hooks.slack.com/services/T0/B0/x", False),
    ("Status page", "generic_webhook", ("Status Page Sync",), "https://status.example.com/pagerduty", True),
)

# (name, team or None, routes: (service, label, condition))
EVENT_ORCHESTRATIONS = (
    (
        "Platform Alerts",
        "Platform",
        (
            ("API Gateway", "Edge alerts", "event.source matches part 'gateway'"),
            ("Kubernetes Cluster", "Cluster alerts", "event.source matches part 'k8s'"),
        ),
    ),
    ("Shared Monitoring", None, ()),
)


def addon_sections() -> dict[str, Any]:
    """Return these tables as profile sections (see docs/sandbox.md)."""
    return {
        "maintenance_windows": [
            {"description": description, "services": list(services), "starts_in_hours": start, "hours": hours}
            for description, services, start, hours in MAINTENANCE_WINDOWS
        ],
        "webhooks": list(WEBHOOKS),
        "extensions": [
            {"name": name, "kind": kind, "services": list(services), "url": url, "disabled": disabled}
            for name, kind, services, url, disabled in EXTENSIONS
        ],
        "event_orchestrations": [
            {
                "name": name,
                **({"team": team} if team else {}),
                "routes": [
                    {"service": service, "label": label, "conditions": [condition]} for service, label, condition in routes
                ],
            }
            for name, team, routes in EVENT_ORCHESTRATIONS
        ],
    }

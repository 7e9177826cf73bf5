"""The demo account: a small, deterministic company on PagerDuty, with planted cases to find.

The tables below are the whole definition. Facts that tests and docs quote
(`DEMO_TEAMLESS_SERVICES`, `DEMO_INCIDENT_ID`, `DEMO_FROM_EMAIL`) are derived
from them, never written twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from runner.sandbox.account import Account, current_hour, object_id
from runner.sandbox.app import SandboxApp

TEAMS = ("Platform", "Payments", "Checkout", "Data", "Mobile")

# (name, team): the first user listed for a team manages it; the very first is the account's admin.
USERS = (
    ("Alex Morgan", "Platform"),
    ("Priya Shah", "Platform"),
    ("Jordan Lee", "Platform"),
    ("Noah Fischer", "Platform"),
    ("Maria Garcia", "Payments"),
    ("Ben Carter", "Payments"),
    ("Aisha Bello", "Payments"),
    ("Lucas Martin", "Payments"),
    ("Sam Rivera", "Checkout"),
    ("Taylor Kim", "Checkout"),
    ("Hana Sato", "Checkout"),
    ("Omar Haddad", "Checkout"),
    ("Elena Petrova", "Data"),
    ("Grace Chen", "Data"),
    ("Diego Alvarez", "Data"),
    ("Fatima Khan", "Data"),
    ("Chris Novak", "Mobile"),
    ("Liam Walsh", "Mobile"),
    ("Zoe Dubois", "Mobile"),
    ("Ravi Patel", "Mobile"),
)

# (name, team, users in rotation order)
SCHEDULES = (
    ("Platform Primary", "Platform", ("Priya Shah", "Jordan Lee", "Noah Fischer")),
    ("Payments On-Call", "Payments", ("Ben Carter", "Aisha Bello", "Lucas Martin")),
    ("Data Weekly", "Data", ("Grace Chen", "Diego Alvarez", "Fatima Khan")),
    ("Mobile Rotation", "Mobile", ("Liam Walsh", "Zoe Dubois", "Ravi Patel")),
)

# (name, team or None, schedules targeted, users targeted)
ESCALATION_POLICIES = (
    ("Platform Escalation", "Platform", ("Platform Primary",), ()),
    ("Platform Infra Direct", "Platform", (), ("Alex Morgan", "Noah Fischer")),
    ("Payments Escalation", "Payments", ("Payments On-Call",), ()),
    ("Checkout Escalation", "Checkout", (), ("Sam Rivera", "Taylor Kim")),
    ("Data Escalation", "Data", ("Data Weekly",), ()),
    ("Mobile Escalation", "Mobile", ("Mobile Rotation",), ()),
    ("Legacy Default", None, (), ("Alex Morgan",)),
    ("After Hours Catch-All", None, ("Platform Primary",), ("Maria Garcia",)),
)

# (name, escalation policy, team or None, status): a team of None is a service no team owns.
SERVICES = (
    ("API Gateway", "Platform Escalation", "Platform", "active"),
    ("Auth Service", "Platform Escalation", "Platform", "active"),
    ("Kubernetes Cluster", "Platform Infra Direct", "Platform", "active"),
    ("Service Mesh", "Platform Infra Direct", "Platform", "active"),
    ("Legacy Monolith", "Legacy Default", None, "active"),
    ("Payments API", "Payments Escalation", "Payments", "active"),
    ("Billing Worker", "Payments Escalation", "Payments", "active"),
    ("Fraud Detection", "Payments Escalation", "Payments", "active"),
    ("Ledger", "Payments Escalation", "Payments", "active"),
    ("Email Relay", "Legacy Default", None, "active"),
    ("Checkout Web", "Checkout Escalation", "Checkout", "active"),
    ("Cart Service", "Checkout Escalation", "Checkout", "active"),
    ("Pricing Engine", "Checkout Escalation", "Checkout", "active"),
    ("Cron Runner", "Legacy Default", None, "active"),
    ("Data Warehouse", "Data Escalation", "Data", "active"),
    ("ETL Pipeline", "Data Escalation", "Data", "active"),
    ("Event Stream", "Data Escalation", "Data", "active"),
    ("Analytics API", "Data Escalation", "Data", "active"),
    ("Status Page Sync", "After Hours Catch-All", None, "active"),
    ("iOS Backend", "Mobile Escalation", "Mobile", "active"),
    ("Android Backend", "Mobile Escalation", "Mobile", "active"),
    ("Push Notifications", "Mobile Escalation", "Mobile", "active"),
    ("Mobile BFF", "Mobile Escalation", "Mobile", "active"),
    ("Old Search", "After Hours Catch-All", None, "disabled"),
    ("Marketing Site", "After Hours Catch-All", None, "active"),
)

# (hours before now, title, service, status, urgency), oldest first. Ledger and Old Search have none.
INCIDENTS = (
    (140, "High latency on /v1/charge", "Payments API", "resolved", "high"),
    (132, "Disk usage above 90% on etl-worker-3", "ETL Pipeline", "resolved", "low"),
    (126, "TLS certificate expires in 7 days", "API Gateway", "resolved", "low"),
    (118, "5xx rate above 2%", "Checkout Web", "resolved", "high"),
    (110, "Nightly batch missed its window", "Cron Runner", "resolved", "low"),
    (101, "Replica lag above 30s", "Data Warehouse", "resolved", "high"),
    (95, "Crash loop in auth pods", "Auth Service", "resolved", "high"),
    (88, "Bounce rate spike", "Email Relay", "resolved", "low"),
    (80, "APNs feedback errors", "Push Notifications", "resolved", "low"),
    (72, "Invoice reconciliation mismatch", "Billing Worker", "resolved", "high"),
    (66, "Node NotReady in pool b", "Kubernetes Cluster", "resolved", "high"),
    (60, "Search index stale", "Analytics API", "resolved", "low"),
    (52, "Fraud model timeouts", "Fraud Detection", "acknowledged", "high"),
    (47, "Consumer lag on orders topic", "Event Stream", "acknowledged", "high"),
    (41, "Cart writes failing for EU users", "Cart Service", "acknowledged", "high"),
    (36, "Invoice emails delayed", "Billing Worker", "acknowledged", "low"),
    (30, "Android login errors after release", "Android Backend", "acknowledged", "high"),
    (26, "Status page out of sync", "Status Page Sync", "acknowledged", "low"),
    (22, "Sidecar memory leak", "Service Mesh", "acknowledged", "high"),
    (19, "Dashboard queries slow", "Analytics API", "acknowledged", "low"),
    (16, "Checkout p99 above 2s", "Checkout Web", "triggered", "high"),
    (14, "Price feed stale", "Pricing Engine", "triggered", "high"),
    (12, "Monolith OOM kills", "Legacy Monolith", "triggered", "high"),
    (10, "Token refresh errors", "Auth Service", "triggered", "high"),
    (8, "502s from the CDN", "Mobile BFF", "triggered", "high"),
    (6, "Payment webhook retries piling up", "Payments API", "triggered", "high"),
    (5, "Push token upload failing", "iOS Backend", "triggered", "low"),
    (3, "TLS handshake errors", "Marketing Site", "triggered", "low"),
    (2, "ETL job failed: orders_daily", "ETL Pipeline", "triggered", "high"),
    (1, "429 surge at the edge", "API Gateway", "triggered", "high"),
)

# (incident number, author, minutes after the incident opened, content)
NOTES = (
    (1, "Ben Carter", 10, "Rolled back the 14:00 deploy; latency recovering."),
    (1, "Maria Garcia", 50, "Root cause: connection pool exhausted. Follow-up filed."),
    (10, "Lucas Martin", 20, "Mismatch traced to a duplicated refund event."),
    (13, "Aisha Bello", 15, "Model servers scaled from 4 to 8 replicas."),
    (15, "Sam Rivera", 5, "EU database failover in progress."),
    (15, "Taylor Kim", 25, "Writes recovering; watching the error rate."),
    (17, "Liam Walsh", 30, "Release 4.12.1 halted at 20% rollout."),
    (23, "Alex Morgan", 45, "Restarted the two worst nodes; heap dump captured."),
)

# How long before `now` the teams, users, schedules, policies and services were set up.
SETUP_AGE = timedelta(days=90)


def _email(name: str) -> str:
    return name.lower().replace(" ", ".") + "@example.com"


DEMO_FROM_EMAIL = _email(USERS[0][0])
"""The demo admin's address (Alex Morgan): the `From` of pdrun's example config."""

DEMO_TEAMLESS_SERVICES: tuple[str, ...] = tuple(name for name, _, team, _ in SERVICES if team is None)
"""Names of the demo services that no team owns."""

DEMO_INCIDENT_ID = object_id("incident", 1 + [i[3] for i in INCIDENTS].index("triggered"))
"""Id of the demo's oldest triggered incident, the one the README quotes."""


def demo_account(*, now: datetime | None = None) -> Account:
    """Build the demo account as it stands at `now` (default: the current UTC hour)."""
    now = now or current_hour()
    account = Account(now=now - SETUP_AGE)
    teams = {name: account.add_team(name) for name in TEAMS}
    users = {
        name: account.add_user(name, _email(name), teams=[teams[team]], role="admin" if i == 0 else "user")
        for i, (name, team) in enumerate(USERS)
    }
    for team in TEAMS:
        manager = next(name for name, member_of in USERS if member_of == team)
        account.add_team_member(teams[team], users[manager], role="manager")
    schedules = {
        name: account.add_schedule(name, users=[users[u] for u in members], teams=[teams[team]])
        for name, team, members in SCHEDULES
    }
    policies = {
        name: account.add_escalation_policy(
            name,
            targets=[schedules[s] for s in targeted_schedules] + [users[u] for u in targeted_users],
            teams=[teams[team]] if team else [],
        )
        for name, team, targeted_schedules, targeted_users in ESCALATION_POLICIES
    }
    services = {
        name: account.add_service(
            name, escalation_policy=policies[policy], teams=[teams[team]] if team else [], status=status
        )
        for name, policy, team, status in SERVICES
    }
    account.now = now
    incidents = [
        account.add_incident(
            title,
            service=services[service],
            status=status,
            urgency=urgency,
            created_at=now - timedelta(hours=hours_ago),
        )
        for hours_ago, title, service, status, urgency in INCIDENTS
    ]
    for number, author, minutes, content in NOTES:
        written = now - timedelta(hours=INCIDENTS[number - 1][0]) + timedelta(minutes=minutes)
        account.add_note(incidents[number - 1]["id"], content, user=users[author], created_at=written)
    return account


def demo_app() -> SandboxApp:
    """Serve a fresh demo account."""
    return SandboxApp(demo_account())

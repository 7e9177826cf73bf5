"""The demo account: a small, deterministic company on PagerDuty, with hygiene problems planted to find.

The tables below are the whole definition. Apart from what is planted, the
account is clean: every audit pdrun ships finds exactly what is planted for it
with its default parameters (tests/demo_expectations.py derives the sets from
these tables). Planted, with the audit that finds it:

- services-without-teams: Legacy Monolith, Email Relay, Cron Runner, Status Page Sync, Old Search,
  Marketing Site (their escalation policies have no team either).
- services-without-integrations: Pricing Engine.
- services-inactive (30 days): Ledger, which never had an incident.
- services-disabled: Old Search.
- escalation-policies-unused: Payments Legacy.
- escalation-policies-single-level: Mobile Release Pager (one level), Data Escalation (a level of one user).
- schedules-with-gaps (14 days): Mobile Rotation, on call 08:00-20:00 only.
- schedules-unused: Checkout Weekend.
- users-without-contact-methods: Omar Haddad (email only), Fatima Khan (no high-urgency rule).
- users-orphaned: Casey Brooks, on no team, schedule or policy.
- teams-without-members: Security.
- incidents-stale (24 hours): the six acknowledged incidents opened more than a day ago.
- service-standards (below 80% of standards passed): Kubernetes Cluster, with no description and a
  policy notifying no schedule.
- users-invitation-pending: Casey Brooks, invited 90 days ago.
- licenses-unused: Mei Tanaka, a responder on no schedule or policy.
- webhooks-disabled: the Payments team's webhook (failing), Checkout Web's (switched off), the Status page
  extension (failing).
- maintenance-windows-long: Cron Runner (for 100 hours), Ledger (40 days), and Ledger's ten-year window.
- services-noise-settings: Data Warehouse (no grouping or auto-pause, which the Data team's other services
  have), Push Notifications (no acknowledgement timeout).
- schedules-overrides-heavy: Payments On-Call, overridden for 8 of the next 14 days.
- users-weak-notification-rules: Omar Haddad (one high-urgency rule), Taylor Kim (every rule at once).

Facts that tests and docs quote (`DEMO_TEAMLESS_SERVICES`, `DEMO_INCIDENT_ID`,
`DEMO_FROM_EMAIL`, `DEMO_ROUTING_KEY`, `DEMO_USER_TOKEN`, `DEMO_RESTRICTED_TOKEN`)
are derived from the tables, never written twice.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from runner.sandbox.account import Account
from runner.sandbox.app import SandboxApp
from runner.sandbox.builder import build_account, email_of
from runner.sandbox.clock import Ticks
from runner.sandbox.demo_addons import addon_sections
from runner.sandbox.demo_incidents import INCIDENTS, NOTES
from runner.sandbox.objects import object_id, secret

TEAMS = ("Platform", "Payments", "Checkout", "Data", "Mobile", "Security")

# How a user can be reached: contact methods, the urgencies each notifies about at once, and the rules that
# notify again later, as (contact method, urgency, minutes).
PAGING = {
    "full": (("email", "phone", "push"), ("high", "low"), (("phone", "high", 5),)),
    "immediate only": (("email", "phone", "push"), ("high", "low"), ()),
    "email only": (("email",), ("high", "low"), ()),
    "low urgency only": (("email", "phone", "sms"), ("low",), ()),
}

# (name, team or None, paging): the first user listed for a team manages it; `ROLES` gives the account
# roles of those who are not responders.
USERS = (
    ("Alex Morgan", "Platform", "full"),
    ("Priya Shah", "Platform", "full"),
    ("Jordan Lee", "Platform", "full"),
    ("Noah Fischer", "Platform", "full"),
    ("Maria Garcia", "Payments", "full"),
    ("Ben Carter", "Payments", "full"),
    ("Aisha Bello", "Payments", "full"),
    ("Lucas Martin", "Payments", "full"),
    ("Sam Rivera", "Checkout", "full"),
    ("Taylor Kim", "Checkout", "immediate only"),
    ("Hana Sato", "Checkout", "full"),
    ("Omar Haddad", "Checkout", "email only"),
    ("Elena Petrova", "Data", "full"),
    ("Grace Chen", "Data", "full"),
    ("Diego Alvarez", "Data", "full"),
    ("Fatima Khan", "Data", "low urgency only"),
    ("Chris Novak", "Mobile", "full"),
    ("Liam Walsh", "Mobile", "full"),
    ("Zoe Dubois", "Mobile", "full"),
    ("Ravi Patel", "Mobile", "full"),
    ("Casey Brooks", None, "full"),
    ("Mei Tanaka", "Data", "full"),
)

ROLES = {
    "Alex Morgan": "owner",
    "Priya Shah": "admin",
    "Maria Garcia": "user",
    "Elena Petrova": "user",
    "Chris Novak": "user",
    "Omar Haddad": "restricted_access",
    "Casey Brooks": "read_only_user",
}
INVITED = ("Casey Brooks",)
# Seats of each license: full users and stakeholders.
LICENSES = {"full_user": 25, "stakeholder": 2}

# (token, user): user-level API tokens.
USER_TOKENS = (("pdrun-sandbox-user-token", "Sam Rivera"), ("pdrun-sandbox-restricted-token", "Omar Haddad"))

# (name, team, users in rotation order, daily on-call hours as (start, hours) or None for all day)
SCHEDULES = (
    ("Platform Primary", "Platform", ("Priya Shah", "Jordan Lee", "Noah Fischer"), None),
    ("Payments On-Call", "Payments", ("Ben Carter", "Aisha Bello", "Lucas Martin"), None),
    ("Checkout Primary", "Checkout", ("Hana Sato", "Omar Haddad", "Taylor Kim"), None),
    ("Checkout Weekend", "Checkout", ("Sam Rivera", "Hana Sato"), None),
    ("Data Weekly", "Data", ("Grace Chen", "Diego Alvarez", "Fatima Khan"), None),
    ("Mobile Rotation", "Mobile", ("Liam Walsh", "Zoe Dubois", "Ravi Patel"), ("08:00:00", 12)),
)

# (schedule, user, starts in hours from now, hours)
OVERRIDES = (
    ("Platform Primary", "Alex Morgan", 24, 48),
    ("Payments On-Call", "Lucas Martin", 12, 96),
    ("Payments On-Call", "Ben Carter", 120, 96),
)

# (name, team or None, levels: the schedules or users each notifies)
ESCALATION_POLICIES = (
    ("Platform Escalation", "Platform", (("Platform Primary",), ("Alex Morgan", "Priya Shah"))),
    ("Platform Infra Direct", "Platform", (("Noah Fischer", "Jordan Lee"), ("Alex Morgan", "Priya Shah"))),
    ("Payments Escalation", "Payments", (("Payments On-Call",), ("Maria Garcia", "Ben Carter"))),
    ("Payments Legacy", "Payments", (("Payments On-Call",), ("Maria Garcia", "Lucas Martin"))),
    ("Checkout Escalation", "Checkout", (("Checkout Primary",), ("Sam Rivera", "Taylor Kim"))),
    ("Data Escalation", "Data", (("Data Weekly",), ("Elena Petrova",))),
    ("Mobile Escalation", "Mobile", (("Mobile Rotation",), ("Chris Novak", "Liam Walsh"))),
    ("Mobile Release Pager", "Mobile", (("Mobile Rotation",),)),
    ("Legacy Default", None, (("Platform Primary",), ("Alex Morgan", "Noah Fischer"))),
    ("After Hours Catch-All", None, (("Platform Primary",), ("Maria Garcia", "Alex Morgan"))),
)

EVENTS = ("events_api_v2",)

# (name, escalation policy, team or None, status, integrations, description): a team of None is a service
# no team owns.
SERVICES = (
    ("API Gateway", "Platform Escalation", "Platform", "active", EVENTS, "Public edge: routing, TLS, rate limits."),
    ("Auth Service", "Platform Escalation", "Platform", "active", EVENTS, "Logins, sessions and API tokens."),
    ("Kubernetes Cluster", "Platform Infra Direct", "Platform", "active", EVENTS, ""),
    ("Service Mesh", "Platform Infra Direct", "Platform", "active", EVENTS, "Sidecars and mTLS between services."),
    ("Legacy Monolith", "Legacy Default", None, "active", EVENTS, "The original Rails app, being carved up."),
    ("Payments API", "Payments Escalation", "Payments", "active", EVENTS, "Card and wallet payments."),
    ("Billing Worker", "Payments Escalation", "Payments", "active", EVENTS, "Invoices and subscription renewals."),
    ("Fraud Detection", "Payments Escalation", "Payments", "active", EVENTS, "Scores every payment for fraud."),
    ("Ledger", "Payments Escalation", "Payments", "active", EVENTS, "Double-entry record of every payment."),
    ("Email Relay", "Legacy Default", None, "active", ("email",), "Outbound transactional email."),
    ("Checkout Web", "Checkout Escalation", "Checkout", "active", EVENTS, "The checkout pages."),
    ("Cart Service", "Checkout Escalation", "Checkout", "active", EVENTS, "Carts and saved items."),
    ("Pricing Engine", "Checkout Escalation", "Checkout", "active", (), "Prices, discounts and currencies."),
    ("Cron Runner", "Legacy Default", None, "active", EVENTS, "Nightly batch jobs."),
    ("Data Warehouse", "Data Escalation", "Data", "active", EVENTS, "The analytics warehouse."),
    ("ETL Pipeline", "Data Escalation", "Data", "active", ("events_api_v2", "email"), "Loads the warehouse."),
    ("Event Stream", "Data Escalation", "Data", "active", EVENTS, "The Kafka event bus."),
    ("Analytics API", "Data Escalation", "Data", "active", EVENTS, "Dashboards and reports."),
    ("Status Page Sync", "After Hours Catch-All", None, "active", EVENTS, "Mirrors incidents to the status page."),
    ("iOS Backend", "Mobile Escalation", "Mobile", "active", EVENTS, "APIs of the iOS app."),
    ("Android Backend", "Mobile Escalation", "Mobile", "active", EVENTS, "APIs of the Android app."),
    ("Push Notifications", "Mobile Escalation", "Mobile", "active", EVENTS, "APNs and FCM delivery."),
    ("Mobile BFF", "Mobile Release Pager", "Mobile", "active", EVENTS, "Backend for the mobile frontends."),
    ("Old Search", "After Hours Catch-All", None, "disabled", EVENTS, "Search v1, replaced by Search v2."),
    ("Marketing Site", "After Hours Catch-All", None, "active", EVENTS, "www, served from the CDN."),
)

# Services' noise settings where they differ from a new service's (alert grouping and auto-pause off, an
# acknowledgement timeout of 30 minutes, auto-resolve after 4 hours); a timeout of 0 is none.
NOISE_SETTINGS: dict[str, dict[str, Any]] = {
    "ETL Pipeline": {"alert_grouping": "intelligent", "auto_pause": True},
    "Event Stream": {"alert_grouping": "intelligent", "auto_pause": True},
    "Analytics API": {"alert_grouping": "time", "auto_pause": True},
    "Push Notifications": {"acknowledgement_timeout": 0},
}


def demo_description() -> dict[str, Any]:
    """Return the demo account as a profile description (see runner.sandbox.builder)."""
    members = {team: [name for name, member_of, _ in USERS if member_of == team] for team in TEAMS}
    tokens = dict((user, token) for token, user in USER_TOKENS)
    return {
        "licenses": LICENSES,
        "teams": [{"name": team, "managers": members[team][:1]} for team in TEAMS],
        "users": [
            {
                "name": name,
                "role": ROLES.get(name, "limited_user"),
                "teams": [team] if team else [],
                "contact_methods": list(PAGING[paging][0]),
                "notification_urgencies": list(PAGING[paging][1]),
                "notification_rules": [
                    {"contact_method": method, "urgency": urgency, "start_delay_in_minutes": minutes}
                    for method, urgency, minutes in PAGING[paging][2]
                ],
                "invited": name in INVITED,
                **({"token": tokens[name]} if name in tokens else {}),
            }
            for name, team, paging in USERS
        ],
        "schedules": [
            {
                "name": name,
                "teams": [team],
                "users": list(users),
                "restrictions": [
                    {"type": "daily_restriction", "start_time_of_day": hours[0], "duration_seconds": hours[1] * 3600}
                ]
                if hours
                else [],
                "overrides": [
                    {"user": user, "starts_in_hours": start, "hours": length}
                    for schedule, user, start, length in OVERRIDES
                    if schedule == name
                ],
            }
            for name, team, users, hours in SCHEDULES
        ],
        "escalation_policies": [
            {"name": name, "teams": [team] if team else [], "rules": [list(level) for level in levels]}
            for name, team, levels in ESCALATION_POLICIES
        ],
        "services": [
            {
                "name": name,
                "escalation_policy": policy,
                "teams": [team] if team else [],
                "status": status,
                "integrations": list(integrations),
                "description": description,
                **NOISE_SETTINGS.get(name, {}),
            }
            for name, policy, team, status, integrations, description in SERVICES
        ],
        **addon_sections(),
        "incidents": [
            {
                "title": title,
                "service": service,
                "status": status,
                "urgency": urgency,
                "hours_ago": hours_ago,
                "notes": [
                    {"user": author, "content": content, "minutes_after": minutes}
                    for number, author, minutes, content in NOTES
                    if number == n
                ],
            }
            for n, (hours_ago, title, service, status, urgency) in enumerate(INCIDENTS, 1)
        ],
    }


def demo_account(*, now: datetime | None = None, clock: Ticks = time.monotonic,
                 subdomain: str | None = None) -> Account:
    """Build the demo account as it stands at `now` (default: the current time), its clock moving on with `clock`."""
    return build_account(demo_description(), source="the demo profile", now=now, clock=clock, subdomain=subdomain)


def demo_app(subdomain: str | None = None) -> SandboxApp:
    """Serve a fresh demo account (under another subdomain than the demo's, if given)."""
    return SandboxApp(demo_account(subdomain=subdomain))


# Facts derived from the tables.

DEMO_FROM_EMAIL = email_of(USERS[0][0])
"""The demo owner's address (Alex Morgan): the `From` of pdrun's example config."""

DEMO_USER_TOKEN = USER_TOKENS[0][0]
"""A user-level API token of the demo, acting as Sam Rivera, a responder managing Checkout."""

DEMO_RESTRICTED_TOKEN = USER_TOKENS[1][0]
"""A user-level API token of the demo, acting as Omar Haddad, restricted to Checkout's objects."""

DEMO_TEAMLESS_SERVICES: tuple[str, ...] = tuple(name for name, _, team, *_ in SERVICES if team is None)
"""Names of the demo services that no team owns."""

DEMO_INCIDENT_ID = object_id("incident", 1 + [i[3] for i in INCIDENTS].index("triggered"))
"""Id of the demo's oldest triggered incident, the one the README quotes."""


def _integration_number(service: str) -> int:
    """Return the creation number of `service`'s first Events API integration (services make theirs in order)."""
    before = 0
    for name, _, _, _, integrations, _ in SERVICES:
        if name == service:
            return before + 1 + list(integrations).index("events_api_v2")
        before += len(integrations)
    raise ValueError(service)


DEMO_ROUTING_KEY = secret("integration", object_id("integration", _integration_number("API Gateway")))
"""The Events API v2 routing key of the API Gateway service's integration."""

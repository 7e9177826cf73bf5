"""Build an account from a description: the demo's tables, or a profile file's contents.

A description maps each kind to a list of tables; objects refer to each other
by name, times count in hours from the account's `now`, and everything but
incidents was set up 90 days before it. docs/sandbox.md documents every key
with its default. Every mistake raises ValueError naming the source, the
table and the key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from time import monotonic
from typing import Any

from runner.sandbox.account import Account
from runner.sandbox.builder_addons import ADDON_KEYS, ADDON_STEPS, set_seats
from runner.sandbox.catalog import ALERT_GROUPING, INTEGRATION_TYPES, SERVICE_STATUSES
from runner.sandbox.clock import Ticks, stopped, wall_time
from runner.sandbox.lifecycle import INCIDENT_STATUSES
from runner.sandbox.objects import DEFAULT_SUBDOMAIN, Obj, parse_time
from runner.sandbox.people import CONTACT_METHOD_TYPES, PAGING_CONTACT_METHODS
from runner.sandbox.profile_tables import Names, Table
from runner.sandbox.roles import ROLES

# How long before `now` the teams, users, schedules, policies and services were set up.
SETUP_AGE = timedelta(days=90)
SECTIONS = ("teams", "users", "schedules", "escalation_policies", "services", "incidents")
_LAYER_KEYS = ("users", "turn_hours", "restrictions", "ends_in_hours")
SUBDOMAIN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def email_of(name: str) -> str:
    """Return the address a user named `name` gets by default: first.last@example.com."""
    return name.lower().replace(" ", ".") + "@example.com"


def check_subdomain(subdomain: str) -> str:
    """Return `subdomain` if it can name a PagerDuty account (lower-case letters, digits, dashes); else raise."""
    if not SUBDOMAIN.fullmatch(subdomain):
        raise ValueError(f"expected lower-case letters, digits and dashes, got {subdomain!r}")
    return subdomain


def build_account(
    description: Mapping[str, Any],
    *,
    source: str,
    now: datetime | None = None,
    clock: Ticks = monotonic,
    subdomain: str | None = None,
) -> Account:
    """Build the account a description describes, as it stands at `now` (default: its own, or the current time).

    Once built, the account's clock moves on from `now` as `clock` ticks;
    `subdomain` overrides the description's.
    """
    top = Table(description, source, ("now", "subdomain", "licenses", *SECTIONS, *ADDON_KEYS))
    if now is None:
        stamp = top.get("now", str, None)
        try:
            now = parse_time(stamp) if stamp else wall_time()
        except ValueError:
            raise top.fail("now", f"expected an ISO 8601 time, got {stamp!r}") from None
    if subdomain is None:
        try:
            subdomain = check_subdomain(top.get("subdomain", str, DEFAULT_SUBDOMAIN))
        except ValueError as exc:
            raise top.fail("subdomain", str(exc)) from None
    account = Account(now=now - SETUP_AGE, clock=stopped, subdomain=subdomain)
    account.add_standard_priorities()
    account.add_ruleset("Default Global", default=True)
    names = Names(SECTIONS)
    for section, build in _SETUP_STEPS:
        for entry in top.tables(section, _KEYS[section]):
            names.add(section, entry, build(account, names, entry, now))
    for entry in top.tables("teams", _KEYS["teams"]):
        team = names.find(entry, "name", entry.get("name", str), "teams")
        for manager in entry.strings("managers"):
            account.add_team_member(team, names.find(entry, "managers", manager, "users"), role="manager")
    set_seats(account, top)
    account.now = now
    for section, build in ADDON_STEPS:
        for entry in top.tables(section, ADDON_KEYS[section]):
            build(account, names, entry, now)
    for entry in top.tables("incidents", _KEYS["incidents"]):
        _incident(account, names, entry, now)
    account.restart_clock(now, clock)
    return account


def _team(account: Account, names: Names, entry: Table, now: datetime) -> Obj:
    return account.add_team(entry.get("name", str), description=entry.get("description", str, ""))


def _user(account: Account, names: Names, entry: Table, now: datetime) -> Obj:
    name = entry.get("name", str)
    try:
        user = account.add_user(
            name,
            entry.get("email", str, email_of(name)),
            teams=[names.find(entry, "teams", team, "teams") for team in entry.strings("teams")],
            role=entry.choice("role", ROLES, "user"),
            contact_methods=entry.strings("contact_methods", PAGING_CONTACT_METHODS, CONTACT_METHOD_TYPES),
            notification_urgencies=entry.strings("notification_urgencies", ("high", "low"), ("high", "low")),
            invited=entry.get("invited", bool, False),
        )
    except ValueError as exc:
        raise entry.fail("email", str(exc)) from None
    if (token := entry.get("token", str, None)) is not None:
        account.add_user_token(token, user)
    for rule in entry.tables("notification_rules", ("contact_method", "urgency", "start_delay_in_minutes")):
        kind = rule.choice("contact_method", CONTACT_METHOD_TYPES, "phone")
        method = next((ref for ref in user["contact_methods"] if ref["type"] == f"{CONTACT_METHOD_TYPES[kind]}_reference"),
                      None)
        if method is None:
            raise rule.fail("contact_method", f"{name} has no {kind} contact method")
        delay = rule.get("start_delay_in_minutes", int, 0)
        if delay < 0:
            raise rule.fail("start_delay_in_minutes", "expected 0 or more minutes")
        account.add_notification_rule(user, method["id"], urgency=rule.choice("urgency", ("high", "low"), "high"),
                                      start_delay_in_minutes=delay)
    return user


def _schedule(account: Account, names: Names, entry: Table, now: datetime) -> Obj:
    schedule = account.add_schedule(
        entry.get("name", str), teams=[names.find(entry, "teams", t, "teams") for t in entry.strings("teams")]
    )
    shorthand = {key: entry.data[key] for key in _LAYER_KEYS if key in entry.data}
    layers = entry.tables("layers", _LAYER_KEYS)
    if shorthand and layers:
        raise entry.fail("layers", "give either layers or one layer's users, not both")
    for layer in layers or ([Table(shorthand, entry.where, _LAYER_KEYS)] if shorthand else []):
        ends_in = layer.hours("ends_in_hours", None)
        turn = layer.hours("turn_hours", 168)
        if turn <= timedelta(0):
            raise layer.fail("turn_hours", "expected a positive number of hours")
        account.add_schedule_layer(
            schedule,
            [names.find(layer, "users", user, "users") for user in layer.strings("users")],
            turn_length=turn,
            restrictions=[_restriction(r) for r in layer.tables("restrictions", _RESTRICTION_KEYS)],
            end=now + ends_in if ends_in is not None else None,
        )
    for override in entry.tables("overrides", ("user", "starts_in_hours", "hours")):
        start = now + override.hours("starts_in_hours")
        try:
            account.add_override(
                schedule,
                names.find(override, "user", override.get("user", str), "users"),
                start=start,
                end=start + override.hours("hours"),
            )
        except ValueError as exc:
            raise override.fail("hours", str(exc)) from None
    return schedule


def _restriction(entry: Table) -> Obj:
    kind = entry.choice("type", ("daily_restriction", "weekly_restriction"), "daily_restriction")
    at = entry.get("start_time_of_day", str)
    try:
        time.fromisoformat(at)
    except ValueError:
        raise entry.fail("start_time_of_day", f"expected a time of day such as 09:00:00, got {at!r}") from None
    restriction = {"type": kind, "start_time_of_day": at, "duration_seconds": entry.get("duration_seconds", int)}
    if kind == "weekly_restriction":
        restriction["start_day_of_week"] = entry.get("start_day_of_week", int)
        if not 1 <= restriction["start_day_of_week"] <= 7:
            raise entry.fail("start_day_of_week", "expected 1 (Monday) to 7 (Sunday)")
    if restriction["duration_seconds"] <= 0:
        raise entry.fail("duration_seconds", "expected a positive number of seconds")
    return restriction


def _escalation_policy(account: Account, names: Names, entry: Table, now: datetime) -> Obj:
    policy = account.add_escalation_policy(
        entry.get("name", str), teams=[names.find(entry, "teams", t, "teams") for t in entry.strings("teams")]
    )
    for level in entry.get("rules", list):
        if not isinstance(level, list) or not level or not all(isinstance(target, str) for target in level):
            raise entry.fail("rules", f"expected lists of schedule or user names, got {level!r}")
        account.add_escalation_rule(policy, [names.find(entry, "rules", t, "schedules", "users") for t in level])
    return policy


def _service(account: Account, names: Names, entry: Table, now: datetime) -> Obj:
    policy = names.find(entry, "escalation_policy", entry.get("escalation_policy", str), "escalation_policies")
    if "teams" in entry.data:
        teams = [names.find(entry, "teams", team, "teams") for team in entry.strings("teams")]
    else:
        teams = [ref["id"] for ref in policy["teams"]]
    grouping = entry.choice("alert_grouping", ("off", *ALERT_GROUPING), "off")
    try:
        return account.add_service(
            entry.get("name", str),
            escalation_policy=policy,
            teams=teams,
            status=entry.choice("status", SERVICE_STATUSES, "active"),
            description=entry.get("description", str, ""),
            integrations=entry.strings("integrations", ("events_api_v2",), INTEGRATION_TYPES),
            alert_grouping=None if grouping == "off" else grouping,
            auto_pause=entry.get("auto_pause", bool, False),
            acknowledgement_timeout=_seconds(entry, "acknowledgement_timeout", 1800),
            auto_resolve_timeout=_seconds(entry, "auto_resolve_timeout", 14400),
        )
    except ValueError as exc:
        raise entry.fail("name", str(exc)) from None


def _seconds(entry: Table, key: str, default: int) -> int | None:
    """Return a timeout in seconds, None for 0 (off), as PagerDuty stores a disabled one."""
    value = entry.get(key, int, default)
    if value < 0:
        raise entry.fail(key, "expected 0 (off) or a positive number of seconds")
    return value or None


def _incident(account: Account, names: Names, entry: Table, now: datetime) -> None:
    opened = now - entry.hours("hours_ago", 0)
    incident = account.add_incident(
        entry.get("title", str),
        service=names.find(entry, "service", entry.get("service", str), "services"),
        status=entry.choice("status", INCIDENT_STATUSES, "triggered"),
        urgency=entry.choice("urgency", ("high", "low"), "high"),
        created_at=opened,
        assignees=[names.find(entry, "assignees", user, "users") for user in entry.strings("assignees")],
    )
    for note in entry.tables("notes", ("user", "content", "minutes_after")):
        written = opened + timedelta(minutes=note.get("minutes_after", (int, float), 0))
        author = names.find(note, "user", note.get("user", str), "users")
        account.add_note(incident["id"], note.get("content", str), user=author, created_at=written)


_RESTRICTION_KEYS = ("type", "start_time_of_day", "duration_seconds", "start_day_of_week")
_KEYS = {
    "teams": ("name", "description", "managers"),
    "users": (
        "name", "email", "role", "teams", "contact_methods", "notification_urgencies", "notification_rules", "token",
        "invited",
    ),
    "schedules": ("name", "teams", "layers", "overrides", *_LAYER_KEYS),
    "escalation_policies": ("name", "teams", "rules"),
    "services": (
        "name", "escalation_policy", "teams", "status", "description", "integrations",
        "alert_grouping", "auto_pause", "acknowledgement_timeout", "auto_resolve_timeout",
    ),
    "incidents": ("title", "service", "status", "urgency", "hours_ago", "assignees", "notes"),
}
_SETUP_STEPS: tuple[tuple[str, Callable[[Account, Names, Table, datetime], Obj]], ...] = (
    ("teams", _team),
    ("users", _user),
    ("schedules", _schedule),
    ("escalation_policies", _escalation_policy),
    ("services", _service),
)

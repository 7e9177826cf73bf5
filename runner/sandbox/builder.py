"""Build an account from a description: the demo's tables, or a profile file's contents.

A description maps each kind to a list of tables; objects refer to each other
by name, times count in hours from the account's `now`, and everything but
incidents was set up 90 days before it. Keys, with their defaults
(docs/sandbox.md has an annotated example):

- `now`: an ISO 8601 time (the current hour).
- `teams`: name, description (""), managers ([]: members given the manager role).
- `users`: name, email (first.last@example.com), role ("user"), teams ([]),
  contact_methods (["email", "phone", "push"]; also "sms"), notification_urgencies
  (["high", "low"]: a rule per method and urgency), token (a user-level API token).
- `schedules`: name, teams ([]), layers (each: users, turn_hours (168), restrictions
  ([], PagerDuty's daily_restriction or weekly_restriction), ends_in_hours (none)),
  or those keys of one layer on the schedule itself; overrides (each: user,
  starts_in_hours, hours).
- `escalation_policies`: name, teams ([]), rules (a list of levels, each a list of
  schedule or user names).
- `services`: name, escalation_policy, teams (the policy's), status ("active"),
  description (""), integrations (["events_api_v2"]; also "email").
- `incidents`, opened in their order: title, service, status ("triggered"),
  urgency ("high"), hours_ago (0), assignees (whom the policy notifies first),
  notes (each: user, content, minutes_after (0)).

Every mistake raises ValueError naming the source, the table and the key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, time, timedelta
from typing import Any

from runner.sandbox.account import (
    CONTACT_METHOD_TYPES,
    INTEGRATION_TYPES,
    PAGING_CONTACT_METHODS,
    SERVICE_STATUSES,
    Account,
)
from runner.sandbox.lifecycle import INCIDENT_STATUSES
from runner.sandbox.objects import Obj, current_hour, parse_time

# How long before `now` the teams, users, schedules, policies and services were set up.
SETUP_AGE = timedelta(days=90)
SECTIONS = ("teams", "users", "schedules", "escalation_policies", "services", "incidents")
_LAYER_KEYS = ("users", "turn_hours", "restrictions", "ends_in_hours")
_MISSING = object()


def email_of(name: str) -> str:
    """Return the address a user named `name` gets by default: first.last@example.com."""
    return name.lower().replace(" ", ".") + "@example.com"


class _Table:
    """One table of a description, read with errors that name the source, the table and the key."""

    def __init__(self, data: Any, where: str, allowed: Iterable[str]) -> None:
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a table, got {data!r}")
        self.data, self.where = data, where
        unknown = set(data) - set(allowed)
        if unknown:
            raise ValueError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(allowed)})")

    def fail(self, key: str, problem: str) -> ValueError:
        """Return the error for a bad `key`."""
        return ValueError(f"{self.where}: {key}: {problem}")

    def get(self, key: str, kind: type | tuple[type, ...], default: Any = _MISSING) -> Any:
        """Return the value of `key`, checked to be of `kind`; without a default it is required."""
        value = self.data.get(key, default)
        if value is _MISSING:
            raise self.fail(key, "missing")
        wrong_bool = isinstance(value, bool) and bool not in _kinds(kind)
        if value is not default and (not isinstance(value, kind) or wrong_bool):
            raise self.fail(key, f"expected {_kind_names(kind)}, got {value!r}")
        return value

    def strings(self, key: str, default: Iterable[str] = (), choices: Iterable[str] | None = None) -> list[str]:
        """Return a list of strings, each one of `choices` if given."""
        values = self.get(key, list, list(default))
        allowed = list(choices) if choices is not None else None
        for value in values:
            if not isinstance(value, str) or allowed is not None and value not in allowed:
                expected = f"one of {', '.join(allowed)}" if allowed is not None else "a string"
                raise self.fail(key, f"expected a list of {expected}, got {value!r}")
        return values

    def choice(self, key: str, choices: Iterable[str], default: str) -> str:
        """Return a string that must be one of `choices`."""
        value = self.get(key, str, default)
        choices = tuple(choices)
        if value not in choices:
            raise self.fail(key, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def hours(self, key: str, default: Any = _MISSING) -> timedelta | None:
        """Return a number of hours as a duration (None if absent and the default is None)."""
        value = self.get(key, (int, float), default)
        return None if value is None else timedelta(hours=value)

    def tables(self, key: str, allowed: Iterable[str]) -> list[_Table]:
        """Return a list of tables, each checked for unknown keys and named in errors by its number and name."""
        allowed = tuple(allowed)
        items = self.get(key, list, [])
        return [_Table(item, f"{self.where}: {key} #{n}{_label(item)}", allowed) for n, item in enumerate(items, 1)]


def _label(item: Any) -> str:
    name = item.get("name") or item.get("title") if isinstance(item, Mapping) else None
    return f" ({name})" if isinstance(name, str) else ""


def _kinds(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_names(kind: type | tuple[type, ...]) -> str:
    names = {"str": "a string", "list": "a list", "int": "a number", "float": "a number", "dict": "a table"}
    return " or ".join(dict.fromkeys(names.get(k.__name__, k.__name__) for k in _kinds(kind)))


class _Names:
    """The objects built so far, by kind and name, for resolving references."""

    def __init__(self) -> None:
        self.by_kind: dict[str, dict[str, Obj]] = {kind: {} for kind in SECTIONS}

    def add(self, kind: str, entry: _Table, obj: Obj) -> None:
        name = entry.get("name", str) if kind != "incidents" else entry.get("title", str)
        if kind != "incidents" and name in self.by_kind[kind]:
            raise entry.fail("name", f"another {kind[:-1].replace('_', ' ')} is named {name!r}")
        self.by_kind[kind][name] = obj

    def find(self, entry: _Table, key: str, name: str, *kinds: str) -> Obj:
        for kind in kinds:
            if name in self.by_kind[kind]:
                return self.by_kind[kind][name]
        wanted = " or ".join(kind[:-1].replace("_", " ") for kind in kinds)
        raise entry.fail(key, f"no {wanted} named {name!r}")


def build_account(description: Mapping[str, Any], *, source: str, now: datetime | None = None) -> Account:
    """Build the account a description describes, as it stands at `now` (default: its own, or the current hour)."""
    top = _Table(description, source, ("now", *SECTIONS))
    if now is None:
        stamp = top.get("now", str, None)
        try:
            now = parse_time(stamp) if stamp else current_hour()
        except ValueError:
            raise top.fail("now", f"expected an ISO 8601 time, got {stamp!r}") from None
    account = Account(now=now - SETUP_AGE)
    names = _Names()
    for section, build in _SETUP_STEPS:
        for entry in top.tables(section, _KEYS[section]):
            names.add(section, entry, build(account, names, entry, now))
    for entry in top.tables("teams", _KEYS["teams"]):
        team = names.find(entry, "name", entry.get("name", str), "teams")
        for manager in entry.strings("managers"):
            account.add_team_member(team, names.find(entry, "managers", manager, "users"), role="manager")
    account.now = now
    for entry in top.tables("incidents", _KEYS["incidents"]):
        _incident(account, names, entry, now)
    return account


def _team(account: Account, names: _Names, entry: _Table, now: datetime) -> Obj:
    return account.add_team(entry.get("name", str), description=entry.get("description", str, ""))


def _user(account: Account, names: _Names, entry: _Table, now: datetime) -> Obj:
    name = entry.get("name", str)
    try:
        user = account.add_user(
            name,
            entry.get("email", str, email_of(name)),
            teams=[names.find(entry, "teams", team, "teams") for team in entry.strings("teams")],
            role=entry.get("role", str, "user"),
            contact_methods=entry.strings("contact_methods", PAGING_CONTACT_METHODS, CONTACT_METHOD_TYPES),
            notification_urgencies=entry.strings("notification_urgencies", ("high", "low"), ("high", "low")),
        )
    except ValueError as exc:
        raise entry.fail("email", str(exc)) from None
    if (token := entry.get("token", str, None)) is not None:
        account.add_user_token(token, user)
    return user


def _schedule(account: Account, names: _Names, entry: _Table, now: datetime) -> Obj:
    schedule = account.add_schedule(
        entry.get("name", str), teams=[names.find(entry, "teams", t, "teams") for t in entry.strings("teams")]
    )
    shorthand = {key: entry.data[key] for key in _LAYER_KEYS if key in entry.data}
    layers = entry.tables("layers", _LAYER_KEYS)
    if shorthand and layers:
        raise entry.fail("layers", "give either layers or one layer's users, not both")
    for layer in layers or ([_Table(shorthand, entry.where, _LAYER_KEYS)] if shorthand else []):
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


def _restriction(entry: _Table) -> Obj:
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


def _escalation_policy(account: Account, names: _Names, entry: _Table, now: datetime) -> Obj:
    policy = account.add_escalation_policy(
        entry.get("name", str), teams=[names.find(entry, "teams", t, "teams") for t in entry.strings("teams")]
    )
    for level in entry.get("rules", list):
        if not isinstance(level, list) or not level or not all(isinstance(target, str) for target in level):
            raise entry.fail("rules", f"expected lists of schedule or user names, got {level!r}")
        account.add_escalation_rule(policy, [names.find(entry, "rules", t, "schedules", "users") for t in level])
    return policy


def _service(account: Account, names: _Names, entry: _Table, now: datetime) -> Obj:
    policy = names.find(entry, "escalation_policy", entry.get("escalation_policy", str), "escalation_policies")
    if "teams" in entry.data:
        teams = [names.find(entry, "teams", team, "teams") for team in entry.strings("teams")]
    else:
        teams = [ref["id"] for ref in policy["teams"]]
    try:
        return account.add_service(
            entry.get("name", str),
            escalation_policy=policy,
            teams=teams,
            status=entry.choice("status", SERVICE_STATUSES, "active"),
            description=entry.get("description", str, ""),
            integrations=entry.strings("integrations", ("events_api_v2",), INTEGRATION_TYPES),
        )
    except ValueError as exc:
        raise entry.fail("name", str(exc)) from None


def _incident(account: Account, names: _Names, entry: _Table, now: datetime) -> None:
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
    "users": ("name", "email", "role", "teams", "contact_methods", "notification_urgencies", "token"),
    "schedules": ("name", "teams", "layers", "overrides", *_LAYER_KEYS),
    "escalation_policies": ("name", "teams", "rules"),
    "services": ("name", "escalation_policy", "teams", "status", "description", "integrations"),
    "incidents": ("title", "service", "status", "urgency", "hours_ago", "assignees", "notes"),
}
_SETUP_STEPS: tuple[tuple[str, Callable[[Account, _Names, _Table, datetime], Obj]], ...] = (
    ("teams", _team),
    ("users", _user),
    ("schedules", _schedule),
    ("escalation_policies", _escalation_policy),
    ("services", _service),
)

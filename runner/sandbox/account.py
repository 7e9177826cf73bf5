"""The sandbox's account: PagerDuty objects kept as response-shaped dicts, and the ways they change."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from runner.sandbox.lifecycle import IncidentLifecycle
from runner.sandbox.objects import (
    HTML_BASE_URL,
    KINDS,
    Obj,
    current_hour,
    kind_of,
    links,
    object_id,
    reference,
    secret,
    timestamp,
)
from runner.sandbox.schedules import WEEK

CONTACT_METHOD_TYPES = {
    "email": "email_contact_method",
    "phone": "phone_contact_method",
    "sms": "sms_contact_method",
    "push": "push_notification_contact_method",
}
PAGING_CONTACT_METHODS = ("email", "phone", "push")
INTEGRATION_TYPES = {
    "events_api_v2": "events_api_v2_inbound_integration",
    "email": "generic_email_inbound_integration",
}
SERVICE_STATUSES = ("active", "warning", "critical", "maintenance", "disabled")
_SETUP = (None, {"type": "other", "truncated_token": None})


@dataclass
class Account(IncidentLifecycle):
    """A mutable, in-memory PagerDuty account.

    Objects are stored exactly as the REST API v2 returns them (full objects,
    references as `{id, type, summary, self, html_url}`), keyed by id in
    insertion order. `now` is the account's clock: it only moves when set, so
    everything the account creates is deterministic. Methods raise ValueError
    for changes PagerDuty refuses and KeyError for unknown objects. Incidents
    have their methods in `IncidentLifecycle`.
    """

    now: datetime = field(default_factory=current_hour)
    teams: dict[str, Obj] = field(default_factory=dict)
    users: dict[str, Obj] = field(default_factory=dict)
    schedules: dict[str, Obj] = field(default_factory=dict)
    escalation_policies: dict[str, Obj] = field(default_factory=dict)
    services: dict[str, Obj] = field(default_factory=dict)
    incidents: dict[str, Obj] = field(default_factory=dict)
    integrations: dict[str, Obj] = field(default_factory=dict)
    contact_methods: dict[str, Obj] = field(default_factory=dict)
    notification_rules: dict[str, Obj] = field(default_factory=dict)
    log_entries: dict[str, Obj] = field(default_factory=dict)
    team_members: dict[str, list[Obj]] = field(default_factory=dict)
    overrides: dict[str, list[Obj]] = field(default_factory=dict)
    notes: dict[str, list[Obj]] = field(default_factory=dict)
    status_updates: dict[str, list[Obj]] = field(default_factory=dict)
    incident_log: dict[str, list[Obj]] = field(default_factory=dict)
    audit_records: list[Obj] = field(default_factory=list)
    user_tokens: dict[str, str] = field(default_factory=dict)
    events: list[Obj] = field(default_factory=list)
    alerts: dict[str, Obj] = field(default_factory=dict)
    _sequences: dict[str, int] = field(default_factory=dict, init=False, repr=False)
    _acting: tuple[list[Obj] | None, Obj] = field(default=_SETUP, init=False, repr=False, compare=False)
    _sorted: dict[str, tuple[int, list[Obj]]] = field(default_factory=dict, init=False, repr=False, compare=False)
    # Lookups PagerDuty does by value: casefolded email, service name, routing key -> id.
    _index: dict[str, dict[str, str]] = field(
        default_factory=lambda: {"email": {}, "service": {}, "routing_key": {}}, init=False, repr=False, compare=False
    )

    # Teams and users

    def add_team(self, name: str, *, description: str = "", id: str | None = None) -> Obj:
        """Create a team."""
        team = self._new("team", name, id)
        team.update(name=name, description=description, default_role="manager")
        self.team_members[team["id"]] = []
        return self._created(self.teams, team)

    def add_user(
        self,
        name: str,
        email: str,
        *,
        teams: Iterable[Obj | str] = (),
        role: str = "user",
        contact_methods: Iterable[str] = PAGING_CONTACT_METHODS,
        notification_urgencies: Iterable[str] = ("high", "low"),
        id: str | None = None,
    ) -> Obj:
        """Create a user, a responder on `teams`, reachable through `contact_methods`.

        Each contact method (`email`, `phone`, `sms`, `push`) gets an immediate
        notification rule for each of `notification_urgencies`.
        """
        if self.user_by_email(email) is not None:
            raise ValueError(f"a user with email {email!r} already exists")
        user = self._new("user", name, id)
        user.update(
            name=name,
            email=email,
            time_zone="Etc/UTC",
            color="purple",
            role=role,
            avatar_url=f"{HTML_BASE_URL}/avatars/{user['id']}.png",
            description=None,
            invitation_sent=False,
            created_via_sso=False,
            job_title="",
            teams=[],
            contact_methods=[],
            notification_rules=[],
        )
        self._created(self.users, user)
        self._index["email"][email.casefold()] = user["id"]
        for team in teams:
            self.add_team_member(team, user)
        for kind in contact_methods:
            method = self.add_contact_method(user, kind)
            for urgency in notification_urgencies:
                self.add_notification_rule(user, method, urgency=urgency)
        return user

    def add_contact_method(
        self, user: Obj | str, kind: str, *, address: str | None = None, label: str | None = None
    ) -> Obj:
        """Give `user` a contact method: `email`, `phone`, `sms` or `push`."""
        user = self._get(self.users, user)
        if kind not in CONTACT_METHOD_TYPES:
            raise ValueError(f"unknown contact method {kind!r} (known: {', '.join(CONTACT_METHOD_TYPES)})")
        number = self._next("contact_method")
        label = label or {"email": "Work", "push": "Phone app"}.get(kind, "Mobile")
        method = self._nested(user, "contact_method", number, CONTACT_METHOD_TYPES[kind], label)
        method.update(label=label, address=address or _address(kind, user, number))
        if kind in ("phone", "sms"):
            method.update(country_code=1, enabled=True, blacklisted=False)
        elif kind == "push":
            method.update(device_type="ios", created_at=timestamp(self.now), blacklisted=False)
        else:
            method.update(send_short_email=False, enabled=True)
        self.contact_methods[method["id"]] = method
        user["contact_methods"].append(reference(method))
        return method

    def add_notification_rule(
        self, user: Obj | str, contact_method: Obj | str, *, urgency: str = "high", start_delay_in_minutes: int = 0
    ) -> Obj:
        """Notify `user` through `contact_method` about incidents of `urgency`, after a delay."""
        user, method = self._get(self.users, user), self._get(self.contact_methods, contact_method)
        if urgency not in ("high", "low"):
            raise ValueError(f"a notification rule's urgency is high or low, not {urgency!r}")
        summary = f"{start_delay_in_minutes} minutes: channel {method['id']}"
        number = self._next("notification_rule")
        rule = self._nested(user, "notification_rule", number, "assignment_notification_rule", summary)
        rule.update(
            start_delay_in_minutes=start_delay_in_minutes,
            contact_method=reference(method),
            created_at=timestamp(self.now),
            urgency=urgency,
        )
        self.notification_rules[rule["id"]] = rule
        user["notification_rules"].append(reference(rule))
        return rule

    def add_team_member(self, team: Obj | str, user: Obj | str, *, role: str = "responder") -> Obj:
        """Put `user` on `team` with a team `role`, or change their role there."""
        team, user = self._get(self.teams, team), self._get(self.users, user)
        members = self.team_members[team["id"]]
        for member in members:
            if member["user"]["id"] == user["id"]:
                member["role"] = role
                return member
        member = {"user": reference(user), "role": role}
        members.append(member)
        user["teams"].append(reference(team))
        return member

    def add_user_token(self, token: str, user: Obj | str) -> None:
        """Let `token` authenticate as a user-level API key of `user`."""
        self.user_tokens[token] = self._get(self.users, user)["id"]

    def user_by_email(self, email: str) -> Obj | None:
        """Return the user whose email is `email` (case-insensitive), if any."""
        return self._lookup("email", email.casefold(), self.users)

    # Schedules and escalation policies

    def add_schedule(
        self,
        name: str,
        *,
        users: Iterable[Obj | str] = (),
        teams: Iterable[Obj | str] = (),
        turn_length: timedelta = WEEK,
        restrictions: Iterable[Obj] = (),
        id: str | None = None,
    ) -> Obj:
        """Create a schedule; with `users`, one layer rotating through them (weekly by default)."""
        schedule = self._new("schedule", name, id)
        schedule.update(
            name=name,
            time_zone="Etc/UTC",
            description="",
            escalation_policies=[],
            users=[],
            teams=[reference(self._get(self.teams, team)) for team in teams],
            schedule_layers=[],
        )
        self.overrides[schedule["id"]] = []
        self._created(self.schedules, schedule)
        users = list(users)
        if users:
            self.add_schedule_layer(schedule, users, turn_length=turn_length, restrictions=restrictions)
        return schedule

    def add_schedule_layer(
        self,
        schedule: Obj | str,
        users: Iterable[Obj | str],
        *,
        turn_length: timedelta = WEEK,
        restrictions: Iterable[Obj] = (),
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Obj:
        """Add a layer rotating through `users`, from `start` (default: 28 days ago) until `end`, if any.

        `restrictions` are PagerDuty's: `{"type": "daily_restriction",
        "start_time_of_day": "09:00:00", "duration_seconds": 28800}`, or
        `weekly_restriction` with a `start_day_of_week` (1 is Monday).
        """
        schedule = self._get(self.schedules, schedule)
        refs = [reference(self._get(self.users, user)) for user in users]
        began = timestamp(start or self.now - timedelta(days=28))
        layer = {
            "id": object_id("schedule_layer", self._next("schedule_layer")),
            "name": f"Layer {len(schedule['schedule_layers']) + 1}",
            "start": began,
            "rotation_virtual_start": began,
            "rotation_turn_length_seconds": int(turn_length.total_seconds()),
            "users": [{"user": ref} for ref in refs],
            "restrictions": [dict(r) for r in restrictions],
        }
        if end is not None:
            layer["end"] = timestamp(end)
        schedule["schedule_layers"].append(layer)
        for ref in refs:
            if ref["id"] not in {listed["id"] for listed in schedule["users"]}:
                schedule["users"].append(ref)
        return layer

    def add_override(self, schedule: Obj | str, user: Obj | str, *, start: datetime, end: datetime) -> Obj:
        """Put `user` on call for `schedule` from `start` to `end`, over every layer."""
        schedule = self._get(self.schedules, schedule)
        if end <= start:
            raise ValueError("an override must end after it starts")
        override = {
            "id": object_id("override", self._next("override")),
            "start": timestamp(start),
            "end": timestamp(end),
            "user": reference(self._get(self.users, user)),
        }
        self.overrides[schedule["id"]].append(override)
        return override

    def add_escalation_policy(
        self,
        name: str,
        *,
        targets: Iterable[Obj] = (),
        teams: Iterable[Obj | str] = (),
        description: str = "",
        id: str | None = None,
    ) -> Obj:
        """Create an escalation policy; with `targets` (users or schedules), its first rule notifies them."""
        policy = self._new("escalation_policy", name, id)
        policy.update(
            name=name,
            description=description,
            num_loops=0,
            on_call_handoff_notifications="if_has_services",
            escalation_rules=[],
            services=[],
            teams=[reference(self._get(self.teams, team)) for team in teams],
        )
        self._created(self.escalation_policies, policy)
        targets = list(targets)
        if targets:
            self.add_escalation_rule(policy, targets)
        return policy

    def add_escalation_rule(self, policy: Obj | str, targets: Iterable[Obj], *, delay_in_minutes: int = 30) -> Obj:
        """Add a level to `policy` notifying `targets` (users or schedules, objects or references)."""
        policy = self._get(self.escalation_policies, policy)
        notified = [self._target(target) for target in targets]
        if not notified:
            raise ValueError("an escalation rule needs at least one target")
        rule = {
            "id": object_id("escalation_rule", self._next("escalation_rule")),
            "escalation_delay_in_minutes": delay_in_minutes,
            "targets": [reference(target) for target in notified],
        }
        policy["escalation_rules"].append(rule)
        for target in notified:
            used_by = target.get("escalation_policies")
            if used_by is not None and policy["id"] not in {ref["id"] for ref in used_by}:
                used_by.append(reference(policy))
        return rule

    # Services

    def add_service(
        self,
        name: str,
        *,
        escalation_policy: Obj | str,
        teams: Iterable[Obj | str] = (),
        status: str = "active",
        description: str = "",
        integrations: Iterable[str] = ("events_api_v2",),
        id: str | None = None,
    ) -> Obj:
        """Create a service; `teams=()` leaves it owned by no team.

        `integrations` names the kinds of integration it receives alerts
        through: `events_api_v2` (with an integration key) or `email`.
        """
        if status not in SERVICE_STATUSES:
            raise ValueError(f"unknown service status {status!r}")
        if self.service_by_name(name) is not None:
            raise ValueError(f"a service named {name!r} already exists")
        policy = self._get(self.escalation_policies, escalation_policy)
        service = self._new("service", name, id)
        service.update(
            name=name,
            description=description,
            auto_resolve_timeout=14400,
            acknowledgement_timeout=1800,
            created_at=timestamp(self.now),
            status=status,
            last_incident_timestamp=None,
            escalation_policy=reference(policy),
            teams=[reference(self._get(self.teams, team)) for team in teams],
            integrations=[],
            incident_urgency_rule={"type": "constant", "urgency": "high"},
            scheduled_actions=[],
            addons=[],
            alert_creation="create_alerts_and_incidents",
        )
        policy["services"].append(reference(service))
        self._created(self.services, service)
        self._index["service"][name] = service["id"]
        for kind in integrations:
            self.add_integration(service, kind)
        return service

    def add_integration(self, service: Obj | str, kind: str = "events_api_v2", *, name: str | None = None) -> Obj:
        """Connect an integration to `service`: `events_api_v2` (it gets an `integration_key`) or `email`."""
        service = self._get(self.services, service)
        if kind not in INTEGRATION_TYPES:
            raise ValueError(f"unknown integration {kind!r} (known: {', '.join(INTEGRATION_TYPES)})")
        integration_id = object_id("integration", self._next("integration"))
        name = name or {"email": "Email"}.get(kind, "Events API V2")
        integration = {
            "id": integration_id,
            "type": INTEGRATION_TYPES[kind],
            "summary": name,
            "self": f"{service['self']}/integrations/{integration_id}",
            "html_url": f"{service['html_url']}/integrations/{integration_id}",
            "name": name,
            "service": reference(service),
            "created_at": timestamp(self.now),
        }
        if kind == "email":
            integration["integration_email"] = f"{integration_id.lower()}@pdrun-sandbox.pagerduty.com"
        else:
            integration["integration_key"] = secret("integration", integration_id)
            self._index["routing_key"][integration["integration_key"]] = integration_id
        self.integrations[integration_id] = integration
        service["integrations"].append(reference(integration))
        return integration

    def integration_by_key(self, key: str) -> Obj | None:
        """Return the Events API integration whose routing key is `key`, if any."""
        return self._lookup("routing_key", key, self.integrations)

    def service_by_name(self, name: str) -> Obj | None:
        """Return the service named exactly `name`, if any."""
        return self._lookup("service", name, self.services)

    def update_service(self, service: Obj | str, changes: Mapping[str, Any]) -> Obj:
        """Change a service's `name`, `description`, `status`, `escalation_policy` or `teams`."""
        service = self._get(self.services, service)
        before_name = service["name"]
        fields = []
        for key, value in changes.items():
            before = service[key]
            if key == "name" and value != before and self.service_by_name(value) is not None:
                raise ValueError(f"a service named {value!r} already exists")
            if key == "status" and value not in SERVICE_STATUSES:
                raise ValueError(f"unknown service status {value!r}")
            if key == "escalation_policy":
                value = reference(self._move_service(service, self._get(self.escalation_policies, value)))
            elif key == "teams":
                value = [reference(self._get(self.teams, team)) for team in value]
            if value != before:
                service[key] = value
                fields.append({"name": key, "before_value": _audit_value(before), "value": _audit_value(value)})
        if "name" in changes:
            del self._index["service"][before_name]
            self._index["service"][service["name"]] = service["id"]
            service["summary"] = service["name"]
            _refresh(self.escalation_policies[service["escalation_policy"]["id"]]["services"], service)
        if fields:
            self._audit(service, "update", fields)
        return service

    def delete_service(self, service: Obj | str) -> None:
        """Delete a service; its incidents keep pointing at it."""
        service = self.services.pop(self._get(self.services, service)["id"])
        del self._index["service"][service["name"]]
        policy = self.escalation_policies[service["escalation_policy"]["id"]]
        policy["services"] = [ref for ref in policy["services"] if ref["id"] != service["id"]]
        self._audit(service, "delete")

    # Reading

    def ordered(self, collection: str, key: Callable[[Obj], Any], *, newest_first: bool = False) -> list[Obj]:
        """Return an append-only collection (incidents, log entries, audit records) sorted by `key`.

        The sort is kept until the collection grows; `key` must only read
        fields that never change.
        """
        items = getattr(self, collection)
        size = len(items)
        cached = self._sorted.get(collection)
        if cached is None or cached[0] != size:
            values = list(items.values() if isinstance(items, dict) else items)
            # Sorting the reversed list keeps the later of two equal keys first when newest_first.
            cached = (size, sorted(values[::-1] if newest_first else values, key=key, reverse=newest_first))
            self._sorted[collection] = cached
        return cached[1]

    @contextlib.contextmanager
    def acting_as(self, user: Obj | None, *, token: str) -> Iterator[None]:
        """Attribute the changes made inside this block to `user` (or the account's key) using `token`."""
        actor = reference(user) if user else {"id": "PSANDBX", "type": "api_key_reference", "summary": "Sandbox key"}
        self._acting = ([actor], {"type": "api_token", "truncated_token": token[-4:]})
        try:
            yield
        finally:
            self._acting = _SETUP

    # Internals

    def _new(self, kind: str, summary: str, explicit_id: str | None) -> Obj:
        existing = getattr(self, KINDS[kind][0])
        if explicit_id is not None and explicit_id in existing:
            raise ValueError(f"a {kind} with id {explicit_id!r} already exists")
        new_id = explicit_id or object_id(kind, self._next(kind))
        while new_id in existing:  # an explicit id given earlier took this one
            new_id = object_id(kind, self._next(kind))
        self_url, html_url = links(kind, new_id)
        return {"id": new_id, "type": kind, "summary": summary, "self": self_url, "html_url": html_url}

    def _nested(self, user: Obj, kind: str, number: int, type_: str, summary: str) -> Obj:
        nested_id = object_id(kind, number)
        return {
            "id": nested_id,
            "type": type_,
            "summary": summary,
            "self": f"{user['self']}/{kind}s/{nested_id}",
            "html_url": None,
        }

    def _next(self, kind: str) -> int:
        self._sequences[kind] = self._sequences.get(kind, 0) + 1
        return self._sequences[kind]

    def _created(self, collection: dict[str, Obj], obj: Obj) -> Obj:
        collection[obj["id"]] = obj
        self._audit(obj, "create")
        return obj

    def _audit(self, obj: Obj, action: str, fields: list[Obj] | None = None) -> None:
        actors, method = self._acting
        details: Obj = {"resource": reference(obj)}
        if fields:
            details["fields"] = fields
        self.audit_records.append(
            {
                "id": object_id("audit_record", self._next("audit_record")),
                "self": None,
                "execution_time": timestamp(self.now),
                "execution_context": {"request_id": None, "remote_address": None},
                "actors": actors,
                "method": method,
                "root_resource": reference(obj),
                "action": action,
                "details": details,
            }
        )

    def _lookup(self, index: str, value: str, collection: dict[str, Obj]) -> Obj | None:
        found = self._index[index].get(value)
        return collection.get(found) if found else None

    @staticmethod
    def _get(collection: dict[str, Obj], obj_or_id: Obj | str) -> Obj:
        key = obj_or_id if isinstance(obj_or_id, str) else obj_or_id["id"]
        try:
            return collection[key]
        except KeyError:
            raise KeyError(f"no such object: {key!r}") from None

    def _move_service(self, service: Obj, policy: Obj) -> Obj:
        old = self.escalation_policies[service["escalation_policy"]["id"]]
        old["services"] = [ref for ref in old["services"] if ref["id"] != service["id"]]
        policy["services"].append(reference(service))
        return policy

    def _target(self, target: Obj) -> Obj:
        kind = kind_of(target)
        if kind not in ("user", "schedule"):
            raise ValueError(f"an escalation target is a user or a schedule, not {target['type']!r}")
        return self._get(self.users if kind == "user" else self.schedules, target)


def _address(kind: str, user: Obj, number: int) -> str:
    if kind == "email":
        return user["email"]
    if kind == "push":
        return secret("device", user["id"], str(number))
    return f"555{number:07d}"


def _audit_value(value: Any) -> Any:
    """Return a changed field's value as an audit record shows it: references by id."""
    if isinstance(value, dict):
        return value.get("id")
    if isinstance(value, list):
        return [_audit_value(item) for item in value]
    return value


def _refresh(refs: list[Obj], obj: Obj) -> None:
    """Bring the summary of every reference to `obj` in `refs` up to date."""
    for ref in refs:
        if ref["id"] == obj["id"]:
            ref["summary"] = obj["summary"]

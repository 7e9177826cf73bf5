"""The sandbox's account: PagerDuty objects kept as response-shaped dicts."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

SANDBOX_BASE_URL = "https://sandbox.pdrun.invalid"
HTML_BASE_URL = "https://pdrun-sandbox.pagerduty.com"

# kind -> (REST collection, web UI path) for building `self` and `html_url`.
_KINDS = {
    "team": ("teams", "teams"),
    "user": ("users", "users"),
    "schedule": ("schedules", "schedules"),
    "escalation_policy": ("escalation_policies", "escalation_policies"),
    "service": ("services", "service-directory"),
    "incident": ("incidents", "incidents"),
}
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ID_SPACE = len(_ID_ALPHABET) ** 6
# Coprime with 36**6, so sequence numbers map to distinct ids within a kind.
_ID_MULTIPLIER = 982_451_653
# How long after it was opened an incident reached its status.
_STATUS_DELAYS = {
    "triggered": timedelta(0),
    "acknowledged": timedelta(minutes=5),
    "resolved": timedelta(hours=1),
}

Obj = dict[str, Any]


def object_id(kind: str, sequence: int) -> str:
    """Return the PagerDuty-like id of the `sequence`-th object of `kind`.

    The same kind and number give the same id on every run and Python version.
    """
    offset = int.from_bytes(hashlib.sha256(kind.encode()).digest()[:8], "big")
    number = (sequence * _ID_MULTIPLIER + offset) % _ID_SPACE
    digits = []
    for _ in range(6):
        number, digit = divmod(number, len(_ID_ALPHABET))
        digits.append(_ID_ALPHABET[digit])
    return "P" + "".join(reversed(digits))


def timestamp(moment: datetime) -> str:
    """Format `moment` the way PagerDuty does: ISO 8601 in UTC, seconds, `Z`."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def current_hour() -> datetime:
    """Return the current UTC time truncated to the hour."""
    return datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)


def reference(obj: Obj) -> Obj:
    """Return the `<type>_reference` PagerDuty uses to point at `obj`."""
    kind = _kind_of(obj)
    return {
        "id": obj["id"],
        "type": f"{kind}_reference",
        "summary": obj["summary"],
        "self": obj["self"],
        "html_url": obj["html_url"],
    }


def _kind_of(obj: Obj) -> str:
    return obj["type"].removesuffix("_reference")


@dataclass
class Account:
    """A mutable, in-memory PagerDuty account.

    Objects are stored exactly as the REST API v2 returns them (full objects,
    references as `{id, type, summary, self, html_url}`), keyed by id in
    insertion order. `now` is the account's clock: it only moves when set, so
    everything the account creates is deterministic.
    """

    now: datetime = field(default_factory=current_hour)
    teams: dict[str, Obj] = field(default_factory=dict)
    users: dict[str, Obj] = field(default_factory=dict)
    schedules: dict[str, Obj] = field(default_factory=dict)
    escalation_policies: dict[str, Obj] = field(default_factory=dict)
    services: dict[str, Obj] = field(default_factory=dict)
    incidents: dict[str, Obj] = field(default_factory=dict)
    team_members: dict[str, list[Obj]] = field(default_factory=dict)
    notes: dict[str, list[Obj]] = field(default_factory=dict)
    status_updates: dict[str, list[Obj]] = field(default_factory=dict)
    _sequences: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def add_team(self, name: str, *, description: str = "", id: str | None = None) -> Obj:
        """Create a team."""
        team = self._new("team", name, id)
        team.update(name=name, description=description, default_role="manager")
        self.team_members[team["id"]] = []
        return self._store(self.teams, team)

    def add_user(
        self,
        name: str,
        email: str,
        *,
        teams: Iterable[Obj | str] = (),
        role: str = "user",
        id: str | None = None,
    ) -> Obj:
        """Create a user and make them a responder on `teams`."""
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
        self._store(self.users, user)
        for team in teams:
            self.add_team_member(team, user)
        return user

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

    def add_schedule(
        self,
        name: str,
        *,
        users: Iterable[Obj | str] = (),
        teams: Iterable[Obj | str] = (),
        id: str | None = None,
    ) -> Obj:
        """Create a schedule with one weekly rotation through `users`."""
        schedule = self._new("schedule", name, id)
        user_refs = [reference(self._get(self.users, user)) for user in users]
        start = timestamp(self.now - timedelta(days=28))
        schedule.update(
            name=name,
            time_zone="Etc/UTC",
            description="",
            escalation_policies=[],
            users=user_refs,
            teams=[reference(self._get(self.teams, team)) for team in teams],
            schedule_layers=[
                {
                    "id": object_id("schedule_layer", self._next("schedule_layer")),
                    "name": "Layer 1",
                    "start": start,
                    "rotation_virtual_start": start,
                    "rotation_turn_length_seconds": 7 * 24 * 3600,
                    "users": [{"user": ref} for ref in user_refs],
                    "restrictions": [],
                }
            ],
        )
        return self._store(self.schedules, schedule)

    def add_escalation_policy(
        self,
        name: str,
        *,
        targets: Iterable[Obj] = (),
        teams: Iterable[Obj | str] = (),
        id: str | None = None,
    ) -> Obj:
        """Create an escalation policy with one rule notifying `targets` (users or schedules)."""
        policy = self._new("escalation_policy", name, id)
        notified = [self._target(target) for target in targets]
        rules = []
        if notified:
            rule_id = object_id("escalation_rule", self._next("escalation_rule"))
            rules.append(
                {
                    "id": rule_id,
                    "escalation_delay_in_minutes": 30,
                    "targets": [reference(target) for target in notified],
                }
            )
        policy.update(
            name=name,
            description="",
            num_loops=0,
            on_call_handoff_notifications="if_has_services",
            escalation_rules=rules,
            services=[],
            teams=[reference(self._get(self.teams, team)) for team in teams],
        )
        for target in notified:
            if target["type"] == "schedule":
                target["escalation_policies"].append(reference(policy))
        return self._store(self.escalation_policies, policy)

    def add_service(
        self,
        name: str,
        *,
        escalation_policy: Obj | str,
        teams: Iterable[Obj | str] = (),
        status: str = "active",
        id: str | None = None,
    ) -> Obj:
        """Create a service; `teams=()` leaves it owned by no team."""
        policy = self._get(self.escalation_policies, escalation_policy)
        service = self._new("service", name, id)
        service.update(
            name=name,
            description="",
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
        return self._store(self.services, service)

    def add_incident(
        self,
        title: str,
        *,
        service: Obj | str,
        status: str = "triggered",
        urgency: str = "high",
        created_at: datetime | None = None,
        assignees: Iterable[Obj | str] = (),
        id: str | None = None,
    ) -> Obj:
        """Open an incident on `service`.

        Without `assignees` it is assigned through the service's escalation
        policy: its first rule's users, or each targeted schedule's first user.
        Acknowledged incidents changed status 5 minutes after `created_at`,
        resolved ones an hour after (never later than `now`).
        """
        if status not in ("triggered", "acknowledged", "resolved"):
            raise ValueError(f"unknown incident status {status!r}")
        service = self._get(self.services, service)
        policy = self.escalation_policies[service["escalation_policy"]["id"]]
        number = len(self.incidents) + 1
        incident = self._new("incident", f"[#{number}] {title}", id)
        created = created_at or self.now
        changed = min(created + _STATUS_DELAYS[status], max(created, self.now))
        users = [self._get(self.users, user) for user in assignees] or self._first_responders(policy)
        responders = [reference(user) for user in users]
        changed_by = responders[0] if status != "triggered" and responders else reference(service)
        incident.update(
            incident_number=number,
            title=title,
            created_at=timestamp(created),
            updated_at=timestamp(changed),
            status=status,
            incident_key=hashlib.sha256(incident["id"].encode()).hexdigest()[:32],
            service=reference(service),
            assignments=(
                [] if status == "resolved" else [{"at": timestamp(created), "assignee": ref} for ref in responders]
            ),
            assigned_via="direct_assignment" if assignees else "escalation_policy",
            last_status_change_at=timestamp(changed),
            last_status_change_by=changed_by,
            resolved_at=timestamp(changed) if status == "resolved" else None,
            resolve_reason=None,
            alert_counts={"all": 1, "triggered": int(status != "resolved"), "resolved": int(status == "resolved")},
            is_mergeable=True,
            incident_type={"name": "incident_default"},
            escalation_policy=reference(policy),
            teams=list(service["teams"]),
            pending_actions=[],
            acknowledgements=(
                [{"at": timestamp(changed), "acknowledger": changed_by}] if status == "acknowledged" else []
            ),
            priority=None,
            urgency=urgency,
            incidents_responders=[],
            responder_requests=[],
        )
        latest = service["last_incident_timestamp"]
        if latest is None or latest < incident["created_at"]:
            service["last_incident_timestamp"] = incident["created_at"]
        self.notes[incident["id"]] = []
        self.status_updates[incident["id"]] = []
        return self._store(self.incidents, incident)

    def add_note(
        self,
        incident_id: str,
        content: str,
        *,
        user: Obj | str,
        created_at: datetime | None = None,
    ) -> Obj:
        """Add a note by `user` to an incident, as the web UI or API would."""
        incident = self._get(self.incidents, incident_id)
        moment = timestamp(created_at or self.now)
        note = {
            "id": object_id("note", self._next("note")),
            "user": reference(self._get(self.users, user)),
            "channel": {"summary": "The PagerDuty website or APIs"},
            "content": content,
            "created_at": moment,
            "updated_at": moment,
        }
        self.notes[incident["id"]].append(note)
        return note

    def add_status_update(
        self,
        incident_id: str,
        message: str,
        *,
        user: Obj | str,
        subject: str | None = None,
        html_message: str | None = None,
    ) -> Obj:
        """Post a status update from `user` on an incident."""
        incident = self._get(self.incidents, incident_id)
        update = {
            "id": object_id("status_update", self._next("status_update")),
            "message": message,
            "created_at": timestamp(self.now),
            "sender": reference(self._get(self.users, user)),
        }
        if subject is not None:
            update["subject"] = subject
        if html_message is not None:
            update["html_message"] = html_message
        self.status_updates[incident["id"]].append(update)
        return update

    def user_by_email(self, email: str) -> Obj | None:
        """Return the user whose email is `email` (case-insensitive), if any."""
        wanted = email.casefold()
        return next((u for u in self.users.values() if u["email"].casefold() == wanted), None)

    def _new(self, kind: str, summary: str, explicit_id: str | None) -> Obj:
        collection, html_path = _KINDS[kind]
        existing = getattr(self, collection)
        if explicit_id is not None and explicit_id in existing:
            raise ValueError(f"a {kind} with id {explicit_id!r} already exists")
        sequence = self._next(kind)
        new_id = explicit_id or object_id(kind, sequence)
        while new_id in existing:  # an explicit id given earlier took this one
            new_id = object_id(kind, self._next(kind))
        return {
            "id": new_id,
            "type": kind,
            "summary": summary,
            "self": f"{SANDBOX_BASE_URL}/{collection}/{new_id}",
            "html_url": f"{HTML_BASE_URL}/{html_path}/{new_id}",
        }

    def _next(self, kind: str) -> int:
        self._sequences[kind] = self._sequences.get(kind, 0) + 1
        return self._sequences[kind]

    @staticmethod
    def _store(collection: dict[str, Obj], obj: Obj) -> Obj:
        collection[obj["id"]] = obj
        return obj

    @staticmethod
    def _get(collection: dict[str, Obj], obj_or_id: Obj | str) -> Obj:
        key = obj_or_id if isinstance(obj_or_id, str) else obj_or_id["id"]
        try:
            return collection[key]
        except KeyError:
            raise KeyError(f"no such object: {key!r}") from None

    def _first_responders(self, policy: Obj) -> list[Obj]:
        """Return who `policy` notifies first: its first rule's users, or each schedule's first user."""
        rules = policy["escalation_rules"]
        users: list[Obj] = []
        for target in rules[0]["targets"] if rules else []:
            if target["type"] == "user_reference":
                users.append(self.users[target["id"]])
            elif scheduled := self.schedules[target["id"]]["users"]:
                users.append(self.users[scheduled[0]["id"]])
        return users

    def _target(self, target: Obj) -> Obj:
        kind = _kind_of(target)
        if kind not in ("user", "schedule"):
            raise ValueError(f"an escalation target is a user or a schedule, not {target['type']!r}")
        return self._get(self.users if kind == "user" else self.schedules, target)

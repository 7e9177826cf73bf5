"""What every part of the account builds on: its collections, clock, subdomain, ids and audit trail."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any

from runner.sandbox.clock import Clock, Ticks, wall_time
from runner.sandbox.objects import (
    DEFAULT_SUBDOMAIN,
    KINDS,
    Obj,
    html_base,
    kind_of,
    links,
    object_id,
    reference,
    timestamp,
)

_SETUP = (None, {"type": "other", "truncated_token": None})
# The kinds of object whose changes the audit trail records.
AUDITED = ("user", "team", "schedule", "escalation_policy", "service")
# The collections that make up an account's state, compared by `==`.
STATE = (
    "teams",
    "users",
    "schedules",
    "escalation_policies",
    "services",
    "incidents",
    "integrations",
    "contact_methods",
    "notification_rules",
    "log_entries",
    "team_members",
    "overrides",
    "notes",
    "status_updates",
    "incident_log",
    "audit_records",
    "user_tokens",
    "events",
    "alerts",
    "licenses",
    "license_allocations",
    "maintenance_windows",
    "webhook_subscriptions",
    "extensions",
    "event_orchestrations",
    "orchestration_routers",
    "rulesets",
    "priorities",
)


class Store:
    """An account's objects, kept as the REST API v2 returns them, keyed by id in insertion order.

    `now` is the account's clock: it starts at `now` (default: the current time)
    and moves on as `clock` ticks (seconds, `time.monotonic` by default); pass
    `runner.sandbox.clock.stopped` to keep it still. `subdomain` is the
    account's, as its objects' `html_url` show it.
    """

    def __init__(
        self, *, now: datetime | None = None, clock: Ticks = time.monotonic, subdomain: str = DEFAULT_SUBDOMAIN
    ) -> None:
        self.subdomain = subdomain
        self._clock = Clock(now or wall_time(), clock)
        self.teams: dict[str, Obj] = {}
        self.users: dict[str, Obj] = {}
        self.schedules: dict[str, Obj] = {}
        self.escalation_policies: dict[str, Obj] = {}
        self.services: dict[str, Obj] = {}
        self.incidents: dict[str, Obj] = {}
        self.integrations: dict[str, Obj] = {}
        self.contact_methods: dict[str, Obj] = {}
        self.notification_rules: dict[str, Obj] = {}
        self.log_entries: dict[str, Obj] = {}
        self.team_members: dict[str, list[Obj]] = {}
        self.overrides: dict[str, list[Obj]] = {}
        self.notes: dict[str, list[Obj]] = {}
        self.status_updates: dict[str, list[Obj]] = {}
        self.incident_log: dict[str, list[Obj]] = {}
        self.audit_records: list[Obj] = []
        self.user_tokens: dict[str, str] = {}
        self.events: list[Obj] = []
        self.alerts: dict[str, Obj] = {}
        self.licenses: dict[str, Obj] = {}
        self.license_allocations: dict[str, Obj] = {}
        self.maintenance_windows: dict[str, Obj] = {}
        self.webhook_subscriptions: dict[str, Obj] = {}
        self.extensions: dict[str, Obj] = {}
        self.event_orchestrations: dict[str, Obj] = {}
        self.orchestration_routers: dict[str, Obj] = {}
        self.rulesets: dict[str, Obj] = {}
        self.priorities: dict[str, Obj] = {}
        self._sequences: dict[str, int] = {}
        self._acting: tuple[list[Obj] | None, Obj] = _SETUP
        self._sorted: dict[tuple[str, tuple[str, ...] | None], tuple[int, list[Obj]]] = {}
        # Lookups PagerDuty does by value: casefolded email, service name, routing key -> id.
        self._index: dict[str, dict[str, str]] = {"email": {}, "service": {}, "routing_key": {}}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Store):
            return NotImplemented
        return self.subdomain == other.subdomain and all(getattr(self, n) == getattr(other, n) for n in STATE)

    __hash__ = None  # type: ignore[assignment]

    @property
    def now(self) -> datetime:
        """Return the account's current instant."""
        return self._clock.now()

    @now.setter
    def now(self, moment: datetime) -> None:
        self._clock.set(moment)

    def restart_clock(self, now: datetime, clock: Ticks) -> None:
        """Set the account's time to `now`, moving on from there as `clock` ticks."""
        self._clock.set(now, clock)

    @property
    def html_base(self) -> str:
        """Return the account's web UI URL, e.g. `https://pdrun-sandbox.pagerduty.com`."""
        return html_base(self.subdomain)

    def ordered(self, collection: str, key: Callable[[Obj], Any], *, newest_first: bool = False,
                types: tuple[str, ...] | None = None) -> list[Obj]:
        """Return an append-only collection (incidents, log entries, audit records) sorted by `key`.

        With `types`, only the objects of those `type`s. The sort is kept until
        the collection grows; `key` must only read fields that never change.
        """
        items = getattr(self, collection)
        size = len(items)
        cached = self._sorted.get((collection, types))
        if cached is None or cached[0] != size:
            values = [item for item in (items.values() if isinstance(items, dict) else items)
                      if types is None or item["type"] in types]
            # Sorting the reversed list keeps the later of two equal keys first when newest_first.
            cached = (size, sorted(values[::-1] if newest_first else values, key=key, reverse=newest_first))
            self._sorted[(collection, types)] = cached
        return cached[1]

    @contextlib.contextmanager
    def acting_as(self, user: Obj | None, *, token: str, method: str = "api_token") -> Iterator[None]:
        """Attribute the changes made inside this block to `user` (or the account's key) using `token`."""
        actor = reference(user) if user else {"id": "PSANDBX", "type": "api_key_reference", "summary": "Sandbox key"}
        self._acting = ([actor], {"type": method, "truncated_token": token[-4:]})
        try:
            yield
        finally:
            self._acting = _SETUP

    # Internals of the parts of the account

    def _new(self, kind: str, summary: str, explicit_id: str | None) -> Obj:
        existing = getattr(self, KINDS[kind][0])
        if explicit_id is not None and explicit_id in existing:
            raise ValueError(f"a {kind} with id {explicit_id!r} already exists")
        new_id = explicit_id or object_id(kind, self._next(kind))
        while new_id in existing:  # an explicit id given earlier took this one
            new_id = object_id(kind, self._next(kind))
        self_url, html_url = links(kind, new_id, self.subdomain)
        return {"id": new_id, "type": kind, "summary": summary, "self": self_url, "html_url": html_url}

    def _next(self, kind: str) -> int:
        self._sequences[kind] = self._sequences.get(kind, 0) + 1
        return self._sequences[kind]

    def _created(self, collection: dict[str, Obj], obj: Obj) -> Obj:
        collection[obj["id"]] = obj
        self._audit(obj, "create")
        return obj

    def _audit(self, obj: Obj, action: str, fields: list[Obj] | None = None) -> None:
        if kind_of(obj) not in AUDITED:
            return
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

    def _changed(self, obj: Obj, changes: Mapping[str, Any]) -> None:
        """Apply `changes` to `obj` and record an update audit record of what really changed."""
        fields = []
        for key, value in changes.items():
            before = obj.get(key)
            if value != before:
                obj[key] = value
                if key != "summary":
                    fields.append({"name": key, "before_value": _audit_value(before), "value": _audit_value(value)})
        if fields:
            self._audit(obj, "update", fields)

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


def _audit_value(value: Any) -> Any:
    """Return a changed field's value as an audit record shows it: references by id."""
    if isinstance(value, dict):
        return value.get("id")
    if isinstance(value, list):
        return [_audit_value(item) for item in value]
    return value


def refresh(refs: list[Obj], obj: Obj) -> None:
    """Bring the summary of every reference to `obj` in `refs` up to date."""
    for ref in refs:
        if ref["id"] == obj["id"]:
            ref["summary"] = obj["summary"]

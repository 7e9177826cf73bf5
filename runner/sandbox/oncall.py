"""Schedules (layers and overrides) and escalation policies: who is on call, and who is notified next."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from runner.sandbox.objects import Obj, kind_of, object_id, reference, timestamp
from runner.sandbox.people import People
from runner.sandbox.schedules import WEEK
from runner.sandbox.store import refresh


class OnCall(People):
    """The schedules and escalation policies of an account."""

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
        rotation_virtual_start: datetime | None = None,
    ) -> Obj:
        """Add a layer rotating through `users`, from `start` (default: 28 days ago) until `end`, if any.

        `restrictions` are PagerDuty's: `{"type": "daily_restriction",
        "start_time_of_day": "09:00:00", "duration_seconds": 28800}`, or
        `weekly_restriction` with a `start_day_of_week` (1 is Monday).
        """
        schedule = self._get(self.schedules, schedule)
        refs = [reference(self._get(self.users, user)) for user in users]
        if turn_length <= timedelta(0):
            raise ValueError("a layer's turns must last a positive time")
        began = start or self.now - timedelta(days=28)
        layer = {
            "id": object_id("schedule_layer", self._next("schedule_layer")),
            "name": f"Layer {len(schedule['schedule_layers']) + 1}",
            "start": timestamp(began),
            "rotation_virtual_start": timestamp(rotation_virtual_start or began),
            "rotation_turn_length_seconds": int(turn_length.total_seconds()),
            "users": [{"user": ref} for ref in refs],
            "restrictions": [dict(r) for r in restrictions],
        }
        if end is not None:
            if end <= began:
                raise ValueError("a layer must end after it starts")
            layer["end"] = timestamp(end)
        schedule["schedule_layers"].append(layer)
        for ref in refs:
            if ref["id"] not in {listed["id"] for listed in schedule["users"]}:
                schedule["users"].append(ref)
        return layer

    def update_schedule(self, schedule: Obj | str, changes: Mapping[str, Any], layers: list[Obj] | None = None) -> Obj:
        """Change a schedule's `name`, `description` or `time_zone`; with `layers`, replace its layers.

        Each layer is a dict of `add_schedule_layer`'s arguments.
        """
        schedule = self._get(self.schedules, schedule)
        self._changed(schedule, {**changes, "summary": changes.get("name", schedule["name"])})
        if layers is not None:
            before = (schedule["schedule_layers"], schedule["users"])
            schedule.update(schedule_layers=[], users=[])
            try:
                for layer in layers:
                    self.add_schedule_layer(schedule, **layer)
            except (ValueError, KeyError):
                schedule["schedule_layers"], schedule["users"] = before
                raise
            self._audit(schedule, "update", [{"name": "schedule_layers", "before_value": None, "value": None}])
        for policy in schedule["escalation_policies"]:
            for rule in self.escalation_policies[policy["id"]]["escalation_rules"]:
                refresh(rule["targets"], schedule)
        return schedule

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

    def delete_override(self, schedule: Obj | str, override_id: str) -> None:
        """Remove an override from `schedule`; raise KeyError if it has no such override."""
        schedule = self._get(self.schedules, schedule)
        kept = [override for override in self.overrides[schedule["id"]] if override["id"] != override_id]
        if len(kept) == len(self.overrides[schedule["id"]]):
            raise KeyError(f"no such object: {override_id!r}")
        self.overrides[schedule["id"]] = kept

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

    def update_escalation_policy(
        self, policy: Obj | str, changes: Mapping[str, Any], rules: list[tuple[list[Obj], int]] | None = None
    ) -> Obj:
        """Change a policy's `name`, `description`, `num_loops` or `teams`; with `rules`, replace its levels.

        `rules` are (targets, delay in minutes) pairs.
        """
        policy = self._get(self.escalation_policies, policy)
        for targets, _ in rules or ():
            for target in targets:
                self._target(target)
            if not targets:
                raise ValueError("an escalation rule needs at least one target")
        changes = dict(changes)
        if "teams" in changes:
            changes["teams"] = [reference(self._get(self.teams, team)) for team in changes["teams"]]
        self._changed(policy, {**changes, "summary": changes.get("name", policy["name"])})
        if rules is not None:
            for schedule in self.schedules.values():
                used_by = schedule["escalation_policies"]
                schedule["escalation_policies"] = [ref for ref in used_by if ref["id"] != policy["id"]]
            policy["escalation_rules"] = []
            for targets, delay in rules:
                self.add_escalation_rule(policy, targets, delay_in_minutes=delay)
        for service in policy["services"]:
            refresh([self.services[service["id"]]["escalation_policy"]], policy)
        return policy

    def _target(self, target: Obj) -> Obj:
        kind = kind_of(target)
        if kind not in ("user", "schedule"):
            raise ValueError(f"an escalation target is a user or a schedule, not {target['type']!r}")
        return self._get(self.users if kind == "user" else self.schedules, target)

"""Take a leaving user off schedule layers and escalation rules, putting a successor in their place if named.

Each function returns the body of the PUT that makes the change, and the
layers or rules it would leave with nobody, so the recipe can refuse before
planning anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from recipes.people import user_ref
from runner import parse_iso

Obj = dict[str, Any]
LAYER_FIELDS = ("id", "name", "start", "end", "rotation_virtual_start", "rotation_turn_length_seconds", "restrictions")


@dataclass(frozen=True)
class Removal:
    """The body of the write that takes the user off one schedule or policy, and what it would leave empty."""

    body: Obj
    empty: list[str] = field(default_factory=list)


def off_schedule(schedule: Obj, leaving: str, successor: str | None, now: datetime) -> Removal | None:
    """Take `leaving` off the layers of `schedule` that have not ended; None if they are on none of them.

    Ended layers are history, and stay as they are.
    """
    layers, empty, changed = [], [], False
    for layer in schedule["schedule_layers"]:
        users = [entry["user"]["id"] for entry in layer["users"]]
        if leaving in users and not (layer.get("end") and parse_iso(layer["end"]) <= now):
            users, changed = _replaced(users, leaving, successor), True
            if not users:
                empty.append(f"{layer.get('name') or 'a layer'} of schedule {schedule['name']}")
        kept = {key: layer[key] for key in LAYER_FIELDS if layer.get(key) is not None}
        layers.append(kept | {"users": [{"user": user_ref(user)} for user in users]})
    if not changed:
        return None
    body = {"type": "schedule", "name": schedule["name"], "time_zone": schedule["time_zone"], "schedule_layers": layers}
    return Removal({"schedule": body}, empty)


def off_policy(policy: Obj, leaving: str, successor: str | None) -> Removal | None:
    """Take `leaving` off the rules of `policy` that target them; None if none does."""
    rules, empty, changed = [], [], False
    for level, rule in enumerate(policy["escalation_rules"], 1):
        targets = [{"id": t["id"], "type": _reference_type(t)} for t in rule["targets"]]
        users = [t["id"] for t in targets if t["type"] == "user_reference"]
        if leaving in users:
            kept = _replaced(users, leaving, successor)
            targets = [t for t in targets if t["type"] != "user_reference" or t["id"] != leaving]
            targets += [user_ref(user) for user in kept if user not in users]
            changed = True
            if not targets:
                empty.append(f"level {level} of escalation policy {policy['name']}")
        rules.append({"id": rule["id"], "escalation_delay_in_minutes": rule["escalation_delay_in_minutes"],
                      "targets": targets})
    if not changed:
        return None
    body = {"type": "escalation_policy", "name": policy["name"], "escalation_rules": rules}
    return Removal({"escalation_policy": body}, empty)


def _replaced(users: list[str], leaving: str, successor: str | None) -> list[str]:
    """Return `users` without `leaving`: the successor takes their turns, unless already among them."""
    stand_in = [successor] if successor and successor not in users else []
    return [kept for user in users for kept in ([user] if user != leaving else stand_in)]


def _reference_type(target: Obj) -> str:
    return target["type"] if target["type"].endswith("_reference") else f"{target['type']}_reference"

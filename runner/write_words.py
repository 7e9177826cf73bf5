"""Say what a planned write does, in words, from the request alone: what dry runs, plans and confirmations show."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from runner.results import Action

INCIDENT_VERBS = {"resolved": "resolve", "acknowledged": "acknowledge"}
SHOWN_IDS = 5

Body = dict[str, Any]


def describe_action(action: Action) -> str:
    """Say what a write does, in words: "resolve 18 incidents: P1, P2, ...", "take user P1 off team P2"."""
    body = action.body if isinstance(action.body, dict) else {}
    for method, pattern, words in _WORDS:
        found = pattern.fullmatch(action.path) if method == action.method else None
        if found:
            try:
                return words(*found.groups(), body)
            except (AttributeError, KeyError, TypeError):  # a body of another shape: say no more than the request
                break
    if action.method == "DELETE":
        return f"delete {action.path}"
    changed = f" ({action.changes} objects)" if action.changes > 1 else ""
    fields = _fields(action.body)
    return f"{action.method} {action.path}{changed}" + (f": {fields}" if fields else "")


def _fields(body: Any, most: int = 4) -> str:
    """The fields a write sets, briefly: `status="disabled", name="Edge"` (inside PagerDuty's wrapper, if any)."""
    if isinstance(body, dict) and len(body) == 1 and isinstance(next(iter(body.values())), dict):
        body = next(iter(body.values()))
    if not isinstance(body, dict):
        return ""
    return shown([f"{key}={_clipped(json.dumps(value, sort_keys=True, default=str), 40)}"
                  for key, value in body.items()], most=most)


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(items: list[str], most: int = SHOWN_IDS) -> str:
    """List items (ids, fields), the first few of them and how many more."""
    return ", ".join(items[:most]) + (f" and {len(items) - most} more" if len(items) > most else "")


def _bulk_incidents(body: Body) -> str:
    items = [item for item in body["incidents"] if isinstance(item, dict)]
    ids = [str(item.get("id")) for item in items]
    fields = {key for item in items for key in item if key not in ("id", "type")}
    count = f"{len(ids)} incident{'s' if len(ids) != 1 else ''}"
    values = {json.dumps(item.get(next(iter(fields)), None), sort_keys=True) for item in items} if fields else set()
    if fields == {"status"} and len(values) == 1:
        status = items[0]["status"]
        return f"{INCIDENT_VERBS.get(status, f'set to {status}')} {count}: {shown(ids)}"
    if fields == {"assignments"} and len(values) == 1:
        return f"reassign {count} to {_assignees(items[0])}: {shown(ids)}"
    if fields == {"escalation_policy"} and len(values) == 1:
        return f"hand {count} to escalation policy {items[0]['escalation_policy']['id']}: {shown(ids)}"
    if fields == {"assignments"}:
        return "reassign " + "; ".join(f"{item['id']} to {_assignees(item)}" for item in items)
    return f"update {', '.join(sorted(fields)) or 'nothing on'} of {count}: {shown(ids)}"


def _assignees(item: Body) -> str:
    return ", ".join(a["assignee"]["id"] for a in item["assignments"])


def _quoted(text: Any, limit: int = 60) -> str:
    return repr(_clipped(" ".join(str(text or "").split()), limit))


def _schedule_layers(schedule_id: str, body: Body) -> str:
    schedule = body["schedule"]
    layers = [(layer.get("name") or f"layer {n}", [entry["user"]["id"] for entry in layer["users"]])
              for n, layer in enumerate(schedule["schedule_layers"], 1)]
    return _setting("layers of schedule", schedule_id, schedule, layers)


def _policy_rules(policy_id: str, body: Body) -> str:
    policy = body["escalation_policy"]
    levels = [(f"level {n}", [_target(target) for target in rule["targets"]])
              for n, rule in enumerate(policy["escalation_rules"], 1)]
    return _setting("rules of escalation policy", policy_id, policy, levels)


def _setting(what: str, obj_id: str, obj: Body, parts: list[tuple[str, list[str]]]) -> str:
    """Say what a PUT sets, e.g. "set the layers of schedule Web (P1) to Layer 1: P2, P3; Layer 2: P4"."""
    name = f" {obj['name']}" if obj.get("name") else ""
    return f"set the {what}{name} ({obj_id}) to " + "; ".join(f"{label}: {', '.join(ids)}" for label, ids in parts)


def _target(target: Body) -> str:
    return f"{target['type'].removesuffix('_reference').replace('_', ' ')} {target['id']}"


def _overrides(schedule_id: str, body: Body) -> str:
    return f"on schedule {schedule_id}, put " + "; ".join(
        f"user {o['user']['id']} on call from {o['start']} to {o['end']}" for o in body["overrides"]
    )


def _new_window(body: Body) -> str:
    window = body["maintenance_window"]
    services = ", ".join(ref["id"] for ref in window["services"])
    return (f"hold services {services} in maintenance from {window['start_time']} to {window['end_time']}: "
            f"{_quoted(window.get('description'))}")


def _window_services(window_id: str, body: Body) -> str:
    services = ", ".join(ref["id"] for ref in body["maintenance_window"]["services"])
    return f"keep maintenance window {window_id} for services {services} only"


def _webhook_update(subscription_id: str, body: Body) -> str:
    changes = body["webhook_subscription"]
    if set(changes) <= {"active", "type"} and changes["active"] is True:
        return f"turn webhook subscription {subscription_id} back on"
    return f"update {', '.join(sorted(set(changes) - {'type'}))} of webhook subscription {subscription_id}"


_WORDS: tuple[tuple[str, re.Pattern[str], Callable[..., str]], ...] = tuple(
    (method, re.compile(pattern), words)
    for method, pattern, words in (
        ("PUT", r"/incidents", _bulk_incidents),
        ("POST", r"/incidents/(\w+)/notes",
         lambda incident, body: f"add a note to incident {incident}: {_quoted(body['note'].get('content'))}"),
        ("POST", r"/incidents/(\w+)/status_updates",
         lambda incident, body: f"post a status update to incident {incident}: {_quoted(body.get('message'))}"),
        ("PUT", r"/schedules/(\w+)", _schedule_layers),
        ("POST", r"/schedules/(\w+)/overrides", _overrides),
        ("PUT", r"/escalation_policies/(\w+)", _policy_rules),
        ("DELETE", r"/teams/(\w+)/users/(\w+)", lambda team, user, body: f"take user {user} off team {team}"),
        ("DELETE", r"/users/(\w+)", lambda user, body: f"delete user {user}"),
        ("POST", r"/maintenance_windows", _new_window),
        ("PUT", r"/maintenance_windows/(\w+)", _window_services),
        ("DELETE", r"/maintenance_windows/(\w+)", lambda window, body: f"delete maintenance window {window}"),
        ("POST", r"/webhook_subscriptions/(\w+)/enable",
         lambda subscription, body: f"re-enable webhook subscription {subscription}, disabled after failed deliveries"),
        ("PUT", r"/webhook_subscriptions/(\w+)", _webhook_update),
        ("POST", r"/extensions/(\w+)/enable",
         lambda extension, body: f"re-enable extension {extension}, disabled after failed deliveries"),
    )
)

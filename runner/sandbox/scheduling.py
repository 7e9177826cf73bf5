"""REST handlers for schedules (rendered, changed, overridden), the users on them, and on-calls."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from runner.sandbox.access import check_write, find, owners
from runner.sandbox.account import Account
from runner.sandbox.api import (
    ApiError,
    Request,
    Result,
    View,
    as_is,
    filtered,
    including,
    invalid_input,
    not_found,
    paginate,
)
from runner.sandbox.objects import Obj, parse_time, reference, timestamp
from runner.sandbox.resources import BY_TEAM, USER_INCLUDES, index
from runner.sandbox.schedules import Shift, final_shifts, render

SCHEDULE_WINDOW = timedelta(days=14)
MAX_ONCALL_WINDOW = timedelta(days=90)
ONCALL_INCLUDES = {"users": ("user",), "schedules": ("schedule",), "escalation_policies": ("escalation_policy",)}


def schedule_view(account: Account, request: Request, *, always: bool) -> View:
    """Render schedules over the request's window: since/until, each defaulting to two weeks from the other.

    With neither, render from now for two weeks when `always`, else serve schedules as stored.
    """
    since, until = request.time("since"), request.time("until")
    if since is None and until is None and not always:
        return as_is
    if since is None:
        since = (until or account.now + SCHEDULE_WINDOW) - SCHEDULE_WINDOW
    until = until or since + SCHEDULE_WINDOW
    if until <= since:
        raise invalid_input("Until must be after since.")
    overflow = request.flag("overflow")

    def view(schedule: Obj) -> Obj:
        return schedule | render(schedule, account.overrides[schedule["id"]], since, until, overflow=overflow)

    return view


list_schedules = index(
    "schedules",
    "schedules",
    filters=BY_TEAM,
    view=lambda account, request: schedule_view(account, request, always=False),
    doc="List schedules; with since/until, each with its layers, overrides and final schedule rendered.",
)


def show_schedule(account: Account, request: Request) -> Result:
    """Show a schedule with `final_schedule` rendered over since/until (default: the next two weeks)."""
    schedule = find(account, "schedules", request)
    return 200, {"schedule": schedule_view(account, request, always=True)(schedule)}


def update_schedule(account: Account, request: Request) -> Result:
    """Update a schedule's name, description, time zone or layers (each: start, end, rotation_virtual_start,
    rotation_turn_length_seconds, users, restrictions).
    """
    schedule = find(account, "schedules", request)
    check_write(account, request, "configure", owners(schedule))
    body = request.json_object("schedule")
    changes = {key: body[key] for key in ("name", "description", "time_zone") if key in body}
    if not all(isinstance(value, str) for value in changes.values()):
        raise invalid_input("Name, description and time_zone must be strings.")
    layers = body.get("schedule_layers")
    if layers is not None and (not isinstance(layers, list) or not layers):
        raise invalid_input("Schedule layers must be a non-empty list.")
    try:
        account.update_schedule(schedule, changes, [_layer(layer) for layer in layers] if layers else None)
    except (KeyError, ValueError) as exc:
        raise invalid_input(str(exc).strip("'\"")) from None
    return 200, {"schedule": schedule_view(account, request, always=False)(schedule)}


def _layer(layer: Any) -> dict[str, Any]:
    """Return `add_schedule_layer`'s arguments for a layer as the API gives it."""
    if not isinstance(layer, dict):
        raise invalid_input("Each schedule layer must be an object.")
    try:
        turn = layer["rotation_turn_length_seconds"]
        users = [entry["user"]["id"] for entry in layer["users"]]
        fields = {key: _time(layer[key]) for key in ("start", "rotation_virtual_start")}
    except (KeyError, TypeError):
        raise invalid_input(
            "Each layer needs start, rotation_virtual_start, rotation_turn_length_seconds and users."
        ) from None
    if not isinstance(turn, int) or isinstance(turn, bool):
        raise invalid_input("rotation_turn_length_seconds must be an integer.")
    restrictions = layer.get("restrictions") or []
    if not isinstance(restrictions, list) or not all(isinstance(r, dict) for r in restrictions):
        raise invalid_input("Restrictions must be a list of objects.")
    end = _time(layer["end"]) if layer.get("end") else None
    return {
        "users": users,
        "turn_length": timedelta(seconds=turn),
        "restrictions": restrictions,
        "start": fields["start"],
        "rotation_virtual_start": fields["rotation_virtual_start"],
        "end": end,
    }


def _time(value: Any) -> datetime:
    try:
        return parse_time(value)
    except (TypeError, ValueError):
        raise invalid_input(f"{value!r} is not a date-time.") from None


def list_overrides(account: Account, request: Request) -> Result:
    """List a schedule's overrides overlapping since/until (editable: only those not yet over; overflow: uncut)."""
    schedule = find(account, "schedules", request)
    since, until = request.time("since"), request.time("until")
    if since is None or until is None or until <= since:
        raise invalid_input("Since and until are required, until after since.")
    first, last = timestamp(since), timestamp(until)
    now = timestamp(account.now)
    kept = [
        override
        for override in account.overrides[schedule["id"]]
        if override["start"] < last
        and override["end"] > first
        and (not request.flag("editable") or override["end"] > now)
    ]
    if not request.flag("overflow"):
        kept = [o | {"start": max(o["start"], first), "end": min(o["end"], last)} for o in kept]
    return 200, {"overrides": kept}


def create_overrides(account: Account, request: Request) -> Result:
    """Create overrides on a schedule (overrides: start, end, user); each is answered with its own status."""
    schedule = find(account, "schedules", request)
    check_write(account, request, "respond", owners(schedule))
    overrides = request.json_object().get("overrides")
    if not isinstance(overrides, list) or not overrides:
        raise invalid_input("Overrides must be a non-empty list.")
    return 201, [_override(account, schedule, override) for override in overrides]


def _override(account: Account, schedule: Obj, given: Any) -> Obj:
    try:
        user = account.users[given["user"]["id"]]
        start, end = _time(given["start"]), _time(given["end"])
        return {"status": 201, "override": account.add_override(schedule, user, start=start, end=end)}
    except (KeyError, TypeError):
        return {"status": 400, "errors": ["An override needs a start, an end and a user of the account."]}
    except ValueError as exc:
        return {"status": 400, "errors": [str(exc)]}
    except ApiError as error:
        return {"status": 400, "errors": [error.errors[0] if error.errors else error.message]}


def delete_override(account: Account, request: Request) -> Result:
    """Delete an override of a schedule."""
    schedule = find(account, "schedules", request)
    check_write(account, request, "respond", owners(schedule))
    try:
        account.delete_override(schedule, request.params["override_id"])
    except KeyError:
        raise not_found() from None
    return 204, None


def list_schedule_users(account: Account, request: Request) -> Result:
    """List the users on call in a schedule's final rendering between since and until (default: the next two weeks)."""
    schedule = find(account, "schedules", request)
    rendered = schedule_view(account, request, always=True)(schedule)["final_schedule"]
    on_call = dict.fromkeys(entry["user"]["id"] for entry in rendered["rendered_schedule_entries"])
    view = including(USER_INCLUDES)(account, request)
    return 200, {"users": [view(account.users[user_id]) for user_id in on_call if user_id in account.users]}


def list_oncalls(account: Account, request: Request) -> Result:
    """List who is on call at each level of each escalation policy between since and until (default: now; at most 90
    days), overrides included; filters user_ids[], escalation_policy_ids[], schedule_ids[], earliest.
    """
    since = request.time("since") or account.now
    until = request.time("until") or since
    if until < since:
        raise invalid_input("Until must be after since.")
    if until - since > MAX_ONCALL_WINDOW:
        raise invalid_input("The date range may not be longer than 90 days.")
    oncalls = list(_oncalls(account, request, since, max(until, since + timedelta(seconds=1))))
    oncalls = filtered(oncalls, request, {"user_ids[]": lambda oncall: {oncall["user"]["id"]}})
    if request.flag("earliest"):
        firsts: dict[tuple[str, int, str], Obj] = {}
        for oncall in oncalls:
            key = (oncall["escalation_policy"]["id"], oncall["escalation_level"], oncall["user"]["id"])
            firsts.setdefault(key, oncall)
        oncalls = list(firsts.values())
    return 200, paginate(request, "oncalls", oncalls, including(ONCALL_INCLUDES)(account, request))


def _oncalls(account: Account, request: Request, since: datetime, until: datetime) -> Iterator[Obj]:
    """Yield on-calls from every rule target: schedules' shifts, and users directly targeted (for good)."""
    policies = set(request.values("escalation_policy_ids[]"))
    schedules = set(request.values("schedule_ids[]"))

    @functools.cache
    def shifts_of(schedule_id: str) -> list[Shift]:
        return final_shifts(account.schedules[schedule_id], account.overrides[schedule_id], since, until)

    for policy in sorted(account.escalation_policies.values(), key=lambda p: p["name"].casefold()):
        if policies and policy["id"] not in policies:
            continue
        for level, rule in enumerate(policy["escalation_rules"], 1):
            for target in rule["targets"]:
                row = {"escalation_policy": reference(policy), "escalation_level": level}
                if target["type"] == "user_reference":
                    if not schedules or "null" in schedules:
                        yield row | {"user": target, "schedule": None, "start": None, "end": None}
                elif not schedules or target["id"] in schedules:
                    for shift in shifts_of(target["id"]):
                        yield row | {"schedule": target} | shift.entry(since, until, overflow=True)

"""REST handlers for the account's configuration: services, teams, users, policies, schedules, on-calls."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from runner.sandbox.account import Account
from runner.sandbox.api import (
    Filters,
    Handler,
    Includes,
    Request,
    Result,
    View,
    ViewFactory,
    as_is,
    check_access,
    filtered,
    find,
    ids,
    including,
    invalid_input,
    paginate,
)
from runner.sandbox.objects import Obj, reference
from runner.sandbox.schedules import Shift, final_shifts, render

SCHEDULE_WINDOW = timedelta(days=14)
ABILITIES = ("teams", "urgencies", "read_only_users", "service_support_hours", "manage_schedules", "audit_trail")
NAME_ORDERS = {"name": False, "name:asc": False, "name:desc": True}


def targeted_users(policy: Obj) -> set[str]:
    """Return the ids of the users `policy`'s rules target directly."""
    return {
        target["id"]
        for rule in policy["escalation_rules"]
        for target in rule["targets"]
        if target["type"] == "user_reference"
    }


BY_TEAM: Filters = {"team_ids[]": lambda obj: ids(obj["teams"])}
POLICY_FILTERS: Filters = {**BY_TEAM, "user_ids[]": targeted_users}

SERVICE_INCLUDES = {
    "teams": ("teams",),
    "escalation_policies": ("escalation_policy",),
    "integrations": ("integrations",),
}
USER_INCLUDES = {
    "contact_methods": ("contact_methods",),
    "notification_rules": ("notification_rules",),
    "teams": ("teams",),
}
POLICY_INCLUDES = {"services": ("services",), "teams": ("teams",), "targets": ("escalation_rules.targets",)}
MEMBER_INCLUDES = {"users": ("user",)}
ONCALL_INCLUDES = {"users": ("user",), "schedules": ("schedule",), "escalation_policies": ("escalation_policy",)}


def index(
    collection: str,
    wrapper: str,
    *,
    filters: Filters | None = None,
    searched: tuple[str, ...] = ("name",),
    includes: Includes | None = None,
    view: ViewFactory | None = None,
    sortable: bool = False,
    by_name: bool = False,
    doc: str | None = None,
) -> Handler:
    """Return a handler listing a collection sorted by name, with `query` and list filters.

    `sortable` takes `sort_by=name|name:asc|name:desc`; `by_name` an exact `name`;
    `doc` is the endpoint's summary.
    """
    view = view or including(includes or {})

    def handler(account: Account, request: Request) -> Result:
        items = filtered(getattr(account, collection).values(), request, filters or {})
        if query := (request.value("query") or "").casefold():
            items = [item for item in items if any(query in item[key].casefold() for key in searched)]
        if by_name and (name := request.value("name")) is not None:
            items = [item for item in items if item["name"] == name]
        order = request.value("sort_by") if sortable else None
        if order is not None and order not in NAME_ORDERS:
            raise invalid_input(f"sort_by must be one of {', '.join(NAME_ORDERS)}.")
        items.sort(key=lambda item: item["name"].casefold(), reverse=NAME_ORDERS.get(order or "name", False))
        return 200, paginate(request, wrapper, items, view(account, request))

    handler.__doc__ = doc or f"List {collection.replace('_', ' ')}."
    return handler


def show(collection: str, wrapper: str, *, includes: Includes | None = None) -> Handler:
    """Return a handler serving one object of a collection by id, expanding what `include[]` names."""
    view = including(includes or {})

    def handler(account: Account, request: Request) -> Result:
        return 200, {wrapper: view(account, request)(find(account, collection, request))}

    expands = f" (include[] {', '.join(includes)})" if includes else ""
    handler.__doc__ = f"Show one {wrapper.replace('_', ' ')}{expands}."
    return handler


def list_team_members(account: Account, request: Request) -> Result:
    """List a team's members and their team roles."""
    team = find(account, "teams", request)
    members = account.team_members[team["id"]]
    return 200, paginate(request, "members", members, including(MEMBER_INCLUDES)(account, request))


def show_current_user(account: Account, request: Request) -> Result:
    """Show the user a user-level token belongs to (400 for the account token)."""
    if request.user_id is None:
        raise invalid_input(
            "Because this request was made using an account-level access token, we were unable to"
            " determine the user's identity. Please use a user-level token."
        )
    user = account.users[request.user_id]
    return 200, {"user": including(USER_INCLUDES)(account, request)(user)}


def list_abilities(account: Account, request: Request) -> Result:
    """List the account's abilities."""
    return 200, {"abilities": list(ABILITIES)}


# Services


def create_service(account: Account, request: Request) -> Result:
    """Create a service (name, escalation_policy, description, status); its teams are its policy's."""
    body = request.json_object("service")
    name = _text(body, "name", required=True)
    policy = _policy(account, request, body.get("escalation_policy"))
    try:
        service = account.add_service(
            name,
            escalation_policy=policy,
            teams=[team["id"] for team in policy["teams"]],
            status=body.get("status", "active"),
            description=_text(body, "description") or "",
            integrations=(),
        )
    except ValueError as exc:
        raise invalid_input(_pagerduty_message(exc)) from None
    return 201, {"service": service}


# Fields PUT /services/{id} changes, and the JSON types each takes.
_SERVICE_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "description": (str,),
    "status": (str,),
    "acknowledgement_timeout": (int, type(None)),
    "auto_resolve_timeout": (int, type(None)),
}


def update_service(account: Account, request: Request) -> Result:
    """Update a service's name, description, status, timeouts or escalation policy (and so its teams)."""
    service = find(account, "services", request)
    body = request.json_object("service")
    changes: dict[str, Any] = {}
    for key, types in _SERVICE_FIELDS.items():
        if key in body:
            if not isinstance(body[key], types) or isinstance(body[key], bool):
                raise invalid_input(f"{key.capitalize()} has the wrong type.")
            changes[key] = body[key]
    if "escalation_policy" in body:
        policy = _policy(account, request, body["escalation_policy"])
        changes.update(escalation_policy=policy, teams=[team["id"] for team in policy["teams"]])
    try:
        account.update_service(service, changes)
    except ValueError as exc:
        raise invalid_input(_pagerduty_message(exc)) from None
    return 200, {"service": service}


def delete_service(account: Account, request: Request) -> Result:
    """Delete a service."""
    account.delete_service(find(account, "services", request))
    return 204, None


def _policy(account: Account, request: Request, ref: Any) -> Obj:
    policy = account.escalation_policies.get(ref.get("id")) if isinstance(ref, dict) else None
    if policy is None:
        raise invalid_input("Escalation policy not found.")
    check_access(account, request, policy)
    return policy


def _text(body: Obj, key: str, *, required: bool = False) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise invalid_input(f"{key.capitalize()} must be a {'non-empty ' if required else ''}string.")
    return value


def _pagerduty_message(error: ValueError) -> str:
    text = str(error)
    return "Name has already been taken." if "already exists" in text else text


# Schedules and on-calls


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


def list_oncalls(account: Account, request: Request) -> Result:
    """List who is on call at each level of each escalation policy between since and until (default: now)."""
    since = request.time("since") or account.now
    until = request.time("until") or since
    if until < since:
        raise invalid_input("Until must be after since.")
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

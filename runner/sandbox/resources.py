"""REST handlers for the account's configuration: listings in general, services, teams and escalation policies."""

from __future__ import annotations

from typing import Any

from runner.sandbox.access import check_access, check_write, find, owners, visible
from runner.sandbox.account import Account
from runner.sandbox.catalog import ALERT_GROUPING
from runner.sandbox.api import (
    Filters,
    Handler,
    Includes,
    Request,
    Result,
    ViewFactory,
    filtered,
    ids,
    including,
    invalid_input,
    not_found,
    paginate,
)
from runner.sandbox.objects import Obj

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
    named: bool = True,
    doc: str | None = None,
) -> Handler:
    """Return a handler listing a collection, with `query` and list filters, as the request's user may see it.

    Named objects (`named`) are sorted by name, others kept in the order made.
    `sortable` takes `sort_by=name|name:asc|name:desc`; `by_name` an exact `name`;
    `doc` is the endpoint's summary.
    """
    view = view or including(includes or {})
    # The last orders worked out, ascending and descending: (the names listed, the positions in name order).
    # A listing read page after page lists the same names each time, so it is sorted once.
    orders: dict[bool, tuple[list[str], list[int]]] = {}

    def sorted_by_name(items: list[Obj], descending: bool) -> list[Obj]:
        names = [item["name"] for item in items]
        known = orders.get(descending)
        if known is None or known[0] != names:
            positions = sorted(range(len(names)), key=lambda n: names[n].casefold(), reverse=descending)
            orders[descending] = known = (names, positions)
        return [items[n] for n in known[1]]

    def handler(account: Account, request: Request) -> Result:
        items = filtered(visible(account, request, getattr(account, collection).values()), request, filters or {})
        if query := (request.value("query") or "").casefold():
            items = [item for item in items if any(query in (item[key] or "").casefold() for key in searched)]
        if by_name and (name := request.value("name")) is not None:
            items = [item for item in items if item["name"] == name]
        order = request.value("sort_by") if sortable else None
        if order is not None and order not in NAME_ORDERS:
            raise invalid_input(f"sort_by must be one of {', '.join(NAME_ORDERS)}.")
        if named:
            items = sorted_by_name(items, NAME_ORDERS.get(order or "name", False))
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


def remove_team_member(account: Account, request: Request) -> Result:
    """Take a user off a team: they leave its members and their own `teams`."""
    team = find(account, "teams", request)
    user = find(account, "users", request, "user_id")
    check_write(account, request, "configure", [team["id"]])
    try:
        account.remove_team_member(team, user)
    except KeyError:
        raise not_found() from None
    return 204, None


def list_abilities(account: Account, request: Request) -> Result:
    """List the account's abilities."""
    return 200, {"abilities": list(ABILITIES)}


# Services


def create_service(account: Account, request: Request) -> Result:
    """Create a service (name, escalation_policy, description, status); its teams are its policy's."""
    body = request.json_object("service")
    name = _text(body, "name", required=True)
    policy = _policy(account, request, body.get("escalation_policy"))
    check_write(account, request, "configure", [team["id"] for team in policy["teams"]] or None)
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
    "alert_grouping_parameters": (dict,),
    "auto_pause_notifications_parameters": (dict,),
}


def update_service(account: Account, request: Request) -> Result:
    """Update a service's name, description, status, timeouts, alert grouping, auto-pause or escalation policy (and so
    its teams).
    """
    service = find(account, "services", request)
    check_write(account, request, "configure", owners(service))
    body = request.json_object("service")
    changes: dict[str, Any] = {}
    for key, types in _SERVICE_FIELDS.items():
        if key in body:
            if not isinstance(body[key], types) or isinstance(body[key], bool):
                raise invalid_input(f"{key.capitalize()} has the wrong type.")
            changes[key] = body[key]
    if (changes.get("alert_grouping_parameters") or {}).get("type", None) not in (None, *ALERT_GROUPING):
        raise invalid_input(f"Alert grouping type must be one of {', '.join(ALERT_GROUPING)}, or null.")
    if not isinstance((changes.get("auto_pause_notifications_parameters") or {}).get("enabled", False), bool):
        raise invalid_input("Auto-pause's enabled must be a boolean.")
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
    service = find(account, "services", request)
    check_write(account, request, "configure", owners(service))
    account.delete_service(service)
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


def update_escalation_policy(account: Account, request: Request) -> Result:
    """Update an escalation policy's name, description, num_loops, teams or rules (escalation_delay_in_minutes,
    targets).
    """
    policy = find(account, "escalation_policies", request)
    check_write(account, request, "configure", owners(policy))
    body = request.json_object("escalation_policy")
    changes: dict[str, Any] = {key: body[key] for key in ("name", "description") if key in body}
    if not all(isinstance(value, str) for value in changes.values()):
        raise invalid_input("Name and description must be strings.")
    if "num_loops" in body:
        if not isinstance(body["num_loops"], int) or isinstance(body["num_loops"], bool) or body["num_loops"] < 0:
            raise invalid_input("num_loops must be a non-negative integer.")
        changes["num_loops"] = body["num_loops"]
    if "teams" in body:
        changes["teams"] = [_ref_id(ref) for ref in body["teams"] or []]
    rules = body.get("escalation_rules")
    if rules is not None and (not isinstance(rules, list) or not rules):
        raise invalid_input("Escalation rules must be a non-empty list.")
    try:
        parsed = [(rule["targets"], rule["escalation_delay_in_minutes"]) for rule in rules] if rules else None
        account.update_escalation_policy(policy, changes, parsed)
    except (KeyError, TypeError, ValueError) as exc:
        raise invalid_input(f"Invalid escalation policy: {str(exc).strip(chr(39))}.") from None
    return 200, {"escalation_policy": policy}


def _ref_id(ref: Any) -> str:
    if not isinstance(ref, dict) or not isinstance(ref.get("id"), str):
        raise invalid_input("References need an id.")
    return ref["id"]

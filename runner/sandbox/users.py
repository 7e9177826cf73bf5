"""REST handlers for users: the current user, changes and removal, contact methods, notification rules, licenses."""

from __future__ import annotations

from collections.abc import Callable

from runner.sandbox.access import check_write, find
from runner.sandbox.account import Account
from runner.sandbox.api import ApiError, Request, Result, applying, including, invalid_input, not_found, paginate
from runner.sandbox.audit_records import cursor_page, window
from runner.sandbox.objects import Obj
from runner.sandbox.people import CONTACT_METHOD_TYPES, USER_FIELDS
from runner.sandbox.resources import USER_INCLUDES

# API type of a contact method -> the kind `Account.add_contact_method` takes.
CONTACT_METHOD_KINDS = {type_: kind for kind, type_ in CONTACT_METHOD_TYPES.items()}
RULE_INCLUDES = {"contact_methods": ("contact_method",)}


def show_current_user(account: Account, request: Request) -> Result:
    """Show the user a user-level token belongs to (400 for the account token)."""
    if request.user_id is None:
        raise invalid_input(
            "Because this request was made using an account-level access token, we were unable to"
            " determine the user's identity. Please use a user-level token."
        )
    user = account.users[request.user_id]
    return 200, {"user": including(USER_INCLUDES)(account, request)(user)}


def update_user(account: Account, request: Request) -> Result:
    """Update a user's name, email, role, time_zone, color, description or job_title."""
    user = find(account, "users", request)
    body = request.json_object("user")
    changes = {key: body[key] for key in USER_FIELDS if key in body}
    if not all(isinstance(value, str) for value in changes.values()):
        raise invalid_input("User fields must be strings.")
    if "role" in changes or request.user_id != user["id"]:
        check_write(account, request, "users")
    applying(lambda: account.update_user(user, changes))
    return 200, {"user": user}


def delete_user(account: Account, request: Request) -> Result:
    """Delete a user: they leave their teams, schedules and escalation rules (403 for the owner, or with open
    incidents).
    """
    user = find(account, "users", request)
    check_write(account, request, "users")
    try:
        account.delete_user(user)
    except ValueError as exc:
        raise ApiError(403, 2010, "Access Denied", [str(exc)]) from None
    return 204, None


def list_contact_methods(account: Account, request: Request) -> Result:
    """List a user's contact methods."""
    user = find(account, "users", request)
    return 200, {"contact_methods": [account.contact_methods[ref["id"]] for ref in user["contact_methods"]]}


def create_contact_method(account: Account, request: Request) -> Result:
    """Add a contact method (type, address, label) to a user."""
    user = find(account, "users", request)
    check_write(account, request, "users", own=user["id"])
    body = request.json_object("contact_method")
    kind = CONTACT_METHOD_KINDS.get(body.get("type"))
    address, label = body.get("address"), body.get("label")
    if kind is None or not isinstance(address, str) or not address or not isinstance(label, str) or not label:
        kinds = ", ".join(CONTACT_METHOD_KINDS)
        raise invalid_input(f"A contact method needs a type ({kinds}), an address and a label.")
    if any(account.contact_methods[ref["id"]]["address"] == address for ref in user["contact_methods"]):
        raise invalid_input("User Contact method must be unique")
    return 201, {"contact_method": account.add_contact_method(user, kind, address=address, label=label)}


def show_contact_method(account: Account, request: Request) -> Result:
    """Show one contact method of a user."""
    return 200, {"contact_method": _nested(account, request, "contact_methods", "contact_method_id")}


def update_contact_method(account: Account, request: Request) -> Result:
    """Update a contact method's label or address."""
    method = _nested(account, request, "contact_methods", "contact_method_id")
    check_write(account, request, "users", own=request.params["id"])
    body = request.json_object("contact_method")
    changes = {key: body[key] for key in ("label", "address") if key in body}
    if not all(isinstance(value, str) and value for value in changes.values()):
        raise invalid_input("Label and address must be non-empty strings.")
    return 200, {"contact_method": account.update_contact_method(method, **changes)}


def delete_contact_method(account: Account, request: Request) -> Result:
    """Delete a contact method, and the notification rules that use it."""
    return _delete_nested(account, request, "contact_methods", "contact_method_id", account.delete_contact_method)


def list_notification_rules(account: Account, request: Request) -> Result:
    """List a user's notification rules (urgency high, low or all; include[] contact_methods)."""
    user = find(account, "users", request)
    urgency = request.value("urgency") or "high"
    if urgency not in ("high", "low", "all"):
        raise invalid_input("Urgency must be high, low or all.")
    rules = [account.notification_rules[ref["id"]] for ref in user["notification_rules"]]
    view = including(RULE_INCLUDES)(account, request)
    return 200, {"notification_rules": [view(rule) for rule in rules if urgency in ("all", rule["urgency"])]}


def create_notification_rule(account: Account, request: Request) -> Result:
    """Add a notification rule (start_delay_in_minutes, contact_method, urgency) to a user."""
    user = find(account, "users", request)
    check_write(account, request, "users", own=user["id"])
    body = request.json_object("notification_rule")
    method, delay = body.get("contact_method"), body.get("start_delay_in_minutes")
    if not isinstance(method, dict) or not isinstance(delay, int) or isinstance(delay, bool) or delay < 0:
        raise invalid_input("A notification rule needs a contact_method and a start_delay_in_minutes of 0 or more.")
    rule = applying(
        lambda: account.add_notification_rule(
            user, method.get("id", ""), urgency=body.get("urgency", "high"), start_delay_in_minutes=delay
        )
    )
    return 201, {"notification_rule": rule}


def delete_notification_rule(account: Account, request: Request) -> Result:
    """Delete a notification rule of a user."""
    delete = account.delete_notification_rule
    return _delete_nested(account, request, "notification_rules", "notification_rule_id", delete)


def list_user_audit_records(account: Account, request: Request) -> Result:
    """List the changes made to one user, newest first, by cursor (since/until: the last 24 hours by default)."""
    user = find(account, "users", request)
    first, last = window(account, request)
    records = [
        record
        for record in account.ordered("audit_records", key=lambda record: record["execution_time"], newest_first=True)
        if first <= record["execution_time"] <= last and record["root_resource"]["id"] == user["id"]
    ]
    return 200, cursor_page(request, records)


def list_licenses(account: Account, request: Request) -> Result:
    """List the account's licenses, with the seats used (current_value) and free (allocations_available)."""
    return 200, {"licenses": list(account.licenses.values())}


def list_license_allocations(account: Account, request: Request) -> Result:
    """List which license each user holds, and since when."""
    return 200, paginate(request, "license_allocations", list(account.license_allocations.values()))


def _nested(account: Account, request: Request, collection: str, key: str) -> Obj:
    """Return the user's contact method or notification rule the path names, or raise 404."""
    user = find(account, "users", request)
    wanted = request.params[key]
    if wanted not in {ref["id"] for ref in user[collection]}:
        raise not_found()
    return getattr(account, collection)[wanted]


def _delete_nested(
    account: Account, request: Request, collection: str, key: str, delete: Callable[[str, Obj], None]
) -> Result:
    """Delete the user's contact method or notification rule the path names, if the requester may."""
    nested = _nested(account, request, collection, key)
    check_write(account, request, "users", own=request.params["id"])
    delete(request.params["id"], nested)
    return 204, None

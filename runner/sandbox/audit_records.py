"""The audit trail: the account's changes (`/audit/records`), newest first, under cursor pagination."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import timedelta

from runner.sandbox.account import Account
from runner.sandbox.api import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    Request,
    Result,
    check_choices,
    filtered,
    invalid_input,
)
from runner.sandbox.objects import KINDS, Obj, kind_of, timestamp

DEFAULT_WINDOW = timedelta(hours=24)
MAX_WINDOW = timedelta(days=31)
RESOURCE_TYPES = ("users", "teams", "schedules", "escalation_policies", "services")
ACTOR_TYPES = ("user_reference", "api_key_reference", "app_reference")


def list_audit_records(account: Account, request: Request) -> Result:
    """List changes to users, teams, schedules, policies and services, newest first, by cursor.

    Default window: the last 24 hours (at most 31 days); filters root_resource_types[],
    actions[], actor_type and actor_id, method_type and method_truncated_token.
    """
    check_choices(request, {"root_resource_types[]": RESOURCE_TYPES, "actions[]": ("create", "update", "delete")})
    first, last = window(account, request)
    records = [
        record
        for record in account.ordered("audit_records", key=lambda record: record["execution_time"], newest_first=True)
        if first <= record["execution_time"] <= last
    ]
    records = filtered(
        records,
        request,
        {
            "root_resource_types[]": lambda record: {KINDS[kind_of(record["root_resource"])][0]},
            "actions[]": lambda record: {record["action"]},
        },
    )
    by_actor, by_method = _by_actor(request), _by_method(request)
    return 200, cursor_page(request, [record for record in records if by_actor(record) and by_method(record)])


def window(account: Account, request: Request) -> tuple[str, str]:
    """Return the request's since and until as timestamps: the last 24 hours by default, at most 31 days."""
    since = request.time("since") or (request.time("until") or account.now) - DEFAULT_WINDOW
    until = request.time("until") or account.now
    if until < since:
        raise invalid_input("Until must be after since.")
    if until - since > MAX_WINDOW:
        raise invalid_input("The date range may not be longer than 31 days.")
    return timestamp(since), timestamp(until)


def cursor_page(request: Request, records: list[Obj]) -> Obj:
    """Return the page of `records` the request's cursor and limit select, with the next cursor."""
    limit = min(request.integer("limit", DEFAULT_LIMIT), MAX_LIMIT)
    if limit < 1:
        raise invalid_input("Limit must be positive.")
    offset = _decode(request.value("cursor"))
    more = offset + limit < len(records)
    next_cursor = _encode(offset + limit) if more else None
    return {"records": records[offset : offset + limit], "limit": limit, "next_cursor": next_cursor}


def _by_actor(request: Request) -> Callable[[Obj], bool]:
    actor_type, actor_id = request.value("actor_type"), request.value("actor_id")
    if actor_id is not None and actor_type is None:
        raise invalid_input("actor_id must be qualified by actor_type.")
    if actor_type is not None and actor_type not in ACTOR_TYPES:
        raise invalid_input(f"actor_type must be one of {', '.join(ACTOR_TYPES)}.")

    def matches(record: Obj) -> bool:
        actors = record["actors"] or ()
        return actor_type is None or any(a["type"] == actor_type and actor_id in (None, a["id"]) for a in actors)

    return matches


def _by_method(request: Request) -> Callable[[Obj], bool]:
    method_type, token = request.value("method_type"), request.value("method_truncated_token")
    if token is not None and method_type is None:
        raise invalid_input("method_truncated_token must be qualified by method_type.")

    def matches(record: Obj) -> bool:
        method = record["method"]
        return method_type in (None, method["type"]) and token in (None, method["truncated_token"])

    return matches


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _decode(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        label, _, number = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if label == "offset" and number.isdigit():
            return int(number)
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise invalid_input("Cursor is invalid.")

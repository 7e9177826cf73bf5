"""REST handlers for maintenance windows: services whose new incidents are held back for a while."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from runner.sandbox.access import check_write, find, owners, requester, visible
from runner.sandbox.account import Account
from runner.sandbox.api import Request, Result, applying, filtered, ids, including, invalid_input, paginate
from runner.sandbox.objects import Obj, parse_time, timestamp

WINDOW_FILTERS = ("past", "future", "ongoing", "open", "all")
WINDOW_INCLUDES = {"teams": ("teams",), "services": ("services",), "users": ("created_by",)}


def list_maintenance_windows(account: Account, request: Request) -> Result:
    """List maintenance windows (filter past, future, ongoing, open or all; query, team_ids[], service_ids[], include[]
    teams, services, users).
    """
    when = request.value("filter") or "all"
    if when not in WINDOW_FILTERS:
        raise invalid_input(f"Filter must be one of {', '.join(WINDOW_FILTERS)}.")
    now = timestamp(account.now)
    windows = [window for window in account.maintenance_windows.values() if _matches(window, when, now)]
    windows = filtered(
        visible(account, request, windows),
        request,
        {"team_ids[]": lambda w: ids(w["teams"]), "service_ids[]": lambda w: ids(w["services"])},
    )
    if query := (request.value("query") or "").casefold():
        windows = [window for window in windows if query in window["description"].casefold()]
    return 200, paginate(request, "maintenance_windows", windows, including(WINDOW_INCLUDES)(account, request))


def _matches(window: Obj, when: str, now: str) -> bool:
    started, ended = window["start_time"] <= now, window["end_time"] <= now
    return {
        "past": ended,
        "future": not started,
        "ongoing": started and not ended,
        "open": not ended,
        "all": True,
    }[when]


def show_maintenance_window(account: Account, request: Request) -> Result:
    """Show one maintenance window (include[] teams, services, users)."""
    window = find(account, "maintenance_windows", request)
    return 200, {"maintenance_window": including(WINDOW_INCLUDES)(account, request)(window)}


def create_maintenance_window(account: Account, request: Request) -> Result:
    """Create a maintenance window (start_time, end_time, description, services); a start in the past starts now."""
    user = requester(account, request)
    fields = _fields(account, request)
    check_write(account, request, "configure", _owning(account, fields["services"]))
    window = applying(lambda: account.add_maintenance_window(by=user, **fields))
    return 201, {"maintenance_window": window}


def update_maintenance_window(account: Account, request: Request) -> Result:
    """Update a maintenance window's times, description or services."""
    window = find(account, "maintenance_windows", request)
    check_write(account, request, "configure", owners(window))
    fields = _fields(account, request, window)
    check_write(account, request, "configure", _owning(account, fields["services"]))
    applying(lambda: account.update_maintenance_window(window, **fields))
    return 200, {"maintenance_window": window}


def delete_maintenance_window(account: Account, request: Request) -> Result:
    """Delete a maintenance window that is under way or to come (405 once it has ended)."""
    window = find(account, "maintenance_windows", request)
    check_write(account, request, "configure", owners(window))
    try:
        account.delete_maintenance_window(window)
    except ValueError:
        return 405, None
    return 204, None


def _fields(account: Account, request: Request, current: Obj | None = None) -> dict[str, Any]:
    """Return the window's start, end, description and services from the body (defaults: `current`'s)."""
    body = request.json_object("maintenance_window")
    current = current or {}
    try:
        start = _time(body.get("start_time", current.get("start_time")))
        end = _time(body.get("end_time", current.get("end_time")))
        services = [ref["id"] for ref in body.get("services", current.get("services", []))]
    except (KeyError, TypeError, ValueError):
        raise invalid_input("A maintenance window needs a start_time, an end_time and services.") from None
    unknown = [service for service in services if service not in account.services]
    if unknown:
        raise invalid_input(f"Service {unknown[0]} not found.")
    description = body.get("description", current.get("description", ""))
    if not isinstance(description, str):
        raise invalid_input("Description must be a string.")
    return {"start": max(start, account.now), "end": end, "description": description, "services": services}


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(value)
    return parse_time(value)


def _owning(account: Account, services: list[str]) -> list[str] | None:
    """Return the teams owning any of `services`, or None if none is owned."""
    return [team["id"] for service in services for team in account.services[service]["teams"]] or None

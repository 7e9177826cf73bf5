"""Profile sections around the account's core: licenses, maintenance windows, webhooks, extensions, orchestrations."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from runner.sandbox.account import Account
from runner.sandbox.addons import WEBHOOK_EVENTS
from runner.sandbox.objects import Obj
from runner.sandbox.profile_tables import Names, Table

# Profile key of each license's seats -> its role group.
SEATS = {"full_user": "FullUser", "stakeholder": "Stakeholder"}
# Profile name of each kind of extension -> its extension schema.
EXTENSION_KINDS = {"generic_webhook": "PWEBHK3", "slack": "PSLACK2"}


def set_seats(account: Account, top: Table) -> None:
    """Give the account the seats `licenses` names (default: as many as its users hold, and none free)."""
    seats = top.get("licenses", dict, None)
    if seats is None:
        return
    table = Table(seats, f"{top.where}: licenses", tuple(SEATS))
    for key, group in SEATS.items():
        count = table.get(key, int, None)
        if count is not None:
            try:
                account.set_license_seats(group, count)
            except ValueError as exc:
                raise table.fail(key, str(exc)) from None


def _maintenance_window(account: Account, names: Names, entry: Table, now: datetime) -> Obj:
    start = now + entry.hours("starts_in_hours", 0)
    try:
        return account.add_maintenance_window(
            [names.find(entry, "services", name, "services") for name in entry.strings("services")],
            start=start,
            end=start + entry.hours("hours"),
            description=entry.get("description", str, ""),
        )
    except ValueError as exc:
        raise entry.fail("hours", str(exc)) from None


def _webhook(account: Account, names: Names, entry: Table, now: datetime) -> Obj:
    service, team = entry.get("service", str, None), entry.get("team", str, None)
    if service is not None and team is not None:
        raise entry.fail("team", "give a service or a team, not both")
    filter = None
    if service is not None:
        filter = {"id": names.find(entry, "service", service, "services")["id"], "type": "service_reference"}
    elif team is not None:
        filter = {"id": names.find(entry, "team", team, "teams")["id"], "type": "team_reference"}
    return account.add_webhook_subscription(
        entry.get("url", str),
        filter=filter,
        events=entry.strings("events", WEBHOOK_EVENTS, WEBHOOK_EVENTS),
        description=entry.get("description", str, ""),
        active=entry.get("active", bool, True),
        temporarily_disabled=entry.get("disabled", bool, False),
    )


def _extension(account: Account, names: Names, entry: Table, now: datetime) -> Obj:
    services = [names.find(entry, "services", name, "services") for name in entry.strings("services")]
    if not services:
        raise entry.fail("services", "expected at least one service")
    return account.add_extension(
        entry.get("name", str),
        services=services,
        endpoint_url=entry.get("url", str),
        schema=EXTENSION_KINDS[entry.choice("kind", EXTENSION_KINDS, "generic_webhook")],
        temporarily_disabled=entry.get("disabled", bool, False),
    )


def _orchestration(account: Account, names: Names, entry: Table, now: datetime) -> Obj:
    team = entry.get("team", str, None)
    routes = [
        {
            "service": names.find(route, "service", route.get("service", str), "services"),
            "label": route.get("label", str, ""),
            "conditions": route.strings("conditions"),
        }
        for route in entry.tables("routes", ("service", "label", "conditions"))
    ]
    return account.add_event_orchestration(
        entry.get("name", str),
        team=names.find(entry, "team", team, "teams") if team is not None else None,
        description=entry.get("description", str, ""),
        routes=routes,
    )


ADDON_KEYS = {
    "maintenance_windows": ("description", "services", "starts_in_hours", "hours"),
    "webhooks": ("url", "description", "events", "service", "team", "active", "disabled"),
    "extensions": ("name", "services", "url", "kind", "disabled"),
    "event_orchestrations": ("name", "team", "description", "routes"),
}
ADDON_STEPS: tuple[tuple[str, Callable[[Account, Names, Table, datetime], Obj]], ...] = (
    ("maintenance_windows", _maintenance_window),
    ("webhooks", _webhook),
    ("extensions", _extension),
    ("event_orchestrations", _orchestration),
)

"""REST handlers for what the account connects to and routes by: webhooks, extensions, orchestrations, rulesets."""

from __future__ import annotations

from runner.sandbox.access import check_write, find
from runner.sandbox.account import Account
from runner.sandbox.api import Handler, Request, Result, applying, filtered, including, invalid_input, paginate
from runner.sandbox.resources import NAME_ORDERS, index

EXTENSION_INCLUDES = {"extension_objects": ("extension_objects",)}


# Webhook subscriptions


def list_webhook_subscriptions(account: Account, request: Request) -> Result:
    """List webhook subscriptions (filter_type account, service or team, with filter_id)."""
    kind, target = request.value("filter_type"), request.value("filter_id")
    if kind is not None and kind not in ("account", "service", "team"):
        raise invalid_input("filter_type must be account, service or team.")
    subscriptions = [
        subscription
        for subscription in account.webhook_subscriptions.values()
        if (kind is None or subscription["filter"]["type"] == f"{kind}_reference")
        and (target is None or subscription["filter"].get("id") == target)
    ]
    return 200, paginate(request, "webhook_subscriptions", subscriptions)


def create_webhook_subscription(account: Account, request: Request) -> Result:
    """Subscribe an HTTP endpoint (delivery_method.url) to events of the account, a service or a team."""
    check_write(account, request, "configure")
    body = request.json_object("webhook_subscription")
    delivery = body.get("delivery_method")
    if not isinstance(delivery, dict) or not isinstance(delivery.get("url"), str):
        raise invalid_input("A webhook subscription needs a delivery_method with a url.")
    subscription = applying(
        lambda: account.add_webhook_subscription(
            delivery["url"],
            filter=body.get("filter"),
            events=body.get("events") or (),
            description=body.get("description", ""),
            active=body.get("active", True),
        ),
    )
    return 200, {"webhook_subscription": subscription}


def show_webhook_subscription(account: Account, request: Request) -> Result:
    """Show one webhook subscription."""
    return 200, {"webhook_subscription": find(account, "webhook_subscriptions", request)}


def update_webhook_subscription(account: Account, request: Request) -> Result:
    """Update a webhook subscription's description, events or active."""
    subscription = find(account, "webhook_subscriptions", request)
    check_write(account, request, "configure")
    body = request.json_object("webhook_subscription")
    changes = {key: body[key] for key in ("description", "events", "active") if key in body}
    types = {"description": str, "events": list, "active": bool}
    if not all(isinstance(value, types[key]) for key, value in changes.items()) or changes.get("events") == []:
        raise invalid_input("Description is a string, events a non-empty list and active a boolean.")
    subscription.update(changes)
    return 200, {"webhook_subscription": subscription}


def _deleting(collection: str, what: str) -> Handler:
    """Return a handler deleting an object of `collection` that no team owns."""

    def handler(account: Account, request: Request) -> Result:
        obj = find(account, collection, request)
        check_write(account, request, "configure")
        del getattr(account, collection)[obj["id"]]
        return 204, None

    handler.__doc__ = f"Delete {what}."
    return handler


delete_webhook_subscription = _deleting("webhook_subscriptions", "a webhook subscription")


def enable_webhook_subscription(account: Account, request: Request) -> Result:
    """Enable a webhook subscription that was temporarily disabled after its deliveries kept failing."""
    subscription = find(account, "webhook_subscriptions", request)
    check_write(account, request, "configure")
    subscription["delivery_method"]["temporarily_disabled"] = False
    return 200, {"webhook_subscription": subscription}


# Extensions


def list_extensions(account: Account, request: Request) -> Result:
    """List extensions (query, extension_object_id, extension_schema_id; include[] extension_objects)."""
    extensions = filtered(
        account.extensions.values(),
        request,
        {
            "extension_object_id": lambda e: {ref["id"] for ref in e["extension_objects"]},
            "extension_schema_id": lambda e: {e["extension_schema"]["id"]},
        },
    )
    if query := (request.value("query") or "").casefold():
        extensions = [extension for extension in extensions if query in extension["name"].casefold()]
    extensions.sort(key=lambda extension: extension["name"].casefold())
    return 200, paginate(request, "extensions", extensions, including(EXTENSION_INCLUDES)(account, request))


def show_extension(account: Account, request: Request) -> Result:
    """Show one extension (include[] extension_objects)."""
    return 200, {"extension": including(EXTENSION_INCLUDES)(account, request)(find(account, "extensions", request))}


def create_extension(account: Account, request: Request) -> Result:
    """Create an extension (name, endpoint_url, extension_schema, extension_objects)."""
    body = request.json_object("extension")
    try:
        services = [ref["id"] for ref in body["extension_objects"]]
        schema, name = body["extension_schema"]["id"], body["name"]
    except (KeyError, TypeError):
        raise invalid_input("An extension needs a name, an extension_schema and extension_objects.") from None
    check_write(account, request, "configure", _owners(account, services))
    url = body.get("endpoint_url", "")
    extension = applying(lambda: account.add_extension(name, services=services, endpoint_url=url, schema=schema))
    return 201, {"extension": extension}


def _owners(account: Account, service_ids: list[str]) -> list[str] | None:
    """The teams owning an extension's services, whose managers may configure it (None: no team's)."""
    return [team["id"] for s in service_ids if s in account.services for team in account.services[s]["teams"]] or None


delete_extension = _deleting("extensions", "an extension")


def enable_extension(account: Account, request: Request) -> Result:
    """Enable an extension that was temporarily disabled after its deliveries kept failing."""
    extension = find(account, "extensions", request)
    check_write(account, request, "configure", _owners(account, [ref["id"] for ref in extension["extension_objects"]]))
    extension["temporarily_disabled"] = False
    return 200, {"extension": including(EXTENSION_INCLUDES)(account, request)(extension)}


# Event orchestrations and rulesets


def list_event_orchestrations(account: Account, request: Request) -> Result:
    """List global event orchestrations (sort_by name, name:asc, name:desc)."""
    order = request.value("sort_by") or "name"
    if order not in NAME_ORDERS:
        raise invalid_input(f"sort_by must be one of {', '.join(NAME_ORDERS)}.")
    orchestrations = sorted(
        account.event_orchestrations.values(), key=lambda o: o["name"].casefold(), reverse=NAME_ORDERS[order]
    )
    return 200, paginate(request, "orchestrations", orchestrations)


def show_event_orchestration(account: Account, request: Request) -> Result:
    """Show one global event orchestration."""
    return 200, {"orchestration": find(account, "event_orchestrations", request)}


def create_event_orchestration(account: Account, request: Request) -> Result:
    """Create a global event orchestration (name, description, team)."""
    body = request.json_object("orchestration")
    name, team = body.get("name"), body.get("team")
    if not isinstance(name, str) or not name.strip():
        raise invalid_input("Name must be a non-empty string.")
    team_id = team.get("id") if isinstance(team, dict) else None
    check_write(account, request, "configure", [team_id] if team_id else None)
    orchestration = applying(
        lambda: account.add_event_orchestration(name, team=team_id, description=body.get("description", "")),
    )
    return 201, {"orchestration": orchestration}


def delete_event_orchestration(account: Account, request: Request) -> Result:
    """Delete a global event orchestration."""
    orchestration = find(account, "event_orchestrations", request)
    team = orchestration.get("team")
    check_write(account, request, "configure", [team["id"]] if team else None)
    del account.event_orchestrations[orchestration["id"]]
    del account.orchestration_routers[orchestration["id"]]
    return 204, None


def show_orchestration_router(account: Account, request: Request) -> Result:
    """Show a global event orchestration's router: its rules, each routing the events it matches to a service."""
    orchestration = find(account, "event_orchestrations", request)
    return 200, {"orchestration_path": account.orchestration_routers[orchestration["id"]]}


def list_rulesets(account: Account, request: Request) -> Result:
    """List rulesets (legacy global event rules), the default global one first."""
    return 200, paginate(request, "rulesets", list(account.rulesets.values()))


def show_ruleset(account: Account, request: Request) -> Result:
    """Show one ruleset."""
    return 200, {"ruleset": find(account, "rulesets", request)}


list_priorities = index(
    "priorities", "priorities", named=False, doc="List the account's priorities, highest (P1) first."
)

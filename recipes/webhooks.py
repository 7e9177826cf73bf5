"""Webhook subscriptions and extensions that stopped delivering: found, and switched back on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from recipes.listings import services
from runner import Context, Finding, Param, hookimpl, recipe

Obj = dict[str, Any]


def subscriptions(ctx: Context) -> list[Obj]:
    """List every webhook subscription, each with a summary (its description, else its URL) to name it by."""
    return [
        sub | {"summary": sub.get("description") or sub["delivery_method"].get("url", "")}
        for sub in ctx.pd.iter("webhook_subscriptions")
    ]


def extensions(ctx: Context) -> list[Obj]:
    return list(ctx.pd.iter("extensions"))


def failing(subscription: Obj) -> bool:
    """Tell whether PagerDuty stopped delivering a subscription's events after its endpoint kept failing."""
    return bool(subscription["delivery_method"].get("temporarily_disabled"))


@recipe(tags=["hygiene"])
def webhooks_disabled(ctx: Context) -> Iterator[Finding]:
    """Webhook subscriptions switched off or disabled after failures, and extensions disabled after failures.

    When an endpoint keeps failing, PagerDuty stops sending to it and tells
    nobody but the account's owner: the chat channel, ticket sync or status
    page behind it goes quiet while incidents go on. Two listings carry it all.
    """
    found = []
    for sub in subscriptions(ctx):
        if failing(sub):
            found.append((sub, "temporarily disabled after failed deliveries: its events are dropped"))
        elif not sub.get("active", True):
            found.append((sub, "switched off: it sends no events"))
    found += [(ext, "temporarily disabled after failed deliveries: it sends nothing")
              for ext in extensions(ctx) if ext.get("temporarily_disabled")]
    owners = _owners(ctx, [obj for obj, _ in found])
    for obj, message in found:
        yield ctx.finding(obj | {"teams": owners(obj)}, message)


def _owners(ctx: Context, objs: list[Obj]) -> Callable[[Obj], list[Obj]]:
    """Tell the teams owning a subscription or extension: the team it follows, or its services' teams."""
    teams = {s["id"]: s.get("teams") or [] for s in services(ctx)} if any(map(_services_of, objs)) else {}

    def owners(obj: Obj) -> list[Obj]:
        follows = obj.get("filter") or {}
        if follows.get("type") == "team_reference":
            return [follows]
        return list({team["id"]: team for ref in _services_of(obj) for team in teams.get(ref["id"], ())}.values())

    return owners


def _services_of(obj: Obj) -> list[Obj]:
    follows = obj.get("filter") or {}
    return [follows] if follows.get("type") == "service_reference" else list(obj.get("extension_objects") or ())


@recipe(
    writes=["POST /webhook_subscriptions/{id}/enable", "PUT /webhook_subscriptions/{id}", "POST /extensions/{id}/enable"],
    tags=["webhooks"],
    params=[Param(name="switched_off", default=False,
                  help="Also turn on the subscriptions someone switched off (active false).")],
)
def webhooks_reenable(ctx: Context) -> None:
    """Re-enable webhook subscriptions and extensions PagerDuty disabled after failed deliveries.

    Once the endpoint works again, PagerDuty still sends nothing until each
    subscription and extension is enabled again, one by one in the web UI.
    Subscriptions someone switched off on purpose stay off unless
    --switched-off. Each write is checked against what PagerDuty shows, so a
    rerun plans nothing.
    """
    for sub in subscriptions(ctx):
        path = f"/webhook_subscriptions/{sub['id']}"
        if failing(sub):
            ctx.write("POST", f"{path}/enable", already_done=lambda path=path: not failing(ctx.pd.get(path.lstrip("/"))))
        if ctx.params["switched_off"] and not sub.get("active", True):
            ctx.write("PUT", path, {"webhook_subscription": {"type": "webhook_subscription", "active": True}},
                      already_done=lambda path=path: ctx.pd.get(path.lstrip("/")).get("active", True))
    for ext in extensions(ctx):
        if ext.get("temporarily_disabled"):
            path = f"extensions/{ext['id']}"
            ctx.write("POST", f"/{path}/enable",
                      already_done=lambda path=path: not ctx.pd.get(path).get("temporarily_disabled"))


@hookimpl
def pdrun_recipes(register):
    register(webhooks_disabled)
    register(webhooks_reenable)

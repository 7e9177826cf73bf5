"""What an account connects to and routes by: webhooks, extensions, event orchestrations, rulesets, priorities."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from runner.sandbox.objects import SANDBOX_BASE_URL, Obj, object_id, reference, secret, timestamp
from runner.sandbox.store import Store

WEBHOOK_EVENTS = (
    "incident.acknowledged",
    "incident.annotated",
    "incident.delegated",
    "incident.escalated",
    "incident.priority_updated",
    "incident.reassigned",
    "incident.reopened",
    "incident.resolved",
    "incident.responder.added",
    "incident.status_update_published",
    "incident.triggered",
    "incident.unacknowledged",
)
WEBHOOK_FILTERS = ("service_reference", "team_reference", "account_reference")
# (id, name) of the extension schemas the sandbox knows.
EXTENSION_SCHEMAS = {"PWEBHK3": "Generic V2 Webhook", "PSLACK2": "Slack V2"}
PRIORITIES = (
    ("P1", "Critical: the whole product or a revenue path is down."),
    ("P2", "High: a major feature is down for many customers."),
    ("P3", "Moderate: a feature is degraded."),
    ("P4", "Low: a minor problem, with a workaround."),
    ("P5", "Informational."),
)


class Addons(Store):
    """Webhooks, extensions, event orchestrations, rulesets and priorities of an account."""

    def add_webhook_subscription(
        self,
        url: str,
        *,
        filter: Obj | None = None,
        events: Iterable[str] = WEBHOOK_EVENTS,
        description: str = "",
        active: bool = True,
        temporarily_disabled: bool = False,
    ) -> Obj:
        """Subscribe `url` to `events` of the account, or of the service or team `filter` names."""
        events = list(events)
        if not events or not set(events) <= set(WEBHOOK_EVENTS):
            raise ValueError(f"events must be some of {', '.join(WEBHOOK_EVENTS)}")
        filter = filter or {"type": "account_reference"}
        if filter.get("type") not in WEBHOOK_FILTERS:
            raise ValueError(f"a webhook's filter is one of {', '.join(WEBHOOK_FILTERS)}")
        if filter["type"] != "account_reference":
            self._get(self.services if filter["type"] == "service_reference" else self.teams, filter.get("id", ""))
        subscription_id = object_id("webhook_subscription", self._next("webhook_subscription"))
        subscription = {
            "id": subscription_id,
            "type": "webhook_subscription",
            "active": active,
            "delivery_method": {
                "id": object_id("delivery_method", self._next("delivery_method")),
                "secret": None,
                "temporarily_disabled": temporarily_disabled,
                "type": "http_delivery_method",
                "url": url,
                "custom_headers": [],
            },
            "description": description,
            "events": events,
            "filter": {key: filter[key] for key in ("id", "type") if key in filter},
        }
        self.webhook_subscriptions[subscription_id] = subscription
        return subscription

    def add_extension(
        self,
        name: str,
        *,
        services: Iterable[Obj | str],
        endpoint_url: str,
        schema: str = "PWEBHK3",
        temporarily_disabled: bool = False,
        id: str | None = None,
    ) -> Obj:
        """Connect an extension (a Generic V2 Webhook by default) to `services`."""
        if schema not in EXTENSION_SCHEMAS:
            raise ValueError(f"unknown extension schema {schema!r} (known: {', '.join(EXTENSION_SCHEMAS)})")
        targets = [reference(self._get(self.services, service)) for service in services]
        if not targets:
            raise ValueError("An extension needs at least one service.")
        extension = self._new("extension", name, id)
        extension.update(
            name=name,
            endpoint_url=endpoint_url,
            extension_objects=targets,
            extension_schema={
                "id": schema,
                "type": "extension_schema_reference",
                "summary": EXTENSION_SCHEMAS[schema],
                "self": f"{SANDBOX_BASE_URL}/extension_schemas/{schema}",
                "html_url": None,
            },
            temporarily_disabled=temporarily_disabled,
            config={},
        )
        return self._created(self.extensions, extension)

    def add_event_orchestration(
        self, name: str, *, team: Obj | str | None = None, description: str = "", routes: Iterable[Obj] = ()
    ) -> Obj:
        """Create a global event orchestration, owned by `team` if given, with its own routing key.

        Each of `routes` (`{"service": ..., "label": ..., "conditions": [...]}`) is a rule of its router sending
        the events its conditions match to a service; the others go unrouted.
        """
        rules = [
            {
                "id": secret("orchestration_rule", name, str(n))[:8],
                "label": route.get("label", ""),
                "conditions": [{"expression": expression} for expression in route.get("conditions", ())],
                "actions": {"route_to": self._get(self.services, route["service"])["id"]},
            }
            for n, route in enumerate(routes)
        ]
        orchestration_id = object_id("event_orchestration", self._next("event_orchestration"))
        moment = timestamp(self.now)
        orchestration: Obj = {
            "id": orchestration_id,
            "self": f"{SANDBOX_BASE_URL}/event_orchestrations/{orchestration_id}",
            "name": name,
            "description": description,
            "integrations": [
                {
                    "id": object_id("orchestration_integration", self._next("orchestration_integration")),
                    "parameters": {"routing_key": "R" + secret("orchestration", orchestration_id)[:31].upper(),
                                   "type": "global"},
                }
            ],
            "routes": len(rules),
            "created_at": moment,
            "updated_at": moment,
            "version": "1",
        } | self._actor("created_by", "updated_by")
        if team is not None:
            orchestration["team"] = _link(self._get(self.teams, team))
        self.event_orchestrations[orchestration_id] = orchestration
        self.orchestration_routers[orchestration_id] = {
            "type": "router",
            "parent": {"id": orchestration_id, "self": orchestration["self"], "type": "event_orchestration_reference"},
            "self": f"{orchestration['self']}/router",
            "sets": [{"id": "start", "rules": rules}],
            "catch_all": {"actions": {"route_to": "unrouted"}},
            "created_at": moment,
            "updated_at": moment,
            "version": "1",
        } | self._actor("created_by", "updated_by")
        return orchestration

    def add_ruleset(self, name: str, *, team: Obj | str | None = None, default: bool = False) -> Obj:
        """Create a ruleset (a legacy global event rules set); the `default` one takes events no other does."""
        key = secret("ruleset", str(self._next("ruleset")))
        ruleset_id = "-".join((key[:8], key[8:12], key[12:16], key[16:20], key[20:32]))  # rulesets have UUIDs
        moment = timestamp(self.now)
        ruleset: Obj = {
            "id": ruleset_id,
            "self": f"{SANDBOX_BASE_URL}/rulesets/{ruleset_id}",
            "type": "default_global" if default else "global",
            "name": name,
            "routing_keys": ["R" + secret("ruleset", ruleset_id)[:31].upper()],
            "created_at": moment,
            "updated_at": moment,
        } | self._actor("creator", "updater")
        if team is not None:
            ruleset["team"] = _link(self._get(self.teams, team))
        self.rulesets[ruleset_id] = ruleset
        return ruleset

    def add_standard_priorities(self) -> None:
        """Give the account PagerDuty's standard priorities, P1 (highest) to P5."""
        for name, description in PRIORITIES:
            priority_id = object_id("priority", self._next("priority"))
            self.priorities[priority_id] = {
                "id": priority_id,
                "type": "priority",
                "summary": name,
                "self": f"{SANDBOX_BASE_URL}/priorities/{priority_id}",
                "html_url": None,
                "name": name,
                "description": description,
            }

    def _actor(self, *keys: str) -> dict[str, Any]:
        """Return `keys` naming the user making a change, as orchestrations and rulesets do (none for a key)."""
        actors, _ = self._acting
        if not actors or actors[0]["type"] != "user_reference":
            return {}
        return dict.fromkeys(keys, _link(actors[0]))


def _link(obj: Obj) -> Obj:
    """Return the short reference orchestrations and rulesets use: id, type and self."""
    return {"id": obj["id"], "type": obj["type"].removesuffix("_reference") + "_reference", "self": obj["self"]}

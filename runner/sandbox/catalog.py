"""Services, their integrations, and maintenance windows that hold their incidents back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from runner.sandbox.objects import Obj, object_id, reference, secret, timestamp
from runner.sandbox.oncall import OnCall
from runner.sandbox.store import refresh

INTEGRATION_TYPES = {
    "events_api_v2": "events_api_v2_inbound_integration",
    "email": "generic_email_inbound_integration",
}
SERVICE_STATUSES = ("active", "warning", "critical", "maintenance", "disabled")
# How each kind of alert grouping is configured when a profile turns it on.
ALERT_GROUPING = {
    "time": {"timeout": 5},
    "intelligent": {"time_window": 300},
    "content_based": {"aggregate": "all", "fields": ["summary"], "time_window": 600},
}


class Catalog(OnCall):
    """The services of an account."""

    def add_service(
        self,
        name: str,
        *,
        escalation_policy: Obj | str,
        teams: Iterable[Obj | str] = (),
        status: str = "active",
        description: str = "",
        integrations: Iterable[str] = ("events_api_v2",),
        alert_grouping: str | None = None,
        auto_pause: bool = False,
        acknowledgement_timeout: int | None = 1800,
        auto_resolve_timeout: int | None = 14400,
        id: str | None = None,
    ) -> Obj:
        """Create a service; `teams=()` leaves it owned by no team.

        `integrations` names the kinds of integration it receives alerts
        through: `events_api_v2` (with an integration key) or `email`.
        `alert_grouping` (`time`, `intelligent`, `content_based`, or None for
        off), `auto_pause` and the two timeouts (seconds, None for off) are
        its noise settings.
        """
        if status not in SERVICE_STATUSES:
            raise ValueError(f"unknown service status {status!r}")
        if alert_grouping is not None and alert_grouping not in ALERT_GROUPING:
            raise ValueError(f"unknown alert grouping {alert_grouping!r} (known: {', '.join(ALERT_GROUPING)})")
        if self.service_by_name(name) is not None:
            raise ValueError(f"a service named {name!r} already exists")
        policy = self._get(self.escalation_policies, escalation_policy)
        service = self._new("service", name, id)
        service.update(
            name=name,
            description=description,
            auto_resolve_timeout=auto_resolve_timeout,
            acknowledgement_timeout=acknowledgement_timeout,
            created_at=timestamp(self.now),
            status=status,
            last_incident_timestamp=None,
            escalation_policy=reference(policy),
            teams=[reference(self._get(self.teams, team)) for team in teams],
            integrations=[],
            incident_urgency_rule={"type": "constant", "urgency": "high"},
            scheduled_actions=[],
            addons=[],
            alert_creation="create_alerts_and_incidents",
            alert_grouping_parameters={"type": alert_grouping}
            | ({"config": dict(ALERT_GROUPING[alert_grouping])} if alert_grouping else {}),
            auto_pause_notifications_parameters={"enabled": auto_pause} | ({"timeout": 300} if auto_pause else {}),
        )
        policy["services"].append(reference(service))
        self._created(self.services, service)
        self._index["service"][name] = service["id"]
        for kind in integrations:
            self.add_integration(service, kind)
        return service

    def add_integration(self, service: Obj | str, kind: str = "events_api_v2", *, name: str | None = None) -> Obj:
        """Connect an integration to `service`: `events_api_v2` (it gets an `integration_key`) or `email`."""
        service = self._get(self.services, service)
        if kind not in INTEGRATION_TYPES:
            raise ValueError(f"unknown integration {kind!r} (known: {', '.join(INTEGRATION_TYPES)})")
        integration_id = object_id("integration", self._next("integration"))
        name = name or {"email": "Email"}.get(kind, "Events API V2")
        integration = {
            "id": integration_id,
            "type": INTEGRATION_TYPES[kind],
            "summary": name,
            "self": f"{service['self']}/integrations/{integration_id}",
            "html_url": f"{service['html_url']}/integrations/{integration_id}",
            "name": name,
            "service": reference(service),
            "created_at": timestamp(self.now),
        }
        if kind == "email":
            integration["integration_email"] = f"{integration_id.lower()}@{self.subdomain}.pagerduty.com"
        else:
            integration["integration_key"] = secret("integration", integration_id)
            self._index["routing_key"][integration["integration_key"]] = integration_id
        self.integrations[integration_id] = integration
        service["integrations"].append(reference(integration))
        return integration

    def integration_by_key(self, key: str) -> Obj | None:
        """Return the Events API integration whose routing key is `key`, if any."""
        return self._lookup("routing_key", key, self.integrations)

    def service_by_name(self, name: str) -> Obj | None:
        """Return the service named exactly `name`, if any."""
        return self._lookup("service", name, self.services)

    def update_service(self, service: Obj | str, changes: Mapping[str, Any]) -> Obj:
        """Change a service's `name`, `description`, `status`, timeouts, `escalation_policy` or `teams`."""
        service = self._get(self.services, service)
        before_name = service["name"]
        changes = dict(changes)
        name = changes.get("name", before_name)
        if name != before_name and self.service_by_name(name) is not None:
            raise ValueError(f"a service named {name!r} already exists")
        if changes.get("status", "active") not in SERVICE_STATUSES:
            raise ValueError(f"unknown service status {changes['status']!r}")
        if "escalation_policy" in changes:
            policy = self._get(self.escalation_policies, changes["escalation_policy"])
            changes["escalation_policy"] = reference(self._move_service(service, policy))
        if "teams" in changes:
            changes["teams"] = [reference(self._get(self.teams, team)) for team in changes["teams"]]
        self._changed(service, {**changes, "summary": name})
        if name != before_name:
            del self._index["service"][before_name]
            self._index["service"][name] = service["id"]
            refresh(self.escalation_policies[service["escalation_policy"]["id"]]["services"], service)
        return service

    def delete_service(self, service: Obj | str) -> None:
        """Delete a service; its incidents keep pointing at it."""
        service = self.services.pop(self._get(self.services, service)["id"])
        del self._index["service"][service["name"]]
        policy = self.escalation_policies[service["escalation_policy"]["id"]]
        policy["services"] = [ref for ref in policy["services"] if ref["id"] != service["id"]]
        self._audit(service, "delete")

    def add_maintenance_window(
        self,
        services: Iterable[Obj | str],
        *,
        start: datetime,
        end: datetime,
        description: str = "",
        by: Obj | None = None,
        id: str | None = None,
    ) -> Obj:
        """Hold back new incidents of `services` from `start` to `end`."""
        window = self._new("maintenance_window", description or "Maintenance", id)
        targets = [self._get(self.services, service) for service in services]
        self._check_window(targets, start, end)
        window.update(
            sequence_number=self._next("maintenance_window_number"),
            start_time=timestamp(start),
            end_time=timestamp(end),
            description=description,
            services=[reference(service) for service in targets],
            teams=_teams_of(targets),
        )
        if by is not None:
            window["created_by"] = reference(by)
        return self._created(self.maintenance_windows, window)

    def update_maintenance_window(
        self, window: Obj | str, *, start: datetime, end: datetime, description: str, services: Iterable[Obj | str]
    ) -> Obj:
        """Change a maintenance window's times, description or services."""
        window = self._get(self.maintenance_windows, window)
        targets = [self._get(self.services, service) for service in services]
        self._check_window(targets, start, end)
        changes = {
            "start_time": timestamp(start),
            "end_time": timestamp(end),
            "description": description,
            "summary": description or "Maintenance",
            "services": [reference(service) for service in targets],
            "teams": _teams_of(targets),
        }
        self._changed(window, changes)
        return window

    def delete_maintenance_window(self, window: Obj | str) -> None:
        """Delete a maintenance window (PagerDuty refuses once it has ended)."""
        window = self._get(self.maintenance_windows, window)
        if window["end_time"] <= timestamp(self.now):
            raise ValueError("A maintenance window that has ended cannot be deleted.")
        del self.maintenance_windows[window["id"]]
        self._audit(window, "delete")

    def in_maintenance(self, service: Obj, at: datetime) -> bool:
        """Return whether a maintenance window holds `service` at `at`."""
        moment = timestamp(at)
        return any(
            window["start_time"] <= moment < window["end_time"]
            and service["id"] in {held["id"] for held in window["services"]}
            for window in self.maintenance_windows.values()
        )

    @staticmethod
    def _check_window(services: list[Obj], start: datetime, end: datetime) -> None:
        if not services:
            raise ValueError("A maintenance window needs at least one service.")
        if end <= start:
            raise ValueError("A maintenance window must end after it starts.")

    def _move_service(self, service: Obj, policy: Obj) -> Obj:
        old = self.escalation_policies[service["escalation_policy"]["id"]]
        old["services"] = [ref for ref in old["services"] if ref["id"] != service["id"]]
        policy["services"].append(reference(service))
        return policy


def _teams_of(services: list[Obj]) -> list[Obj]:
    """Return the references to the teams owning any of `services`, each once."""
    return list({team["id"]: team for service in services for team in service["teams"]}.values())

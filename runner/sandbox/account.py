"""The sandbox's account: PagerDuty objects kept as response-shaped dicts, and the ways they change."""

from __future__ import annotations

from runner.sandbox.addons import Addons
from runner.sandbox.lifecycle import IncidentLifecycle


class Account(IncidentLifecycle, Addons):
    """A mutable, in-memory PagerDuty account.

    Objects are stored exactly as the REST API v2 returns them (full objects,
    references as `{id, type, summary, self, html_url}`), keyed by id in
    insertion order; `runner.sandbox.store.Store` says how the clock and the
    subdomain are set. Methods raise ValueError for changes PagerDuty refuses
    and KeyError for unknown objects. The parts: `People` (teams, users),
    `OnCall` (schedules, escalation policies), `Catalog` (services,
    maintenance windows), `IncidentLifecycle` (incidents) and `Addons`
    (webhooks, extensions, orchestrations, rulesets, priorities).
    """

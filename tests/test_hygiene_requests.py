"""The requests the newer hygiene audits make in `pdrun audit`: each collection once, shared with the others."""

from __future__ import annotations

import json

NEWER = ("users-invitation-pending", "licenses-unused", "webhooks-disabled", "maintenance-windows-long",
         "services-noise-settings", "schedules-overrides-heavy", "users-weak-notification-rules")
TIMES = ("since", "until")


def test_the_newer_audits_read_each_collection_once(invoke, pd_sandbox):
    result = invoke("audit", *NEWER, "--sandbox", "--format", "json", "--no-history")
    assert result.exit_code == 1, result.stderr
    reads = sorted(
        (e.path, tuple(sorted((k, tuple(v)) for k, v in e.query.items() if k not in ("limit", "offset", "total", *TIMES))),
         tuple(k for k in TIMES if k in e.query))
        for e in pd_sandbox.exchanges
    )
    assert reads == sorted([
        # shared with the older audits (and one another): each fetched once in `pdrun audit`
        ("/users", (("include[]", ("notification_rules",)),), ()),
        ("/schedules", (("include[]", ("final_schedule", "overrides_subschedule")),), TIMES),  # coverage too
        ("/escalation_policies", (("sort_by", ("name:asc",)),), ()),
        ("/services", (("sort_by", ("name:asc",)),), ()),
        # added: one listing each (pages of 100)
        ("/license_allocations", (), ()),
        ("/log_entries", (("is_overview", ("true",)),), TIMES),  # only when a full-license user is on nothing
        ("/maintenance_windows", (("filter", ("open",)),), ()),
        ("/webhook_subscriptions", (), ()),
        ("/extensions", (), ()),
    ])
    assert json.loads(result.stdout)["totals"]["api_calls"] == len(pd_sandbox.exchanges) == 9

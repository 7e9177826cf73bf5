"""webhooks-disabled and webhooks-reenable, on an account shaped for them."""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_log import writes

from runner.report import render

PROFILE = str(Path(__file__).parent / "profiles" / "webhooks.toml")
pytestmark = pytest.mark.pd_profile(PROFILE)


def by_url(account) -> dict[str, dict]:
    return {sub["delivery_method"]["url"].split("/")[2]: sub for sub in account.webhook_subscriptions.values()}


def test_disabled_webhooks_and_extensions_are_found_with_their_teams(pd_run, pd_account, pd_sandbox):
    web = next(iter(pd_account.teams))
    result = pd_run("webhooks-disabled")
    assert sorted((f.object.type, f.object.summary, f.message, f.object.teams) for f in result.findings) == [
        ("extension", "Slack #web", "temporarily disabled after failed deliveries: it sends nothing", (web,)),
        ("webhook_subscription", "https://blog.example.com/hooks",
         "temporarily disabled after failed deliveries: its events are dropped", ()),
        ("webhook_subscription", "https://site.example.com/hooks", "switched off: it sends no events", (web,)),
        ("webhook_subscription", "https://web.example.com/hooks",
         "temporarily disabled after failed deliveries: its events are dropped", (web,)),
    ]
    assert [e.path for e in pd_sandbox.exchanges] == ["/webhook_subscriptions", "/extensions", "/services"]


def test_reenable_turns_back_on_what_failures_disabled_and_a_rerun_changes_nothing(pd_run, pd_account, pd_sandbox):
    hooks = by_url(pd_account)
    slack = next(e for e in pd_account.extensions.values() if e["name"] == "Slack #web")
    shown = render(pd_run("webhooks-reenable", dry_run=True), "table")
    assert f"re-enable webhook subscription {hooks['web.example.com']['id']}, disabled after failed deliveries" in shown
    result = pd_run("webhooks-reenable")
    assert [(e.method, e.path) for e in writes(pd_sandbox)] == [
        ("POST", f"/webhook_subscriptions/{hooks['web.example.com']['id']}/enable"),
        ("POST", f"/webhook_subscriptions/{hooks['blog.example.com']['id']}/enable"),
        ("POST", f"/extensions/{slack['id']}/enable"),
    ]
    assert result.status == "ok" and not slack["temporarily_disabled"]
    assert [sub["delivery_method"]["temporarily_disabled"] for sub in hooks.values()] == [False] * 4
    assert [sub["active"] for sub in hooks.values()] == [True, True, False, False]
    assert pd_run("webhooks-reenable").actions == () and len(writes(pd_sandbox)) == 3
    switched = pd_run("webhooks-reenable", switched_off=True)
    assert [(a.method, a.path, a.body) for a in switched.actions] == [
        ("PUT", f"/webhook_subscriptions/{hooks[host]['id']}", {"webhook_subscription": {"type": "webhook_subscription",
                                                                                          "active": True}})
        for host in ("site.example.com", "blog.example.com")
    ]
    assert [sub["active"] for sub in hooks.values()] == [True] * 4
    assert pd_run("webhooks-reenable", switched_off=True).actions == ()

"""schedule-cover (overrides for someone away) and schedules-overrides-heavy, on an account shaped for them."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sandbox_log import sent

PROFILE = str(Path(__file__).parent / "profiles" / "overrides.toml")
pytestmark = pytest.mark.pd_profile(PROFILE)
AWAY = {"user": "lee.wong@example.com", "with": "kim.park@example.com", "to": "2026-03-05T12:00:00Z"}


def schedule_id(account, name: str) -> str:
    return next(s["id"] for s in account.schedules.values() if s["name"] == name)


def override(user: str, start: str, end: str) -> dict:
    return {"start": start, "end": end, "user": {"id": user, "type": "user_reference"}}


def test_cover_overrides_exactly_the_shifts_in_the_period(pd_run, pd_account, pd_sandbox):
    kim = pd_account.user_by_email("kim.park@example.com")["id"]
    result = pd_run("schedule-cover", **AWAY, **{"from": "2026-03-02"})
    assert result.status == "ok" and [a.status for a in result.actions] == ["done", "done"]
    assert [(path, body) for _, path, body in sent(pd_sandbox)] == [
        (f"/schedules/{schedule_id(pd_account, 'Primary')}/overrides",
         {"overrides": [override(kim, "2026-03-02T12:00:00Z", "2026-03-03T12:00:00Z")]}),
        (f"/schedules/{schedule_id(pd_account, 'Nights')}/overrides",
         {"overrides": [override(kim, "2026-03-02T20:00:00Z", "2026-03-03T04:00:00Z"),
                        override(kim, "2026-03-03T20:00:00Z", "2026-03-04T04:00:00Z"),
                        override(kim, "2026-03-04T20:00:00Z", "2026-03-05T04:00:00Z")]}),
    ]
    [oncalls] = [e for e in pd_sandbox.exchanges if e.path == "/oncalls"][:1]
    assert oncalls.query["since"] == ["2026-03-02T12:00:00Z"]  # the past is not covered
    again = pd_run("schedule-cover", **AWAY, **{"from": "2026-03-02"})
    assert again.status == "ok" and again.actions == () and len([(path, body) for _, path, body in sent(pd_sandbox)]) == 2


def test_shifts_already_covered_are_left_alone(pd_run, pd_account, pd_sandbox):
    nights = schedule_id(pd_account, "Nights")
    kim = pd_account.user_by_email("kim.park@example.com")
    pd_account.add_override(nights, kim, start=datetime.fromisoformat("2026-03-02T20:00:00+00:00"),
                            end=datetime.fromisoformat("2026-03-04T04:00:00+00:00"))
    result = pd_run("schedule-cover", dry_run=True, **AWAY, **{"from": "2026-03-03T00:00:00Z"})
    planned = {a.path: [(o["start"], o["end"]) for o in a.body["overrides"]] for a in result.actions}
    assert planned == {f"/schedules/{nights}/overrides": [("2026-03-04T20:00:00Z", "2026-03-05T04:00:00Z")],
                       f"/schedules/{schedule_id(pd_account, 'Primary')}/overrides":
                           [("2026-03-03T00:00:00Z", "2026-03-03T12:00:00Z")]}
    assert [(path, body) for _, path, body in sent(pd_sandbox)] == []


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"from": "next monday"}, "--from 'next monday': expected an ISO 8601 date or time"),
        ({"from": "2026-03-06"}, "--to 2026-03-05T12:00:00Z must come after --from 2026-03-06"),
        ({"from": "2025-03-06"}, "at most 90 days"),
        ({"from": "2026-03-03", "with": "LEE.wong@example.com"}, "--with names the user who is away"),
        ({"from": "2026-02-01", "to": "2026-02-02"}, "the period ended at 2026-02-02T00:00:00Z"),
    ],
)
def test_bad_periods_are_one_line_and_exit_2(invoke, pd_sandbox, given, message):
    args = [f"--{key}={value}" for key, value in {**AWAY, **given}.items()]
    result = invoke("schedule-cover", "--sandbox", *args)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert [(path, body) for _, path, body in sent(pd_sandbox)] == []


def test_the_dry_run_says_whom_it_puts_on_call(pd_run, pd_account):
    from runner.report import render

    kim = pd_account.user_by_email("kim.park@example.com")["id"]
    shown = render(pd_run("schedule-cover", dry_run=True, **AWAY, **{"from": "2026-03-04T00:00:00Z"}), "table")
    assert (f"on schedule {schedule_id(pd_account, 'Nights')}, put user {kim} on call from 2026-03-04T00:00:00Z"
            f" to 2026-03-04T04:00:00Z; user {kim} on call from 2026-03-04T20:00:00Z to 2026-03-05T04:00:00Z") in shown


def test_heavy_overrides_are_found_from_one_listing(pd_run, pd_sandbox):
    result = pd_run("schedules-overrides-heavy")
    assert [(f.object.summary, f.message) for f in result.findings] == [
        ("Heavy", "overrides cover 59.52% of the next 14 days")
    ]
    [listing] = pd_sandbox.exchanges
    assert listing.path == "/schedules" and listing.query | {"limit": [], "offset": []} == {
        "since": ["2026-03-02T12:00:00Z"], "until": ["2026-03-16T12:00:00Z"],
        "include[]": ["final_schedule", "overrides_subschedule"], "total": ["true"], "limit": [], "offset": [],
    }
    lighter = pd_run("schedules-overrides-heavy", share=0.05, days=3)
    assert sorted(f.object.summary for f in lighter.findings) == ["Heavy", "Light"]

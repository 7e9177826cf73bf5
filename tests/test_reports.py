"""The built-in reports: oncall-hours, notifications-by-team, changes-digest and routing-keys, row by row."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from runner.sandbox.clock import stopped

PROFILES = Path(__file__).parent / "profiles"
ONCALL = pytest.mark.pd_profile(str(PROFILES / "oncall.toml"), clock=stopped)
WEEK = {"since": "2026-03-02", "until": "2026-03-09"}


def rows(result) -> list[tuple]:
    assert result.status == "ok", result.error
    return [tuple(row.values()) for row in result.rows]


@ONCALL
def test_oncall_hours_per_user_and_team_split_by_time_of_day(pd_run, pd_sandbox):
    assert rows(pd_run("oncall-hours", **WEEK)) == [
        ("Ana Silva", "Data", 56.0, 40.0, 0.0, 16.0),  # 09:00-17:00 every day; her unused schedule left out
        ("Kim Park", "Web", 132.0, 32.0, 64.0, 36.0),  # Tuesday to Sunday, less Lee's Saturday morning
        ("Lee Wong", "Web", 36.0, 8.0, 16.0, 12.0),
    ]
    [listing] = pd_sandbox.exchanges
    assert (listing.path, listing.query["since"], listing.query["until"]) == (
        "/schedules", ["2026-03-02T00:00:00Z"], ["2026-03-09T00:00:00Z"]
    )
    in_paris = rows(pd_run("oncall-hours", **WEEK, time_zone="Europe/Paris"))
    assert in_paris[0] == ("Ana Silva", "Data", 56.0, 35.0, 5.0, 16.0)  # 10:00-18:00 there
    assert rows(pd_run("oncall-hours", **WEEK, workday_start=0, workday_end=24))[1] == ("Kim Park", "Web", 132.0, 96.0, 0.0, 36.0)


@ONCALL
def test_notifications_per_team_service_user_and_hour(pd_run, pd_sandbox):
    counted = rows(pd_run("notifications-by-team", **WEEK))
    assert counted[:7] == [
        ("team", "Web", 6, 85.71), ("team", "Data", 1, 14.29),
        ("service", "Site", 6, 85.71), ("service", "ETL", 1, 14.29),
        ("user", "Kim Park", 3, 42.86), ("user", "Lee Wong", 3, 42.86), ("user", "Ana Silva", 1, 14.29),
    ]
    hours = {name: count for by, name, count, _ in counted if by == "hour"}
    assert len(hours) == 24 and {h: n for h, n in hours.items() if n} == {"00:00": 3, "18:00": 3, "22:00": 1}
    assert [e.path for e in pd_sandbox.exchanges] == ["/log_entries"]
    assert rows(pd_run("notifications-by-team", **WEEK, by=["user"], time_zone="Asia/Tokyo"))[0] == ("user", "Kim Park", 3, 42.86)
    tokyo = rows(pd_run("notifications-by-team", **WEEK, by=["hour"], time_zone="Asia/Tokyo"))
    assert {name: count for _, name, count, _ in tokyo if count} == {"09:00": 3, "03:00": 3, "07:00": 1}


@ONCALL
def test_changes_grouped_by_who_changed_what(pd_run, pd_account, pd_sandbox):
    kim, lee = (pd_account.user_by_email(f"{name}@example.com") for name in ("kim.park", "lee.wong"))
    primary = next(s for s in pd_account.schedules.values() if s["name"] == "Web Primary")
    with pd_account.acting_as(kim, token="kim-token"):
        pd_account.update_user(lee, {"role": "admin"})
        pd_account.update_user(lee, {"job_title": "SRE", "role": "user"})
        pd_account.update_schedule(primary, {"name": "Web On-Call"})
        pd_account.add_team("Mobile")  # teams are not in the digest
    with pd_account.acting_as(None, token="account-token"):
        pd_account.update_service(pd_account.service_by_name("Site"), {"description": "The website."})
    assert rows(pd_run("changes-digest")) == [
        ("Kim Park", "schedule", "Web On-Call", "update", "name", 1, "2026-03-09T00:00:00Z"),
        ("Kim Park", "user", "Lee Wong", "update", "job_title, role", 2, "2026-03-09T00:00:00Z"),
        ("Sandbox key", "service", "Site", "update", "description", 1, "2026-03-09T00:00:00Z"),
    ]
    [records] = pd_sandbox.exchanges
    assert records.query["root_resource_types[]"] == ["users", "schedules", "escalation_policies", "services"]
    long_ago = pd_run("changes-digest", days=95)
    ranges = [(e.query["since"][0], e.query["until"][0]) for e in pd_sandbox.exchanges[1:]]
    assert [datetime.fromisoformat(since).date().isoformat() for since, _ in ranges] == [
        "2025-12-04", "2026-01-04", "2026-02-04", "2026-03-07"
    ]
    created = [row for row in long_ago.rows if row["actions"] == "create"]  # the set-up, 90 days ago, by no one
    assert len(created) == 11 and {row["who"] for row in created} == {"other"}


@pytest.mark.pd_profile(str(PROFILES / "routing.toml"))
def test_routing_keys_per_service(pd_run, pd_account, pd_sandbox):
    site = pd_account.service_by_name("Site")
    events, email = (pd_account.integrations[ref["id"]] for ref in site["integrations"])
    edge = next(o for o in pd_account.event_orchestrations.values() if o["name"] == "Edge")
    key = edge["integrations"][0]["parameters"]["routing_key"]
    assert rows(pd_run("routing-keys")) == [
        ("Blog", "", "event_orchestration", "Edge", key, "Blog: every event"),
        ("Site", "Web", "event_orchestration", "Edge", key,
         "Site alerts: event.source matches part 'site' or event.severity matches 'critical'"),
        ("Site", "Web", "events_api_v2", "Events API V2", events["integration_key"], ""),
        ("Site", "Web", "generic_email", "Email", email["integration_email"], ""),
    ]
    assert [e.path for e in pd_sandbox.exchanges] == [
        "/services", "/event_orchestrations", f"/event_orchestrations/{edge['id']}/router"
    ]


@ONCALL
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("oncall-hours", "--time-zone", "Mars/Olympus"), "--time-zone 'Mars/Olympus': expected an IANA time zone"),
        (("oncall-hours", "--workday-start", "18", "--workday-end", "9"), "--workday-start must come before"),
        (("notifications-by-team", "--time-zone", "nowhere"), "expected an IANA time zone"),
        (("changes-digest", "--since", "last week"), "--since 'last week': expected an ISO 8601 date"),
        (("notifications-by-team", "--by", "planet"), "Invalid value for '--by'"),
    ],
)
def test_bad_report_options_are_one_line_and_exit_2(invoke, pd_sandbox, args, message):
    result = invoke(*args, "--sandbox")
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert pd_sandbox.exchanges == []


@ONCALL
def test_reports_are_not_audits_and_keep_their_rows_in_the_history(invoke):
    audit = invoke("audit", "oncall-hours", "--sandbox")
    assert audit.exit_code == 2 and "oncall-hours (report)" in audit.stderr
    shown = json.loads(invoke("routing-keys", "--sandbox", "--format", "json").stdout)
    stored = json.loads(invoke("history", "show", shown["run_id"]).stdout)
    assert stored["rows"] == shown["rows"] and stored["columns"] == ["service", "team", "kind", "name", "key", "route"]


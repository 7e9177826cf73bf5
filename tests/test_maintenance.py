"""maintenance-window-create, maintenance-windows-purge and maintenance-windows-long, on an account shaped for them."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox_log import sent
from runner.report import render

PROFILE = str(Path(__file__).parent / "profiles" / "maintenance.toml")
pytestmark = pytest.mark.pd_profile(PROFILE)


def ids(account, collection: str) -> dict[str, str]:
    return {obj.get("name") or obj["description"]: obj["id"] for obj in getattr(account, collection).values()}


def held(account) -> dict[str, list[str]]:
    return {w["description"]: [s["summary"] for s in w["services"]] for w in account.maintenance_windows.values()}


def test_a_weekly_window_for_a_teams_services(pd_run, pd_account, pd_sandbox):
    web = ids(pd_account, "teams")["Web"]
    services = ids(pd_account, "services")
    args = {"team": [web], "start": "2026-03-05T22:00:00Z", "hours": 2.5, "repeat_weeks": 2, "description": "Deploy"}
    result = pd_run("maintenance-window-create", **args)
    assert result.status == "ok" and [a.status for a in result.actions] == ["done"] * 3
    refs = [{"id": services[name], "type": "service_reference"} for name in ("CDN", "Site")]  # the listing's order
    assert sent(pd_sandbox) == [
        ("POST", "/maintenance_windows", {"maintenance_window": {
            "type": "maintenance_window", "start_time": start, "end_time": end, "description": "Deploy", "services": refs}})
        for start, end in (("2026-03-05T22:00:00Z", "2026-03-06T00:30:00Z"), ("2026-03-12T22:00:00Z", "2026-03-13T00:30:00Z"),
                           ("2026-03-19T22:00:00Z", "2026-03-20T00:30:00Z"))
    ]
    listings = [e.query for e in pd_sandbox.exchanges if e.method == "GET" and e.path == "/services"]
    assert [q["team_ids[]"] for q in listings] == [[web]]
    again = pd_run("maintenance-window-create", **args)
    assert again.status == "ok" and again.actions == () and len(sent(pd_sandbox)) == 3


def test_a_window_starting_in_the_past_starts_now_and_is_not_made_twice(pd_run, pd_account, pd_sandbox):
    args = {"service": [ids(pd_account, "services")["Warehouse"]], "start": "2026-03-02T10:00:00Z", "hours": 4,
            "description": "Reindex"}
    assert [a.status for a in pd_run("maintenance-window-create", **args).actions] == ["done"]
    assert pd_run("maintenance-window-create", **args).actions == ()
    assert [(w["start_time"], w["end_time"]) for w in pd_account.maintenance_windows.values()
            if w["description"] == "Reindex"] == [("2026-03-02T12:00:00Z", "2026-03-02T14:00:00Z")]


def test_purge_deletes_or_narrows_the_windows_to_come(pd_run, pd_account, pd_sandbox):
    windows, services = ids(pd_account, "maintenance_windows"), ids(pd_account, "services")
    shown = render(pd_run("maintenance-windows-purge", dry_run=True, service=[services["Site"]]), "table")
    assert f"delete maintenance window {windows['Site deploy']}" in shown
    assert f"keep maintenance window {windows['Shared network work']} for services {services['Warehouse']} only" in shown
    result = pd_run("maintenance-windows-purge", service=[services["Site"]])
    assert result.status == "ok" and [(a.method, a.status) for a in result.actions] == [("DELETE", "done"), ("PUT", "done")]
    assert held(pd_account) == {"Old work": ["Site"], "CDN cutover": ["CDN"], "ETL freeze": ["ETL"],
                                "Shared network work": ["Warehouse"]}
    again = pd_run("maintenance-windows-purge", service=[services["Site"]])
    assert again.actions == () and len(sent(pd_sandbox)) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--service", "PSITE01", "--start", "soon", "--hours", "2", "--description", "x"), "--start 'soon': expected"),
        (("--service", "PSITE01", "--start", "2026-03-05", "--hours", "0", "--description", "x"), "--hours: expected at least"),
        (("--service", "PSITE01", "--start", "2026-03-05", "--hours", "2", "--description", " "), "must not be empty"),
        (("--start", "2026-03-05", "--hours", "2", "--description", "x"), "needs at least one of --service, --team"),
        (("--service", "site", "--start", "2026-03-05", "--hours", "2", "--description", "x"), "expected a PagerDuty id"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(invoke, pd_sandbox, args, message):
    result = invoke("maintenance-window-create", "--sandbox", *args)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert pd_sandbox.exchanges == []


def test_a_window_over_before_it_starts_is_refused(pd_run, pd_account, pd_sandbox):
    result = pd_run("maintenance-window-create", raises=False, service=[ids(pd_account, "services")["ETL"]],
                    start="2026-03-01T00:00:00Z", hours=2, description="Late")
    assert result.status == "refused" and "would be over already" in result.error and sent(pd_sandbox) == []


def test_long_and_endless_maintenance(pd_run, pd_account, pd_sandbox):
    result = pd_run("maintenance-windows-long")
    assert sorted((f.object.type, f.object.summary, f.message) for f in result.findings) == [
        ("maintenance_window", "ETL freeze", "set to last 730 days, until 2028-02-27: its services (ETL) never page"),
        ("service", "ETL", "in maintenance for 72 hours, since 2026-02-27T12:00:00Z"),
    ]
    assert [(e.path, e.query.get("filter")) for e in pd_sandbox.exchanges] == [
        ("/maintenance_windows", ["open"]), ("/services", None)
    ]
    assert {f.object.summary for f in pd_run("maintenance-windows-long", hours=1).findings} == {"ETL freeze", "ETL", "CDN"}

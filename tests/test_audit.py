from __future__ import annotations

import csv
import gc
import io
import json
import math
import re

from datetime import timedelta
from pathlib import Path

import pytest
from demo_expectations import DEMO_PLANTED
from plugin_dist import make_plugin

from runner.report import CSV_COLUMNS
from runner.sandbox import Faults
from runner.sandbox.incidents import OVERVIEW_ENTRIES
from runner.timestamps import iso


def audit_json(invoke, *args):
    result = invoke("audit", "--sandbox", "--format", "json", *args)
    return result, json.loads(result.stdout)


def object_name(account, ref: dict) -> str:
    collection = {
        "service": account.services, "escalation_policy": account.escalation_policies,
        "schedule": account.schedules, "user": account.users, "team": account.teams, "incident": account.incidents,
        "maintenance_window": account.maintenance_windows, "webhook_subscription": account.webhook_subscriptions,
        "extension": account.extensions,
    }[ref["type"]]
    obj = collection[ref["id"]]
    return obj.get("name") or obj.get("title") or obj["description"] or obj["delivery_method"]["url"]


def test_audit_finds_every_planted_case_and_nothing_else(invoke, pd_account):
    result, report = audit_json(invoke)
    assert result.exit_code == 1, result.stderr
    assert set(report["sections"]) == set(DEMO_PLANTED)
    for recipe, section in report["sections"].items():
        found = [object_name(pd_account, f["object"]) for f in section["findings"]]
        assert len(found) == len(set(found)), recipe
        assert set(found) == DEMO_PLANTED[recipe], recipe
    assert report["totals"]["findings"] == sum(len(v) for v in DEMO_PLANTED.values())


def pages(n: int) -> int:
    return max(1, math.ceil(n / 100))


def minimal_requests(account, *, stale_hours: int = 24, idle_days: int = 30) -> int:
    """The fewest requests the hygiene audit can make, as the README states it.

    requests = pages(services) + pages(escalation_policies) + pages(schedules) + pages(users) + pages(teams)
             + pages(license_allocations) + pages(webhook_subscriptions) + pages(extensions)
             + pages(open maintenance windows) + pages(open incidents opened before the stale threshold)
             + pages(overview log entries of the idle period)   -- read when a full license holder is on no
                                                                  schedule or policy, as in the demo
             + ceil(services / 100)                             -- standards scores, 100 ids a request
    Schedules carry their coverage in the listing (include[]=final_schedule), so no schedule is read alone.
    """
    now = account.now
    cutoff = iso(now - timedelta(hours=stale_hours))
    stale = [i for i in account.incidents.values() if i["status"] != "resolved" and i["created_at"] < cutoff]
    idle_since, now_iso = iso(now - timedelta(days=idle_days)), iso(now)
    overview = [e for e in account.log_entries.values()
                if e["type"] in OVERVIEW_ENTRIES and idle_since <= e["created_at"] < now_iso]
    windows = [w for w in account.maintenance_windows.values() if w["end_time"] > now_iso]
    listed = (account.services, account.escalation_policies, account.schedules, account.users, account.teams,
              account.license_allocations, account.webhook_subscriptions, account.extensions, windows, stale, overview)
    return sum(pages(len(collection)) for collection in listed) + math.ceil(len(account.services) / 100)


def reads_of(exchanges) -> list[tuple[str, tuple]]:
    return [(e.path, tuple((k, tuple(v)) for k, v in sorted(e.query.items()))) for e in exchanges]


def test_the_audit_makes_the_fewest_requests_the_api_allows(invoke, pd_account, pd_sandbox):
    _, report = audit_json(invoke)
    assert report["totals"]["api_calls"] == len(pd_sandbox.exchanges) == minimal_requests(pd_account) == 12
    reads = reads_of(pd_sandbox.exchanges)
    assert len(reads) == len(set(reads)), "a read was made twice"
    assert {path for path, _ in reads} == {
        "/services", "/escalation_policies", "/schedules", "/users", "/teams", "/incidents", "/license_allocations",
        "/webhook_subscriptions", "/extensions", "/maintenance_windows", "/log_entries",
        "/standards/scores/technical_services",
    }


def grow(account, n: int) -> None:
    """Give the demo account `n` more services, users and teams, so each listing takes several pages."""
    policy = next(iter(account.escalation_policies.values()))
    team = next(iter(account.teams.values()))
    account.set_license_seats("FullUser", len(account.users) + n)
    for i in range(n):
        account.add_service(f"Grown {i:04}", escalation_policy=policy, teams=[team])
        account.add_user(f"Grown User {i:04}", f"grown.{i}@example.com", teams=[team])
        account.add_team(f"Grown Team {i:04}")


def test_reads_of_different_collections_overlap(invoke, pd_account, pd_sandbox):
    """The audit fetches its collections at once: their pages interleave in the sandbox's log, none repeated."""
    grow(pd_account, 450)
    pd_sandbox.faults = Faults(latency_ms=20)
    _, report = audit_json(invoke)
    assert report["totals"]["api_calls"] == len(pd_sandbox.exchanges) == minimal_requests(pd_account)
    reads = reads_of(pd_sandbox.exchanges)
    assert len(reads) == len(set(reads)), "a read was made twice"
    order = [e.path for e in pd_sandbox.exchanges]
    blocks = [path for n, path in enumerate(order) if n == 0 or order[n - 1] != path]
    assert len(blocks) > len(set(blocks)), f"each collection was read in one block, one after the other: {blocks}"


def test_csv_has_the_documented_columns(invoke):
    result = invoke("audit", "--sandbox", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == sum(len(v) for v in DEMO_PLANTED.values())
    gap = next(r for r in rows if r["recipe"] == "schedules-with-gaps")
    assert gap["severity"] == "error" and gap["object_type"] == "schedule" and gap["url"].startswith("https://")
    assert gap["team_ids"]


def test_markdown_is_a_table(invoke):
    result = invoke("audit", "--sandbox", "--format", "markdown")
    lines = result.stdout.splitlines()
    assert lines[0] == "# pdrun audit"
    rows = [line for line in lines if line.startswith("|")]
    assert rows[0] == "| Severity | Recipe | Object | Message | State |" and rows[1] == "|---|---|---|---|---|"
    assert all(row.count("|") - row.count("\\|") == 6 for row in rows)
    assert len(rows) - 2 == sum(len(v) for v in DEMO_PLANTED.values())
    assert "[Mobile Rotation](https://" in result.stdout


def test_team_scopes_findings(invoke, pd_account):
    mobile = next(t["id"] for t in pd_account.teams.values() if t["name"] == "Mobile")
    result, report = audit_json(invoke, "--team", mobile)
    findings = [f for s in report["sections"].values() for f in s["findings"]]
    assert findings and all(mobile in f["object"]["teams"] for f in findings)
    assert "Mobile Rotation" in {f["object"]["summary"] for f in findings}


def test_a_team_the_account_does_not_have_is_refused_rather_than_reported_clean(invoke, pd_sandbox):
    result = invoke("audit", "--sandbox", "--team", "PNOPE99")
    assert result.exit_code == 2 and result.stderr == "pdrun: error: --team PNOPE99: no such team in the account\n"
    assert [e.path for e in pd_sandbox.exchanges] == ["/teams/PNOPE99"]


@pytest.mark.parametrize(("fail_on", "code"), [("error", 1), ("critical", 0), ("never", 0), ("any", 1)])
def test_fail_on_severity(invoke, fail_on, code):
    assert invoke("audit", "--sandbox", "--no-history", "--fail-on", fail_on).exit_code == code


def test_named_recipes_and_output_file(invoke, workdir):
    out = workdir / "report.json"
    result = invoke("audit", "services-disabled", "teams-without-members", "--sandbox", "--format", "json",
                    "--output", str(out))
    assert result.exit_code == 1 and result.stdout == ""
    report = json.loads(out.read_text())
    assert list(report["sections"]) == ["services-disabled", "teams-without-members"]


def test_audit_refuses_write_recipes_and_unknown_tags(invoke, pd_sandbox):
    writes = invoke("audit", "incident-note", "--sandbox")
    assert writes.exit_code == 2 and "incident-note" in writes.stderr
    assert invoke("audit", "--tag", "nosuch", "--sandbox").exit_code == 2
    assert pd_sandbox.exchanges == []


QUITTING_PLUGIN = """
    import sys

    from runner import hookimpl, recipe

    @recipe(tags=["hygiene"])
    def quits(ctx):
        \"\"\"Give up the way scripts do.\"\"\"
        sys.exit("no settings found")

    @hookimpl
    def pdrun_recipes(register):
        register(quits)
"""


def test_a_recipe_that_calls_sys_exit_fails_its_own_run_and_the_audit_goes_on(site, invoke):
    make_plugin(site, QUITTING_PLUGIN, dist="pdrun-quits")
    result, report = audit_json(invoke)
    assert result.exit_code == 3
    sections = report["sections"]
    assert sections["quits"]["status"] == "failed"
    assert sections["quits"]["error"] == "recipe 'quits' crashed: SystemExit: no settings found"
    assert sections["services-without-teams"]["status"] == "findings"


def test_a_single_recipe_renders_csv(invoke):
    result = invoke("services-disabled", "--sandbox", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["object_name"] for r in rows] == ["Old Search"]


def test_progress_shows_the_audits_and_requests_on_a_terminal(pd_sandbox):
    import io

    from sessions import sandbox_launch

    from runner.audit import run_audit
    from runner.plugins import load_registry
    from runner.progress import Progress
    from runner.transport import observing

    registry = load_registry(entry_points=[])
    chosen = [registry.get("services-disabled"), registry.get("teams-without-members")]
    screen = io.StringIO()
    progress = Progress(screen)
    with sandbox_launch(pd_sandbox) as launch, observing(progress.request):
        run_audit(chosen, launch=launch, params={r.name: {} for r in chosen}, progress=progress)
    shown = screen.getvalue()
    assert "auditing [0/2 done] services-disabled - 1 requests" in shown  # it runs alone until PagerDuty answers
    assert "auditing [2/2 done] - 3 requests" in shown
    assert shown.endswith("\r\033[K")  # the line is cleared at the end


def test_no_progress_when_piped(invoke):
    result = invoke("audit", "--sandbox", "--no-history")
    assert "auditing" not in result.stderr


def test_an_audit_stops_at_a_rejected_token(invoke, pd_sandbox):
    pd_sandbox.token = "another-token"
    result = invoke("audit", "--sandbox", "--format", "json")
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    sections = report["sections"]
    assert len(sections) == 1 and "rejected the API token" in next(iter(sections.values()))["error"]
    assert len(report["totals"]["not_run"]) == len(DEMO_PLANTED) - 1
    assert len(pd_sandbox.exchanges) == 1
    assert '"audit.stopped"' in result.stderr


def test_history_statements_per_audit_are_bounded_whatever_the_findings(pd_account, pd_sandbox, tmp_path):
    """Each audit's findings are recorded in a fixed number of statements per recipe, not one per finding."""
    import sqlalchemy as sa
    from sessions import sandbox_launch

    from runner.audit import run_audit
    from runner.config import Config, RunnerConfig
    from runner.plugins import load_registry

    registry = load_registry(entry_points=[])
    chosen = sorted((r for r in registry.recipes.values() if "hygiene" in r.tags and r.kind == "audit"),
                    key=lambda r: r.name)
    config = Config(runner=RunnerConfig(state=f"sqlite:///{tmp_path / 'history.db'}"))

    def audit() -> tuple[int, int]:
        statements = []
        with sandbox_launch(pd_sandbox, config) as launch:
            sa.event.listen(launch.history.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
            params = {r.name: launch.launcher.params(config, r) for r in chosen}
            result = run_audit(chosen, launch=launch, params=params)
        return len(statements), result.totals["findings"]

    few = audit()
    grow(pd_account, 300)
    many = audit()
    assert many[1] > few[1] + 300
    # per audit: its record (2), the open set (1), the upsert (1), the events (1, when a finding opened),
    # the run's result (1) and its writes (1), with the BEGIN of each of the two transactions
    assert many[0] <= few[0] <= 9 * len(chosen)
    for service in [s for s in pd_account.services.values() if s["name"].startswith("Grown")]:
        pd_account.delete_service(service)
    resolving = audit()  # hundreds of findings resolved: two statements more per audit that resolves some
    assert resolving[1] <= many[1] - 300
    assert resolving[0] <= 11 * len(chosen)


GC_WATCHER = '''
    import gc

    from runner import hookimpl, recipe

    @recipe(tags=["gc"])
    def gc_watcher(ctx):
        """Say whether the cyclic garbage collector runs."""
        service = next(iter(ctx.pd.iter("services")))
        yield ctx.finding(service, f"collector enabled: {gc.isenabled()}")

    @hookimpl
    def pdrun_recipes(register):
        register(gc_watcher)
'''


def test_the_cyclic_collector_is_paused_while_an_audit_runs_and_resumed_after(site, invoke):
    make_plugin(site, GC_WATCHER, dist="pdrun-gc-watcher")
    assert gc.isenabled()
    result, report = audit_json(invoke, "--tag", "gc")
    assert result.exit_code == 1, result.stderr
    assert [f["message"] for f in report["sections"]["gc-watcher"]["findings"]] == ["collector enabled: False"]
    assert gc.isenabled()


def test_the_readme_names_the_audit_csvs_columns_in_order():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    columns = re.search(r"the stable columns\s+`([^`]+)`", readme).group(1)
    assert tuple(re.split(r",\s+", columns)) == CSV_COLUMNS

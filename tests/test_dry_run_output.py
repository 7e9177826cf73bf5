"""Dry runs say what each write will do, in words, in the table, CSV and markdown, and send nothing."""

from __future__ import annotations

import csv
import io

import pytest

from runner import recipe
from runner.report import describe_action, render
from runner.sandbox.demo import DEMO_INCIDENT_ID


def triggered(account) -> list[str]:
    return [i["id"] for i in account.incidents.values() if i["status"] == "triggered"]


@pytest.fixture
def resolve_plan(invoke, pd_account, pd_sandbox):
    """Run `incidents-resolve --status triggered --dry-run` in a format; check nothing was written."""

    def run(fmt: str) -> str:
        result = invoke("incidents-resolve", "--sandbox", "--status", "triggered", "--dry-run", "--format", fmt)
        assert result.exit_code == 0, result.output
        assert [e for e in pd_sandbox.exchanges if e.method != "GET"] == []
        return result.stdout

    return run


def resolved_words(ids: list[str]) -> str:
    return f"resolve {len(ids)} incidents: {', '.join(ids[:5])} and {len(ids) - 5} more"


def test_the_table_says_what_a_bulk_update_does(resolve_plan, pd_account):
    ids = triggered(pd_account)
    lines = resolve_plan("table").splitlines()
    assert lines[0].split() == ["STATUS", "WRITE", "ERROR"]
    assert lines[1] == f"planned  {resolved_words(ids)}"
    assert lines[3].startswith("incidents-resolve: ok (dry run): 1 planned - run ")


def test_csv_lists_the_planned_writes(resolve_plan, pd_account):
    ids = triggered(pd_account)
    rows = list(csv.DictReader(io.StringIO(resolve_plan("csv"))))
    assert rows == [{"recipe": "incidents-resolve", "status": "planned", "method": "PUT", "path": "/incidents",
                     "changes": str(len(ids)), "write": resolved_words(ids), "error": ""}]


def test_markdown_lists_the_planned_writes(resolve_plan, pd_account):
    text = resolve_plan("markdown")
    assert text.startswith("# pdrun incidents-resolve\n\nincidents-resolve: ok (dry run): 1 planned")
    assert text.endswith(f"| Status | Write | Error |\n|---|---|---|\n| planned | {resolved_words(triggered(pd_account))} |  |\n")


def test_notes_and_status_updates_are_said_with_their_text(invoke):
    note = invoke("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "Rolled  back\nthe deploy",
                  "--dry-run")
    assert f"planned  add a note to incident {DEMO_INCIDENT_ID}: 'Rolled back the deploy'" in note.stdout
    update = invoke("status-update", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "x" * 80, "--dry-run",
                    "--format", "markdown")
    assert f"| planned | post a status update to incident {DEMO_INCIDENT_ID}: '{'x' * 59}…' |  |" in update.stdout


def test_reassigning_and_acknowledging_are_said_in_words(invoke, pd_account):
    ids = triggered(pd_account)[:2]
    user = next(iter(pd_account.users))
    args = [arg for i in ids for arg in ("--incident", i)]
    reassign = invoke("incidents-reassign", "--sandbox", *args, "--to-user", user, "--dry-run")
    assert f"planned  reassign 2 incidents to {user}: {ids[0]}, {ids[1]}" in reassign.stdout
    acknowledge = invoke("incidents-acknowledge", "--sandbox", *args, "--dry-run", "--format", "csv")
    assert f'"acknowledge 2 incidents: {ids[0]}, {ids[1]}"' in acknowledge.stdout


@recipe(writes=["PUT /services/{id}", "DELETE /services/{id}"])
def retire_service(ctx):
    """Disable a service and delete another."""
    services = list(ctx.pd.iter("services"))
    ctx.write("PUT", f"/services/{services[0]['id']}",
              {"service": {"status": "disabled", "description": "Retired in favour of the new platform team's API"}})
    ctx.write("DELETE", f"/services/{services[1]['id']}")


def test_any_other_write_shows_the_fields_it_sets(pd_run, pd_sandbox):
    result = pd_run(retire_service, dry_run=True)
    put, delete = (a.path for a in result.actions)
    assert [describe_action(a) for a in result.actions] == [
        f'PUT {put}: status="disabled", description="Retired in favour of the new platform …',
        f"delete {delete}",
    ]
    assert describe_action(result.actions[0]) in render(result, "table")
    assert [e.method for e in pd_sandbox.exchanges] == ["GET"]

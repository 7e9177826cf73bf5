from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

from sandbox_log import writes
from runner.sandbox.demo import DEMO_INCIDENT_ID

PDRUN = str(Path(sys.executable).with_name("pdrun"))


def log_events(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_list_shows_the_defining_recipes_with_summaries(invoke):
    result = invoke("list")
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "Services that no team owns." in lines["services-without-teams"]
    assert "Add a note to incidents." in lines["incident-note"]
    assert "Post a status update to incidents." in lines["status-update"]


def test_describe_shows_parameters(invoke):
    result = invoke("describe", "incident-note")
    assert result.exit_code == 0
    for flag in ("--message", "--incident", "--service", "--status"):
        assert flag in result.stdout
    assert "needs at least one of: --incident, --service, --team, --status, --urgency, --older-than-hours" in result.stdout


def test_audit_lists_each_teamless_service_once(invoke, pd_account):
    result = invoke("services-without-teams", "--sandbox", "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    ids = [f["object"]["id"] for f in report["findings"]]
    expected = [s["id"] for s in pd_account.services.values() if not s["teams"]]
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids)) > 0
    assert report["status"] == "findings" and report["stats"]["api_calls"] >= 1
    assert set(report) == {
        "recipe", "run_id", "account", "account_name", "status", "dry_run", "params", "started_at", "finished_at",
        "findings", "actions", "resolved", "summary", "stats", "error",
    }
    finding = report["findings"][0]
    assert set(finding) == {"fingerprint", "rule", "severity", "message", "object", "state"}
    assert set(finding["object"]) == {"type", "id", "summary", "html_url", "teams", "team_names"}


def test_audit_table_names_objects(invoke, pd_account):
    result = invoke("services-without-teams", "--sandbox")
    assert result.exit_code == 1
    teamless = [s for s in pd_account.services.values() if not s["teams"]]
    for service in teamless:
        assert service["id"] in result.stdout and service["name"] in result.stdout


def test_incident_note_is_added(invoke, pd_sandbox, pd_session):
    result = invoke("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "hi", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(a["method"], a["path"], a["status"]) for a in report["actions"]] == [
        ("POST", f"/incidents/{DEMO_INCIDENT_ID}/notes", "done")
    ]
    notes = list(pd_session.iter(f"incidents/{DEMO_INCIDENT_ID}/notes"))
    assert [n["content"] for n in notes].count("hi") == 1
    post = writes(pd_sandbox)[0]
    assert post.headers["from"] == "alex.morgan@example.com"


def test_dry_run_plans_and_sends_no_write(invoke, pd_sandbox):
    result = invoke(
        "incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "hi", "--dry-run", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["dry_run"] is True
    assert [(a["method"], a["path"], a["body"], a["status"]) for a in report["actions"]] == [
        ("POST", f"/incidents/{DEMO_INCIDENT_ID}/notes", {"note": {"content": "hi"}}, "planned")
    ]
    assert writes(pd_sandbox) == []


def test_status_update_by_filter(invoke, pd_account, pd_sandbox):
    triggered = {i["id"] for i in pd_account.incidents.values() if i["status"] == "triggered"}
    result = invoke(
        "status-update", "--sandbox", "--status", "triggered", "--message", "Mitigating", "--yes", "--format", "json"
    )
    assert result.exit_code == 0, result.output
    paths = {a["path"] for a in json.loads(result.stdout)["actions"]}
    assert paths == {f"/incidents/{i}/status_updates" for i in triggered}
    assert {e.path for e in writes(pd_sandbox)} == paths


def test_status_update_email_parts_go_together(invoke, pd_sandbox):
    result = invoke("status-update", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "m", "--subject", "s")
    assert result.exit_code == 2
    assert "--subject and --html-message go together" in result.stderr
    assert pd_sandbox.exchanges == []


def test_unknown_recipe_suggests_close_names(invoke):
    result = invoke("incident-nte")
    assert result.exit_code == 2
    assert "did you mean 'incident-note'" in result.stderr
    assert "Traceback" not in result.output


def test_missing_token_names_the_variable(invoke):
    result = invoke("services-without-teams")
    assert result.exit_code == 2
    assert "PAGERDUTY_API_TOKEN" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_write_without_from_email_stops_before_any_call(invoke, workdir, pd_server, pd_sandbox):
    (workdir / "config.toml").write_text("")
    result = invoke("incident-note", "--base-url", pd_server.url, "--incident", DEMO_INCIDENT_ID, "--message", "hi",
                    environ={"PAGERDUTY_API_TOKEN": "pdrun-sandbox-token"})
    assert result.exit_code == 2
    assert f"set from_email in [pagerduty] of {workdir / 'config.toml'}" in result.stderr
    assert pd_sandbox.exchanges == []


def test_without_any_config_the_message_says_none_was_found(invoke, workdir, pd_server):
    (workdir / "config.toml").unlink()
    result = invoke("incident-note", "--base-url", pd_server.url, "--incident", DEMO_INCIDENT_ID, "--message", "hi",
                    environ={"PAGERDUTY_API_TOKEN": "pdrun-sandbox-token"})
    assert result.exit_code == 2 and "none was found" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_sandbox_writes_need_no_config(invoke, workdir, pd_sandbox, pd_account):
    (workdir / "config.toml").unlink()
    result = invoke("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "hi")
    assert result.exit_code == 0, result.stderr
    assert [n["content"] for n in pd_account.notes[DEMO_INCIDENT_ID]][-1] == "hi"


def test_missing_selector_is_a_usage_error(invoke, pd_sandbox):
    result = invoke("incident-note", "--sandbox", "--message", "hi")
    assert result.exit_code == 2
    assert "needs at least one of --incident, --service, --team, --status" in result.stderr
    assert pd_sandbox.exchanges == []


def test_broken_config_is_one_line_exit_2(invoke, workdir):
    (workdir / "config.toml").write_text('[pagerduty]\nregion = "mars"\n')
    result = invoke("services-without-teams", "--sandbox")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"pdrun: error: {workdir / 'config.toml'}: [pagerduty] region: expected one of us, eu, got 'mars'"
    ]


def test_config_recipe_tables_are_checked(invoke, workdir):
    config = workdir / "config.toml"
    config.write_text(config.read_text() + '\n[recipes.incident-nots]\nmessage = "x"\n')
    result = invoke("services-without-teams", "--sandbox")
    assert result.exit_code == 2
    assert "[recipes.incident-nots]: unknown recipe (did you mean 'incident-note'" in result.stderr


def test_config_defaults_feed_parameters(invoke, workdir, pd_sandbox):
    config = workdir / "config.toml"
    config.write_text(config.read_text() + '\n[recipes.incident-note]\nmessage = "from config"\n')
    result = invoke("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(writes(pd_sandbox)[0].body) == {"note": {"content": "from config"}}


def test_an_unknown_incident_is_refused_in_the_report_too(invoke):
    result = invoke("incident-note", "--sandbox", "--incident", "PNOPE00", "--message", "hi", "--format", "json")
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["status"] == "refused" and report["error"] == "no incident PNOPE00 in this PagerDuty account"
    assert "Traceback" not in result.output


def test_pdrun_alone_prints_its_help(invoke):
    result = invoke()
    assert result.exit_code == 0 and result.stdout.startswith("Usage: ") and "Recipes:" in result.stdout
    assert result.stderr == ""


def test_one_canonical_log_line_per_run(invoke):
    result = invoke("services-without-teams", "--sandbox", "--format", "json")
    events = log_events(result.stderr)
    finished = [e for e in events if e["event"] in ("run.finished", "run.failed")]
    assert len(finished) == 1
    line = finished[0]
    assert line["event"] == "run.finished" and line["recipe"] == "services-without-teams"
    assert line["run_id"] == json.loads(result.stdout)["run_id"]
    assert {"status", "duration_ms", "api_calls", "findings", "actions", "timestamp"} <= set(line)
    assert line["trigger"] == "cli"
    assert line["timestamp"].endswith("Z")


def test_pdrun_script_runs_for_real(tmp_path):
    unknown = subprocess.run([PDRUN, "nosuch"], capture_output=True, text=True, cwd=tmp_path)
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    audit = subprocess.run(
        [PDRUN, "services-without-teams", "--sandbox", "--format", "json"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert audit.returncode == 1
    assert json.loads(audit.stdout)["status"] == "findings"
    module = subprocess.run([sys.executable, "-m", "runner", "--version"], capture_output=True, text=True)
    assert module.returncode == 0 and "pdrun, version" in module.stdout


def _readme_sandbox_commands() -> list[tuple[list[str], str]]:
    """Each `pdrun` command of the README's shell blocks that runs on the sandbox alone, once, with its comment.

    The demo report, long to make, has tests of its own (test_report_cli.py).
    """
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    commands, seen = [], []
    for block in re.findall(r"^```sh\n(.*?)^```$", readme, flags=re.S | re.M):
        for line in block.splitlines():
            command, _, comment = line.partition("  #")
            if not command.startswith(".venv/bin/pdrun "):
                continue
            words = shlex.split(command)
            if "--account" in words or "--all-accounts" in words or words[1] == "report" or words[1:] in seen:
                continue
            seen.append(words[1:])
            if "--sandbox" in words or words[1] in ("list", "describe", "plugins", "new-plugin", "history"):
                commands.append((words[1:], comment))
    return commands


def test_the_readmes_sandbox_commands_work_as_it_says(invoke, workdir, monkeypatch, pd_account):
    monkeypatch.chdir(workdir)
    assert DEMO_INCIDENT_ID == "PWCQIH1" == min(
        (i for i in pd_account.incidents.values() if i["status"] == "triggered"), key=lambda i: i["created_at"]
    )["id"]
    commands = _readme_sandbox_commands()
    assert len(commands) == 19
    run_id = None
    for args, comment in commands:
        result = invoke(*[run_id if arg == "RUN_ID" else arg for arg in args])
        if "--format" in args and "json" in args and result.stdout.startswith('{"recipe"'):
            run_id = json.loads(result.stdout)["run_id"]
        assert "Traceback" not in result.stderr + result.stdout, args
        if "asks first" in comment:
            assert result.exit_code == 2 and "would change 10 objects and was not confirmed" in result.stderr, args
        else:
            assert result.exit_code in (0, 1), (args, result.stderr[-500:])


def test_ctrl_c_exits_130_and_records_the_run_interrupted(invoke, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("runner.run._execute", interrupted)
    result = invoke("services-without-teams", "--sandbox")
    assert result.exit_code == 130 and result.stderr.splitlines()[-1] == "pdrun: interrupted"
    [run] = json.loads(invoke("history", "list", "--format", "json").stdout)
    assert (run["recipe"], run["status"]) == ("services-without-teams", "interrupted")

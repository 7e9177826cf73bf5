from __future__ import annotations

import json

from sessions import session_for

from sandbox_log import writes
from runner.cli.exit_codes import exit_code
from runner.errors import HistoryError
from runner.history import History, default_url
from runner.plugins import load_registry
from runner.policy import WritePolicy
from runner.run import run_recipe
from runner.sandbox.demo import DEMO_INCIDENT_ID, DEMO_USER_TOKEN
from runner.timestamps import now_iso


def triggered(account) -> list[str]:
    return [i["id"] for i in account.incidents.values() if i["status"] == "triggered"]


def test_dry_run_shows_the_exact_plan_and_writes_nothing(invoke, pd_sandbox, pd_account):
    result = invoke("incidents-resolve", "--sandbox", "--status", "triggered", "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    [action] = json.loads(result.stdout)["actions"]
    assert (action["method"], action["path"], action["status"]) == ("PUT", "/incidents", "planned")
    assert action["headers"]["From"] == "alex.morgan@example.com"
    assert "Authorization" not in action["headers"]
    assert {i["id"] for i in action["body"]["incidents"]} == set(triggered(pd_account))
    assert writes(pd_sandbox) == []


def test_plan_then_apply_sends_exactly_the_planned_requests(invoke, pd_sandbox, workdir):
    plan = workdir / "plan.json"
    planned = invoke("status-update", "--sandbox", "--status", "triggered", "--message", "Mitigating", "--plan", str(plan))
    assert planned.exit_code == 0, planned.stderr
    assert writes(pd_sandbox) == []
    saved = json.loads(plan.read_text())
    applied = invoke("apply", str(plan), "--sandbox", "--yes", "--format", "json")
    assert applied.exit_code == 0, applied.stderr
    sent = [(e.method, e.path, json.loads(e.body), e.headers["from"]) for e in writes(pd_sandbox)]
    assert sent == [(a["method"], a["path"], a["body"], saved["from_email"]) for a in saved["actions"]]
    assert json.loads(applied.stdout)["status"] == "ok"
    history = json.loads(invoke("history", "--format", "json").stdout)
    assert [(r["recipe"], r["trigger"]) for r in history][:2] == [("status-update", "apply"), ("status-update", "cli")]


def test_apply_refuses_a_plan_for_another_account(invoke, workdir, pd_sandbox):
    plan = workdir / "plan.json"
    invoke("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "hi", "--plan", str(plan))
    result = invoke("apply", str(plan), "--base-url", "http://127.0.0.1:9", environ={"PAGERDUTY_API_TOKEN": "x" * 20})
    assert result.exit_code == 2
    assert "planned for account 'default' (https://sandbox.pdrun.invalid, subdomain pdrun-sandbox)" in result.stderr
    assert "this session is account 'default' (http://127.0.0.1:9)" in result.stderr
    assert writes(pd_sandbox) == []


def test_apply_refuses_a_file_that_is_not_a_plan(invoke, workdir):
    bad = workdir / "bad.json"
    bad.write_text('{"actions": []}')
    result = invoke("apply", str(bad), "--sandbox")
    assert result.exit_code == 2 and "not a pdrun plan" in result.stderr
    bad.write_text("[" * 100_000 + "]" * 100_000)
    result = invoke("apply", str(bad), "--sandbox")
    assert result.exit_code == 2 and "not a pdrun plan (invalid JSON: maximum recursion depth" in result.stderr


def test_a_plan_over_the_cap_writes_nothing(invoke, pd_sandbox, pd_account):
    count = len(triggered(pd_account))
    result = invoke("incident-note", "--sandbox", "--status", "triggered", "--message", "x", "--max-writes", "3", "--yes")
    assert result.exit_code == 2
    assert f"would change {count} objects in {count} requests, over max_writes 3" in result.stderr
    assert writes(pd_sandbox) == []


def test_the_cap_comes_from_config(invoke, workdir, pd_sandbox):
    config = workdir / "config.toml"
    config.write_text(config.read_text() + "\n[recipes.incident-note]\nmax_writes = 1\n")
    result = invoke("incident-note", "--sandbox", "--status", "triggered", "--message", "x", "--yes")
    assert result.exit_code == 2 and "over max_writes 1" in result.stderr
    assert writes(pd_sandbox) == []


def test_a_large_plan_without_a_terminal_needs_yes(invoke, pd_sandbox):
    result = invoke("incident-note", "--sandbox", "--status", "triggered", "--message", "x")
    assert result.exit_code == 2 and "not confirmed" in result.stderr
    assert writes(pd_sandbox) == []


def test_a_plan_of_five_objects_goes_without_asking_and_six_need_yes(invoke, pd_sandbox, pd_account):
    five, six = triggered(pd_account)[:5], triggered(pd_account)[:6]
    unasked = invoke("incident-note", "--sandbox", *[f"--incident={i}" for i in six], "--message", "x")
    assert unasked.exit_code == 2 and "would change 6 objects and was not confirmed" in unasked.stderr
    assert writes(pd_sandbox) == []
    result = invoke("incident-note", "--sandbox", *[f"--incident={i}" for i in five], "--message", "x")
    assert result.exit_code == 0, result.stderr
    assert len(writes(pd_sandbox)) == 5


def test_without_a_cap_configured_a_run_changes_at_most_50_objects(invoke, workdir, pd_account, pd_sandbox):
    (workdir / "config.toml").write_text('[pagerduty]\nfrom_email = "alex.morgan@example.com"\n')
    policy = next(iter(pd_account.escalation_policies.values()))
    service = pd_account.add_service("Noisy", escalation_policy=policy)
    flapping = [pd_account.add_incident(f"flap {n}", service=service)["id"] for n in range(51)]
    capped = invoke("incidents-acknowledge", "--sandbox", "--service", service["id"], "--yes")
    assert capped.exit_code == 2 and "would change 51 objects in 1 requests, over max_writes 50" in capped.stderr
    assert writes(pd_sandbox) == []
    result = invoke("incidents-acknowledge", "--sandbox", *[f"--incident={i}" for i in flapping[:50]], "--yes")
    assert result.exit_code == 0, result.stderr
    assert [len(json.loads(e.body)["incidents"]) for e in writes(pd_sandbox)] == [50]


def test_resolving_600_incidents_sends_3_puts(invoke, pd_account, pd_sandbox):
    policy = next(iter(pd_account.escalation_policies.values()))
    service = pd_account.add_service("Noisy", escalation_policy=policy)
    for n in range(600):
        pd_account.add_incident(f"flap {n}", service=service)
    result = invoke(
        "incidents-resolve", "--sandbox", "--service", service["id"], "--max-writes", "600", "--yes", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    puts = writes(pd_sandbox)
    assert [(e.method, e.path, len(json.loads(e.body)["incidents"])) for e in puts] == [
        ("PUT", "/incidents", 250), ("PUT", "/incidents", 250), ("PUT", "/incidents", 100)
    ]
    mine = [i for i in pd_account.incidents.values() if i["service"]["id"] == service["id"]]
    assert {i["status"] for i in mine} == {"resolved"}
    again = invoke("incidents-resolve", "--sandbox", "--service", service["id"], "--max-writes", "600", "--yes")
    assert again.exit_code == 0 and len(writes(pd_sandbox)) == 3


def test_a_note_is_posted_once(invoke, pd_sandbox, pd_session):
    args = ("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "Paged the DB team", "--format", "json")
    first, second = invoke(*args), invoke(*args)
    assert json.loads(first.stdout)["actions"][0]["status"] == "done"
    action = json.loads(second.stdout)["actions"][0]
    assert (action["status"], action["error"]) == ("skipped", "already in PagerDuty")
    notes = [n["content"] for n in pd_session.iter(f"incidents/{DEMO_INCIDENT_ID}/notes")]
    assert notes.count("Paged the DB team") == 1 and len(writes(pd_sandbox)) == 1


def test_a_note_footer_traces_the_run_and_still_counts_as_the_same_note(invoke, pd_session, pd_sandbox):
    args = ("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "Rolled back",
            "--note-footer", "posted by pdrun run {run_id}", "--format", "json")
    run_id = json.loads(invoke(*args).stdout)["run_id"]
    notes = [n["content"] for n in pd_session.iter(f"incidents/{DEMO_INCIDENT_ID}/notes")]
    assert f"Rolled back\n\nposted by pdrun run {run_id}" in notes
    assert json.loads(invoke(*args).stdout)["actions"][0]["status"] == "skipped"
    assert len(writes(pd_sandbox)) == 1


def test_a_status_update_is_posted_once_per_the_history(invoke, pd_account, pd_sandbox):
    args = ("status-update", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "Fixed", "--format", "json")
    first, second = json.loads(invoke(*args).stdout), json.loads(invoke(*args).stdout)
    assert first["actions"][0]["status"] == "done"
    assert second["actions"][0]["status"] == "skipped"
    assert second["actions"][0]["error"] == f"already done by run {first['run_id']}"
    assert [u["message"] for u in pd_account.status_updates[DEMO_INCIDENT_ID]] == ["Fixed"]


def test_a_write_sent_by_a_run_that_died_is_not_sent_again(invoke, state_home, pd_account):
    planned = json.loads(invoke("status-update", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "Fixed",
                                "--dry-run", "--format", "json").stdout)
    history = History(default_url({"XDG_STATE_HOME": str(state_home)}))
    from runner.results import Action

    action = Action(**{k: v for k, v in planned["actions"][0].items() if k not in ("status", "error")})
    history.start(run_id="killed", account=planned["account"], key="k", recipe="status-update", params={},
                  trigger="cli", schedule=None, started_at=now_iso())
    history.claim(key=action.key(planned["account"]), account=planned["account"], run_id="killed", once=True)
    history.interrupt(["killed"], at=now_iso())
    again = invoke("status-update", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "Fixed", "--format", "json")
    assert again.exit_code == 3
    [action] = json.loads(again.stdout)["actions"]
    assert action["status"] == "unknown"
    assert "may have been made by run killed" in action["error"] and "--resend-unknown" in action["error"]
    assert pd_account.status_updates[DEMO_INCIDENT_ID] == []


def test_a_forbidden_write_shows_pagerdutys_message_and_the_rest_is_recorded(pd_sandbox, pd_account, tmp_path):
    """A user-level token may write only to its teams' incidents: the others fail with 403/2010."""
    session = session_for(pd_sandbox, token=DEMO_USER_TOKEN, from_email="sam.rivera@example.com")
    recipe = load_registry(entry_points=[]).get("incident-note")
    params = recipe.resolve_params({"message": "hi", "status": ("triggered",)}, {})
    history = History(f"sqlite:///{tmp_path / 'h.db'}")
    result = run_recipe(recipe, session=session, params=params, history=history, policy=WritePolicy(assume_yes=True))
    statuses = {a.status for a in result.actions}
    assert statuses == {"done", "failed"} and result.status == "failed" and exit_code([result]) == 3
    failed = next(a for a in result.actions if a.status == "failed")
    assert "403 (code 2010)" in failed.error
    stored = history.find_run(result.run_id)
    assert [a["status"] for a in stored["actions"]] == [a.status for a in result.actions]
    assert stored["error"].endswith(f"of {len(result.actions)} writes failed")


class LockedAfterSending(History):
    """A history another process locks while the first write is in flight, until the run is finishing: how
    that write ended cannot be recorded as it ends."""

    def action_finished(self, run_id, seq, action):
        raise HistoryError(f"cannot write the run history at {self.url}: database is locked")


def test_a_write_whose_outcome_cannot_be_recorded_is_reported_as_it_ended(pd_sandbox, pd_account, tmp_path):
    recipe = load_registry(entry_points=[]).get("status-update")
    incidents = triggered(pd_account)[:2]
    params = recipe.resolve_params({"message": "Mitigated.", "incident": tuple(incidents)}, {})
    history = LockedAfterSending(f"sqlite:///{tmp_path / 'h.db'}")
    result = run_recipe(recipe, session=session_for(pd_sandbox), params=params, history=history,
                        policy=WritePolicy(assume_yes=True))
    assert [a.status for a in result.actions] == ["done", "planned"]
    assert [len(pd_account.status_updates[i]) for i in incidents] == [1, 0]
    assert result.status == "failed" and exit_code([result]) == 3
    assert result.error.startswith(f"POST /incidents/{incidents[0]}/status_updates ended done, but cannot write")
    rerun = run_recipe(recipe, session=session_for(pd_sandbox), params=params,
                       history=History(f"sqlite:///{tmp_path / 'h.db'}"), policy=WritePolicy(assume_yes=True))
    assert [(a.status, a.error) for a in rerun.actions] == [
        ("skipped", f"already done by run {result.run_id}"), ("done", None)]
    assert [len(pd_account.status_updates[i]) for i in incidents] == [1, 1]


def test_a_rejected_write_shows_400_2001(invoke, workdir, pd_sandbox):
    config = workdir / "config.toml"
    config.write_text(config.read_text().replace("alex.morgan@example.com", "nobody@example.com"))
    result = invoke("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "hi", "--format", "json")
    assert result.exit_code == 3
    [action] = json.loads(result.stdout)["actions"]
    assert action["status"] == "failed" and "400 (code 2001)" in action["error"]
    assert "failed: 1 of 1 writes failed" in result.stderr


class FlakyWrites:
    """Answer the first POST with 502, after passing it to the sandbox (`applied`) or without."""

    def __init__(self, app, *, applied: bool) -> None:
        self.app, self.applied, self.failed = app, applied, False

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "POST" or self.failed:
            return self.app(environ, start_response)
        self.failed = True
        if self.applied:
            self.app(environ, lambda *args: None)
        start_response("502 Bad Gateway", [("content-type", "application/json")])
        return [b'{"error": {"message": "Bad Gateway", "code": 2000}}']


def run_note(app, tmp_path):
    recipe = load_registry(entry_points=[]).get("incident-note")
    params = recipe.resolve_params({"message": "retry me", "incident": (DEMO_INCIDENT_ID,)}, {})
    history = History(f"sqlite:///{tmp_path / 'h.db'}")
    return run_recipe(recipe, session=session_for(app), params=params, history=history, policy=WritePolicy())


def test_a_5xx_write_that_took_effect_is_not_repeated(pd_sandbox, pd_account, tmp_path):
    result = run_note(FlakyWrites(pd_sandbox, applied=True), tmp_path)
    assert [a.status for a in result.actions] == ["done"]
    assert [n["content"] for n in pd_account.notes[DEMO_INCIDENT_ID]].count("retry me") == 1


def test_a_5xx_write_that_did_not_take_effect_is_retried_once(pd_sandbox, pd_account, tmp_path):
    result = run_note(FlakyWrites(pd_sandbox, applied=False), tmp_path)
    assert [a.status for a in result.actions] == ["done"]
    assert [n["content"] for n in pd_account.notes[DEMO_INCIDENT_ID]].count("retry me") == 1
    assert len(writes(pd_sandbox)) == 1  # the 502 never reached the sandbox; the retry did


def test_team_chooses_a_write_recipes_incidents(invoke, pd_account):
    team = next(t for t in pd_account.teams.values() if t["name"] == "Checkout")
    mine = {i["id"] for i in pd_account.incidents.values()
            if i["status"] != "resolved" and team["id"] in {t["id"] for t in i["teams"]}}
    result = invoke("incidents-resolve", "--sandbox", "--team", team["id"], "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    [action] = json.loads(result.stdout)["actions"]
    assert {i["id"] for i in action["body"]["incidents"]} == mine and mine


def test_apply_refuses_a_plan_that_leaves_the_api(invoke, workdir, pd_sandbox):
    plan = workdir / "plan.json"
    invoke("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "hi", "--plan", str(plan))
    tampered = json.loads(plan.read_text())
    tampered["actions"][0]["path"] = "https://elsewhere.example.com/steal"
    plan.write_text(json.dumps(tampered))
    result = invoke("apply", str(plan), "--sandbox", "--yes")
    assert result.exit_code == 2 and "is not a PagerDuty API write" in result.stderr
    assert writes(pd_sandbox) == []


def test_what_pagerduty_shows_wins_over_the_history(invoke, pd_account, pd_sandbox):
    """A reassignment done once is made again when someone has changed it since."""
    users = list(pd_account.users)
    args = ("incidents-reassign", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--to-user", users[3], "--format", "json")
    assert json.loads(invoke(*args).stdout)["actions"][0]["status"] == "done"
    incident = pd_account.incidents[DEMO_INCIDENT_ID]
    incident["assignments"] = [{"at": incident["created_at"], "assignee": {"id": users[4], "type": "user_reference"}}]
    again = json.loads(invoke(*args).stdout)
    assert again["actions"][0]["status"] == "done"
    assert [a["assignee"]["id"] for a in pd_account.incidents[DEMO_INCIDENT_ID]["assignments"]] == [users[3]]
    assert json.loads(invoke(*args).stdout)["actions"] == []  # already as asked: nothing to do


def test_apply_refuses_damaged_plans(invoke, workdir, pd_sandbox):
    plan = workdir / "plan.json"
    invoke("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "hi", "--plan", str(plan))
    saved = json.loads(plan.read_text())
    string_body = [{**saved["actions"][0], "body": "a note"}]
    for damage in ({"from_email": " "}, {"actions": [{"method": "POST"}]}, {"subdomain": None, "run_id": None},
                   {"actions": string_body}):
        bad = workdir / "bad.json"
        bad.write_text(json.dumps(saved | damage))
        result = invoke("apply", str(bad), "--sandbox", "--yes")
        assert result.exit_code == 2 and "damaged pdrun plan" in result.stderr, damage
        assert len(result.stderr.strip().splitlines()) == 1
    assert invoke("apply", str(plan), "--sandbox", "--no-history").exit_code == 2
    assert writes(pd_sandbox) == []

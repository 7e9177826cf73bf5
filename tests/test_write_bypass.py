"""A plugin that tries every way around the plan: each is refused, and the sandbox sees no unplanned write."""

from __future__ import annotations

import json

import pytest
from plugin_dist import make_plugin

from sandbox_log import writes
from runner.sandbox.demo import DEMO_INCIDENT_ID

NOTE = {"note": {"content": "sneaked in"}}
SNEAKY_PLUGIN = f"""
    import threading

    from runner import hookimpl, recipe

    INCIDENT = "{DEMO_INCIDENT_ID}"
    NOTES = f"/incidents/{{INCIDENT}}/notes"
    NOTE = {NOTE!r}


    def session_of(ctx):
        source = ctx.pd._source
        return getattr(source, "_session", source)  # through the audit's read cache too


    @recipe(tags=["sneaky"])
    def direct_write(ctx):
        \"\"\"Write through the session dug out of ctx.pd.\"\"\"
        session_of(ctx).write("POST", NOTES, NOTE)


    @recipe(tags=["sneaky"])
    def private_client(ctx):
        \"\"\"Write through the session's own PagerDuty client.\"\"\"
        session_of(ctx)._client.rpost(NOTES, json=NOTE)


    @recipe(tags=["sneaky"])
    def private_transport(ctx):
        \"\"\"Send through the session's transport itself.\"\"\"
        import httpx2

        session = session_of(ctx)
        request = httpx2.Request("POST", session._client.url + NOTES, json=NOTE)
        session._transport.handle_request(request)


    @recipe(tags=["sneaky"])
    def swallowed(ctx):
        \"\"\"Write, and hide the refusal.\"\"\"
        try:
            session_of(ctx).write("POST", NOTES, NOTE)
        except Exception:
            pass
        return iter(())


    @recipe(tags=["sneaky"])
    def from_a_thread(ctx):
        \"\"\"Write from a thread of its own.\"\"\"
        outcome = []
        thread = threading.Thread(target=lambda: outcome.append(_attempt(session_of(ctx))))
        thread.start()
        thread.join()
        if outcome != ["refused"]:
            raise AssertionError(outcome)


    def _attempt(session):
        try:
            session.write("POST", NOTES, NOTE)
        except Exception as exc:
            return "refused" if type(exc).__name__ == "WriteRefused" else repr(exc)
        return "sent"


    @recipe(tags=["sneaky"])
    def undeclared(ctx):
        \"\"\"Plan a write without declaring any.\"\"\"
        ctx.write("POST", NOTES, NOTE)


    @recipe(writes=["POST /incidents/{{id}}/notes"])
    def outside_declaration(ctx):
        \"\"\"Declare notes, plan a service's deletion.\"\"\"
        ctx.write("DELETE", "/services/PXXXXXX")


    @recipe(writes=["POST /incidents/{{id}}/notes"])
    def writing_check(ctx):
        \"\"\"Write from inside an already_done check.\"\"\"
        def done():
            session_of(ctx).write("POST", NOTES, NOTE)
            return False

        ctx.write("POST", NOTES, {{"note": {{"content": "planned"}}}}, already_done=done)


    @recipe(writes=["PUT /incidents"])
    def bulk_resolve(ctx):
        \"\"\"Resolve every open incident in one request.\"\"\"
        ids = [i["id"] for i in ctx.pd.iter("incidents", statuses=["triggered", "acknowledged"], date_range="all")]
        ctx.write("PUT", "/incidents", {{"incidents": [
            {{"id": i, "type": "incident_reference", "status": "resolved"}} for i in ids]}})


    @recipe(writes=["PUT /incidents"])
    def padded_bulk_resolve(ctx):
        \"\"\"Resolve every open incident in one request, its list beside another key.\"\"\"
        ids = [i["id"] for i in ctx.pd.iter("incidents", statuses=["triggered", "acknowledged"], date_range="all")]
        ctx.write("PUT", "/incidents", {{"padding": 1, "incidents": [
            {{"id": i, "type": "incident_reference", "status": "resolved"}} for i in ids]}})


    @hookimpl
    def pdrun_recipes(register):
        for sneaky in (direct_write, private_client, private_transport, swallowed, from_a_thread, undeclared,
                       outside_declaration, writing_check, bulk_resolve, padded_bulk_resolve):
            register(sneaky)
"""
READ_ONLY_BYPASSES = ("direct-write", "private-client", "private-transport", "swallowed", "undeclared")


@pytest.fixture
def sneaky(tmp_path, monkeypatch):
    """The sneaky plugin, installed as an entry point for the CLI's registry."""
    site = tmp_path / "site"
    make_plugin(site, SNEAKY_PLUGIN, dist="pdrun-sneaky")
    monkeypatch.syspath_prepend(str(site))


def failed_without_writing(result, sandbox) -> None:
    assert writes(sandbox) == []
    assert result.exit_code == 3, result.stderr
    assert json.loads(result.stdout)["status"] == "failed"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("name", READ_ONLY_BYPASSES)
def test_each_bypass_of_a_read_only_recipe_is_refused_and_fails_the_run(sneaky, invoke, pd_sandbox, name):
    failed_without_writing(invoke(name, "--sandbox", "--format", "json"), pd_sandbox)


@pytest.mark.parametrize("name", ["outside-declaration", "writing-check"])
@pytest.mark.parametrize("dry_run", [(), ("--dry-run",)])
def test_each_bypass_of_a_write_recipe_is_refused_and_fails_the_run(sneaky, invoke, pd_sandbox, name, dry_run):
    failed_without_writing(invoke(name, "--sandbox", "--format", "json", "--yes", *dry_run), pd_sandbox)


def test_a_write_from_a_thread_of_the_recipe_is_refused(sneaky, invoke, pd_sandbox):
    result = invoke("from-a-thread", "--sandbox")
    assert result.exit_code == 0, result.stderr  # the recipe saw its write refused
    assert writes(pd_sandbox) == []
    assert '"write.refused"' in result.stderr


def test_an_undeclared_write_is_named(sneaky, invoke, pd_sandbox):
    result = invoke("undeclared", "--sandbox")
    assert result.exit_code == 3
    assert f"planned POST /incidents/{DEMO_INCIDENT_ID}/notes, which it does not declare (declared writes: none)" \
        in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.startswith("pdrun: error")]) == 1


def test_an_audit_never_writes_whatever_its_recipes_try(sneaky, invoke, pd_sandbox):
    result = invoke("audit", "--sandbox", "--tag", "sneaky", "--format", "json")
    assert result.exit_code == 3
    sections = json.loads(result.stdout)["sections"]
    assert {name for name, s in sections.items() if s["status"] == "failed"} >= set(READ_ONLY_BYPASSES)
    assert writes(pd_sandbox) == []


@pytest.mark.parametrize("name", ["bulk-resolve", "padded-bulk-resolve"])
def test_a_bulk_update_counts_every_incident_it_changes(sneaky, invoke, pd_sandbox, pd_account, name):
    open_incidents = [i for i in pd_account.incidents.values() if i["status"] != "resolved"]
    capped = invoke(name, "--sandbox", "--max-writes", "1", "--yes")
    assert capped.exit_code == 2
    assert f"would change {len(open_incidents)} objects in 1 requests, over max_writes 1" in capped.stderr
    unconfirmed = invoke(name, "--sandbox")
    assert unconfirmed.exit_code == 2 and "not confirmed" in unconfirmed.stderr
    assert writes(pd_sandbox) == []


def test_an_edited_plan_is_refused(sneaky, invoke, workdir, pd_sandbox, pd_account):
    plan = workdir / "plan.json"
    made = invoke("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "hi", "--plan", str(plan))
    assert made.exit_code == 0, made.stderr
    original = json.loads(plan.read_text())
    service = next(iter(pd_account.services))
    edits = {
        "a service's deletion": ({"method": "DELETE", "path": f"/services/{service}"}, "is not a write recipe"),
        "a path off the API": ({"path": "/incidents/../services/X"}, "is not a PagerDuty API write"),
        "another recipe's write": ({"method": "PUT", "path": "/incidents"}, "is not a write recipe"),
    }
    for what, (edit, message) in edits.items():
        tampered = json.loads(json.dumps(original))
        tampered["actions"][0] |= edit
        plan.write_text(json.dumps(tampered))
        result = invoke("apply", str(plan), "--sandbox", "--yes")
        assert result.exit_code == 2 and message in result.stderr, what
    for account in ({"account": "https://api.pagerduty.com"}, {"subdomain": "another-company"}):
        plan.write_text(json.dumps(original | account))
        result = invoke("apply", str(plan), "--sandbox", "--yes")
        assert result.exit_code == 2 and "refusing to apply it elsewhere" in result.stderr, account
    assert writes(pd_sandbox) == []
    assert service in pd_account.services


def test_edited_counts_in_a_plan_are_ignored(sneaky, invoke, workdir, pd_sandbox, pd_account):
    plan = workdir / "plan.json"
    open_incidents = [i for i in pd_account.incidents.values() if i["status"] != "resolved"]
    invoke("bulk-resolve", "--sandbox", "--max-writes", "100", "--plan", str(plan))
    tampered = json.loads(plan.read_text())
    tampered["actions"][0]["changes"] = 1
    plan.write_text(json.dumps(tampered))
    result = invoke("apply", str(plan), "--sandbox", "--max-writes", "5", "--yes")
    assert result.exit_code == 2
    assert f"would change {len(open_incidents)} objects" in result.stderr
    assert writes(pd_sandbox) == []


def test_a_plan_applied_twice_writes_once(invoke, workdir, pd_sandbox, pd_account):
    plan = workdir / "plan.json"
    invoke("incidents-resolve", "--sandbox", "--status", "triggered", "--plan", str(plan))
    first = invoke("apply", str(plan), "--sandbox", "--yes", "--format", "json")
    second = invoke("apply", str(plan), "--sandbox", "--yes", "--format", "json")
    assert first.exit_code == 0 and second.exit_code == 0, second.stderr
    assert [a["status"] for a in json.loads(second.stdout)["actions"]] == ["skipped"]
    assert len(writes(pd_sandbox)) == 1


def test_scheduled_bypasses_never_write(sneaky, tmp_path, pd_server, pd_sandbox):
    """`pdrun serve` fires the bypassing recipes (a read-only one needs no allow_writes): nothing is written."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from test_serve import PATIENCE_S, wait_for

    from runner.history import History

    db = tmp_path / "history.db"
    schedules = "".join(f'[[schedule]]\nrecipe = "{name}"\nevery = "1s"\n' for name in READ_ONLY_BYPASSES)
    config = tmp_path / "config.toml"
    config.write_text(f'[logging]\nformat = "json"\n[runner]\nstate = "sqlite:///{db}"\n{schedules}')
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "PAGERDUTY_API_TOKEN": "pdrun-sandbox-token"}
    pdrun = str(Path(sys.executable).with_name("pdrun"))
    daemon = subprocess.Popen([pdrun, "serve", "--base-url", pd_server.url, "--config", str(config)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=tmp_path, text=True)
    try:
        def failed_twice() -> bool:
            runs = History(f"sqlite:///{db}").list_runs(limit=1000) if db.exists() else []
            return all(sum(r["recipe"] == name and r["status"] == "failed" for r in runs) >= 2
                       for name in READ_ONLY_BYPASSES)

        wait_for(failed_twice, "two failed runs of each bypassing schedule")
    finally:
        daemon.terminate()
        daemon.wait(timeout=PATIENCE_S)
    assert writes(pd_sandbox) == []

"""user-offboard: a leaving user taken off every schedule layer, escalation rule and team, their incidents handed over."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sandbox_log import sent

PROFILE = str(Path(__file__).parent / "profiles" / "offboarding.toml")
pytestmark = pytest.mark.pd_profile(PROFILE)


def named(account, collection: str, name: str) -> dict:
    return next(obj for obj in getattr(account, collection).values() if obj.get("name", obj.get("title")) == name)


def users_of(layer: dict) -> list[str]:
    return [entry["user"]["summary"] for entry in layer["users"]]


def test_it_refuses_to_leave_a_layer_or_a_rule_with_nobody(invoke, pd_sandbox):
    result = invoke("user-offboard", "--sandbox", "--user", "lee.wong@example.com")
    assert result.exit_code == 2
    assert ("taking Lee Wong off would leave nobody on Layer 1 of schedule Web Nights; level 2 of escalation policy"
            " Web: name a successor with --replace-with USER") in result.stderr
    assert sent(pd_sandbox) == []


def test_the_dry_run_is_the_whole_plan_object_by_object(invoke, pd_account, pd_sandbox):
    result = invoke("user-offboard", "--sandbox", "--user", "lee.wong@example.com", "--replace-with",
                    "ben.okoro@example.com", "--dry-run", "--format", "json")
    assert result.exit_code == 0, result.stderr
    lee, ben = (pd_account.user_by_email(f"{n}@example.com")["id"] for n in ("lee.wong", "ben.okoro"))
    primary, nights = named(pd_account, "schedules", "SRE Primary"), named(pd_account, "schedules", "Web Nights")
    sre, web = named(pd_account, "escalation_policies", "SRE"), named(pd_account, "escalation_policies", "Web")
    api, site = named(pd_account, "incidents", "API 5xx"), named(pd_account, "incidents", "Site slow")
    teams = [named(pd_account, "teams", name)["id"] for name in ("SRE", "Web")]
    actions = json.loads(result.stdout)["actions"]
    assert [(a["method"], a["path"], a["status"]) for a in actions] == [
        ("PUT", f"/schedules/{primary['id']}", "planned"),
        ("PUT", f"/schedules/{nights['id']}", "planned"),
        ("PUT", f"/escalation_policies/{sre['id']}", "planned"),
        ("PUT", f"/escalation_policies/{web['id']}", "planned"),
        ("DELETE", f"/teams/{teams[0]}/users/{lee}", "planned"),
        ("DELETE", f"/teams/{teams[1]}/users/{lee}", "planned"),
        ("PUT", "/incidents", "planned"),
    ]
    ended, current = actions[0]["body"]["schedule"]["schedule_layers"]
    assert [u["user"]["id"] for u in ended["users"]] == [lee, named(pd_account, "users", "Kim Park")["id"]]
    assert [u["user"]["id"] for u in current["users"]] == [named(pd_account, "users", n)["id"]
                                                           for n in ("Kim Park", "Ben Okoro", "Ana Silva")]
    to_ben = [{"assignee": {"id": ben, "type": "user_reference"}}]
    assert actions[6]["body"]["incidents"] == [  # oldest first
        {"id": site["id"], "type": "incident_reference", "assignments": to_ben},
        {"id": api["id"], "type": "incident_reference", "assignments": to_ben},
    ]
    table = invoke("user-offboard", "--sandbox", "--user", lee, "--replace-with", ben, "--dry-run").stdout
    assert f"set the layers of schedule Web Nights ({nights['id']}) to Layer 1: {ben}" in table
    assert f"take user {lee} off team {teams[1]}" in table and f"reassign 2 incidents to {ben}" in table
    assert sent(pd_sandbox) == []


def test_applied_it_leaves_the_user_on_nothing_and_a_rerun_changes_nothing(pd_run, pd_account, pd_sandbox):
    result = pd_run("user-offboard", user="lee.wong@example.com", replace_with="ben.okoro@example.com")
    assert result.status == "ok" and [a.status for a in result.actions] == ["done"] * 7
    lee = pd_account.user_by_email("lee.wong@example.com")
    layers = named(pd_account, "schedules", "SRE Primary")["schedule_layers"]
    assert [users_of(layer) for layer in layers] == [["Lee Wong", "Kim Park"], ["Kim Park", "Ben Okoro", "Ana Silva"]]
    assert users_of(named(pd_account, "schedules", "Web Nights")["schedule_layers"][0]) == ["Ben Okoro"]
    targets = [[t["summary"] for t in rule["targets"]] for p in pd_account.escalation_policies.values()
               for rule in p["escalation_rules"]]
    assert targets == [["SRE Primary"], ["Kim Park", "Ben Okoro"], ["Web Nights"], ["Ben Okoro"]]
    assert lee["teams"] == []
    open_incidents = [i for i in pd_account.incidents.values() if i["status"] != "resolved"]
    assert [[a["assignee"]["summary"] for a in i["assignments"]] for i in open_incidents] == [["Ben Okoro"]] * 2
    before = len(sent(pd_sandbox))
    again = pd_run("user-offboard", user="lee.wong@example.com", replace_with="ben.okoro@example.com")
    assert again.status == "ok" and again.actions == () and len(sent(pd_sandbox)) == before


def test_resolving_and_deleting(pd_run, pd_account, pd_sandbox):
    result = pd_run("user-offboard", user="lee.wong@example.com", replace_with="kim.park@example.com",
                    incidents="resolve", delete=True)
    assert result.status == "ok", result.error
    assert {i["status"] for i in pd_account.incidents.values()} == {"resolved"}
    assert pd_account.user_by_email("lee.wong@example.com") is None
    method, path, body = sent(pd_sandbox)[-2]
    assert (method, path, {i["status"] for i in body["incidents"]}) == ("PUT", "/incidents", {"resolved"})
    assert sent(pd_sandbox)[-1][:2] == ("DELETE", f"/users/{result.actions[-1].path.split('/')[-1]}")


def test_without_a_successor_incidents_go_to_the_other_assignees_or_back_to_the_policy(pd_run, pd_account):
    kim = pd_account.user_by_email("kim.park@example.com")
    pd_account.update_escalation_policy(named(pd_account, "escalation_policies", "Web"), {},
                                        [([named(pd_account, "schedules", "Web Nights")], 30), ([kim], 30)])
    pd_account.update_schedule(named(pd_account, "schedules", "Web Nights"), {}, [{"users": [kim["id"]]}])
    result = pd_run("user-offboard", user="lee.wong@example.com")
    assert result.status == "ok", result.error
    api, site = named(pd_account, "incidents", "API 5xx"), named(pd_account, "incidents", "Site slow")
    assert [a["assignee"]["summary"] for a in site["assignments"]] == ["Ben Okoro"]
    assert [a["assignee"]["summary"] for a in api["assignments"]] == ["Kim Park"]  # SRE Primary's first, by policy


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--user", "kim.park@example.com", "--replace-with", "KIM.PARK@example.com"), "names the leaving user"),
        (("--user", "nobody@example.com"), "no PagerDuty user has the email address nobody@example.com"),
        (("--user", "Lee Wong"), "--user: expected a PagerDuty user id or an email address"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(invoke, pd_sandbox, args, message):
    result = invoke("user-offboard", "--sandbox", *args)
    assert result.exit_code == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert sent(pd_sandbox) == []


def test_the_owner_is_never_deleted(invoke, pd_sandbox):
    result = invoke("user-offboard", "--sandbox", "--user", "alex.morgan@example.com", "--delete")
    assert result.exit_code == 2 and "Alex Morgan owns the account" in result.stderr
    assert sent(pd_sandbox) == []


def test_end_to_end_on_a_served_sandbox(tmp_path):
    from test_sandbox_server import pdrun, served

    (tmp_path / "config.toml").write_text('[pagerduty]\nfrom_email = "alex.morgan@example.com"\n')
    with served("--profile", PROFILE) as server, server.client() as client:
        args = ("user-offboard", "--base-url", server.url, "--user", "lee.wong@example.com", "--replace-with",
                "ben.okoro@example.com", "--format", "json")

        def run(*more: str) -> dict:
            done = pdrun(*args, *more, cwd=tmp_path, token=server.token)
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)

        def get(path: str, **params) -> dict:
            return client.get(path, params=params).json()

        lee = get("/users", query="lee.wong@example.com")["users"][0]
        dry = run("--dry-run")
        assert [a["status"] for a in dry["actions"]] == ["planned"] * 7
        assert get("/escalation_policies", **{"user_ids[]": lee["id"]})["escalation_policies"] != []
        applied = run("--yes")
        assert [(a["method"], a["path"], a["status"]) for a in applied["actions"]] == [
            (a["method"], a["path"], "done") for a in dry["actions"]
        ]
        for schedule in get("/schedules")["schedules"]:
            layers = get(f"/schedules/{schedule['id']}")["schedule"]["schedule_layers"]
            current = [layer for layer in layers if not layer.get("end")]
            assert lee["id"] not in {entry["user"]["id"] for layer in current for entry in layer["users"]}
        assert get("/escalation_policies", **{"user_ids[]": lee["id"]})["escalation_policies"] == []
        assert get(f"/users/{lee['id']}")["user"]["teams"] == []
        mine = get("/incidents", **{"user_ids[]": lee["id"], "statuses[]": ["triggered", "acknowledged"], "date_range": "all"})
        assert mine["incidents"] == []
        assert run()["actions"] == []

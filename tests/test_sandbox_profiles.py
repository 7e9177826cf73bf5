"""Sandbox profiles: the demo, the generated large account, and accounts described in files."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from docs import code_blocks
from runner.sandbox import demo_account, load_profile
from runner.sandbox.clock import stopped
from runner.sandbox.demo import demo_description
from runner.sandbox.large import large_account

NOW = datetime(2024, 5, 6, 12, tzinfo=timezone.utc)
EXAMPLE = Path(__file__).resolve().parents[1] / "runner" / "sandbox" / "examples" / "escalation-gap.toml"
SMALL = {"teams": 20, "users": 50, "schedules": 5, "escalation_policies": 10, "services": 100, "incidents": 500}


def test_the_demo_profile_is_the_demo_account():
    assert load_profile("demo", now=NOW) == demo_account(now=NOW)


def test_a_json_file_describes_an_account(tmp_path):
    path = tmp_path / "demo.json"
    path.write_text(json.dumps(demo_description()))
    assert load_profile(str(path), now=NOW) == demo_account(now=NOW)


def test_the_documented_format_builds_an_account(tmp_path):
    (example,) = code_blocks("toml")
    path = tmp_path / "documented.toml"
    path.write_text(example)
    account = load_profile(str(path))
    (schedule,) = account.schedules.values()
    assert [len(schedule["schedule_layers"]), len(account.overrides[schedule["id"]])] == [1, 1]
    (incident,) = account.incidents.values()
    assert incident["status"] == "acknowledged" and account.user_tokens == {"kim-token": next(iter(account.users))}
    kim, lee = account.users.values()
    assert (kim["role"], lee["invitation_sent"], kim["html_url"]) == ("owner", True, f"https://acme.pagerduty.com/users/{kim['id']}")
    assert {license["name"]: license["allocations_available"] for license in account.licenses.values()} == {
        "Full User": 8,
        "Stakeholder": 2,
    }
    (window,) = account.maintenance_windows.values()
    (webhook,) = account.webhook_subscriptions.values()
    (extension,) = account.extensions.values()
    (orchestration,) = account.event_orchestrations.values()
    assert window["services"][0]["summary"] == "Edge" and webhook["filter"]["type"] == "team_reference"
    assert extension["extension_schema"]["summary"] == "Slack V2" and orchestration["team"]["type"] == "team_reference"
    assert len(account.priorities) == 5 and [r["type"] for r in account.rulesets.values()] == ["default_global"]
    (service,) = account.services.values()
    assert (service["alert_grouping_parameters"]["type"], service["auto_pause_notifications_parameters"]["enabled"],
            service["acknowledgement_timeout"]) == ("intelligent", True, 1800)
    delays = [account.notification_rules[r["id"]]["start_delay_in_minutes"] for r in kim["notification_rules"]]
    assert delays == [0] * 6 + [5]
    (router,) = account.orchestration_routers.values()
    assert [rule["actions"]["route_to"] for rule in router["sets"][0]["rules"]] == [service["id"]]
    assert orchestration["routes"] == 1


def test_the_example_file_reproduces_its_case():
    account = load_profile(str(EXAMPLE), clock=stopped)
    assert account.now == NOW
    (schedule,) = account.schedules.values()
    assert [o["user"]["summary"] for o in account.overrides[schedule["id"]]] == ["Kim Park"]
    (service,) = account.services.values()
    assert [t["summary"] for t in service["teams"]] == ["Storefront"]
    (incident,) = account.incidents.values()
    assert (incident["status"], incident["created_at"]) == ("triggered", "2024-05-06T03:00:00Z")
    assert [n["content"] for n in account.notes[incident["id"]]] == ["Nobody was paged: the schedule ends at 18:00."]
    assert account.user_tokens == {"kim-user-token": next(iter(account.users))}
    ana = next(u for u in account.users.values() if u["name"] == "Ana Silva")
    assert [m["type"] for m in ana["contact_methods"]] == ["email_contact_method_reference"]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("[[teams]]\nname = 'A'\ncolour = 'red'\n", "teams #1 (A): unknown key 'colour'"),
        ("[[teams]]\ndescription = 'no name'\n", "teams #1: name: missing"),
        ("[[users]]\nname = 'Kim Park'\nteams = ['Nope']\n", "users #1 (Kim Park): teams: no team named 'Nope'"),
        ("[[users]]\nname = 'Kim Park'\ncontact_methods = ['pager']\n", "contact_methods: expected a list of one of"),
        (
            "[[users]]\nname = 'Kim'\nemail = 'a@example.com'\n[[users]]\nname = 'Kim'\nemail = 'b@example.com'\n",
            "users #2 (Kim): name: another user is named 'Kim'",
        ),
        ("[[users]]\nname = 'Kim'\n[[users]]\nname = 'Kim'\n", "users #2 (Kim): email: a user with email"),
        (
            "[[users]]\nname = 'Kim'\n[[schedules]]\nname = 'S'\nusers = ['Kim']\n"
            "restrictions = [{start_time_of_day = '25:00:00', duration_seconds = 60}]\n",
            "schedules #1 (S): restrictions #1: start_time_of_day: expected a time of day",
        ),
        ("[[escalation_policies]]\nname = 'P'\nrules = [['Nobody']]\n", "rules: no schedule or user named 'Nobody'"),
        ("[[escalation_policies]]\nname = 'P'\nrules = 'all'\n", "escalation_policies #1 (P): rules: expected a list"),
        (
            "[[escalation_policies]]\nname = 'P'\nrules = [[]]\n[[services]]\nname = 'S'\nescalation_policy = 'P'\n",
            "rules: expected lists of schedule or user names",
        ),
        (
            "[[users]]\nname = 'Kim'\n[[escalation_policies]]\nname = 'P'\nrules = [['Kim']]\n"
            "[[services]]\nname = 'S'\nescalation_policy = 'P'\nstatus = 'gone'\n",
            "services #1 (S): status: expected one of active, warning, critical, maintenance, disabled, got 'gone'",
        ),
        ("[[incidents]]\ntitle = 'T'\nservice = 'S'\n", "incidents #1 (T): service: no service named 'S'"),
        ("now = 'yesterday'\n", "now: expected an ISO 8601 time"),
        ("teams = 'A'\n", "teams: expected a list"),
        ("[[teams]\n", "invalid TOML"),
        ("teams = " + "[" * 100_000 + "]" * 100_000 + "\n", "invalid TOML: maximum recursion depth exceeded"),
        ("subdomain = 'Not OK'\n", "subdomain: expected lower-case letters, digits and dashes"),
        ("[[users]]\nname = 'Kim'\nrole = 'boss'\n", "users #1 (Kim): role: expected one of owner, admin, user"),
        ("[[users]]\nname = 'Kim'\n[[users]]\nname = 'Lee'\nlicenses = 1\n", "users #2 (Lee): unknown key 'licenses'"),
        ("licenses = {full_user = 0}\n[[users]]\nname = 'Kim'\n", "licenses: full_user: 0 Full User seats are fewer"),
        ("[[maintenance_windows]]\nservices = ['Nope']\nhours = 1\n", "maintenance_windows #1: services: no service named"),
        ("[[webhooks]]\ndescription = 'no url'\n", "webhooks #1: url: missing"),
        ("[[extensions]]\nname = 'X'\nurl = 'u'\nservices = []\n", "extensions #1 (X): services: expected at least one"),
        (
            "[[users]]\nname = 'Kim'\ncontact_methods = ['email']\n"
            "notification_rules = [{contact_method = 'sms', start_delay_in_minutes = 5}]\n",
            "users #1 (Kim): notification_rules #1: contact_method: Kim has no sms contact method",
        ),
        (
            "[[users]]\nname = 'Kim'\n[[escalation_policies]]\nname = 'P'\nrules = [['Kim']]\n"
            "[[services]]\nname = 'S'\nescalation_policy = 'P'\nacknowledgement_timeout = -1\n",
            "services #1 (S): acknowledgement_timeout: expected 0 (off) or a positive number of seconds",
        ),
        (
            "[[event_orchestrations]]\nname = 'O'\nroutes = [{service = 'Nope'}]\n",
            "event_orchestrations #1 (O): routes #1: service: no service named 'Nope'",
        ),
    ],
)
def test_a_bad_file_is_one_line_naming_file_and_key(tmp_path, text, error):
    path = tmp_path / "case.toml"
    path.write_text(text)
    with pytest.raises(ValueError) as failure:
        load_profile(str(path))
    message = str(failure.value)
    assert message.startswith(f"{path}: ") and error in message and "\n" not in message


@pytest.mark.parametrize(("name", "error"), [("nosuch", "unknown profile 'nosuch'"), ("missing.toml", "cannot read")])
def test_unknown_profiles_are_refused(name, error):
    with pytest.raises(ValueError, match=error):
        load_profile(name)


def test_the_large_profile_is_the_same_for_a_seed():
    first = large_account(seed=1, now=NOW, sizes=SMALL)
    assert first == large_account(seed=1, now=NOW, sizes=SMALL)
    assert first != large_account(seed=2, now=NOW, sizes=SMALL)
    sizes = {name: len(getattr(first, name)) for name in SMALL}
    assert sizes == SMALL


def test_the_large_profile_scales_and_no_other():
    account = load_profile("large", now=NOW, scale=0.01)
    assert (len(account.services), len(account.users), len(account.incidents)) == (100, 50, 500)
    with pytest.raises(ValueError, match="only the large profile can be scaled"):
        load_profile("demo", scale=2)

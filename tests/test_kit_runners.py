"""The testing kit's runners tell the truth: only the plugins named, the recipe's own exception, the account's clock."""

from __future__ import annotations

import dataclasses
import json
import textwrap
import types
from datetime import UTC, datetime, timedelta

import pytest
from plugin_dist import GOOD_PLUGIN, make_plugin

from runner import RecipeError, UsageError, parse_iso, recipe
from runner.plugins import PluginError
from runner.sandbox.clock import stopped
from runner.sandbox.demo import DEMO_INCIDENT_ID
from runner.testing import CliResult

MOVED = datetime(2024, 5, 6, 12, tzinfo=UTC)


@recipe()
def crashes(ctx):
    """Divide by zero."""
    return 1 / 0


@recipe()
def gives_up(ctx):
    """Give up with a message for the user."""
    raise RecipeError("no team named Edge")


@recipe()
def recent_incidents(ctx):
    """Incidents of PagerDuty's default window, each reported with the run's clock."""
    for incident in ctx.pd.iter("incidents"):
        yield ctx.finding(incident, ctx.now.isoformat())


def plugin_module(source: str) -> types.ModuleType:
    module = types.ModuleType("pdrun_bobs")
    exec(textwrap.dedent(source), module.__dict__)
    return module


@pytest.fixture
def clashing_plugin_installed(site):
    """An installed plugin whose recipe clashes with a built-in: it must not reach tests that do not name it."""
    make_plugin(site, GOOD_PLUGIN.replace("users_named_bob", "services_without_teams"), dist="pdrun-clash")


def test_pd_run_loads_the_built_ins_and_the_plugins_named_only(pd_run, clashing_plugin_installed):
    assert pd_run("services-without-teams").status == "findings"
    with pytest.raises(UsageError, match="unknown recipe 'users-named-bob'"):
        pd_run("users-named-bob")
    result = pd_run("users-named-bob", plugins=[plugin_module(GOOD_PLUGIN)])
    assert result.recipe == "users-named-bob" and result.status in ("ok", "findings")


@recipe(name="services-without-teams")
def my_services_without_teams(ctx):
    """Mine, under a built-in's name."""
    return iter(())


def test_pd_run_refuses_what_pdrun_would_leave_out(pd_run):
    clash = plugin_module(GOOD_PLUGIN.replace("users_named_bob", "services_without_teams"))
    with pytest.raises(PluginError, match="plugin 'pdrun_bobs' is broken, as pdrun plugins would show it: recipe"
                       " 'services-without-teams' is already registered by 'recipes.services'"):
        pd_run("services-without-teams", plugins=[clash])
    misspelled = plugin_module(GOOD_PLUGIN.replace("def pdrun_recipes", "def pdrun_recipe"))
    with pytest.raises(PluginError, match="implements hooks pdrun does not have: 'pdrun_recipe'"):
        pd_run("users-named-bob", plugins=[misspelled])
    with pytest.raises(PluginError, match="recipe 'services-without-teams' is already registered by 'recipes.services'"):
        pd_run(my_services_without_teams)
    with pytest.raises(PluginError, match="recipe 'list' is already registered by 'runner.cli.catalog'"):
        pd_run(dataclasses.replace(my_services_without_teams, name="list"))


def test_pd_run_raises_the_recipes_exception_again(pd_run):
    with pytest.raises(ZeroDivisionError):
        pd_run(crashes)
    result = pd_run(crashes, raises=False)
    assert result.status == "failed" and result.error == "recipe 'crashes' crashed: ZeroDivisionError: division by zero"
    assert isinstance(result.exception, ZeroDivisionError)


def test_pd_run_reports_pdruns_own_errors_as_a_failed_run(pd_run):
    result = pd_run(gives_up)
    assert result.status == "failed" and result.error == "no team named Edge" and result.exception is None


@pytest.mark.pd_profile(now=MOVED, clock=stopped)
def test_ctx_now_and_the_default_incident_window_follow_the_accounts_clock(pd_run, pd_account, pd_sandbox):
    result = pd_run(recent_incidents)
    assert {f.message for f in result.findings} == {MOVED.isoformat()}
    assert len(result.findings) == len(pd_account.incidents)
    [listing] = [e for e in pd_sandbox.exchanges if e.path == "/incidents"]
    assert listing.query["until"] == ["2024-05-06T12:00:00.000Z"]


@pytest.mark.pd_profile(now=MOVED)
def test_ctx_now_starts_at_the_profiles_now_on_a_live_clock(pd_run, pd_account):
    [first, *_] = pd_run(recent_incidents).findings
    assert MOVED <= datetime.fromisoformat(first.message) <= pd_account.now


@pytest.mark.pd_profile(now=MOVED, clock=stopped)
def test_pd_cli_runs_recipes_by_the_accounts_clock_too(pd_cli, pd_account):
    stale = pd_cli("incidents-stale", "--sandbox", "--format", "json")
    assert stale.exit_code == 1, stale.stderr
    open_for_a_day = [i["id"] for i in pd_account.incidents.values()
                      if i["status"] != "resolved" and MOVED - parse_iso(i["created_at"]) > timedelta(hours=24)]
    assert sorted(f["object"]["id"] for f in json.loads(stale.stdout)["findings"]) == sorted(open_for_a_day)
    assert 0 < len(open_for_a_day) < len([i for i in pd_account.incidents.values() if i["status"] != "resolved"])


def test_pd_cli_runs_pdrun_on_the_sandbox(pd_cli, pd_sandbox):
    listed = pd_cli("services-without-teams", "--sandbox", "--format", "json")
    assert isinstance(listed, CliResult) and listed.exit_code == 1
    assert json.loads(listed.stdout)["status"] == "findings"
    assert {e.path for e in pd_sandbox.exchanges} == {"/services"}
    refused = pd_cli("services-without-teams", "--sandbox", "--hours", "3")
    assert refused.exit_code == 2 and refused.stdout == ""
    assert refused.stderr == "pdrun: error: No such option '--hours'. (see 'pdrun services-without-teams --help')\n"


def test_pd_cli_writes_to_the_sandbox_as_its_own_user_without_a_config_file(pd_cli, pd_sandbox, tmp_path):
    assert not (tmp_path / "config.toml").exists()
    written = pd_cli("incident-note", "--sandbox", "--incident", DEMO_INCIDENT_ID, "--message", "Rolled back.")
    assert written.exit_code == 0, written.stderr
    [note] = [e for e in pd_sandbox.exchanges if e.method == "POST"]
    assert note.path == f"/incidents/{DEMO_INCIDENT_ID}/notes" and note.headers["from"] == "alex.morgan@example.com"


def test_pd_cli_keeps_the_history_under_the_tests_directory(pd_cli, tmp_path):
    pd_cli("services-disabled", "--sandbox")
    shown = pd_cli("history", "--format", "json")
    assert shown.exit_code == 0 and [run["recipe"] for run in json.loads(shown.stdout)] == ["services-disabled"]
    assert any((tmp_path / "state").rglob("*.db"))


@pytest.mark.parametrize("config", [None, "[pagerduty]\nregion = \"us\"\n"])
def test_a_write_off_the_sandbox_without_from_email_names_the_config_file_read(config, pd_cli, tmp_path):
    if config is not None:
        (tmp_path / "config.toml").write_text(config)
    refused = pd_cli("incident-note", "--incident", DEMO_INCIDENT_ID, "--message", "m",
                     environ={"PAGERDUTY_API_TOKEN": "t"})
    assert refused.exit_code == 2 and refused.stdout == ""
    where = (f"set from_email in [pagerduty] of {tmp_path / 'config.toml'}" if config else
             "set from_email in [pagerduty] of a config.toml (none was found: give --config PATH, set $PDRUN_CONFIG,"
             " or create ./config.toml)")
    assert refused.stderr == (f"pdrun: error: incident-note writes to PagerDuty, which needs the email of the user"
                              f" acting: {where}\n")

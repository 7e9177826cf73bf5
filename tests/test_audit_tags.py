"""`pdrun audit --tag T` runs the audits a team tagged T, and names the other recipes so tagged, left out."""

from __future__ import annotations

import json

import pytest
from plugin_dist import make_plugin

TEAM_PLUGIN = '''
    from runner import hookimpl, recipe

    @recipe(tags=["team-sre"])
    def sre_services_disabled(ctx):
        """Disabled services, as the SRE team sees them."""
        for service in ctx.pd.iter("services"):
            if service["status"] == "disabled":
                yield ctx.finding(service, "disabled")

    @recipe(tags=["team-sre"], writes=["POST /incidents/{id}/notes"])
    def sre_note(ctx):
        """Note every incident."""

    @recipe(tags=["team-sre"], columns=["service"])
    def sre_services(ctx):
        """List services."""

    @hookimpl
    def pdrun_recipes(register):
        for each in (sre_services_disabled, sre_note, sre_services):
            register(each)
'''


@pytest.fixture(autouse=True)
def team_plugin(site):
    make_plugin(site, TEAM_PLUGIN, dist="pdrun-sre")


def test_a_tag_runs_its_audits_and_names_the_other_recipes_left_out(invoke, pd_sandbox):
    result = invoke("audit", "--tag", "team-sre", "--sandbox", "--format", "json")
    assert result.exit_code == 1, result.output
    assert list(json.loads(result.stdout)["sections"]) == ["sre-services-disabled"]
    assert ("pdrun: audit leaves out the recipes tagged 'team-sre' that are not audits:"
            " sre-note (write), sre-services (report)\n") in result.stderr
    assert {e.method for e in pd_sandbox.exchanges} == {"GET"}


def test_named_recipes_with_a_tag_run_those_so_tagged(invoke):
    result = invoke("audit", "services-disabled", "sre-services-disabled", "--tag", "team-sre", "--sandbox",
                    "--format", "json")
    assert result.exit_code == 1 and list(json.loads(result.stdout)["sections"]) == ["sre-services-disabled"]
    untagged = invoke("audit", "services-disabled", "--tag", "team-sre", "--sandbox")
    assert untagged.exit_code == 2 and untagged.stderr == "pdrun: error: none of services-disabled is tagged 'team-sre'\n"


def test_a_named_recipe_that_is_no_audit_is_refused(invoke, pd_sandbox):
    result = invoke("audit", "sre-note", "--sandbox")
    assert result.exit_code == 2 and pd_sandbox.exchanges == []
    assert result.stderr == ("pdrun: error: audit runs audits (recipes that report findings); these are not:"
                             " sre-note (write)\n")

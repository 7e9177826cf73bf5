"""`ctx.pd`: filters are sent as PagerDuty takes them, whatever sequence a recipe hands over."""

from __future__ import annotations

from runner import Param, recipe


@recipe(params=[Param(name="status", multiple=True, default=["triggered"])])
def open_incidents(ctx):
    """Incidents in the statuses asked for, filtered by PagerDuty."""
    for incident in ctx.pd.iter("incidents", statuses=ctx.params["status"], include=["services"]):
        yield ctx.finding(incident, incident["status"])
    for service in ctx.pd.get_each([("services", {"team_ids": ("PXXXXXX",)})]):
        assert service == []


def test_a_repeatable_parameters_value_is_sent_as_a_list_filter(pd_run, pd_account, pd_sandbox):
    result = pd_run(open_incidents)
    triggered = [i for i in pd_account.incidents.values() if i["status"] == "triggered"]
    assert len(result.findings) == len(triggered) and {f.message for f in result.findings} == {"triggered"}
    listing, each = pd_sandbox.exchanges
    assert listing.query["statuses[]"] == ["triggered"] and listing.query["include[]"] == ["services"]
    assert each.query["team_ids[]"] == ["PXXXXXX"]

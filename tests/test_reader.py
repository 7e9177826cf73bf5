"""`ctx.pd` sends filters as documented: a list as `name[]`, a tuple as the bare name repeated."""

from __future__ import annotations

from runner import Param, recipe


@recipe(params=[Param(name="status", multiple=True, default=["triggered"])])
def open_incidents(ctx):
    """Incidents in the statuses asked for, filtered by PagerDuty."""
    for incident in ctx.pd.iter("incidents", statuses=list(ctx.params["status"]), include=["services"]):
        yield ctx.finding(incident, incident["status"])
    list(ctx.pd.get_each([("standards/scores/technical_services", {"ids": ("P1", "P2")})]))


def test_a_list_is_sent_as_a_filter_and_a_tuple_as_a_repeated_name(pd_run, pd_account, pd_sandbox):
    result = pd_run(open_incidents)
    triggered = [i for i in pd_account.incidents.values() if i["status"] == "triggered"]
    assert len(result.findings) == len(triggered) and {f.message for f in result.findings} == {"triggered"}
    listing, scores = pd_sandbox.exchanges
    assert listing.query["statuses[]"] == ["triggered"] and listing.query["include[]"] == ["services"]
    assert scores.query == {"ids": ["P1", "P2"]}

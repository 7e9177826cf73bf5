"""Reports: recipes that yield rows with declared columns, over a period, rendered in every format."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest

from runner import Param, UsageError, recipe


@recipe(columns=["service", "incidents"], period_days=7, params=[Param(name="top", default=3, minimum=1)])
def incidents_per_service(ctx):
    """Incidents per service over the period."""
    since, until = ctx.period
    counts: dict[str, int] = {}
    for incident in ctx.pd.iter("incidents", since=since.isoformat(), until=until.isoformat()):
        counts[incident["service"]["summary"]] = counts.get(incident["service"]["summary"], 0) + 1
    for service, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: ctx.params["top"]]:
        yield ctx.row(service=service, incidents=count)


@pytest.mark.pd_profile("demo", now=datetime(2026, 11, 30, 12, tzinfo=UTC))
def test_a_report_yields_rows_over_its_period(pd_run, pd_account, pd_sandbox):
    result = pd_run(incidents_per_service, days=3)
    assert result.status == "ok" and result.findings == () and result.columns == ("service", "incidents")
    assert len(result.rows) == 3 and all(set(row) == {"service", "incidents"} for row in result.rows)
    [listing] = [e for e in pd_sandbox.exchanges if e.path == "/incidents"][:1]
    since, until = datetime.fromisoformat(listing.query["since"][0]), datetime.fromisoformat(listing.query["until"][0])
    assert (until - since).days == 3 and until == pd_account.now.replace(microsecond=until.microsecond)


def test_a_report_never_writes():
    with pytest.raises(ValueError, match="a report .* never writes"):
        recipe(columns=["x"], writes=["POST /incidents/{id}/notes"])(lambda ctx: None)


def test_undeclared_columns_and_findings_in_a_report_fail_the_run(pd_run):
    @recipe(columns=["a"])
    def sloppy(ctx):
        """Sloppy."""
        yield ctx.row(b=1)

    result = pd_run(sloppy)
    assert result.status == "failed" and "made a row with undeclared columns ['b'] (declared: a)" in result.error

    @recipe(columns=["a"])
    def finding_report(ctx):
        """Reports a finding."""
        yield ctx.finding({"type": "service", "id": "PX1", "summary": "Edge"}, "no team")

    result = pd_run(finding_report)
    assert result.status == "failed" and result.findings == ()
    assert result.error == "recipe 'finding-report' yielded Finding; yield ctx.row(...)"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"since": "yesterday"}, "--since 'yesterday': expected an ISO 8601 date"),
        ({"since": "2026-11-01", "days": 3}, "give --since or --days, not both"),
        ({"since": "2026-11-05", "until": "2026-11-01"}, "the period must end after it starts"),
        ({"until": "0001-01-01"}, "--until '0001-01-01': expected a time from 1970 to 2999"),
        ({"since": "9999-12-31T23:00:00-05:00"}, "--since '9999-12-31T23:00:00-05:00': expected a time from 1970"),
    ],
)
def test_a_bad_period_is_refused_before_any_request(given, message):
    with pytest.raises(UsageError, match=message):
        incidents_per_service.resolve_params(given, {})


def test_reports_render_in_every_format(pd_sandbox, invoke, tmp_path, monkeypatch):
    from plugin_dist import make_plugin

    site = tmp_path / "site"
    make_plugin(site, REPORT_PLUGIN, dist="pdrun-report")
    monkeypatch.syspath_prepend(str(site))
    shown = {fmt: invoke("service-count", "--sandbox", "--format", fmt) for fmt in ("table", "json", "csv", "markdown")}
    assert all(r.exit_code == 0 for r in shown.values()), {k: r.stderr for k, r in shown.items()}
    rows = list(csv.DictReader(io.StringIO(shown["csv"].stdout)))
    assert rows == [{"kind": "services", "count": str(len(pd_sandbox.account.services))}]
    assert json.loads(shown["json"].stdout)["rows"] == [{"kind": "services", "count": len(pd_sandbox.account.services)}]
    assert "| kind | count |" in shown["markdown"].stdout
    assert shown["table"].stdout.splitlines()[0].split() == ["KIND", "COUNT"]
    audit = invoke("audit", "--sandbox", "--tag", "inventory")
    assert audit.exit_code == 2 and "service-count (report)" in audit.stderr


REPORT_PLUGIN = """
    from runner import hookimpl, recipe

    @recipe(columns=["kind", "count"], tags=["inventory"])
    def service_count(ctx):
        "How many services there are."
        yield ctx.row(kind="services", count=sum(1 for _ in ctx.pd.iter("services")))

    @hookimpl
    def pdrun_recipes(register):
        register(service_count)
"""


def test_fractions_show_two_decimals_but_json_keeps_the_number(pd_sandbox, invoke, tmp_path, monkeypatch):
    from plugin_dist import make_plugin

    site = tmp_path / "site"
    make_plugin(site, FRACTION_PLUGIN, dist="pdrun-fraction")
    monkeypatch.syspath_prepend(str(site))
    assert invoke("third", "--sandbox", "--format", "csv").stdout.splitlines() == ["share,count", "0.33,3"]
    assert "| 0.33 | 3 |" in invoke("third", "--sandbox", "--format", "markdown").stdout
    assert json.loads(invoke("third", "--sandbox", "--format", "json").stdout)["rows"] == [{"share": 1 / 3, "count": 3}]


FRACTION_PLUGIN = """
    from runner import hookimpl, recipe

    @recipe(columns=["share", "count"])
    def third(ctx):
        "A third."
        yield ctx.row(share=1 / 3, count=3)

    @hookimpl
    def pdrun_recipes(register):
        register(third)
"""

"""`pdrun report --html FILE`: the account's hygiene over time, from the run history, as one HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from runner import hookimpl
from runner.cli.options import check_output, config_option, current_launcher, load_config, with_options
from runner.errors import UsageError, suggest


@with_options(config_option())
@click.command()
@click.option("--html", "html", required=True, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write the report to this file: one HTML page, styles and charts inline.")
@click.option("--days", type=int, default=90, show_default=True, help="Cover the last this many days (1 to 3650).")
@click.option("--team", metavar="ID", help="Only findings about objects this team owns.")
@click.option("--recipe", "recipes", multiple=True, metavar="RECIPE", help="Only this audit's findings (repeatable).")
@click.option("--sandbox", is_flag=True, help="Report on a demo instead: --days days of simulated change on the"
              " sandbox's demo account, audited into a temporary history (deleted after).")
def report(html: Path, days: int, team: str | None, recipes: tuple[str, ...], sandbox: bool,
           config_path: Path | None) -> None:
    """Write an HTML report of the account's hygiene over time, from the run history alone.

    Open findings by day and severity, new and resolved findings per week,
    open findings by team and by recipe, this week's new findings, and the
    runs behind them. PagerDuty is not asked anything: run `pdrun audit`
    (or schedule it) to fill the history.
    """
    from runner.report import write_whole
    from runner.trends.build import Scope, build_report
    from runner.trends.page import render

    scope = Scope(days=days, team=team, recipes=tuple(dict.fromkeys(recipes)))
    check_output(html, "--html")
    launcher = current_launcher()
    config = load_config(config_path)
    audits = sorted((r for r in launcher.registry().recipes.values() if r.kind == "audit"), key=lambda r: r.name)
    if sandbox:
        from runner.trends.demo import demo_report

        for name in set(scope.recipes) - {r.name for r in audits}:
            raise UsageError(f"--recipe {name}: no audit of that name is installed{suggest(name, [r.name for r in audits])}")
        made = demo_report(launcher, config, scope, [r for r in audits if r.name in scope.recipes] or audits)
    else:
        store = launcher.history(config)
        try:
            made = build_report(store, scope, audits=[r.name for r in audits])
        finally:
            store.close()
    write_whole(html, render(made))
    numbers = made.numbers
    click.echo(f"{html}: {sum(r.open for r in numbers.recipes)} open findings, {len(numbers.new_this_week)} new in"
               f" the last 7 days, from {numbers.runs} runs since {numbers.first_day:%Y-%m-%d}")


@hookimpl
def pdrun_commands(register):
    register(report)

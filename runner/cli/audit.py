"""`pdrun audit`: read-only recipes together, in one pass over the account."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runner import hookimpl
from runner.cli.exit_codes import exit_code
from runner.cli.options import (
    RunOptions,
    check_output,
    config_option,
    current_launcher,
    emit,
    load_config,
    output_options,
    target,
    target_options,
    with_options,
)
from runner.errors import UsageError
from runner.params import PAGERDUTY_ID, Param

if TYPE_CHECKING:
    from runner.launch import Launch


@with_options(*target_options(several=True), config_option(), *output_options())
@click.command()
@click.argument("recipes", nargs=-1)
@click.option("--tag", help="Run the audits with this tag (default, without RECIPEs: hygiene), naming on stderr"
              " the other recipes so tagged, which it leaves out; with RECIPEs, those of them with this tag.")
@click.option("--team", metavar="ID", help="Report only objects this team owns.")
def audit(recipes: tuple[str, ...], tag: str | None, team: str | None, sandbox: bool, base_url: str | None,
          accounts: tuple[str, ...], all_accounts: bool, config_path: Path | None, **run: Any) -> None:
    """Run audits (recipes that report findings) together in one pass over the account.

    Every distinct collection is fetched once, however many recipes read it,
    and nothing is ever written. The result holds one section per recipe plus
    totals; exit code 1 follows --fail-on, 3 means a recipe failed. With
    several accounts (--account repeated, or --all-accounts), they are
    audited at once, and the result holds a section per account plus totals
    across them; one account failing stops no other.
    """
    from runner import log as pdlog
    from runner.accounts_audit import audit_accounts
    from runner.progress import Progress
    from runner.report import render_audit
    from runner.report_accounts import render_accounts_audit
    from runner.transport import observing

    if team is not None:
        Param(name="team", pattern=PAGERDUTY_ID).validate(team, where="--team")
    where = target(sandbox, base_url, accounts=accounts, all_accounts=all_accounts)
    options = RunOptions(**run, team=team)
    check_output(options.output)
    config = load_config(config_path)
    launcher = current_launcher()
    registry = launcher.registry()
    named = [registry.get(name) for name in recipes]
    if named and tag:
        named = [r for r in named if tag in r.tags]
        if not named:
            raise UsageError(f"none of {', '.join(recipes)} is tagged {tag!r}")
    others = [f"{r.name} ({r.kind})" for r in named if r.kind != "audit"]
    if others:
        raise UsageError(f"audit runs audits (recipes that report findings); these are not: {', '.join(others)}")
    label = repr(tag or "hygiene")
    tagged = [r for r in sorted(registry.recipes.values(), key=lambda r: r.name) if (tag or "hygiene") in r.tags]
    chosen = named or [r for r in tagged if r.kind == "audit"]
    left_out = ", ".join(f"{r.name} ({r.kind})" for r in tagged if r.kind != "audit") if not named else ""
    if not chosen:
        raise UsageError(f"no audit is tagged {label}" + (f"; tagged so but not audits: {left_out}" if left_out else ""))
    if left_out:
        click.echo(f"pdrun: audit leaves out the recipes tagged {label} that are not audits: {left_out}", err=True)
    params = {r.name: launcher.params(config, r) for r in chosen}
    progress = Progress() if sys.stderr.isatty() and config.logging.format != "json" else None
    with launcher.open_each(config, where, history=not options.no_history) as launches:
        if team is not None:
            _require_team(team, launches)
        if progress:  # log lines go above the progress line, not into it
            pdlog.redirect(progress)
        with observing(progress.request) if progress else contextlib.nullcontext():
            result = audit_accounts(chosen, launches=launches, params=params, progress=progress)
    result = result.each_section(options.shown)
    shown = render_accounts_audit(result, options.fmt) if where.several else render_audit(result.audits[0], options.fmt)
    emit(shown, options.output)
    for section in result.sections:
        if section.error:
            account = f"account {section.account_name}: " if where.several else ""
            click.echo(f"pdrun: error: {account}{section.recipe} failed: {section.error}", err=True)
    click.get_current_context().exit(exit_code(result.sections, options.fail_on))


def _require_team(team: str, launches: list[Launch]) -> None:
    """Refuse a --team that no audited account has: its audit would report nothing, and look clean."""
    from runner.errors import ApiError

    for launch in launches:
        try:
            launch.session.get(f"teams/{team}")
            return
        except ApiError as exc:
            if exc.status != 404:
                return  # that account's audit says what is wrong with it
    raise UsageError(f"--team {team}: no such team in {'any of the accounts' if len(launches) > 1 else 'the account'}")


@hookimpl
def pdrun_commands(register):
    register(audit)

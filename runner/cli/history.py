"""`pdrun history`: past runs, one run's stored result, and the history's schema."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from runner import hookimpl
from runner.cli.options import LISTING_FORMATS, config_option, current_launcher, load_config, with_options
from runner.report import table

if TYPE_CHECKING:
    from runner.history import History


class DefaultGroup(click.Group):
    """A group whose first argument, when it names no subcommand, goes to its default subcommand."""

    default_command = "list"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@contextlib.contextmanager
def _history(config_path: Path | None) -> Iterator[History]:
    launcher = current_launcher()
    store = launcher.history(load_config(config_path))
    try:
        yield store
    finally:
        store.close()


@click.group(cls=DefaultGroup)
def history() -> None:
    """Past runs: `pdrun history [RECIPE]` lists them, `pdrun history show RUN_ID` shows one."""


@with_options(config_option())
@history.command("list")
@click.argument("recipe", required=False)
@click.option("--limit", type=click.IntRange(1, 100_000), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(LISTING_FORMATS), default="table", show_default=True)
@click.option("--account", metavar="NAME", help="Only the runs on this account (configured or not any more).")
def history_list(recipe: str | None, limit: int, fmt: str, account: str | None, config_path: Path | None) -> None:
    """List the latest runs, newest first, optionally of one recipe or account."""
    with _history(config_path) as store:
        runs = store.list_runs(recipe=recipe, account=account, limit=limit)
    if fmt == "json":
        click.echo(json.dumps(runs, indent=2))
        return
    rows = [
        (
            r["id"], r["started_at"], r["account_name"], r["recipe"], r["schedule"] or r["trigger"], r["status"],
            r["findings"], r["new"], r["resolved"], r["actions"], r["api_calls"],
        )
        for r in runs
    ]
    headers = ("run", "started", "account", "recipe", "trigger", "status", "findings", "new", "resolved", "actions",
               "api calls")
    click.echo(table(rows, headers))


@with_options(config_option())
@history.command("show")
@click.argument("run_id")
def history_show(run_id: str, config_path: Path | None) -> None:
    """Print a run's stored result: the JSON the run printed with --format json (or, if it never finished,
    its record and the writes it recorded)."""
    with _history(config_path) as store:
        click.echo(json.dumps(store.find_run(run_id), indent=2))


@with_options(config_option())
@history.command("upgrade")
def history_upgrade(config_path: Path | None) -> None:
    """Bring the history's schema to this pdrun's version (pdrun also does it whenever it opens the history)."""
    with _history(config_path) as store:
        before, head = store.migrated
    where = store.url
    click.echo(f"history {where}: schema {before or 'none'} -> {head}" if before != head
               else f"history {where}: schema already at {head}")


@hookimpl
def pdrun_commands(register):
    register(history)

"""`pdrun schedules`: the configured schedules, when each fires next, and how its last run ended."""

from __future__ import annotations

import json
from pathlib import Path

import click

from runner import hookimpl
from runner.cli.options import LISTING_FORMATS, config_option, current_launcher, load_config, with_options
from runner.report import table


@with_options(config_option())
@click.command("schedules")
@click.option("--format", "fmt", type=click.Choice(LISTING_FORMATS), default="table", show_default=True)
@click.option("--account", metavar="NAME", help="Only the schedules on this account.")
def list_schedules(fmt: str, account: str | None, config_path: Path | None) -> None:
    """List the configured schedules, one row per account each runs on: when each fires next (in its
    timezone) and how its last run there ended."""
    from datetime import UTC, datetime

    from runner.schedules import build_schedules

    launcher = current_launcher()
    config = load_config(config_path)
    if account is not None:
        config.account(account, where=f"--account {account}")
    schedules = [s for s in build_schedules(config, launcher) if account in (None, s.account)]
    history = launcher.history(config)
    now = datetime.now(UTC)
    rows = []
    try:
        for schedule in schedules:
            last = history.last_outcome(schedule.name, schedule.account) or {}
            upcoming = schedule.next_fire(now) if schedule.enabled else None
            rows.append(
                {
                    "name": schedule.name,
                    "account": schedule.account,
                    "recipe": schedule.recipe.name,
                    "when": schedule.when,
                    "timezone": schedule.timezone.key,
                    "enabled": schedule.enabled,
                    "next_fire": upcoming.isoformat(timespec="seconds") if upcoming else None,
                    "last_status": last.get("status"),
                    "last_started_at": last.get("started_at"),
                }
            )
    finally:
        history.close()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(table([list(row.values()) for row in rows], list(rows[0]) if rows else ["name"]))


@hookimpl
def pdrun_commands(register):
    register(list_schedules)

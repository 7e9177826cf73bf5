"""The commands beyond running one recipe: audit, apply, serve, schedules and history."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

import click

from runner import config as pdconfig
from runner import log as pdlog
from runner.cli import (
    LISTING_FORMATS,
    RunOptions,
    Target,
    cli,
    config_option,
    current_env,
    emit,
    execute,
    output_options,
    resolve_config_path,
    target_options,
    with_options,
    write_options,
)
from runner.errors import UsageError
from runner.report import render_audit, table


@with_options(*target_options(), config_option(), *output_options(), *write_options(plan=False))
@cli.command("apply")
@click.argument("plan_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def apply_plan(plan_path: Path, sandbox: bool, base_url: str | None, config_path: Path | None, **run: Any) -> None:
    """Make exactly the writes of a plan saved with `pdrun RECIPE --plan FILE`.

    The plan must have been made for the same account (base URL); it is
    recorded like a run (trigger "apply"), with the same caps, confirmation
    and idempotency: a write already done is skipped.
    """
    from runner.plan import Plan

    if run["no_history"]:
        raise UsageError("apply always records its writes, so that none is ever made twice: drop --no-history")
    plan = Plan.load(plan_path)
    env = current_env()
    config = env.config(resolve_config_path(config_path))
    ctx = click.get_current_context()
    ctx.exit(
        execute(
            env, config, plan.replay(), plan.params,
            target=Target(sandbox=sandbox, base_url=base_url),
            options=RunOptions(**run),
            trigger="apply",
            check_session=lambda session: plan.check_account(session.url, plan_path),
        )
    )


@with_options(*target_options(), config_option())
@cli.command()
def serve(sandbox: bool, base_url: str | None, config_path: Path | None) -> None:
    """Run the [[schedule]]s of config.toml until SIGTERM or SIGINT.

    Each fire runs like `pdrun RECIPE` and is recorded in the history. A fire
    that finds its schedule's previous run still going is recorded as
    skipped. On SIGTERM, running runs get [runner] shutdown_grace_s seconds;
    those still going are recorded as interrupted. SIGHUP reloads the
    schedules from config.toml (an invalid file is logged and ignored).
    """
    from runner.schedule import Daemon, build_schedules, serve_forever
    from runner.sinks import SinkContext

    env, path = current_env(), resolve_config_path(config_path)
    config = env.config(path)
    schedules = build_schedules(config, env.registry())
    if not any(s.enabled for s in schedules):
        raise UsageError(f"{config.source}: no enabled [[schedule]] table: nothing to serve")
    session = Target(sandbox=sandbox, base_url=base_url).open_session(env, config)
    history = env.history(config)
    daemon = Daemon(
        session=session,
        history=history,
        schedules=schedules,
        sink_context=SinkContext(session, env.environ),
        misfire_grace_s=config.runner.misfire_grace_s,
    )
    try:
        serve_forever(
            daemon,
            reload=lambda: build_schedules(env.config(path), env.registry()),
            grace_s=config.runner.shutdown_grace_s,
        )
    finally:
        session.close()
        history.close()


@with_options(config_option())
@cli.command("schedules")
@click.option("--format", "fmt", type=click.Choice(LISTING_FORMATS), default="table", show_default=True)
def list_schedules(fmt: str, config_path: Path | None) -> None:
    """List the configured schedules: when each fires next (in its timezone) and how its last run ended."""
    from datetime import UTC, datetime

    from runner.schedule import build_schedules

    env = current_env()
    config = env.config(resolve_config_path(config_path))
    history = env.history(config)
    now = datetime.now(UTC)
    rows = []
    for schedule in build_schedules(config, env.registry()):
        last = history.last_outcome(schedule.name) or {}
        upcoming = schedule.next_fire(None, now.astimezone(schedule.timezone)) if schedule.enabled else None
        rows.append(
            {
                "name": schedule.name,
                "recipe": schedule.recipe.name,
                "when": schedule.when,
                "timezone": schedule.timezone.key,
                "enabled": schedule.enabled,
                "next_fire": upcoming.isoformat(timespec="seconds") if upcoming else None,
                "last_status": last.get("status"),
                "last_started_at": last.get("started_at"),
            }
        )
    history.close()
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
    else:
        click.echo(table([list(row.values()) for row in rows], list(rows[0]) if rows else ["name"]))


class DefaultGroup(click.Group):
    """A group whose first argument, when it names no subcommand, goes to its default subcommand."""

    default_command = "list"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ctx.help_option_names):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@cli.group(cls=DefaultGroup)
def history() -> None:
    """Past runs: `pdrun history [RECIPE]` lists them, `pdrun history show RUN_ID` shows one."""


@with_options(config_option())
@history.command("list")
@click.argument("recipe", required=False)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--format", "fmt", type=click.Choice(LISTING_FORMATS), default="table", show_default=True)
def history_list(recipe: str | None, limit: int, fmt: str, config_path: Path | None) -> None:
    """List the latest runs, newest first, optionally of one recipe."""
    env = current_env()
    store = env.history(env.config(resolve_config_path(config_path)))
    runs = store.list_runs(recipe=recipe, limit=limit)
    store.close()
    if fmt == "json":
        click.echo(json.dumps(runs, indent=2))
        return
    rows = [
        (
            r["id"], r["started_at"], r["recipe"], r["schedule"] or r["trigger"], r["status"],
            r["findings"], r["new"], r["resolved"], r["actions"], r["api_calls"],
        )
        for r in runs
    ]
    headers = ("run", "started", "recipe", "trigger", "status", "findings", "new", "resolved", "actions", "api calls")
    click.echo(table(rows, headers))


@with_options(config_option())
@history.command("show")
@click.argument("run_id")
def history_show(run_id: str, config_path: Path | None) -> None:
    """Print a run's stored result: the same JSON the run printed with --format json."""
    env = current_env()
    store = env.history(env.config(resolve_config_path(config_path)))
    try:
        click.echo(json.dumps(store.find_run(run_id), indent=2))
    finally:
        store.close()


@with_options(*target_options(), config_option(), *output_options())
@cli.command()
@click.argument("recipes", nargs=-1)
@click.option("--tag", help="Run every recipe with this tag (default, without RECIPEs: hygiene).")
@click.option("--team", metavar="ID", help="Report only objects this team owns.")
def audit(recipes: tuple[str, ...], tag: str | None, team: str | None, sandbox: bool, base_url: str | None,
          config_path: Path | None, **run: Any) -> None:
    """Run read-only recipes together in one pass over the account.

    Every distinct collection is fetched once, however many recipes read it.
    The result holds one section per recipe plus totals; exit code 1 follows
    --fail-on, 3 means a recipe failed.
    """
    from runner.audit import Progress, run_audit

    env = current_env()
    config = env.config(resolve_config_path(config_path))
    registry = env.registry()
    chosen = [registry.get(name) for name in recipes] or [
        r for r in sorted(registry.recipes.values(), key=lambda r: r.name) if (tag or "hygiene") in r.tags
    ]
    if recipes and tag:
        chosen = [r for r in chosen if tag in r.tags]
    writers = [r.name for r in chosen if r.writes]
    if writers:
        raise UsageError(f"audit runs read-only recipes; these write: {', '.join(writers)}")
    if not chosen:
        raise UsageError(f"no recipe is tagged {tag!r}")
    options = RunOptions(**run, team=team)
    defaults = registry.configured_defaults(config)
    params = {r.name: r.resolve_params({}, defaults.get(r.name, {})) for r in chosen}
    session = Target(sandbox=sandbox, base_url=base_url).open_session(env, config)
    history = None if options.no_history else env.history(config)
    progress = Progress() if _show_progress(config) else None
    if progress:  # log lines go above the progress line, not into it
        pdlog.configure(format=config.logging.format, level=config.logging.level, stream=progress)
    try:
        with session.observing(progress.request) if progress else contextlib.nullcontext():
            result = run_audit(chosen, session=session, params=params, history=history, progress=progress)
    finally:
        session.close()
        if history is not None:
            history.close()
    result = dataclasses.replace(result, sections=tuple(options.shown(s) for s in result.sections))
    emit(render_audit(result, options.fmt), options.output)
    for section in result.sections:
        if section.error:
            click.echo(f"pdrun: error: {section.recipe} failed: {section.error}", err=True)
    click.get_current_context().exit(result.exit_code(options.fail_on))


def _show_progress(config: pdconfig.Config) -> bool:
    """Progress goes to a terminal's stderr only, and never between JSON log lines."""
    return sys.stderr.isatty() and config.logging.format != "json"

"""`pdrun apply`: make exactly the writes of a saved plan, on the account it was made for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from runner import hookimpl
from runner.cli.options import (
    RunOptions,
    check_output,
    config_option,
    current_launcher,
    load_config,
    output_options,
    target,
    target_options,
    with_options,
    write_options,
)
from runner.errors import UsageError


@with_options(*target_options(), config_option(), *output_options(), *write_options(plan=False))
@click.command("apply")
@click.argument("plan_path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def apply_plan(plan_path: Path, sandbox: bool, base_url: str | None, account: str | None, config_path: Path | None,
               **run: Any) -> None:
    """Make exactly the writes of a plan saved with `pdrun RECIPE --plan FILE`.

    The plan must be for the same account (base URL and subdomain), and every
    write in it must be one its recipe, as installed here, declares. It is
    recorded like a run (trigger "apply"), with the same caps, confirmation
    and claims: a write already made, by any run, is not made again, so a
    plan applied twice writes once.
    """
    from runner.cli.recipes import present
    from runner.plan_file import Plan

    if run["no_history"]:
        raise UsageError("apply always records its writes, so that none is ever made twice: drop --no-history")
    options = RunOptions(**run)
    check_output(options.output)
    plan = Plan.load(plan_path)
    config = load_config(config_path)
    launcher = current_launcher()
    recipe = launcher.registry().get(plan.recipe)
    if not recipe.writes:
        raise UsageError(f"{plan_path}: recipe {recipe.name!r} makes no writes, so it has no plan to apply")
    plan.check_recipe(recipe, plan_path)
    with launcher.open(config, target(sandbox, base_url, account), acting_as=plan.from_email) as launch:
        plan.check_account(launch.session, plan_path)
        result = launch.run(plan.replay(recipe), plan.params, policy=launcher.policy(config, recipe, options.consent()),
                            trigger="apply", read_since=plan.planned_at)
    click.get_current_context().exit(present(result, options))


@hookimpl
def pdrun_commands(register):
    register(apply_plan)

"""Every recipe as a command of its own: its parameters become options, its run goes through the launch path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from runner.cli.exit_codes import exit_code
from runner.cli.options import (
    RunOptions,
    check_output,
    config_option,
    current_launcher,
    emit,
    load_config,
    output_options,
    sink_option,
    target,
    target_options,
    write_options,
)
from runner.report import render

if TYPE_CHECKING:
    from runner.launch import Target
    from runner.params import Param
    from runner.recipe import Recipe
    from runner.results import RunResult


def param_label(p: Param) -> str:
    """The type a parameter takes, and its bounds, as help and `describe` show it: `int, 1 to 720`."""
    assert p.type is not None
    label = "|".join(p.choices) if p.choices else p.type.__name__
    if p.minimum is not None and p.maximum is not None:
        label += f", {p.minimum:g} to {p.maximum:g}"
    elif p.minimum is not None or p.maximum is not None:
        label += f", at least {p.minimum:g}" if p.minimum is not None else f", at most {p.maximum:g}"
    return f"{label}, repeatable" if p.multiple else label


def default_label(p: Param) -> str:
    """A parameter's default as help and `describe` show it: `24`, `triggered, acknowledged`; "" for none."""
    if p.default is None or p.default == ():
        return ""
    return ", ".join(map(str, p.default)) if isinstance(p.default, tuple) else str(p.default)


def param_option(p: Param) -> click.Option:
    """The click option of a recipe parameter; its help shows the type and the default."""
    kind: Any = click.Choice(p.choices) if p.choices else p.type
    shown = "required" if p.required else f"default: {default_label(p)}" if default_label(p) else ""
    help_text = " ".join(part for part in (p.help, f"[{param_label(p)}{'; ' + shown if shown else ''}]") if part)
    if p.type is bool:
        name = p.flag.removeprefix("--")
        return click.Option([f"{p.flag}/--no-{name}", p.name], default=None, help=help_text)
    return click.Option([p.flag, p.name], type=kind, multiple=p.multiple, default=None, help=help_text)


def recipe_command(recipe: Recipe) -> click.Command:
    """Build the `pdrun RECIPE` command."""
    options = [param_option(p) for p in recipe.params]
    options += [*target_options(), config_option(), *output_options(), sink_option()]
    if recipe.writes:
        options += write_options(plan=True)
    own = {p.name for p in recipe.params}

    def callback(sandbox: bool, base_url: str | None, account: str | None, config_path: Path | None,
                 **values: Any) -> None:
        run = RunOptions(**{name: values.pop(name) for name in list(values) if name not in own})
        where = target(sandbox, base_url, account)
        click.get_current_context().exit(run_command(recipe, values, config_path, where, run))

    kind = "Writes to PagerDuty. " if recipe.writes else ""
    return click.Command(
        recipe.name,
        callback=callback,
        params=options,
        help=f"{recipe.summary}\n\n{kind}{recipe.description}",
        short_help=recipe.summary,
    )


def run_command(recipe: Recipe, given: Mapping[str, Any], config_path: Path | None, where: Target,
                options: RunOptions) -> int:
    """Run a recipe from the command line; print the result; return the exit code."""
    from runner.plan_file import Plan

    check_output(options.output)
    check_output(options.plan_file)
    config = load_config(config_path)
    launcher = current_launcher()
    params = launcher.params(config, recipe, given)
    planning = options.plan_file is not None
    with launcher.open(config, where, history=not options.no_history, writing=[recipe]) as launch:
        result = launch.run(recipe, params, policy=launcher.policy(config, recipe, options.consent()),
                            dry_run=options.dry_run or planning, sinks=options.sinks)
        if planning and result.status not in ("failed", "refused"):
            assert options.plan_file is not None and launch.session.from_email is not None
            plan = Plan.of(result, subdomain=launch.session.subdomain(), from_email=launch.session.from_email)
            plan.save(options.plan_file)
    return present(result, options)


def present(result: RunResult, options: RunOptions) -> int:
    """Print a run's result as asked, and its error in one line; return its exit code."""
    shown = options.shown(result)
    emit(render(shown, options.fmt), options.output)
    if result.error:
        click.echo(f"pdrun: error: run {result.status}: {result.error}", err=True)
    return exit_code([shown], options.fail_on)

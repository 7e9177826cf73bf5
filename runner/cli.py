"""The pdrun command line: parses, then calls the library. Recipes become subcommands."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from runner import config as pdconfig
from runner import log as pdlog
from runner.errors import EXIT_INTERRUPTED, PdrunError, UsageError, suggest
from runner.plugins import Registry, load_registry
from runner.recipe import FAIL_ON, Action, Param, Recipe, RunResult
from runner.report import FORMATS, render, table, write_whole
from runner.writes import CONFIRM_ABOVE, DEFAULT_MAX_WRITES, WritePolicy

log = pdlog.get_logger(__name__)


def _demo_app() -> Any:
    from runner.sandbox import demo_app

    return demo_app()


@dataclass
class Environment:
    """What the CLI takes from its surroundings; tests pass their own as click's `obj`."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    cwd: Path = field(default_factory=Path.cwd)
    sandbox_app: Callable[[], Any] = _demo_app
    _registry: Registry | None = None

    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = load_registry()
            for plugin in self._registry.broken:
                log.warning("plugin.broken", plugin=plugin.name, source=plugin.source, error=plugin.error)
        return self._registry

    def history(self, config: pdconfig.Config) -> Any:
        """Open the run history the configuration names."""
        from runner.history import open_history

        return open_history(config.runner.state, keep_runs_days=config.runner.keep_runs_days, environ=self.environ)

    def config(self, path: Path | None) -> pdconfig.Config:
        """Load the configuration and apply its [logging] table."""
        config = pdconfig.load(path, self.environ, self.cwd)
        pdlog.configure(format=config.logging.format, level=config.logging.level)
        return config


@dataclass(frozen=True)
class RunOptions:
    """How a run from the command line is recorded, shown and judged."""

    fmt: str = "table"
    output: Path | None = None
    dry_run: bool = False
    plan_file: Path | None = None
    max_writes: int | None = None
    yes: bool = False
    no_history: bool = False
    new_only: bool = False
    fail_on: str = "any"
    sinks: tuple[str, ...] = ()
    team: str | None = None

    def shown(self, result: RunResult) -> RunResult:
        """The part of a result to show: one team's objects, or only new findings, when asked."""
        if self.team:
            from runner.audit import scoped

            result = scoped(result, self.team)
        if self.new_only:
            result = dataclasses.replace(result, findings=tuple(f for f in result.findings if f.state != "open"))
        return result


@dataclass(frozen=True)
class Target:
    """Which account a command talks to: the configured one, another base URL, or the sandbox."""

    sandbox: bool = False
    base_url: str | None = None

    def open_session(self, env: Environment, config: pdconfig.Config) -> Any:
        from runner.session import open_session

        if self.sandbox and self.base_url:
            raise UsageError("--sandbox and --base-url exclude each other")
        settings = config.pagerduty
        if self.base_url:
            base_url = pdconfig.check_url(self.base_url, where="--base-url")
            settings = dataclasses.replace(settings, base_url=base_url)
        return open_session(settings, environ=env.environ, sandbox=env.sandbox_app() if self.sandbox else None)


def current_env() -> Environment:
    return click.get_current_context().ensure_object(Environment)


class PdrunGroup(click.Group):
    """Built-in commands first, then every registered recipe as a command of its own."""

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None, **extra: Any) -> Any:
        pdlog.reset()  # log to this invocation's stderr
        return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PdrunError as exc:
            click.echo(f"pdrun: error: {pdlog.redact(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("pdrun: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        recipes = sorted(ctx.ensure_object(Environment).registry().recipes)
        for title, names in (("Commands", self._builtins(ctx)), ("Recipes", recipes)):
            rows = [(name, self.get_command(ctx, name).get_short_help_str(60)) for name in names]
            with formatter.section(title):
                formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self._builtins(ctx), *sorted(ctx.ensure_object(Environment).registry().recipes)]

    def _builtins(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), "sandbox"]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name == "sandbox":  # its own command group, loaded only when used
            from runner.sandbox.command import sandbox

            return sandbox
        builtin = super().get_command(ctx, name)
        if builtin is not None:
            return builtin
        recipe = ctx.ensure_object(Environment).registry().recipes.get(name)
        return _recipe_command(recipe) if recipe else None

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0]
        if not name.startswith("-") and self.get_command(ctx, name) is None:
            raise UsageError(
                f"no command or recipe named {name!r}{suggest(name, self.list_commands(ctx))};"
                " 'pdrun list' shows the recipes"
            )
        return super().resolve_command(ctx, args)


LISTING_FORMATS = ("table", "json")  # lists of recipes, runs and schedules
CONFIG_HELP = "Configuration file (default: $PDRUN_CONFIG, then ./config.toml)."


def config_option() -> click.Option:
    return click.Option(["--config", "config_path"], type=click.Path(dir_okay=False, path_type=Path), help=CONFIG_HELP)


def target_options() -> list[click.Option]:
    return [
        click.Option(["--sandbox"], is_flag=True, help="Use the built-in sandbox account, in process."),
        click.Option(
            ["--base-url"],
            metavar="URL",
            help="PagerDuty API base URL, e.g. a `pdrun sandbox serve` on http://127.0.0.1:8089.",
        ),
    ]


def output_options() -> list[click.Option]:
    return [
        click.Option(["--format", "fmt"], type=click.Choice(FORMATS), default="table", show_default=True),
        click.Option(
            ["--output", "-o", "output"],
            type=click.Path(dir_okay=False, writable=True, path_type=Path),
            help="Write the result to this file instead of stdout.",
        ),
        click.Option(["--no-history"], is_flag=True, help="Do not record the run, nor compare it with earlier ones."),
        click.Option(["--new-only"], is_flag=True, help="Show only findings that the previous run did not have."),
        click.Option(
            ["--fail-on"],
            type=click.Choice(FAIL_ON),
            default="any",
            show_default=True,
            help="Which findings make the exit code 1: any, new ones, none, or those of at least a severity.",
        ),
    ]


def write_options(*, plan: bool) -> list[click.Option]:
    """Options of commands that write: the cap, the confirmation, and (for recipes) dry runs and plans."""
    options = [
        click.Option(
            ["--max-writes"],
            type=click.IntRange(min=0),
            help=f"Refuse a plan changing more objects than this (default: [recipes.<name>] max_writes,"
            f" else {DEFAULT_MAX_WRITES}).",
        ),
        click.Option(["--yes", "-y"], is_flag=True, help=f"Confirm plans changing more than {CONFIRM_ABOVE} objects."),
    ]
    if plan:
        options += [
            click.Option(["--dry-run"], is_flag=True, help="Show the exact writes (method, path, headers, body); make none."),
            click.Option(
                ["--plan", "plan_file"],
                type=click.Path(dir_okay=False, path_type=Path),
                help="Dry run, and save the plan to this file for `pdrun apply`.",
            ),
        ]
    return options


def emit(text: str, output: Path | None) -> None:
    """Print the result, or write it whole to `output` (never a half-written file)."""
    if output is None:
        click.echo(text)
    else:
        write_whole(output, text + "\n")


def with_options(*made: click.Option) -> Callable[[click.Command], click.Command]:
    """Add ready-made options to a command (shared by built-in and recipe commands)."""

    def decorate(command: click.Command) -> click.Command:
        command.params.extend(made)
        return command

    return decorate


def resolve_config_path(given: Path | None) -> Path | None:
    """The --config given to the command, else the one given before it (`pdrun --config X ...`)."""
    return given or click.get_current_context().find_root().meta.get("config_path")


@click.group(cls=PdrunGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pdrun", prog_name="pdrun")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help=CONFIG_HELP)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None) -> None:
    """pdrun runs automation recipes against a PagerDuty account.

    Run a recipe with `pdrun RECIPE [OPTIONS]`; `pdrun list` shows them all and
    `pdrun describe RECIPE` explains one. Try any recipe on the built-in
    sandbox account with --sandbox.

    Exit codes: 0 ran clean, 1 ran and reported findings, 2 usage or
    configuration error, 3 the run failed.
    """
    ctx.ensure_object(Environment)
    ctx.meta["config_path"] = config_path


@cli.command("list")
@click.option("--format", "fmt", type=click.Choice(LISTING_FORMATS), default="table", show_default=True)
def list_recipes(fmt: str) -> None:
    """List the recipes every plugin provides."""
    recipes = sorted(current_env().registry().recipes.values(), key=lambda r: r.name)
    if fmt == "json":
        rows = [
            {"name": r.name, "summary": r.summary, "writes": r.writes, "tags": list(r.tags), "plugin": r.plugin}
            for r in recipes
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    rows = [(r.name, "writes" if r.writes else "reads", ",".join(r.tags), r.summary) for r in recipes]
    click.echo(table(rows, ("recipe", "kind", "tags", "summary")))


@cli.command()
@click.argument("name")
def describe(name: str) -> None:
    """Show what a recipe does and the parameters it takes."""
    recipe = current_env().registry().get(name)
    lines = [f"{recipe.name}: {recipe.summary}", ""]
    if recipe.description:
        lines += [recipe.description, ""]
    lines.append(f"plugin: {recipe.plugin}   kind: {'writes' if recipe.writes else 'reads'}   tags: {', '.join(recipe.tags) or '-'}")
    if recipe.params:
        rows = [(p.flag, _type_label(p), _default_label(p), p.help) for p in recipe.params]
        lines += ["", "parameters:", table(rows, ("option", "type", "default", "help"))]
    if recipe.one_of:
        lines.append("needs at least one of: " + ", ".join(recipe.param(n).flag for n in recipe.one_of))
    lines += ["", f"Defaults may be set in config.toml under [recipes.{recipe.name}], keyed by parameter name."]
    click.echo("\n".join(lines))


def _type_label(p: Param) -> str:
    label = "|".join(p.choices) if p.choices else p.type.__name__
    return f"{label}, repeatable" if p.multiple else label


def _default_label(p: Param) -> str:
    if p.required:
        return "(required)"
    return "-" if p.default is None else str(p.default)


@cli.command()
def plugins() -> None:
    """List loaded plugins, the recipes and sinks each provides, and any that failed to load."""
    rows = [
        (p.name, p.source, "ok" if p.ok else "broken", ", ".join((*p.recipes, *p.sinks)) if p.ok else p.error)
        for p in current_env().registry().plugins
    ]
    click.echo(table(rows, ("plugin", "source", "status", "provides / error")))


def _param_option(p: Param) -> click.Option:
    kind: Any = click.Choice(p.choices) if p.choices else p.type
    required = " [required]" if p.required else ""
    if p.type is bool:
        name = p.flag.removeprefix("--")
        return click.Option([f"{p.flag}/--no-{name}", p.name], default=None, help=p.help + required)
    return click.Option([p.flag, p.name], type=kind, multiple=p.multiple, default=None, help=p.help + required)


def _recipe_command(recipe: Recipe) -> click.Command:
    options = [_param_option(p) for p in recipe.params]
    options += [
        *target_options(),
        config_option(),
        *output_options(),
        click.Option(["--sink", "sinks"], multiple=True, metavar="NAME", help="Also send the result to this sink."),
    ]
    if recipe.writes:
        options += write_options(plan=True)

    own = {p.name for p in recipe.params}

    def callback(sandbox: bool, base_url: str | None, config_path: Path | None, **values: Any) -> None:
        ctx = click.get_current_context()
        path = resolve_config_path(config_path)
        run = RunOptions(**{name: values.pop(name) for name in list(values) if name not in own})
        target = Target(sandbox=sandbox, base_url=base_url)
        ctx.exit(run_command(current_env(), recipe, values, config_path=path, target=target, options=run))

    kind = "Writes to PagerDuty. " if recipe.writes else ""
    return click.Command(
        recipe.name,
        callback=callback,
        params=options,
        help=f"{recipe.summary}\n\n{kind}{recipe.description}",
        short_help=recipe.summary,
    )


def run_command(
    env: Environment,
    recipe: Recipe,
    values: Mapping[str, Any],
    *,
    config_path: Path | None,
    target: Target,
    options: RunOptions,
) -> int:
    """Resolve a recipe's parameters from the command line and config.toml, then run it."""
    config = env.config(config_path)
    defaults = env.registry().configured_defaults(config)
    params = recipe.resolve_params(values, defaults.get(recipe.name, {}))
    return execute(env, config, recipe, params, target=target, options=options)


def execute(
    env: Environment,
    config: pdconfig.Config,
    recipe: Recipe,
    params: Mapping[str, Any],
    *,
    target: Target,
    options: RunOptions,
    trigger: str = "cli",
    check_session: Callable[[Any], None] | None = None,
) -> int:
    """Check everything a run needs, run it, print the result, and return the exit code."""
    from runner.plan import Plan
    from runner.run import run_recipe
    from runner.sinks import SinkContext, bind_sinks

    if recipe.writes and not config.pagerduty.from_email:
        raise UsageError(
            f"{recipe.name} writes to PagerDuty, which needs the email of the user acting:"
            f" set from_email in [pagerduty] of {config.source}"
        )
    sinks = bind_sinks(options.sinks, config, env.registry().sinks)
    session = target.open_session(env, config)
    history = None
    try:
        if check_session is not None:
            check_session(session)
        history = None if options.no_history else env.history(config)
        result = run_recipe(
            recipe,
            session=session,
            params=params,
            dry_run=options.dry_run or options.plan_file is not None,
            trigger=trigger,
            history=history,
            sinks=sinks,
            sink_context=SinkContext(session, env.environ),
            policy=_write_policy(config, recipe.name, options),
        )
    finally:
        session.close()
        if history is not None:
            history.close()
    if options.plan_file is not None and result.status not in ("failed", "refused"):
        Plan.of(result).save(options.plan_file)
    emit(render(options.shown(result), options.fmt), options.output)
    if result.error:
        click.echo(f"pdrun: error: run {result.status}: {result.error}", err=True)
    return options.shown(result).exit_code(options.fail_on)


def _write_policy(config: pdconfig.Config, recipe: str, options: RunOptions) -> WritePolicy:
    cap = options.max_writes if options.max_writes is not None else config.max_writes(recipe)
    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    return WritePolicy(
        max_writes=DEFAULT_MAX_WRITES if cap is None else cap,
        confirm=_confirm if interactive else None,
        assume_yes=options.yes,
    )


def _confirm(planned: Sequence[Action]) -> bool:
    """Show a large plan on the terminal and ask before making it."""
    changes = sum(a.changes for a in planned)
    click.echo(f"pdrun will make {len(planned)} write requests changing {changes} objects:", err=True)
    for action in planned[:10]:
        click.echo(f"  {action.method} {action.path}", err=True)
    if len(planned) > 10:
        click.echo(f"  ... and {len(planned) - 10} more", err=True)
    return click.confirm("Go ahead?", default=False, err=True)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pdrun")


# The commands beyond running one recipe (audit, apply, serve, schedules, history) register themselves.
from runner import commands  # noqa: E402, F401

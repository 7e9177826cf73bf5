"""The `pdrun` command group: plugins' commands (pdrun's own among them), then every recipe as a command."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from runner import log as pdlog
from runner.cli.options import CONFIG_HELP, current_launcher, run_option_names
from runner.errors import EXIT_FAILED, EXIT_INTERRUPTED, PdrunError, UsageError, suggest
from runner.launch import Launcher
from runner.plugins import DISABLE_ENV


class PdrunGroup(click.Group):
    """Commands registered through `pdrun_commands`, then recipes; errors end in one line and an exit code."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        """Run the command line; a usage error is one line on stderr and exit 2, as pdrun's own errors are."""
        try:
            result = super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as exc:
            where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
            click.echo(f"pdrun: error: {exc.format_message()}{where}", err=True)
            result = exc.exit_code
        except click.ClickException as exc:
            click.echo(f"pdrun: error: {exc.format_message()}", err=True)
            result = exc.exit_code
        except click.Abort:
            click.echo("pdrun: interrupted", err=True)
            result = EXIT_INTERRUPTED
        code = result if isinstance(result, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:  # `pdrun` alone asks what pdrun does: the help, exit 0
            click.echo(ctx.get_help())
            ctx.exit(0)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PdrunError as exc:
            click.echo(f"pdrun: error: {pdlog.redact(str(exc))}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("pdrun: interrupted", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            owner = _third_party_owner(ctx, ctx.invoked_subcommand)
            if owner is None:  # pdrun's own bug: its traceback is what a report needs
                raise
            what = " ".join(f"{type(exc).__name__}: {exc}".split())
            click.echo(f"pdrun: error: {owner} crashed: {pdlog.redact(what)}", err=True)
            ctx.exit(EXIT_FAILED)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        registry = _launcher(ctx).registry()
        for title, names in (("Commands", sorted(registry.commands)), ("Recipes", sorted(registry.recipes))):
            rows = [(name, self.get_command(ctx, name).get_short_help_str(60)) for name in names]
            with formatter.section(title):
                formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        registry = _launcher(ctx).registry()
        return [*sorted(registry.commands), *sorted(registry.recipes)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        registry = _launcher(ctx).registry()
        if name in registry.commands:
            return registry.commands[name]
        recipe = registry.recipes.get(name)
        if recipe is None:
            return None
        from runner.cli.recipes import recipe_command

        return recipe_command(recipe)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0]
        if not name.startswith("-") and self.get_command(ctx, name) is None:
            raise UsageError(
                f"no command or recipe named {name!r}{suggest(name, self.list_commands(ctx))};"
                " 'pdrun list' shows the recipes"
            )
        return super().resolve_command(ctx, args)


def _third_party_owner(ctx: click.Context, name: str | None) -> str | None:
    """Say which installed plugin's command or recipe `name` is ("recipe 'x' of plugin 'y'"); None for pdrun's own."""
    for plugin in _launcher(ctx).registry().plugins:
        if plugin.source != "built-in" and name in (*plugin.commands, *plugin.recipes):
            kind = "command" if name in plugin.commands else "recipe"
            return f"{kind} {name!r} of plugin {plugin.name!r}"
    return None


def _launcher(ctx: click.Context) -> Launcher:
    """This invocation's launcher, told before it loads any plugin which to leave out and which names to keep."""
    root = ctx.find_root()
    launcher = root.ensure_object(Launcher)
    launcher.disabled = tuple(root.params.get("disabled_plugins") or ())
    launcher.reserved_params = run_option_names()
    return launcher


@click.group(cls=PdrunGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pdrun", prog_name="pdrun")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help=CONFIG_HELP)
@click.option("--disable-plugin", "disabled_plugins", multiple=True, metavar="NAME",
              help=f"Leave this plugin out (repeatable; also ${DISABLE_ENV}=name,...).")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, disabled_plugins: tuple[str, ...]) -> None:
    """pdrun runs automation recipes against a PagerDuty account.

    Run a recipe with `pdrun RECIPE [OPTIONS]`; `pdrun list` shows them all and
    `pdrun describe RECIPE` explains one. Try any recipe on the built-in
    sandbox account with --sandbox.

    Exit codes: 0 ran clean, 1 ran and reported findings, 2 usage or
    configuration error, 3 the run failed, 130 interrupted.
    """
    ctx.meta["config_path"] = config_path


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pdrun", obj=Launcher())


__all__ = ["cli", "current_launcher", "main"]

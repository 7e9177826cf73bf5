"""What the commands share: the launcher, config loading, common options, confirmation, and output."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from runner import log as pdlog
from runner.cli.exit_codes import FAIL_ON
from runner.errors import UsageError
from runner.launch import ACCOUNT_ENV, Consent, Launcher, Target
from runner.plugins import NOT_INSTALLED
from runner.policy import CONFIRM_ABOVE, DEFAULT_MAX_WRITES
from runner.report import FORMATS, is_special, write_whole

if TYPE_CHECKING:
    from runner.config import Config
    from runner.results import Action, RunResult

LISTING_FORMATS = ("table", "json")  # lists of recipes, runs and schedules
CONFIG_HELP = "Configuration file (default: $PDRUN_CONFIG, then ./config.toml)."


def current_launcher() -> Launcher:
    """The launcher of this invocation (tests hand their own to click as `obj`)."""
    return click.get_current_context().find_root().ensure_object(Launcher)


def load_config(path: Path | None) -> Config:
    """Load the configuration (this command's --config, else the group's), then set up logging from it.

    Plugins that failed to load are logged here, once logging goes where the config says.
    """
    given = path or click.get_current_context().find_root().meta.get("config_path")
    launcher = current_launcher()
    config = launcher.config(given)
    pdlog.configure(format=config.logging.format, level=config.logging.level)
    import structlog

    registry = launcher.registry()
    for plugin in registry.broken:
        structlog.get_logger().warning("plugin.broken", plugin=plugin.name, source=plugin.source, error=plugin.error)
    for name in registry.not_installed:
        structlog.get_logger().warning("plugin.not_installed", plugin=name, error=NOT_INSTALLED)
    return config


@dataclass(frozen=True)
class RunOptions:
    """How a run from the command line is recorded, shown, judged and consented to."""

    fmt: str = "table"
    output: Path | None = None
    no_history: bool = False
    new_only: bool = False
    fail_on: str = "any"
    sinks: tuple[str, ...] = ()
    team: str | None = None
    dry_run: bool = False
    plan_file: Path | None = None
    max_writes: int | None = None
    yes: bool = False
    resend_unknown: bool = False

    def consent(self) -> Consent:
        """What this command line agrees to; on a terminal, large plans are shown and asked about."""
        interactive = sys.stdin.isatty() and sys.stderr.isatty()
        return Consent(max_writes=self.max_writes, yes=self.yes, confirm=_confirm if interactive else None,
                       resend_unknown=self.resend_unknown)

    def shown(self, result: RunResult) -> RunResult:
        """The part of a result to show: one team's objects, or only new findings, when asked."""
        if self.team:
            from runner.audit import scoped

            result = scoped(result, self.team)
        if self.new_only:
            result = dataclasses.replace(result, findings=tuple(f for f in result.findings if f.state != "open"))
        return result


def _confirm(planned: Sequence[Action]) -> bool:
    """Show a large plan on the terminal and ask before making it."""
    from runner.write_words import describe_action

    changes = sum(a.changes for a in planned)
    click.echo(f"pdrun will make {len(planned)} write requests changing {changes} objects:", err=True)
    for action in planned[:10]:
        click.echo(f"  {describe_action(action)}", err=True)
    if len(planned) > 10:
        click.echo(f"  ... and {len(planned) - 10} more", err=True)
    return click.confirm("Go ahead?", default=False, err=True)


def check_output(path: Path | None, option: str = "--output") -> None:
    """Refuse an --output (or another `option` naming a file to write) that cannot be written, before anything
    runs (so nothing is written for nothing)."""
    if path is None:
        return
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a directory")
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: no such directory {folder}")
    if (not is_special(path) and not os.access(folder, os.W_OK)) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{option} {path}: not writable")


def emit(text: str, output: Path | None) -> None:
    """Print the result, or write it whole to `output`; if that fails now, print it and say so."""
    if output is None:
        click.echo(text)
        return
    try:
        write_whole(output, text + "\n")
    except UsageError as exc:  # the run already happened: its result must not be lost
        click.echo(text)
        click.echo(f"pdrun: error: {exc}; the result is printed above instead", err=True)


def target(sandbox: bool, base_url: str | None, account: str | None = None, *, accounts: Sequence[str] = (),
           all_accounts: bool = False) -> Target:
    """The target the command line names: one `account`, or several `accounts` (or all of them)."""
    return Target(sandbox=sandbox, base_url=base_url, accounts=(account,) if account else tuple(accounts),
                  all_accounts=all_accounts)


def config_option() -> click.Option:
    return click.Option(["--config", "config_path"], type=click.Path(dir_okay=False, path_type=Path), help=CONFIG_HELP)


def target_options(*, several: bool = False) -> list[click.Option]:
    """--sandbox, --base-url and --account; with `several`, --account is repeatable and --all-accounts added."""
    options = [
        click.Option(["--sandbox"], is_flag=True, help="Use the built-in sandbox account, in process."),
        click.Option(
            ["--base-url"],
            metavar="URL",
            help="PagerDuty API base URL, e.g. a `pdrun sandbox serve` on http://127.0.0.1:8089.",
        ),
    ]
    if not several:
        return [*options, click.Option(["--account"], metavar="NAME", help=f"The account ([accounts.NAME] in"
                                       f" config.toml) to use (default: ${ACCOUNT_ENV}, else [pagerduty]).")]
    return [
        *options,
        click.Option(["--account", "accounts"], multiple=True, metavar="NAME", help="An account ([accounts.NAME]"
                     f" in config.toml) to use; repeatable (default: ${ACCOUNT_ENV}, else [pagerduty])."),
        click.Option(["--all-accounts"], is_flag=True, help="Use every account config.toml names."),
    ]


def output_options() -> list[click.Option]:
    return [
        click.Option(["--format", "fmt"], type=click.Choice(FORMATS), default="table", show_default=True),
        click.Option(
            ["--output", "-o", "output"],
            type=click.Path(dir_okay=False, path_type=Path),
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


def sink_option() -> click.Option:
    return click.Option(["--sink", "sinks"], multiple=True, metavar="NAME", help="Also send the result to this sink.")


def write_options(*, plan: bool) -> list[click.Option]:
    """Options of commands that write: the cap, the confirmation, resending, and (for recipes) dry runs and plans."""
    options = [
        click.Option(
            ["--max-writes"],
            type=click.IntRange(0, 1_000_000),
            help=f"Refuse a plan changing more objects than this (default: [recipes.<name>] max_writes,"
            f" else {DEFAULT_MAX_WRITES}).",
        ),
        click.Option(["--yes", "-y"], is_flag=True, help=f"Confirm plans changing more than {CONFIRM_ABOVE} objects."),
        click.Option(
            ["--resend-unknown"],
            is_flag=True,
            help="Send again writes an earlier run left unknown (sent, but no answer came back), once you have"
            " checked PagerDuty does not show them.",
        ),
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


def with_options(*made: click.Option) -> Callable[[click.Command], click.Command]:
    """Add ready-made options to a command (shared by built-in and recipe commands)."""

    def decorate(command: click.Command) -> click.Command:
        command.params.extend(made)
        return command

    return decorate


def run_option_names() -> frozenset[str]:
    """The names every recipe command's own options take, which no recipe parameter may take.

    A parameter `x` becomes `--x` (and `--no-x` for a flag), so both the
    options' names and their flags' are reserved: `format` as well as `fmt`.
    """
    options = [*target_options(), config_option(), *output_options(), sink_option(), *write_options(plan=True)]
    flags = [flag.removeprefix("--").removeprefix("no-") for o in options for flag in o.opts if flag.startswith("--")]
    return frozenset({"help", *(o.name for o in options if o.name), *(f.replace("-", "_") for f in flags)})

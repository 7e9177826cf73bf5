"""`pdrun serve`: run the configured schedules until SIGTERM or SIGINT."""

from __future__ import annotations

from pathlib import Path

import click

from runner import hookimpl
from runner.cli.options import config_option, current_launcher, load_config, target, target_options, with_options
from runner.errors import UsageError


@with_options(*target_options(), config_option())
@click.command()
@click.option("--http", metavar="[HOST:]PORT", help="Serve /healthz, /readyz, /metrics and /report here (HOST"
              " defaults to 127.0.0.1; another address only when given, e.g. 0.0.0.0:9100).")
def serve(sandbox: bool, base_url: str | None, account: str | None, config_path: Path | None,
          http: str | None) -> None:
    """Run the [[schedule]]s of config.toml until SIGTERM or SIGINT.

    Each fire runs like `pdrun RECIPE` and is recorded in the history. A
    schedule runs on its `account` (each of its `accounts`), else on
    --account's; each account has a session and rate budget of its own. A fire
    that finds its schedule's previous run (on that account) still going is
    recorded as skipped. On SIGTERM, running runs get [runner] shutdown_grace_s seconds;
    those still going are recorded as interrupted. SIGHUP reloads the
    schedules from config.toml (an invalid file is logged and ignored).

    Any number of `pdrun serve` on one history act as one: each fire runs
    once, on one of them; on PostgreSQL one fires at a time and another
    takes over within seconds when it stops.
    """
    from runner.daemon import Daemon, serve_forever
    from runner.health import parse_address, serving
    from runner.schedules import build_schedules

    address = parse_address(http) if http else None
    launcher = current_launcher()
    config = load_config(config_path)
    schedules = build_schedules(config, launcher, account)
    used = tuple(dict.fromkeys(s.account for s in schedules if s.enabled))
    if not used:
        raise UsageError(f"{config.source}: no enabled [[schedule]] table: nothing to serve")
    with launcher.open_each(config, target(sandbox, base_url, accounts=used)) as launches:
        daemon = Daemon(launches={launch.session.account_name: launch for launch in launches}, schedules=schedules,
                        misfire_grace_s=config.runner.misfire_grace_s)
        with serving(address, daemon):
            serve_forever(
                daemon,
                reload=lambda: build_schedules(load_config(config_path), launcher, account),
                grace_s=config.runner.shutdown_grace_s,
            )


@hookimpl
def pdrun_commands(register):
    register(serve)

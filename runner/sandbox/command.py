"""`pdrun sandbox serve`: the sandbox account over HTTP on loopback, until SIGINT or SIGTERM."""

from __future__ import annotations

import ipaddress

import click
import structlog

from runner import log as pdlog
from runner.errors import UsageError
from runner.sandbox import SANDBOX_TOKEN, Faults, SandboxApp, load_profile
from runner.sandbox.server import serve as serve_http

log = structlog.get_logger()


@click.group()
def sandbox() -> None:
    """Run the built-in PagerDuty sandbox."""
    pdlog.configure()  # logs to stderr: stdout carries only what scripts read


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8089, show_default=True, help="0 picks a free port.")
@click.option("--profile", default="demo", show_default=True, help="demo, large, or a .toml or .json account file.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the large profile and of the faults.")
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0, help="Delay every request this long.")
@click.option("--rate-limit", type=click.IntRange(min=0), default=0, help="Requests per minute per token (0: none).")
@click.option("--fail-rate", type=click.FloatRange(0, 1), default=0, help="Share of requests answered 500, 502 or 503.")
@click.option("--drop-rate", type=click.FloatRange(0, 1), default=0, help="Share of requests left unanswered.")
def serve(
    host: str,
    port: int,
    profile: str,
    seed: int,
    latency_ms: float,
    rate_limit: int,
    fail_rate: float,
    drop_rate: float,
) -> None:
    """Serve a sandbox account over HTTP until SIGINT or SIGTERM.

    Prints `url: ...` and `token: ...` on start. Point pdrun at it with
    --base-url URL and the token in PAGERDUTY_API_TOKEN; writes last as long
    as the server runs.
    """
    if not _is_loopback(host):
        raise UsageError(f"--host {host}: the sandbox serves on loopback only (127.0.0.1, ::1 or localhost)")
    try:
        account = load_profile(profile, seed=seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    faults = Faults(latency_ms=latency_ms, rate_limit=rate_limit, fail_rate=fail_rate, drop_rate=drop_rate, seed=seed)
    app = SandboxApp(account, faults=faults)

    def ready(url: str) -> None:
        click.echo(f"url: {url}\ntoken: {SANDBOX_TOKEN}")
        click.get_text_stream("stdout").flush()
        log.info(
            "sandbox.serving",
            url=url,
            profile=profile,
            seed=seed,
            latency_ms=latency_ms,
            rate_limit=rate_limit,
            fail_rate=fail_rate,
            drop_rate=drop_rate,
        )

    try:
        serve_http(app, host, port, ready=ready)
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    log.info("sandbox.stopped", requests=len(app.exchanges))


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

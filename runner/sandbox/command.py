"""`pdrun sandbox serve`: the sandbox account over HTTP on loopback, until SIGINT or SIGTERM."""

from __future__ import annotations

import ipaddress
import ssl
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import click
import structlog

from runner import log as pdlog
from runner.errors import UsageError
from runner.sandbox import SANDBOX_TOKEN, Faults, SandboxApp, load_profile
from runner.sandbox.builder import check_subdomain
from runner.sandbox.server import serve as serve_http
from runner.sandbox.tls import server_context

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
@click.option("--scale", type=click.FloatRange(0.01, 10), default=1.0, show_default=True,
              help="Multiply the number of each object of the large profile.")
@click.option("--latency-ms", type=click.FloatRange(min=0), default=0, help="Delay every request this long.")
@click.option("--rate-limit", type=click.IntRange(min=0), default=0, help="Requests per minute per token (0: none).")
@click.option("--fail-rate", type=click.FloatRange(0, 1), default=0, help="Share of requests answered 500, 502 or 503.")
@click.option("--drop-rate", type=click.FloatRange(0, 1), default=0, help="Share of requests left unanswered.")
@click.option("--tls", is_flag=True, help="Serve HTTPS with a certificate made at start-up; prints its CA file.")
@click.option("--public-url", help="The URL clients reach it at, if not the one it listens on (for self links).")
@click.option("--subdomain", help="The account's subdomain, as html_url shows it.  [default: the profile's]")
@click.option("--token", default=SANDBOX_TOKEN, show_default=True, help="The account token it accepts.")
def serve(
    host: str,
    port: int,
    profile: str,
    seed: int,
    scale: float,
    latency_ms: float,
    rate_limit: int,
    fail_rate: float,
    drop_rate: float,
    tls: bool,
    public_url: str | None,
    subdomain: str | None,
    token: str,
) -> None:
    """Serve a sandbox account over HTTP (or HTTPS with --tls) until SIGINT or SIGTERM.

    Prints `url: ...` and `token: ...` on start, and with --tls `ca: ...`, the
    CA certificate file clients must trust. Point pdrun at it with --base-url
    URL and the token in PAGERDUTY_API_TOKEN; writes last as long as the
    server runs.
    """
    if not _is_loopback(host):
        raise UsageError(f"--host {host}: the sandbox serves on loopback only (127.0.0.1, ::1 or localhost)")
    if public_url is not None and not _is_base_url(public_url):
        raise UsageError(f"--public-url {public_url}: expected an http:// or https:// URL with a host and no query")
    if not token.strip() or any(char.isspace() for char in token):
        raise UsageError("--token: expected a token without spaces")
    if subdomain is not None:
        try:
            check_subdomain(subdomain)
        except ValueError as exc:
            raise UsageError(f"--subdomain {subdomain}: {exc}") from None
    try:
        account = load_profile(profile, seed=seed, subdomain=subdomain, scale=scale)
        faults = Faults(latency_ms=latency_ms, rate_limit=rate_limit, fail_rate=fail_rate, drop_rate=drop_rate,
                        seed=seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    app = SandboxApp(account, token=token, faults=faults)
    with tempfile.TemporaryDirectory(prefix="pdrun-sandbox-") as scratch:
        ca_file = Path(scratch) / "ca.pem"
        context = _tls_context(ca_file) if tls else None

        def ready(url: str) -> None:
            app.public_url = (public_url or url).rstrip("/")
            click.echo(f"url: {app.public_url}\ntoken: {token}" + (f"\nca: {ca_file}" if tls else ""))
            click.get_text_stream("stdout").flush()
            log.info(
                "sandbox.serving",
                url=app.public_url,
                profile=profile,
                subdomain=account.subdomain,
                tls=tls,
                seed=seed,
                scale=scale,
                latency_ms=latency_ms,
                rate_limit=rate_limit,
                fail_rate=fail_rate,
                drop_rate=drop_rate,
            )

        try:
            serve_http(app, host, port, tls=context, ready=ready)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    log.info("sandbox.stopped", requests=len(app.exchanges))


def _tls_context(ca_file: Path) -> ssl.SSLContext:
    try:
        return server_context(ca_file)
    except RuntimeError as exc:
        raise UsageError(f"--tls: {exc}") from None


def _is_base_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.query and not parts.fragment


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

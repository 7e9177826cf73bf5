"""Sessions on an in-process sandbox app with any token, sender and retry budget, sleeping never."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import httpx2

from runner.config import Config, PagerDutyConfig
from runner.launch import Launch, Launcher, Target
from runner.sandbox import SANDBOX_BASE_URL, SANDBOX_TOKEN
from runner.sandbox.demo import DEMO_FROM_EMAIL
from runner.session import Session, connect


def session_for(
    app,
    *,
    token: str = SANDBOX_TOKEN,
    sleeps: list[float] | None = None,
    retries: int = 3,
    from_email: str | None = DEMO_FROM_EMAIL,
) -> Session:
    return Session(
        token=token,
        token_source="$PAGERDUTY_API_TOKEN",
        url=SANDBOX_BASE_URL,
        events_url=SANDBOX_BASE_URL,
        from_email=from_email,
        timeout=7.5,
        retries=retries,
        transport=httpx2.WSGITransport(app=app),
        sleep=(sleeps if sleeps is not None else []).append,
    )


def sandbox_session(app, config: PagerDutyConfig | None = None, **timing) -> Session:
    """The session `--sandbox` opens, on `app`, with `config`'s settings; `timing` passes sleep and clock."""
    return connect(config or PagerDutyConfig(), token=SANDBOX_TOKEN, token_source="the sandbox",
                   url=SANDBOX_BASE_URL, transport=httpx2.WSGITransport(app=app), **timing)


@contextlib.contextmanager
def sandbox_launch(app, config: Config | None = None, **launcher) -> Iterator[Launch]:
    """A launch on `app` as `--sandbox` opens it, without a history unless `config` names one."""
    chosen = Launcher(environ={}, sandbox_app=lambda: app, sleep=lambda seconds: None, **launcher)
    with chosen.open(config or Config(), Target(sandbox=True), history=config is not None) as launch:
        yield launch

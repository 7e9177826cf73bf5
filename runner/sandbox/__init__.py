"""An in-memory PagerDuty account served as a WSGI app: deterministic, offline, spec-shaped.

Reach it in process with `httpx2.WSGITransport(app=demo_app())` and base URL
`SANDBOX_BASE_URL`, authenticating with `SANDBOX_TOKEN`. This package uses the
standard library only.
"""

from __future__ import annotations

from runner.sandbox.account import SANDBOX_BASE_URL, Account
from runner.sandbox.app import SANDBOX_TOKEN, Exchange, SandboxApp
from runner.sandbox.demo import demo_account, demo_app

__all__ = [
    "SANDBOX_BASE_URL",
    "SANDBOX_TOKEN",
    "Account",
    "Exchange",
    "SandboxApp",
    "demo_account",
    "demo_app",
]

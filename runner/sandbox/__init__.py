"""An in-memory PagerDuty account served as a WSGI app: deterministic, offline, spec-shaped.

Reach it in process with `httpx2.WSGITransport(app=demo_app())` and base URL
`SANDBOX_BASE_URL`, authenticating with `SANDBOX_TOKEN`; serve it over HTTP
or HTTPS with `pdrun sandbox serve`. Build other accounts with `load_profile`
or the `Account` methods, and inject latency, rate limits and errors with
`Faults`. This package uses the standard library only (and `trustme` for
HTTPS, imported when asked for).
"""

from __future__ import annotations

from runner.sandbox.account import Account
from runner.sandbox.app import SANDBOX_TOKEN, Exchange, SandboxApp
from runner.sandbox.demo import demo_account, demo_app
from runner.sandbox.faults import Faults
from runner.sandbox.objects import SANDBOX_BASE_URL
from runner.sandbox.profiles import load_profile

__all__ = [
    "SANDBOX_BASE_URL",
    "SANDBOX_TOKEN",
    "Account",
    "Exchange",
    "Faults",
    "SandboxApp",
    "demo_account",
    "demo_app",
    "load_profile",
]

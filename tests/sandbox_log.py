"""What the sandbox's request log says was sent to it: every request but a read."""

from __future__ import annotations

import json
from typing import Any

from runner.sandbox.app import Exchange, SandboxApp


def writes(sandbox: SandboxApp) -> list[Exchange]:
    """Every request the sandbox served that was not a GET."""
    return [e for e in sandbox.exchanges if e.method != "GET"]


def sent(sandbox: SandboxApp) -> list[tuple[str, str, Any]]:
    """Each write as (method, path, its JSON body or None)."""
    return [(e.method, e.path, json.loads(e.body) if e.body else None) for e in writes(sandbox)]

"""Sandbox profiles: `demo`, `large`, or an account described in a TOML or JSON file.

The file format is documented in docs/sandbox.md; an example lies in
`runner/sandbox/examples/`.
"""

from __future__ import annotations

import json
import time
import tomllib
from datetime import datetime
from pathlib import Path

from runner.sandbox.account import Account
from runner.sandbox.builder import build_account, check_subdomain
from runner.sandbox.clock import Ticks
from runner.sandbox.demo import demo_account
from runner.sandbox.large import SIZES, large_account
from runner.sandbox.objects import DEFAULT_SUBDOMAIN

PROFILES = ("demo", "large")


def load_profile(
    name_or_path: str,
    *,
    seed: int = 0,
    now: datetime | None = None,
    clock: Ticks = time.monotonic,
    subdomain: str | None = None,
    scale: float = 1.0,
) -> Account:
    """Build the account of a profile as it stands at `now`, its clock then moving on as `clock` ticks.

    `seed` varies the generated `large` profile, and `scale` multiplies the
    number of each of its objects; the others take neither.
    `subdomain` overrides the profile's (default: pdrun-sandbox). A bad file or
    subdomain raises ValueError naming the file and the key.
    """
    if subdomain is not None:
        try:
            check_subdomain(subdomain)
        except ValueError as exc:
            raise ValueError(f"subdomain: {exc}") from None
    if name_or_path == "large":
        sizes = {kind: max(1, round(count * scale)) for kind, count in SIZES.items()}
        return large_account(seed=seed, now=now, clock=clock, subdomain=subdomain or DEFAULT_SUBDOMAIN, sizes=sizes)
    if scale != 1.0:
        raise ValueError(f"scale: only the large profile can be scaled, not {name_or_path!r}")
    if name_or_path == "demo":
        return demo_account(now=now, clock=clock, subdomain=subdomain)
    path = Path(name_or_path)
    if path.suffix not in (".toml", ".json"):
        raise ValueError(f"unknown profile {name_or_path!r}: use {' or '.join(PROFILES)}, or a .toml or .json file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the profile: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        description = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise ValueError(f"{path}: invalid {path.suffix[1:].upper()}: {exc}") from None
    return build_account(description, source=str(path), now=now, clock=clock, subdomain=subdomain)

"""Saved plans: the writes of a dry run, replayed by `pdrun apply` on the same account, within the recipe's declaration.

A plan names its account by identity (`runner.results.account_identity`):
the default account by its base URL, a named one as name@URL.

Nothing in a plan file is trusted: `apply` refuses any action the installed
recipe does not declare, any path off the account's API, and a plan made
for another account; it counts what each write changes itself.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.errors import UsageError
from runner.recipe import TEMPLATE, WRITE_METHODS
from runner.results import account_name, account_url
from runner.report import write_whole

if TYPE_CHECKING:
    from runner.context import Context
    from runner.recipe import Recipe
    from runner.results import Finding, RunResult
    from runner.session import Session

PLAN_FORMAT = "pdrun-plan/2"


@dataclass(frozen=True)
class Plan:
    """The planned writes of one dry run, for one account."""

    recipe: str
    params: dict[str, Any]
    account: str
    subdomain: str | None
    run_id: str
    planned_at: str
    from_email: str
    actions: list[dict[str, Any]]

    @classmethod
    def of(cls, result: RunResult, *, subdomain: str | None, from_email: str) -> Plan:
        planned = [
            {"method": a.method, "path": a.path, "body": a.body, "once": a.once}
            for a in result.actions if a.status == "planned"
        ]
        return cls(result.recipe, result.to_dict()["params"], result.account, subdomain, result.run_id,
                   result.started_at, from_email, planned)

    def save(self, path: Path) -> None:
        """Write the plan whole (never a half-written file)."""
        write_whole(path, json.dumps({"format": PLAN_FORMAT, **dataclasses.asdict(self)}, indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Plan:
        """Read a plan file, or raise UsageError saying what is wrong with it."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot read the plan {path}: {exc.strerror}") from None
        except (ValueError, RecursionError) as exc:  # RecursionError: arrays or objects nested too deep
            raise UsageError(f"{path}: not a pdrun plan (invalid JSON: {exc})") from None
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise UsageError(f"{path}: not a pdrun plan (expected format {PLAN_FORMAT!r})")
        try:
            actions = [
                {"method": _typed(a, "method", str), "path": _typed(a, "path", str),
                 "body": _typed(a, "body", (dict, type(None))), "once": _typed(a, "once", bool)}
                for a in _typed(data, "actions", list)
            ]
            plan = cls(
                _typed(data, "recipe", str), _typed(data, "params", dict), _typed(data, "account", str),
                _typed(data, "subdomain", (str, type(None))), _typed(data, "run_id", str),
                _typed(data, "planned_at", str), _typed(data, "from_email", str), actions,
            )
        except (KeyError, TypeError) as exc:
            raise UsageError(f"{path}: damaged pdrun plan ({type(exc).__name__}: {exc})") from None
        if not plan.from_email.strip():
            raise UsageError(f"{path}: damaged pdrun plan (it names no From user)")
        for n, action in enumerate(plan.actions, 1):
            if action["method"] not in WRITE_METHODS or not TEMPLATE.fullmatch(action["path"]):
                raise UsageError(f"{path}: action #{n} is not a PagerDuty API write: {action['method']} {action['path']}")
        return plan

    def check_recipe(self, recipe: Recipe, path: Path) -> None:
        """Refuse a plan holding a write its recipe, as installed here, does not declare."""
        for n, action in enumerate(self.actions, 1):
            if not recipe.may_write(action["method"], action["path"]):
                declared = ", ".join(str(rule) for rule in recipe.writes) or "none"
                raise UsageError(
                    f"{path}: action #{n} ({action['method']} {action['path']}) is not a write recipe"
                    f" {recipe.name!r} declares (it declares: {declared}); refusing the whole plan"
                )

    def check_account(self, session: Session, path: Path) -> None:
        """Refuse to apply a plan made for another account: another name or base URL, or (by what PagerDuty
        says of its objects) another subdomain, since every US account shares one base URL."""
        same = session.account == self.account
        subdomain = session.subdomain() if same and self.subdomain else None
        if not same or subdomain != self.subdomain:
            planned = _account(self.account, self.subdomain)
            here = _account(session.account, subdomain) if same else _account(session.account)
            raise UsageError(f"{path} was planned for {planned} (run {self.run_id}); this session is {here}:"
                             " refusing to apply it elsewhere")

    def replay(self, recipe: Recipe) -> Recipe:
        """`recipe` planning exactly this plan's writes, so its declaration still holds for each."""

        def replay(ctx: Context) -> Iterator[Finding]:
            for action in self.actions:
                ctx.write(action["method"], action["path"], action["body"], once=action["once"])
            return iter(())

        return dataclasses.replace(recipe, func=replay, summary=f"Apply plan of run {self.run_id}")


def _account(identity: str, subdomain: str | None = "") -> str:
    """An account as a refusal names it: `account 'eu' (https://api.eu.pagerduty.com, subdomain acme)`."""
    known = "" if subdomain == "" else f", subdomain {subdomain or 'unknown'}"
    return f"account {account_name(identity)!r} ({account_url(identity)}{known})"


def _typed(data: Any, key: str, kind: type | tuple[type, ...]) -> Any:
    """`data[key]`, if `data` is an object and the value has the expected type; else TypeError naming it."""
    if not isinstance(data, dict):
        raise TypeError(f"expected an object, got {type(data).__name__}")
    value = data[key]
    if not isinstance(value, kind):
        raise TypeError(f"{key!r} is {type(value).__name__}")
    return value

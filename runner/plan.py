"""Saved plans: what a dry run would write, replayed exactly by `pdrun apply` on the same account."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.context import Context
from runner.errors import UsageError
from runner.recipe import Finding, Recipe, RunResult
from runner.report import write_whole

PLAN_FORMAT = "pdrun-plan/1"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_PATH = re.compile(r"/[A-Za-z0-9_\-/]+")  # a path on the account's API, never another host


@dataclass(frozen=True)
class Plan:
    """The planned writes of one dry run, for one account."""

    recipe: str
    params: dict[str, Any]
    account: str
    run_id: str
    actions: list[dict[str, Any]]

    @classmethod
    def of(cls, result: RunResult) -> Plan:
        planned = [a.to_dict() for a in result.actions if a.status == "planned"]
        return cls(result.recipe, result.to_dict()["params"], result.account, result.run_id, planned)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "recipe": self.recipe,
            "params": self.params,
            "account": self.account,
            "run_id": self.run_id,
            "actions": [
                {k: a[k] for k in ("method", "path", "headers", "body", "changes", "once")} for a in self.actions
            ],
        }

    def save(self, path: Path) -> None:
        """Write the plan whole (never a half-written file)."""
        write_whole(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Plan:
        """Read a plan file, or raise UsageError saying what is wrong with it."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise UsageError(f"cannot read the plan {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise UsageError(f"{path}: not a pdrun plan (invalid JSON: {exc})") from None
        if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
            raise UsageError(f"{path}: not a pdrun plan (expected format {PLAN_FORMAT!r})")
        try:
            actions = [
                {"method": str(a["method"]), "path": str(a["path"]), "headers": dict(a["headers"]),
                 "body": a["body"], "changes": int(a["changes"]), "once": bool(a["once"])}
                for a in data["actions"]
            ]
            plan = cls(str(data["recipe"]), dict(data["params"]), str(data["account"]), str(data["run_id"]), actions)
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{path}: damaged pdrun plan ({type(exc).__name__}: {exc})") from None
        for n, action in enumerate(plan.actions, 1):
            if action["method"] not in WRITE_METHODS or not API_PATH.fullmatch(action["path"]):
                raise UsageError(f"{path}: action #{n} is not a PagerDuty API write: {action['method']} {action['path']}")
            if action["changes"] < 1 or not action["headers"].get("From"):
                raise UsageError(f"{path}: action #{n} is damaged (it needs a From header and changes >= 1)")
        return plan

    def check_account(self, account: str, path: Path) -> None:
        """Refuse to apply a plan made for another account or base URL."""
        if account != self.account:
            raise UsageError(
                f"{path} was planned for {self.account} (run {self.run_id}); this session is {account}:"
                " refusing to apply it elsewhere"
            )

    def replay(self) -> Recipe:
        """A write recipe that plans exactly this plan's writes, with their recorded headers."""

        def replay(ctx: Context) -> Iterator[Finding]:
            for action in self.actions:
                ctx.write(
                    action["method"], action["path"], action["body"], changes=action["changes"],
                    once=action["once"], headers=action["headers"],
                )
            return iter(())

        return Recipe(name=self.recipe, func=replay, summary=f"Apply plan of run {self.run_id}", writes=True)


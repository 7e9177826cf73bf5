"""What a run produces: findings about objects, the writes it planned or made, and the run's result."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

SEVERITIES = ("info", "warning", "error", "critical")


def plain_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as JSON has them (repeatable values as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


DEFAULT_ACCOUNT = "default"
# An account's name, as `[accounts.<name>]` gives it: what a PagerDuty subdomain may be.
ACCOUNT_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def account_identity(name: str, url: str) -> str:
    """How runs, findings and write claims know an account: the default one by its base URL, any other as name@URL.

    The default account keeps the identity it had before accounts had names,
    so a history's memory of it goes on; a named account is told apart from
    every other, even where all share PagerDuty's one US base URL.
    """
    return url if name == DEFAULT_ACCOUNT else f"{name}@{url}"


def account_name(identity: str) -> str:
    """The name of the account an identity (from `account_identity`) stands for."""
    name, at, url = identity.partition("@")
    return name if at and ACCOUNT_NAME.fullmatch(name) and url.startswith(("http://", "https://")) else DEFAULT_ACCOUNT


def account_url(identity: str) -> str:
    """The base URL of the account an identity (from `account_identity`) stands for."""
    return identity.removeprefix(f"{account_name(identity)}@")


def run_key(account: str, recipe: str, params: Mapping[str, Any]) -> str:
    """Identify a recipe with its parameters on one account: runs with the same key are compared."""
    return _digest({"account": account, "recipe": recipe, "params": plain_params(params)}, 16)


def _digest(value: Any, length: int) -> str:
    """A stable short hash of a string, or of JSON data in its canonical form."""
    import hashlib  # loaded on first use: `pdrun --help`, `list` and `describe` never hash
    import json

    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def summarize(findings: Iterable[Finding], resolved: Iterable[Finding]) -> dict[str, int]:
    """Count findings new and still open since the previous run, and those resolved."""
    states = [f.state for f in findings]
    return {"new": states.count("new"), "open": states.count("open"), "resolved": len(list(resolved))}


@dataclass(frozen=True, kw_only=True)
class ObjectRef:
    """The PagerDuty object a finding is about, with the ids of the teams that own it and their names.

    `team_names` follows `teams`, name for id, as PagerDuty gave them ("" where it gave none).
    """

    type: str
    id: str
    summary: str = ""
    html_url: str | None = None
    teams: tuple[str, ...] = ()
    team_names: tuple[str, ...] = ()

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectRef:
        kind = str(obj.get("type", "")).removesuffix("_reference")
        owners = [obj] if kind == "team" else list(obj.get("teams") or ())
        return cls(type=kind, id=str(obj["id"]), summary=_name(obj), html_url=obj.get("html_url"),
                   teams=tuple(str(t["id"]) for t in owners), team_names=tuple(_name(t) for t in owners))

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any]) -> ObjectRef:
        """Read an object as `to_dict` wrote it (before team names were kept, without them)."""
        return cls(**{**stored, "teams": tuple(stored.get("teams", ())),
                      "team_names": tuple(stored.get("team_names", ()))})

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": self.id,
            "summary": self.summary,
            "html_url": self.html_url,
            "teams": list(self.teams),
            "team_names": list(self.team_names),
        }


def _name(obj: Mapping[str, Any]) -> str:
    return str(obj.get("summary") or obj.get("name") or obj.get("title") or "")


@dataclass(frozen=True, kw_only=True)
class Finding:
    """Something a recipe found, with a fingerprint that is stable across runs."""

    recipe: str
    rule: str
    severity: str
    message: str
    object: ObjectRef
    state: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, got {self.severity!r}")

    @cached_property
    def fingerprint(self) -> str:
        key = "\0".join((self.recipe, self.rule, self.object.type, self.object.id))
        return _digest(key, 16)

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "object": self.object.to_dict(),
            "state": self.state,
        }


@dataclass(frozen=True)
class Row:
    """One row of a report, by column name."""

    values: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class Action:
    """One write request a recipe planned, and what became of it.

    `changes` is how many PagerDuty objects the request changes (a bulk
    update changes many), counted by pdrun from the request itself; caps
    count changes, not requests. A `once` write is one PagerDuty keeps no
    trace of that pdrun could check: its record in the history is what keeps
    it from being made twice.
    """

    method: str
    path: str
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    # planned, done, failed, skipped, or unknown: the request may have reached PagerDuty, but no answer came back.
    status: str = "planned"
    error: str | None = None
    changes: int = 1
    once: bool = False

    @classmethod
    def plan(cls, method: str, path: str, body: Any, *, headers: Mapping[str, str], once: bool = False) -> Action:
        """A planned write, with the number of objects it changes counted from the request itself.

        A body holding lists of objects (`{"incidents": [...]}`) changes as
        many objects as its lists hold, whatever else it carries; any other
        write changes one.
        """
        lists = [value for value in body.values() if isinstance(value, list)] if isinstance(body, dict) else []
        changes = max(1, sum(len(items) for items in lists))
        return cls(method=method.upper(), path=path, body=body, headers=dict(headers), changes=changes, once=once)

    def key(self, account: str) -> str:
        """Identify this exact write on one account, so it is never done twice."""
        return _digest([account, self.method, self.path, self.body], 24)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "headers": dict(self.headers),
            "body": self.body,
            "status": self.status,
            "error": self.error,
            "changes": self.changes,
            "once": self.once,
        }


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """Everything one run of a recipe produced."""

    recipe: str
    run_id: str
    account: str
    key: str
    status: str
    dry_run: bool
    params: Mapping[str, Any]
    started_at: str
    finished_at: str
    findings: tuple[Finding, ...] = ()
    actions: tuple[Action, ...] = ()
    columns: tuple[str, ...] = ()
    rows: tuple[Mapping[str, Any], ...] = ()
    api_calls: int = 0
    error: str | None = None
    duration_ms: int = field(default=0, compare=False)
    resolved: tuple[Finding, ...] = ()
    summary: Mapping[str, int] | None = None
    # What the recipe raised, when it crashed: the testing kit raises it again; never stored or shown.
    exception: BaseException | None = field(default=None, compare=False, repr=False)

    @property
    def account_name(self) -> str:
        return account_name(self.account)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "run_id": self.run_id,
            "account": self.account,
            "account_name": self.account_name,
            "status": self.status,
            "dry_run": self.dry_run,
            "params": plain_params(self.params),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "findings": [f.to_dict() for f in self.findings],
            "actions": [a.to_dict() for a in self.actions],
            **({"columns": list(self.columns), "rows": [dict(row) for row in self.rows]} if self.columns else {}),
            "resolved": [f.to_dict() for f in self.resolved],
            "summary": dict(self.summary) if self.summary is not None else None,
            "stats": {"api_calls": self.api_calls},
            "error": self.error,
        }

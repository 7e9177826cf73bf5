"""Recipes, their parameters, and what a run produces: findings, actions, results."""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner.errors import EXIT_FAILED, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, UsageError

if TYPE_CHECKING:
    from runner.context import Context

SEVERITIES = ("info", "warning", "error", "critical")
PARAM_TYPES = (str, int, float, bool)
# Options every run command has; a recipe parameter may not take these names.
RESERVED_PARAMS = frozenset(
    {"sandbox", "base_url", "dry_run", "format", "fmt", "output", "config", "config_path", "no_history", "new_only",
     "fail_on", "sink", "sinks", "max_writes", "yes", "plan", "plan_file", "help"}
)


@dataclass(frozen=True, kw_only=True)
class Param:
    """One declared recipe parameter: drives CLI options, describe, and config checks."""

    name: str
    type: type = str
    help: str = ""
    default: Any = None
    required: bool = False
    multiple: bool = False
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in PARAM_TYPES:
            raise TypeError(f"parameter {self.name!r}: type must be one of str, int, float, bool")
        if not self.name.isidentifier():
            raise ValueError(f"parameter {self.name!r}: name must be a Python identifier")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def check(self, value: Any, *, where: str) -> Any:
        """Return a configured value if it fits this parameter, else raise UsageError naming `where`."""
        values = value if self.multiple and isinstance(value, list) else [value]
        if self.multiple and not isinstance(value, list):
            raise UsageError(f"{where}: expected a list of {self.type.__name__}")
        for item in values:
            if not _fits(item, self.type):
                raise UsageError(f"{where}: expected {self.type.__name__}, got {item!r}")
            if self.choices and item not in self.choices:
                raise UsageError(f"{where}: expected one of {', '.join(self.choices)}, got {item!r}")
        return tuple(values) if self.multiple else value


def check_table(params: Iterable[Param], table: Mapping[str, Any], *, source: str, owner: str) -> dict[str, Any]:
    """Check configured values against declared parameters: known names, right types."""
    declared = {p.name: p for p in params}
    checked = {}
    for key, value in table.items():
        if key not in declared:
            known = ", ".join(declared) or "none"
            raise UsageError(f"{source}: unknown parameter {key!r} ({owner} takes: {known})")
        checked[key] = declared[key].check(value, where=f"{source} {key}")
    return checked


def summarize(findings: Iterable[Finding], resolved: Iterable[Finding]) -> dict[str, int]:
    """Count findings new and still open since the previous run, and those resolved."""
    states = [f.state for f in findings]
    return {"new": states.count("new"), "open": states.count("open"), "resolved": len(list(resolved))}


def plain_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as JSON has them (repeatable values as lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}


def run_key(account: str, recipe: str, params: Mapping[str, Any]) -> str:
    """Identify a recipe with its parameters on one account: runs with the same key are compared."""
    canonical = json.dumps({"account": account, "recipe": recipe, "params": plain_params(params)}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _fits(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """A named automation: a function of a Context that yields findings or performs writes."""

    name: str
    func: Callable[[Context], Iterable[Finding] | None]
    summary: str
    description: str = ""
    params: tuple[Param, ...] = ()
    writes: bool = False
    tags: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()
    check: Callable[[Mapping[str, Any]], None] | None = None
    plugin: str = ""

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        clashes = RESERVED_PARAMS.intersection(names)
        if clashes:
            raise ValueError(f"recipe {self.name!r}: parameter names reserved by pdrun: {sorted(clashes)}")
        unknown = set(self.one_of) - set(names)
        if unknown:
            raise ValueError(f"recipe {self.name!r}: one_of names unknown parameters {sorted(unknown)}")

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def check_defaults(self, defaults: Mapping[str, Any], *, source: str) -> dict[str, Any]:
        """Check a configured `[recipes.<name>]` table: known parameter names, right types."""
        return check_table(self.params, defaults, source=source, owner=f"recipe {self.name!r}")

    def resolve_params(self, given: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
        """Merge CLI values over checked configured defaults over declared defaults; check the result.

        `given` holds command-line values (None or an empty tuple when absent).
        """
        params: dict[str, Any] = {}
        for p in self.params:
            value = given.get(p.name)
            if value is None or value == ():
                value = defaults.get(p.name, () if p.multiple and p.default is None else p.default)
            if p.required and (value is None or value == ()):
                raise UsageError(f"recipe {self.name!r} needs {p.flag}")
            params[p.name] = value
        if self.one_of and not any(params[n] not in (None, (), False) for n in self.one_of):
            flags = ", ".join(self.param(n).flag for n in self.one_of)
            raise UsageError(f"recipe {self.name!r} needs at least one of {flags}")
        if self.check is not None:
            self.check(params)
        return params


def recipe(
    name: str | None = None,
    *,
    params: Iterable[Param] = (),
    writes: bool = False,
    tags: Iterable[str] = (),
    one_of: Iterable[str] = (),
    check: Callable[[Mapping[str, Any]], None] | None = None,
) -> Callable[[Callable[..., Any]], Recipe]:
    """Declare a function as a recipe; its docstring's first line is the summary.

    `one_of` names parameters of which at least one must be given; `check`
    receives the resolved parameters before any API call and raises
    UsageError for combinations the declarations cannot express.
    """

    def decorate(func: Callable[..., Any]) -> Recipe:
        doc = (func.__doc__ or "").strip()
        summary, _, rest = doc.partition("\n")
        return Recipe(
            name=name or func.__name__.replace("_", "-"),
            func=func,
            summary=summary.strip(),
            description=textwrap.dedent(rest).strip(),
            params=tuple(params),
            writes=writes,
            tags=tuple(tags),
            one_of=tuple(one_of),
            check=check,
        )

    return decorate


@dataclass(frozen=True, kw_only=True)
class ObjectRef:
    """The PagerDuty object a finding is about, with the ids of the teams that own it."""

    type: str
    id: str
    summary: str = ""
    html_url: str | None = None
    teams: tuple[str, ...] = ()

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectRef:
        kind = str(obj.get("type", "")).removesuffix("_reference")
        summary = obj.get("summary") or obj.get("name") or obj.get("title") or ""
        teams = (str(obj["id"]),) if kind == "team" else tuple(t["id"] for t in obj.get("teams") or ())
        return cls(type=kind, id=str(obj["id"]), summary=str(summary), html_url=obj.get("html_url"), teams=teams)

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "id": self.id,
            "summary": self.summary,
            "html_url": self.html_url,
            "teams": list(self.teams),
        }


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

    @property
    def fingerprint(self) -> str:
        key = "\0".join((self.recipe, self.rule, self.object.type, self.object.id))
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "fingerprint": self.fingerprint,
            "rule": self.rule,
            "severity": self.severity,
            "message": self.message,
            "object": self.object.to_dict(),
            "state": self.state,
        }


# Which findings make exit code 1: any, only new ones, none, or those of at least a severity.
FAIL_ON = ("any", "new", "never", *SEVERITIES)


def exit_code_for(results: Iterable[RunResult], fail_on: str) -> int:
    """3 if any run failed; 2 if one refused to write; else 1 if any finding counts under `fail_on`; else 0."""
    results = list(results)
    if any(r.status == "failed" for r in results):
        return EXIT_FAILED
    if any(r.status == "refused" for r in results):
        return EXIT_USAGE
    findings = [f for r in results for f in r.findings]
    if fail_on == "never":
        counted = []
    elif fail_on == "new":
        counted = [f for f in findings if f.state in ("new", None)]
    elif fail_on in SEVERITIES:
        counted = [f for f in findings if SEVERITIES.index(f.severity) >= SEVERITIES.index(fail_on)]
    else:
        counted = findings
    return EXIT_FINDINGS if counted else EXIT_OK


@dataclass(frozen=True, kw_only=True)
class Action:
    """One write request a recipe planned, and what became of it.

    `changes` is how many PagerDuty objects the request changes (a bulk
    update changes many); caps count changes, not requests. A `once` write
    is never made twice: the history's record of it is enough to skip it.
    """

    method: str
    path: str
    body: Any
    headers: Mapping[str, str] = field(default_factory=dict)
    status: str = "planned"
    error: str | None = None
    changes: int = 1
    once: bool = False

    def __post_init__(self) -> None:
        if self.changes < 1:
            raise ValueError(f"a write changes at least one object, not {self.changes}")

    def key(self, account: str) -> str:
        """Identify this exact write on one account, so it is never done twice."""
        canonical = json.dumps([account, self.method, self.path, self.body], sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:24]

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
    status: str
    dry_run: bool
    params: Mapping[str, Any]
    started_at: str
    finished_at: str
    findings: tuple[Finding, ...] = ()
    actions: tuple[Action, ...] = ()
    api_calls: int = 0
    error: str | None = None
    duration_ms: int = field(default=0, compare=False)
    resolved: tuple[Finding, ...] = ()
    summary: Mapping[str, int] | None = None

    @property
    def key(self) -> str:
        return run_key(self.account, self.recipe, self.params)

    def exit_code(self, fail_on: str = "any") -> int:
        """0 clean, 1 findings that `fail_on` counts, 3 failed (see FAIL_ON)."""
        return exit_code_for([self], fail_on)

    def to_dict(self) -> dict[str, Any]:
        return {
            "recipe": self.recipe,
            "run_id": self.run_id,
            "account": self.account,
            "status": self.status,
            "dry_run": self.dry_run,
            "params": plain_params(self.params),
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "findings": [f.to_dict() for f in self.findings],
            "actions": [a.to_dict() for a in self.actions],
            "resolved": [f.to_dict() for f in self.resolved],
            "summary": dict(self.summary) if self.summary is not None else None,
            "stats": {"api_calls": self.api_calls},
            "error": self.error,
        }

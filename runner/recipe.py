"""Recipes as plugins declare them: a function, its parameters, and the writes it may plan."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runner.errors import UsageError
from runner.params import Param, period_of, period_params, validate_table

if TYPE_CHECKING:
    from runner.context import Context
    from runner.results import Finding

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
# A path template: a collection, then literal segments and `{name}` placeholders, e.g. /incidents/{id}/notes.
TEMPLATE = re.compile(r"/[A-Za-z0-9_]+(/([A-Za-z0-9_]+|\{[a-z_]+\}))*")
# What a placeholder stands for: one segment of an id or a name, never `..` nor a separator.
SEGMENT = "[A-Za-z0-9_]+"


@dataclass(frozen=True)
class WriteRule:
    """One kind of write a recipe declares it may plan: a method and a path template."""

    method: str
    template: str

    @classmethod
    def parse(cls, text: str) -> WriteRule:
        """Read "POST /incidents/{id}/notes"; raise ValueError for anything else."""
        method, _, template = text.strip().partition(" ")
        if method not in WRITE_METHODS or not TEMPLATE.fullmatch(template.strip()):
            raise ValueError(
                f"a declared write is a method ({', '.join(WRITE_METHODS)}) and an API path template"
                f" naming its collection, e.g. 'POST /incidents/{{id}}/notes'; got {text!r}"
            )
        return cls(method, template.strip())

    def allows(self, method: str, path: str) -> bool:
        pattern = re.sub(r"\\\{[a-z_]+\\\}", SEGMENT, re.escape(self.template))
        return method == self.method and re.fullmatch(pattern, path) is not None

    def __str__(self) -> str:
        return f"{self.method} {self.template}"


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """A named automation: a function of a Context that yields findings, or plans writes."""

    name: str
    func: Callable[[Context], Iterable[Finding] | None]
    summary: str
    description: str = ""
    params: tuple[Param, ...] = ()
    writes: tuple[WriteRule, ...] = ()
    columns: tuple[str, ...] = ()
    period_days: int | None = None
    tags: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()
    validate: Callable[[Mapping[str, Any]], None] | None = None
    plugin: str = ""

    def __post_init__(self) -> None:
        names = [p.name for p in self.params]
        unknown = set(self.one_of) - set(names)
        if unknown:
            raise ValueError(f"recipe {self.name!r}: one_of names unknown parameters {sorted(unknown)}")
        if self.columns and self.writes:
            raise ValueError(f"recipe {self.name!r}: a report (columns=) never writes (writes=)")

    @property
    def kind(self) -> str:
        """What the recipe does: `audit` (findings), `write` (planned writes) or `report` (rows)."""
        return "write" if self.writes else "report" if self.columns else "audit"

    def may_write(self, method: str, path: str) -> bool:
        """Whether this recipe declared a write of `method` to `path`."""
        return any(rule.allows(method, path) for rule in self.writes)

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def configured(self, table: Mapping[str, Any], *, source: str) -> dict[str, Any]:
        """Check configured parameter values (`[recipes.<name>]`, a schedule's params): known names, right types."""
        return validate_table(self.params, table, source=source, owner=f"recipe {self.name!r}")

    def resolve_params(self, given: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
        """Merge command-line values over checked configured defaults over declared defaults; check the result.

        `given` holds command-line values (None or an empty tuple when absent).
        """
        params: dict[str, Any] = {}
        for p in self.params:
            value = given.get(p.name)
            if value is None or value == ():
                value = defaults.get(p.name, p.empty_default())
            else:
                value = p.validate(value, where=p.flag)
            if p.required and (value is None or value == ()):
                raise UsageError(f"recipe {self.name!r} needs {p.flag}")
            params[p.name] = value
        if self.one_of and not any(params[n] not in (None, (), False) for n in self.one_of):
            flags = ", ".join(self.param(n).flag for n in self.one_of)
            raise UsageError(f"recipe {self.name!r} needs at least one of {flags}")
        if self.period_days is not None:  # refuse a bad period now, before any request
            period_of(params, now=datetime.now(UTC), default_days=self.period_days)
        if self.validate is not None:
            self.validate(params)
        return params


def recipe(
    name: str | None = None,
    *,
    params: Iterable[Param] = (),
    writes: Iterable[str] = (),
    columns: Iterable[str] = (),
    period_days: int | None = None,
    tags: Iterable[str] = (),
    one_of: Iterable[str] = (),
    validate: Callable[[Mapping[str, Any]], None] | None = None,
) -> Callable[[Callable[..., Any]], Recipe]:
    """Declare a function as a recipe; its docstring's first line is the summary.

    A recipe is an audit (it yields `ctx.finding(...)`), a write recipe
    (`writes` lists every write it may plan, as a method and a path template,
    `"POST /incidents/{id}/notes"`), or a report (`columns` names the columns
    of the rows it yields with `ctx.row(...)`; a report never writes).
    `period_days` gives a recipe the period options `--since`, `--until` and
    `--days` (default: the last `period_days` days), read as `ctx.period`.
    `one_of` names parameters of which at least one must be given; `validate`
    receives the resolved parameters before any API call and raises
    UsageError for combinations the declarations cannot express.
    """
    if isinstance(writes, (bool, str)):
        raise TypeError("writes= lists the writes a recipe may plan, e.g. writes=['POST /incidents/{id}/notes']")
    if isinstance(columns, str):
        raise TypeError("columns= lists a report's column names, e.g. columns=['user', 'hours']")
    rules = tuple(WriteRule.parse(text) for text in writes)
    declared = tuple(params) + (period_params(period_days) if period_days is not None else ())

    def decorate(func: Callable[..., Any]) -> Recipe:
        doc = (func.__doc__ or "").strip()
        summary, _, rest = doc.partition("\n")
        return Recipe(
            name=name or func.__name__.replace("_", "-"),
            func=func,
            summary=summary.strip(),
            description=textwrap.dedent(rest).strip(),
            params=declared,
            writes=rules,
            columns=tuple(columns),
            period_days=period_days,
            tags=tuple(tags),
            one_of=tuple(one_of),
            validate=validate,
        )

    return decorate

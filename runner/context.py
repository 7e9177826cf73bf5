"""What a recipe receives: `ctx.pd` to read PagerDuty, `ctx.finding()` to report, `ctx.write()` to plan a change."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from runner.errors import RecipeError, WriteRefused
from runner.params import period_of
from runner.results import Action, Finding, ObjectRef, Row

if TYPE_CHECKING:
    from runner.recipe import Recipe

# Tells whether a planned write has already taken effect in PagerDuty (e.g. the note is there).
AlreadyDone = Callable[[], bool]


class Source(Protocol):
    """Where a Reader's reads go: the session, or an audit's read cache."""

    def iter(self, path: str, **params: Any) -> Iterator[dict[str, Any]]: ...
    def get(self, path: str, **params: Any) -> Any: ...
    def get_each(self, reads: Iterable[tuple[str, Mapping[str, Any]]]) -> Iterator[Any]: ...
    def query(self, path: str, body: Any) -> Any: ...


class Reader:
    """`ctx.pd`: PagerDuty, read-only. Writes are planned with `ctx.write()`, never sent from a recipe."""

    __slots__ = ("_source",)

    def __init__(self, source: Source) -> None:
        self._source = source

    def iter(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Yield every object of a collection, in order.

        A list value is sent as `name[]` (`statuses[]=triggered`), a tuple as the
        bare name repeated (`ids=a&ids=b`): pass a repeatable parameter's value,
        a tuple, as `list(...)` to filter by it.
        """
        return self._source.iter(path, **params)

    def get(self, path: str, **params: Any) -> Any:
        """Read one object, unwrapped (`get("services/PXXXXXX")` returns the service)."""
        return self._source.get(path, **params)

    def get_each(self, reads: Iterable[tuple[str, Mapping[str, Any]]]) -> Iterator[Any]:
        """Read many objects concurrently: `get_each((f"schedules/{id}", {...}) for id in ids)`, in order."""
        return self._source.get_each(reads)

    def query(self, path: str, body: Any) -> Any:
        """Ask one of PagerDuty's read-only POST endpoints (`analytics/...`) and return its answer."""
        return self._source.query(path, body)


class Context:
    """What a recipe gets: `ctx.pd` to read, `ctx.finding()` to report, `ctx.write()` to plan a change.

    `ctx.now` is the run's start (UTC), so every age a recipe computes is
    measured from one instant; `ctx.params` holds the resolved parameters.
    """

    def __init__(
        self,
        *,
        recipe: Recipe,
        params: Mapping[str, Any],
        source: Source,
        now: datetime,
        run_id: str,
        write_headers: Mapping[str, str],
        log: Any,
    ) -> None:
        self.recipe = recipe
        self.run_id = run_id
        self.params = MappingProxyType(dict(params))
        self.pd = Reader(source)
        self.now = now
        self.log = log
        self._headers = MappingProxyType(dict(write_headers))
        self._planned: list[tuple[Action, AlreadyDone | None]] = []
        self._refused: list[str] = []

    def finding(
        self, obj: Mapping[str, Any], message: str, *, rule: str | None = None, severity: str = "warning"
    ) -> Finding:
        """Describe a problem with a PagerDuty object; yield the result from the recipe."""
        return Finding(
            recipe=self.recipe.name,
            rule=rule or self.recipe.name,
            severity=severity,
            message=message,
            object=ObjectRef.of(obj),
        )

    def row(self, **values: Any) -> Row:
        """One row of a report, by column: yield it from the recipe (columns it leaves out are empty)."""
        unknown = set(values) - set(self.recipe.columns)
        if unknown:
            raise RecipeError(f"recipe {self.recipe.name!r} made a row with undeclared columns {sorted(unknown)}"
                              f" (declared: {', '.join(self.recipe.columns) or 'none'})")
        return Row({column: values.get(column) for column in self.recipe.columns})

    @property
    def period(self) -> tuple[datetime, datetime]:
        """The (since, until) of a recipe declared with `period_days`, from --since, --until or --days."""
        if self.recipe.period_days is None:
            raise RecipeError(f"recipe {self.recipe.name!r} has no period: declare @recipe(period_days=N)")
        return period_of(self.params, now=self.now, default_days=self.recipe.period_days)

    def write(
        self, method: str, path: str, body: Any = None, *, already_done: AlreadyDone | None = None, once: bool = False
    ) -> None:
        """Plan a write; pdrun carries out the plan, in order, once the recipe returns.

        The write must match one the recipe declared (`@recipe(writes=[...])`),
        or the run fails with nothing written. `already_done`, when given, tells
        whether the write has already taken effect in PagerDuty: such a write is
        skipped, and is re-checked before it is ever sent again. Where PagerDuty
        shows nothing to check, `once=True` makes the history's record of this
        exact write what keeps it from being made twice.
        """
        method = method.upper()
        if not self.recipe.may_write(method, path):
            declared = ", ".join(str(rule) for rule in self.recipe.writes) or "none"
            self._refused.append(f"{method} {path} (declared writes: {declared})")
            raise WriteRefused(
                f"recipe {self.recipe.name!r} planned {method} {path}, which it does not declare"
                f" (declared writes: {declared}); nothing was written"
            )
        self._planned.append((Action.plan(method, path, body, headers=self._headers, once=once), already_done))

    @property
    def planned(self) -> list[tuple[Action, AlreadyDone | None]]:
        """The writes planned so far, each with its `already_done` check."""
        return list(self._planned)

    @property
    def refused(self) -> list[str]:
        """Writes the recipe tried to plan outside its declaration (the run fails if any)."""
        return list(self._refused)

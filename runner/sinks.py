"""Sinks: where a run's result goes besides the terminal (a log, PagerDuty's Events API, a webhook)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner.errors import PLUGIN_FAILURES, PdrunError, UsageError, suggest
from runner.params import Param, validate_table

if TYPE_CHECKING:
    from runner.config import Config
    from runner.results import RunResult
    from runner.session import Session

# The one write a sink may send through the session: an event to PagerDuty's Events API.
EVENTS_ENQUEUE = ("POST", "/v2/enqueue")


class SinkError(PdrunError):
    """A sink could not deliver; raise it from a sink with a message for the user."""


@dataclass(frozen=True)
class SinkContext:
    """What a sink may use to deliver: the shared session, the process environment, a sleep for backoff."""

    session: Session
    environ: Mapping[str, str]
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True, kw_only=True)
class Sink:
    """A kind of destination, configured by `[sinks.<name>]` tables (with `type = "<kind>"`)."""

    name: str
    summary: str
    deliver: Callable[[RunResult, Mapping[str, Any], SinkContext], None]
    options: tuple[Param, ...] = ()
    plugin: str = ""


@dataclass(frozen=True)
class BoundSink:
    """A sink with its options, under the name a schedule or `--sink` uses."""

    label: str
    sink: Sink
    options: Mapping[str, Any] = field(default_factory=dict)

    def send(self, result: RunResult, context: SinkContext) -> str | None:
        """Deliver the result; return None, or the error that stopped delivery (it is never raised)."""
        import structlog

        from runner.transport import permit

        try:
            with permit(*EVENTS_ENQUEUE):
                self.sink.deliver(result, self.options, context)
        except PLUGIN_FAILURES as exc:  # a sink must never fail the run or lose its result
            error = str(exc) if isinstance(exc, PdrunError) else f"{type(exc).__name__}: {exc}"
            structlog.get_logger().warning("sink.failed", sink=self.label, error=error)
            return error
        return None


def bind_sinks(labels: Iterable[str], config: Config, sinks: Mapping[str, Sink]) -> list[BoundSink]:
    """Resolve sink names against `[sinks.<name>]` tables and the registered kinds; check options."""
    bound = []
    for label in labels:
        if not isinstance(label, str):
            raise UsageError(f"sinks: expected sink names, got {label!r}")
        table = dict(config.sinks.get(label, {}))
        kind = table.pop("type", label)
        source = f"{config.source}: [sinks.{label}]"
        if not isinstance(kind, str):
            raise UsageError(f"{source} type: expected the name of a kind of sink, got {kind!r}")
        sink = sinks.get(kind)
        if sink is None:
            raise UsageError(f"unknown sink {kind!r}{suggest(kind, sinks)} (known: {', '.join(sorted(sinks))})")
        options = {p.name: p.default for p in sink.options} | validate_table(
            sink.options, table, source=source, owner=f"sink {kind!r}"
        )
        for p in sink.options:
            if p.required and options[p.name] in (None, ()):
                raise UsageError(f"{source}: sink {kind!r} needs {p.name}")
        bound.append(BoundSink(label, sink, options))
    return bound

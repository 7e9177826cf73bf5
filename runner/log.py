"""Structured logging: structlog for pdrun, the stdlib bridged in, secrets redacted.

structlog (which brings asyncio with it) loads on the first log line, not at
import, so commands that log nothing (`pdrun list`) start fast.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

REDACTED = "[redacted]"
HANDLER_NAME = "pdrun"  # the one handler pdrun puts on the root logger, replaced by each configure()
# Longest first, so a token inside a longer secret (a webhook URL) cannot leave the rest showing.
_secrets: tuple[str, ...] = ()
_lock = threading.Lock()


# Shorter values cannot be secrets worth the name, and replacing them would garble every line.
MIN_SECRET_LENGTH = 6


def add_secret(value: str) -> None:
    """Never let `value` reach a log line, an output, or an error message."""
    global _secrets
    if len(value) >= MIN_SECRET_LENGTH:
        with _lock:
            _secrets = tuple(sorted({*_secrets, value}, key=len, reverse=True))


def redact(text: str) -> str:
    """Return `text` with every registered secret replaced."""
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    return text


def _redact_line(_logger: Any, _name: str, line: str) -> str:
    return redact(line)


class _Logger:
    """A module's logger: configures logging with the defaults on first use if nothing has yet."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        if not _state["configured"]:
            configure()
        import structlog

        return getattr(structlog.get_logger(self._name), attribute)


_state = {"configured": False}


def get_logger(name: str) -> Any:
    """Return the logger a module binds at import: `log = get_logger(__name__)`."""
    return _Logger(name)


def reset() -> None:
    """Forget the configuration, so the next log line configures logging for the current stderr."""
    _state["configured"] = False


def configure(*, format: str = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    """Send structlog and stdlib logging to `stream` (stderr) as JSON lines or console text."""
    import logging

    import structlog

    _state["configured"] = True
    stream = stream or sys.stderr
    console = format == "console" or (format == "auto" and stream.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    renderer = (
        structlog.dev.ConsoleRenderer(colors=False)
        if console
        else structlog.processors.JSONRenderer(sort_keys=False)
    )
    final = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if not console:
        final.append(structlog.processors.format_exc_info)
    # Redact the rendered line, so tracebacks and foreign messages are covered too.
    final += [renderer, _redact_line]
    handler = logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx2 logs every request at INFO; pdrun's own lines already say what a run did.
    logging.getLogger("httpx2").setLevel(logging.DEBUG if level == "debug" else logging.WARNING)

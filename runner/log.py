"""Structured logging: structlog over the stdlib, one handler on stderr, secrets redacted from every line.

Modules log through `structlog.get_logger()`, structlog's own lazy logger.
The CLI configures logging once per invocation (`configure`), the testing
kit once per test session; the processors are set once per process, so
`structlog.testing.capture_logs()` keeps working around any of them.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, TextIO

REDACTED = "[redacted]"
HANDLER_NAME = "pdrun"  # the one handler pdrun puts on the root logger
# Shorter values cannot be secrets worth the name, and replacing them would garble every line.
MIN_SECRET_LENGTH = 6
# Longest first, so a token inside a longer secret (a webhook URL) cannot leave the rest showing.
_secrets: tuple[str, ...] = ()
_lock = threading.Lock()


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


def _shared_processors() -> list[Any]:
    import structlog

    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def setup() -> None:
    """Route structlog through the stdlib, once per process (the testing kit stops here)."""
    import structlog

    if not structlog.is_configured():
        structlog.configure(
            processors=[*_shared_processors(), structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
            logger_factory=structlog.stdlib.LoggerFactory(),
            wrapper_class=structlog.stdlib.BoundLogger,
            cache_logger_on_first_use=False,
        )


def configure(*, format: str = "auto", level: str = "info", stream: TextIO | None = None) -> None:
    """Send structlog and stdlib logging to `stream` (stderr) as JSON lines or console text."""
    import logging

    import structlog

    setup()
    stream = stream or sys.stderr
    console = format == "console" or (format == "auto" and stream.isatty())
    renderer = structlog.dev.ConsoleRenderer(colors=False) if console else structlog.processors.JSONRenderer()
    final = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if not console:
        final.append(structlog.processors.format_exc_info)
    # Redact the rendered line, so tracebacks and foreign messages are covered too.
    final += [renderer, _redact_line]
    handler = logging.StreamHandler(stream)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(foreign_pre_chain=_shared_processors(), processors=final))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # httpx2 logs every request and Alembic every migration step at INFO; pdrun's own lines say what happened.
    for chatty in ("httpx2", "alembic"):
        logging.getLogger(chatty).setLevel(logging.DEBUG if level == "debug" else logging.WARNING)


def redirect(stream: TextIO) -> None:
    """Send log lines to `stream` from now on (a progress display that prints them above itself)."""
    import logging

    for handler in logging.getLogger().handlers:
        if handler.get_name() == HANDLER_NAME and isinstance(handler, logging.StreamHandler):
            handler.setStream(stream)

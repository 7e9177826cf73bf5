"""Progress of a long audit on a terminal's stderr: the recipe running and the requests so far."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import httpx2


class Progress:
    """One line on a terminal, rewritten as an audit goes; log lines print above it."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._stream = stream
        self._label = ""
        self._requests = 0

    def recipe(self, n: int, total: int, name: str) -> None:
        self._label = f"[{n}/{total}] {name}"
        self._show()

    def request(self, _request: httpx2.Request) -> None:
        self._requests += 1
        self._show()

    def done(self) -> None:
        self._stream.write("\r\033[K")
        self._stream.flush()

    def write(self, text: str) -> int:
        """Print a log line above the progress line (so logging can use this object as its stream)."""
        self._stream.write(f"\r\033[K{text}")
        if text.endswith("\n") and self._label:
            self._show()
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def _show(self) -> None:
        self._stream.write(f"\r\033[Kauditing {self._label} - {self._requests} requests")
        self._stream.flush()

"""Progress of a long audit on a terminal's stderr: the audits running, how many are done, the requests so far."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import httpx2


class Progress:
    """One line on a terminal, rewritten as an audit goes, from any of its threads; log lines print above it."""

    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._stream = stream
        self._lock = threading.RLock()
        self._total = 0
        self._done = 0
        self._running: list[str] = []
        self._requests = 0

    def begin(self, total: int) -> None:
        with self._lock:
            self._total = total

    def started(self, name: str) -> None:
        with self._lock:
            self._running.append(name)
            self._show()

    def finished(self, name: str) -> None:
        with self._lock:
            self._running.remove(name)
            self._done += 1
            self._show()

    def request(self, _request: httpx2.Request) -> None:
        with self._lock:
            self._requests += 1
            self._show()

    def done(self) -> None:
        with self._lock:
            self._stream.write("\r\033[K")
            self._stream.flush()

    def write(self, text: str) -> int:
        """Print a log line above the progress line (so logging can use this object as its stream)."""
        with self._lock:
            self._stream.write(f"\r\033[K{text}")
            if text.endswith("\n") and self._total:
                self._show()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def _show(self) -> None:
        running = " ".join([*self._running[:1], *([f"+{len(self._running) - 1}"] if len(self._running) > 1 else [])])
        self._stream.write(f"\r\033[Kauditing [{self._done}/{self._total} done] {running} - {self._requests} requests")
        self._stream.flush()

"""Progress of a long audit on a terminal's stderr: the audits done and running in each account, the requests so far."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import httpx2


class _Line:
    """The one line on the terminal, shared by the accounts audited at once; log lines print above it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.labels: dict[str, str] = {}  # by account ("" when one account is audited), in the order they began
        self.requests = 0
        self.lock = threading.Lock()

    def show(self) -> None:
        shown = ", ".join(f"{account} {label}".strip() for account, label in self.labels.items())
        self.stream.write(f"\r\033[Kauditing {shown} - {self.requests} requests")
        self.stream.flush()


class Progress:
    """One line on a terminal, rewritten from any thread as an audit goes; `account(name)` is one account's part."""

    def __init__(self, stream: TextIO = sys.stderr, *, _line: _Line | None = None, _account: str = "") -> None:
        self._line = _line or _Line(stream)
        self._account = _account
        self._total = 0
        self._done = 0
        self._running: list[str] = []

    def account(self, name: str) -> Progress:
        """The progress of one of several accounts audited at once, shown on the same line."""
        return Progress(_line=self._line, _account=name)

    def begin(self, total: int) -> None:
        """An audit of `total` recipes begins."""
        with self._line.lock:
            self._total = total

    def started(self, name: str) -> None:
        with self._line.lock:
            self._running.append(name)
            self._label()

    def finished(self, name: str) -> None:
        with self._line.lock:
            self._running.remove(name)
            self._done += 1
            self._label()

    def request(self, _request: httpx2.Request) -> None:
        with self._line.lock:
            self._line.requests += 1
            self._line.show()

    def done(self) -> None:
        """This account's audit is over; the line is cleared once every account's is."""
        with self._line.lock:
            self._line.labels.pop(self._account, None)
            if self._line.labels:
                self._line.show()
            else:
                self._line.stream.write("\r\033[K")
                self._line.stream.flush()

    def write(self, text: str) -> int:
        """Print a log line above the progress line (so logging can use this object as its stream)."""
        with self._line.lock:
            self._line.stream.write(f"\r\033[K{text}")
            if text.endswith("\n") and self._line.labels:
                self._line.show()
        return len(text)

    def flush(self) -> None:
        self._line.stream.flush()

    def isatty(self) -> bool:
        return self._line.stream.isatty()

    def _label(self) -> None:
        """Show this account's audits done, and the first still running with how many others run."""
        first, others = self._running[:1], len(self._running) - 1
        running = " ".join([*first, *([f"+{others}"] if others > 0 else [])])
        self._line.labels[self._account] = f"[{self._done}/{self._total} done] {running}"
        self._line.show()

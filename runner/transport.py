"""The session's HTTP transport: the write gate, bounded retries, the rate limit, and who watches requests.

Every request of the PagerDuty session passes here, whichever object sent
it, so this is where pdrun enforces what no recipe may bypass: a request
that is not a read is sent only while pdrun's writer (or a sink) holds a
permit naming exactly that request.
"""

from __future__ import annotations

import contextlib
import contextvars
import random
import re
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import httpx2
import structlog

from runner.errors import ApiError, OutcomeUnknown, WriteRefused

if TYPE_CHECKING:
    from runner.rate_limit import RateLimiter

log = structlog.get_logger()

READ_METHODS = frozenset({"GET", "HEAD"})
# POST endpoints that only read (PagerDuty's analytics): a recipe may call them through `ctx.pd.query`.
READ_ONLY_POSTS = re.compile(r"/analytics/[a-z_/]+")
MAX_BACKOFF_S = 4.0
LONGEST_RESET_S = 60.0
# Failures raised before a request left this machine: retrying them can never duplicate a write.
NOT_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


def backoff(attempt: int) -> float:
    """Seconds to wait before retry `attempt + 1`: doubling from half a second to a few seconds, jittered."""
    return min(MAX_BACKOFF_S, 0.5 * 2**attempt) * (0.5 + random.random() / 2)


class Traffic:
    """Counts the requests made on behalf of one run, from any thread, and the writes refused to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.refused: list[str] = []

    def request(self, request: httpx2.Request) -> None:
        with self._lock:
            self.calls += 1

    def refuse(self, request: httpx2.Request) -> None:
        with self._lock:
            self.refused.append(f"{request.method} {request.url.path}")


class ApiCounts:
    """What the session's requests met, from every thread: answers by status (or "error"), and retries."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.answers: Counter[str] = Counter()
        self.retries = 0

    def answered(self, status: int | str) -> None:
        with self._lock:
            self.answers[str(status)] += 1

    def retried(self) -> None:
        with self._lock:
            self.retries += 1


Observer = Callable[[httpx2.Request], None]
# Who is told of each request attempt made in this context (a run's traffic, a progress display).
_observers: contextvars.ContextVar[tuple[Observer, ...]] = contextvars.ContextVar("pdrun_observers", default=())
_traffic: contextvars.ContextVar[Traffic | None] = contextvars.ContextVar("pdrun_traffic", default=None)
# The one write request this context may send now: (method, path), set by the writer around each send.
_permit: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("pdrun_write_permit", default=None)


@contextlib.contextmanager
def observing(observer: Observer) -> Iterator[Observer]:
    """Tell `observer` of every request attempt made inside this block (and threads given its context)."""
    token = _observers.set((*_observers.get(), observer))
    try:
        yield observer
    finally:
        _observers.reset(token)


@contextlib.contextmanager
def tracking() -> Iterator[Traffic]:
    """Count the request attempts made inside this block, and the writes refused there."""
    traffic = Traffic()
    token = _traffic.set(traffic)
    try:
        with observing(traffic.request):
            yield traffic
    finally:
        _traffic.reset(token)


@contextlib.contextmanager
def permit(method: str, path: str) -> Iterator[None]:
    """Let this context send exactly `method path` inside the block: how the writer and sinks send."""
    token = _permit.set((method.upper(), path))
    try:
        yield
    finally:
        _permit.reset(token)


def _permitted(request: httpx2.Request, base_path: str) -> bool:
    if request.method in READ_METHODS:
        return True
    path = request.url.path.removeprefix(base_path) or "/"
    if request.method == "POST" and READ_ONLY_POSTS.fullmatch(path):
        return True
    return _permit.get() == (request.method, path)


class RetryingTransport(httpx2.BaseTransport):
    """Gate writes, pace requests, and retry what is safe to retry, a bounded number of times.

    429 is retried for any method (PagerDuty did not act on the request),
    after the `ratelimit-reset` it announces. 5xx and network errors are
    retried for reads, with exponential backoff. A write is retried only
    when the request never left (the connection could not be made); one
    that may have reached PagerDuty raises OutcomeUnknown. Failures surface
    as ApiError, never as httpx2.TransportError, so the client library does
    not retry them again.
    """

    def __init__(
        self,
        inner: httpx2.BaseTransport,
        *,
        retries: int,
        sleep: Callable[[float], None],
        limiter: RateLimiter | None = None,
        base_path: str = "",
    ) -> None:
        self._inner = inner
        self._retries = retries
        self._sleep = sleep
        self._limiter = limiter
        self._base_path = base_path
        self.counts = ApiCounts()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        target = f"{request.method} {request.url.path}"
        if not _permitted(request, self._base_path):
            traffic = _traffic.get()
            if traffic is not None:
                traffic.refuse(request)
            log.error("write.refused", request=target)
            raise WriteRefused(
                f"pdrun refused {target}: only pdrun's writer sends writes, and only those a recipe planned"
                " with ctx.write() and declared in @recipe(writes=...)"
            )
        reading = request.method in READ_METHODS
        for attempt in range(self._retries + 1):
            if self._limiter is not None:
                self._limiter.acquire()
            for observer in _observers.get():
                observer(request)
            last = attempt == self._retries
            try:
                response = self._inner.handle_request(request)
            except httpx2.TransportError as exc:
                self.counts.answered("error")
                untrusted = _certificate_error(exc)
                if untrusted is not None:  # it would fail the same way again
                    raise ApiError(
                        f"{target}: cannot reach PagerDuty: its TLS certificate is not trusted"
                        f" ({untrusted.verify_message}); set SSL_CERT_FILE to the CA file that signs it"
                        " (pdrun sandbox serve --tls prints its own)"
                    ) from None
                sent = not isinstance(exc, NOT_SENT)
                if sent and not reading:
                    raise OutcomeUnknown(
                        f"{target}: the connection failed after the request was sent ({type(exc).__name__});"
                        " PagerDuty may have made the write"
                    ) from None
                if last:
                    raise ApiError(f"{target}: cannot reach PagerDuty ({type(exc).__name__})") from None
                self._wait(target, attempt, reason=type(exc).__name__, delay=backoff(attempt))
                continue
            if self._limiter is not None:
                self._limiter.observe(response.headers)
            status = response.status_code
            self.counts.answered(status)
            if status != 429 and not (status >= 500 and reading):
                return response
            if last:
                if status == 429:
                    raise ApiError(f"{target}: rate limited by PagerDuty after {attempt + 1} attempts", status=429)
                return response
            response.read()
            response.close()
            if status == 429:
                delay = _reset_seconds(response)
                if self._limiter is not None:
                    self._limiter.pause(delay)  # every thread waits for the window, not just this one
                    delay = 0.0
            else:
                delay = backoff(attempt)
            self._wait(target, attempt, reason=str(status), delay=delay)
        raise AssertionError("unreachable")

    def _wait(self, target: str, attempt: int, *, reason: str, delay: float) -> None:
        log.warning("api.retry", request=target, reason=reason, attempt=attempt + 1, delay_s=round(delay, 2))
        self.counts.retried()
        if delay > 0:
            self._sleep(delay)

    def close(self) -> None:
        self._inner.close()


def _certificate_error(exc: BaseException | None) -> ssl.SSLCertVerificationError | None:
    while exc is not None and not isinstance(exc, ssl.SSLCertVerificationError):
        exc = exc.__cause__ or exc.__context__
    return exc


def _reset_seconds(response: httpx2.Response) -> float:
    """How long PagerDuty says to wait after a 429 (at most a window); a second when it does not say."""
    for header in ("ratelimit-reset", "retry-after"):
        value = response.headers.get(header)
        if value:
            try:
                return min(LONGEST_RESET_S, max(0.0, float(value)))
            except ValueError:
                break
    return 1.0


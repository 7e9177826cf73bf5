"""The shared PagerDuty session: one client per process, bounded retries, per-run call counts."""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx2
import pagerduty

from runner import log as pdlog
from runner.budget import MAX_BACKOFF_S, RateBudget, backoff
from runner.config import PagerDutyConfig
from runner.errors import ApiError, ConfigError, TokenRejected
from runner.paging import TIME_WINDOWED, Pages

log = pdlog.get_logger(__name__)

READ_METHODS = frozenset({"GET", "HEAD"})


class CallCounter:
    """Counts the HTTP requests made on behalf of one run, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.value = 0

    def __call__(self, request: httpx2.Request) -> None:
        with self._lock:
            self.value += 1


Observer = Callable[[httpx2.Request], None]
# Who is told of each request attempt made in this context (a run's counter, a progress display).
_observers: contextvars.ContextVar[tuple[Observer, ...]] = contextvars.ContextVar("pdrun_observers", default=())


class _RetryingTransport(httpx2.BaseTransport):
    """Retry what is safe to retry, a bounded number of times, and count every attempt.

    429 is retried for any method (PagerDuty did not act on the request), after
    the `ratelimit-reset` it announces; 5xx and network errors only for reads,
    since a write may have taken effect. Failures surface as ApiError, never as
    httpx2.TransportError, so the client library does not retry them again.
    """

    def __init__(
        self,
        inner: httpx2.BaseTransport,
        *,
        retries: int,
        sleep: Callable[[float], None],
        budget: RateBudget | None = None,
    ) -> None:
        self._inner = inner
        self._retries = retries
        self._sleep = sleep
        self._budget = budget

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        target = f"{request.method} {request.url.path}"
        for attempt in range(self._retries + 1):
            if self._budget is not None:
                self._budget.acquire()
            for observer in _observers.get():
                observer(request)
            last = attempt == self._retries
            try:
                response = self._inner.handle_request(request)
            except httpx2.TransportError as exc:
                if last or request.method not in READ_METHODS:
                    raise ApiError(f"{target}: cannot reach PagerDuty ({type(exc).__name__})") from None
                self._wait(target, attempt, reason=type(exc).__name__)
                continue
            if self._budget is not None:
                self._budget.observe(response.headers)
            status = response.status_code
            retryable = status == 429 or (status >= 500 and request.method in READ_METHODS)
            if not retryable:
                return response
            if last:
                if status == 429:
                    raise ApiError(f"{target}: rate limited by PagerDuty after {attempt + 1} attempts", status=429)
                return response
            response.read()
            response.close()
            self._wait(target, attempt, reason=str(status), reset=_reset_seconds(response))
        raise AssertionError("unreachable")

    def _wait(self, target: str, attempt: int, *, reason: str, reset: float | None = None) -> None:
        delay = reset if reset is not None else backoff(attempt)
        log.warning("api.retry", request=target, reason=reason, attempt=attempt + 1, delay_s=round(delay, 2))
        if reason == "429" and self._budget is not None:
            self._budget.pause(delay)  # every thread waits for the window, not just this one
        else:
            self._sleep(delay)

    def close(self) -> None:
        self._inner.close()


def _reset_seconds(response: httpx2.Response) -> float | None:
    for header in ("ratelimit-reset", "retry-after"):
        value = response.headers.get(header)
        if value:
            try:
                return min(MAX_BACKOFF_S * 2, max(0.0, float(value)))
            except ValueError:
                return None
    return None


class _PlainHttpTransport(httpx2.HTTPTransport):
    """Reach an http:// endpoint (a local sandbox) although the client only accepts https:// base URLs."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.url = request.url.copy_with(scheme="http")
        return super().handle_request(request)


class Session:
    """The one authenticated PagerDuty session every recipe of a process shares."""

    def __init__(
        self,
        *,
        token: str,
        token_source: str,
        url: str,
        events_url: str,
        from_email: str | None,
        timeout: float,
        retries: int,
        transport: httpx2.BaseTransport,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rate_limit: float = 0,
        concurrency: int = 1,
    ) -> None:
        pdlog.add_secret(token)
        self.url = url
        self.events_url = events_url
        self.from_email = from_email
        self._token_source = token_source
        budget = RateBudget(rate_limit, clock=clock, sleep=sleep) if rate_limit else None
        self._transport = _RetryingTransport(transport, retries=retries, sleep=sleep, budget=budget)
        self._pages = Pages(self._get_json, concurrency=concurrency)
        self._timeout = timeout
        self._client = pagerduty.RestApiV2Client(token, base_url=_https(url), transport=self._transport)
        # The constructor's timeout argument is ignored by the library; the attribute is what it sends.
        self._client.timeout = timeout
        self._events: dict[str, pagerduty.EventsApiV2Client] = {}
        # Why no further request can succeed (token rejected, PagerDuty unreachable), once known.
        self.unusable: str | None = None

    @staticmethod
    @contextlib.contextmanager
    def observing(observer: Observer) -> Iterator[Observer]:
        """Tell `observer` of every request attempt made inside this block (and threads given its context)."""
        token = _observers.set((*_observers.get(), observer))
        try:
            yield observer
        finally:
            _observers.reset(token)

    @classmethod
    def counting(cls) -> contextlib.AbstractContextManager[CallCounter]:
        """Count the request attempts made inside this block."""
        return cls.observing(CallCounter())

    def get(self, path: str, **params: Any) -> Any:
        """GET one resource and return the entity inside its wrapper (`{"service": {...}}` -> `{...}`)."""
        return self._unwrap(path, self._get_json(path, params))

    def get_each(self, reads: Iterable[tuple[str, Mapping[str, Any]]]) -> Iterator[Any]:
        """GET many resources, a few at a time within the rate budget; yield them unwrapped, in order.

        For the per-object reads no list call can replace:
        `ctx.pd.get_each((f"schedules/{id}", window) for id in ids)`.
        """
        reads = list(reads)
        bodies = self._pages.in_order(reads)
        return (self._unwrap(path, body) for (path, _), body in zip(reads, bodies, strict=True))

    def _unwrap(self, path: str, body: Any) -> Any:
        _, wrapper = self._client.entity_wrappers("GET", self._client.canonical_path(path))
        return body[wrapper] if wrapper and isinstance(body, dict) and wrapper in body else body

    def iter(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Yield every object of a collection, in order, as pages arrive.

        List values become `name[]` parameters: `iter("services", include=["teams"])`.
        Classic listings fetch their first page with `total=true` and the rest
        concurrently; cursor listings follow `next_cursor`. Incidents and log
        entries past PagerDuty's 10,000-record cap are read in time windows;
        any other listing that large raises ApiError instead of stopping short.
        """
        canonical = self._client.canonical_path(path)
        _, wrapper = self._client.entity_wrappers("GET", canonical)
        if canonical in self._client.cursor_based_pagination_paths:
            yield from self._pages.cursor(path, wrapper, params)
        elif canonical in TIME_WINDOWED:
            yield from self._pages.windowed(path, wrapper, params)
        else:
            yield from self._pages.classic(path, wrapper, params)

    def _get_json(self, path: str, params: Mapping[str, Any]) -> Any:
        return self._request("GET", path, params=dict(params)).json()

    def write_headers(self) -> dict[str, str]:
        """The headers every write carries, the token aside: what a plan shows and replays."""
        headers = {"Accept": self._client.headers["Accept"], "Content-Type": "application/json"}
        return headers | ({"From": self.from_email} if self.from_email else {})

    def write(self, method: str, path: str, body: Any = None, *, headers: Mapping[str, str] | None = None) -> Any:
        """Send a write with the configured `From` (or the one in `headers`); return the decoded response."""
        given = {name.lower(): value for name, value in (headers or {}).items()}
        sender = given.get("from") or self.from_email
        sent = {"From": sender} if sender else {}
        response = self._request(method, path, json=body, headers=sent)
        return response.json() if response.content else None

    def send_event(self, routing_key: str, action: str, *, dedup_key: str, payload: Any = None) -> None:
        """Send an Events API v2 event (trigger with a payload, or resolve) over the session's transport."""
        pdlog.add_secret(routing_key)
        client = self._events.get(routing_key)
        if client is None:
            client = pagerduty.EventsApiV2Client(routing_key, base_url=_https(self.events_url), transport=self._transport)
            client.timeout = self._timeout
            self._events[routing_key] = client
        try:
            client.send_event(action, dedup_key=dedup_key, **({"payload": payload} if payload else {}))
        except pagerduty.Error as exc:
            raise ApiError(f"Events API {action}: {pdlog.redact(str(exc))}") from None

    def _request(self, method: str, path: str, **kw: Any) -> httpx2.Response:
        try:
            response = self._client.request(method, path, **kw)
        except pagerduty.HttpError as exc:  # the library raises this for a 401 only
            self.unusable = (
                f"PagerDuty rejected the API token from {self._token_source} (401);"
                ' check it, and for an EU account set region = "eu" in [pagerduty]'
            )
            raise TokenRejected(self.unusable, status=exc.response.status_code) from None
        except pagerduty.Error as exc:
            raise ApiError(f"{method} {path}: {pdlog.redact(str(exc))}") from None
        except ApiError as exc:
            if exc.status is None:  # PagerDuty could not be reached, even after retries
                self.unusable = str(exc)
            raise
        if not response.is_success:
            raise _api_error(method, path, response)
        return response

    def close(self) -> None:
        self._pages.close()
        self._client.close()


def _https(url: str) -> str:
    """The client accepts only https:// base URLs; plain-HTTP targets are rewritten back by the transport."""
    return url.replace("http://", "https://", 1)


def _api_error(method: str, path: str, response: httpx2.Response) -> ApiError:
    """Turn PagerDuty's `{"error": {"message", "code", "errors"}}` into one readable ApiError."""
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    if not isinstance(error, dict):
        error = {"message": str(error)}
    message = error.get("message") or response.reason_phrase
    details = [str(e) for e in error.get("errors") or ()]
    code = error.get("code")
    text = f"{method} {path}: PagerDuty answered {response.status_code}"
    text += f" (code {code}): {message}" if code is not None else f": {message}"
    if details:
        text += " - " + "; ".join(details)
    return ApiError(text, status=response.status_code, code=code)


def read_token(config: PagerDutyConfig, environ: Mapping[str, str]) -> tuple[str, str]:
    """Return the API token and a description of where it came from, or raise ConfigError."""
    if config.token_file:
        path = Path(config.token_file).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the API token file {path}: {exc.strerror}") from None
        if not token:
            raise ConfigError(f"the API token file {path} is empty")
        return token, f"token file {path}"
    token = environ.get(config.token_env, "").strip()
    if not token:
        raise ConfigError(
            f"no PagerDuty API token: set the environment variable {config.token_env}"
            " (or use --sandbox to try pdrun on the built-in sandbox account)"
        )
    return token, f"${config.token_env}"


def open_session(
    config: PagerDutyConfig,
    *,
    environ: Mapping[str, str],
    sandbox: Any = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Session:
    """Build the session for `config`, or for an in-process sandbox app when one is given."""
    if sandbox is not None:
        from runner.sandbox import SANDBOX_BASE_URL, SANDBOX_TOKEN

        token, source, url, events_url = SANDBOX_TOKEN, "the sandbox", SANDBOX_BASE_URL, SANDBOX_BASE_URL
        transport: httpx2.BaseTransport = httpx2.WSGITransport(app=sandbox)
    else:
        token, source = read_token(config, environ)
        url, events_url = config.url, config.events_url
        transport = _PlainHttpTransport() if url.startswith("http://") else httpx2.HTTPTransport()
    return Session(
        token=token,
        token_source=source,
        url=url,
        events_url=events_url,
        from_email=config.from_email,
        timeout=config.timeout,
        retries=config.max_retries,
        transport=transport,
        sleep=sleep,
        clock=clock,
        rate_limit=config.rate_limit,
        concurrency=config.concurrency,
    )

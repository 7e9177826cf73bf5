"""The shared PagerDuty session: one client per account and process, reading pages, writing under a permit."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pagerduty

from runner import log as pdlog
from runner.config import PagerDutyConfig, account_table
from runner.errors import ApiError, ConfigError, OutcomeUnknown, TokenRejected
from runner.pagination import BY_NAME, TIME_WINDOWED, Paginator
from runner.rate_limit import RateLimiter, Slots
from runner.results import DEFAULT_ACCOUNT, account_identity
from runner.network import NetworkTransport
from runner.transport import RetryingTransport


class Session:
    """The one authenticated PagerDuty session every recipe of a process shares, for one account.

    Each account has a session of its own, and with it its own rate budget: PagerDuty's limit is per token.
    """

    def __init__(
        self,
        *,
        account_name: str = DEFAULT_ACCOUNT,
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
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        rate_limit: float = 0,
        concurrency: int = 1,
    ) -> None:
        pdlog.add_secret(token)
        self.account_name = account_name
        self.url = url
        # How runs, findings and write claims know this account (runner.results.account_identity).
        self.account = account_identity(account_name, url)
        self.events_url = events_url
        self.from_email = from_email
        self._token_source = token_source
        # The token's rate budget (None: off), and what the requests met: what pdrun serve shares and reports.
        self.limiter = RateLimiter(rate_limit, clock=clock, sleep=sleep) if rate_limit else None
        self._transport = RetryingTransport(
            transport, retries=retries, sleep=sleep, limiter=self.limiter, base_path=urlsplit(url).path.rstrip("/")
        )
        self.api_counts = self._transport.counts
        self.now = now
        self._pages = Paginator(self._get_json, concurrency=concurrency, now=now)
        # At most `concurrency` requests in flight, however many listings and threads are reading.
        self._slots = Slots(concurrency)
        self._timeout = timeout
        self._client = pagerduty.RestApiV2Client(token, base_url=_https(url), transport=self._transport)
        # The constructor's timeout argument is ignored by the library; the attribute is what it sends.
        self._client.timeout = timeout
        self._events: dict[str, pagerduty.EventsApiV2Client] = {}
        # Why no further request can succeed (token rejected, PagerDuty unreachable), once known.
        self.unusable: str | None = None
        # Set once PagerDuty has answered a request, or failed to: then `unusable` says whether it can be used.
        self.answered = threading.Event()

    def get(self, path: str, **params: Any) -> Any:
        """GET one resource and return the entity inside its wrapper (`{"service": {...}}` -> `{...}`)."""
        return self._get_one(path, params)

    def get_each(self, reads: Iterable[tuple[str, Mapping[str, Any]]]) -> Iterator[Any]:
        """GET many resources, a few at a time within the rate limit; yield them unwrapped, in order.

        `reads` is consumed as the answers are, so it may be built from a listing still arriving.
        """
        return self._pages.in_order(reads, fetch=self._get_one)

    def iter(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        """Yield every object of a collection, in order, as pages arrive.

        List values become `name[]` parameters: `iter("services", include=["teams"])`.
        Classic listings fetch their first page with `total=true` and the rest
        concurrently; cursor listings follow `next_cursor`. Past PagerDuty's
        10,000-record cap, incidents and log entries are read in time windows,
        services and escalation policies (up to 20,000) from both ends by name;
        any other listing that large raises ApiError instead of stopping short.
        `date_range="all"` on incidents reads every one, and with `until`
        every one created before it (PagerDuty alone would ignore `until`).
        """
        canonical = self._client.canonical_path(path)
        _, wrapper = self._client.entity_wrappers("GET", canonical)
        if canonical in self._client.cursor_based_pagination_paths:
            yield from self._pages.cursor(path, wrapper, params)
        elif canonical in TIME_WINDOWED:
            yield from self._pages.windowed(path, wrapper, params)
        else:
            yield from self._pages.classic(path, wrapper, params, by_name=canonical in BY_NAME)

    def query(self, path: str, body: Any) -> Any:
        """POST to one of PagerDuty's read-only endpoints (analytics) and return the decoded response."""
        return self._request("POST", path, json=body).json()

    def subdomain(self) -> str | None:
        """The account's subdomain, from the `html_url` PagerDuty gives its users (one small read)."""
        users = self._get_json("users", {"limit": 1}).get("users") or []
        url = users[0].get("html_url") if users else None
        host = urlsplit(url).hostname if url else None
        return host.split(".")[0] if host else None

    def write_headers(self) -> dict[str, str]:
        """The headers every write carries, the token aside: what a plan shows."""
        headers = {"Accept": self._client.headers["Accept"], "Content-Type": "application/json"}
        return headers | ({"From": self.from_email} if self.from_email else {})

    def write(self, method: str, path: str, body: Any = None) -> Any:
        """Send a write as the configured `From` user; the transport refuses it unless pdrun's writer permits it."""
        headers = {"From": self.from_email} if self.from_email else {}
        response = self._request(method, path, json=body, headers=headers)
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

    def close(self) -> None:
        self._pages.close()
        self._client.close()

    def _unwrap(self, path: str, body: Any) -> Any:
        _, wrapper = self._client.entity_wrappers("GET", self._client.canonical_path(path))
        return body[wrapper] if wrapper and isinstance(body, dict) and wrapper in body else body

    def _get_one(self, path: str, params: Mapping[str, Any]) -> Any:
        return self._unwrap(path, self._get_json(path, params))

    def _get_json(self, path: str, params: Mapping[str, Any]) -> Any:
        return self._request("GET", path, params=dict(params)).json()

    def _request(self, method: str, path: str, **kw: Any) -> httpx2.Response:
        try:
            with self._slots:
                response = self._client.request(method, path, **kw)
        except pagerduty.HttpError as exc:  # the library raises this for a 401 only
            self.unusable = (
                f"PagerDuty rejected the API token from {self._token_source} for account {self.account_name!r} (401);"
                f' check it, and for an EU account set region = "eu" in {account_table(self.account_name)}'
            )
            raise TokenRejected(self.unusable, status=exc.response.status_code) from None
        except pagerduty.Error as exc:
            raise ApiError(f"{method} {path}: {pdlog.redact(str(exc))}") from None
        except ApiError as exc:
            if exc.status is None and not isinstance(exc, OutcomeUnknown):  # unreachable, even after retries
                self.unusable = str(exc)
            raise
        finally:
            self.answered.set()
        if not response.is_success:
            raise _api_error(method, path, response)
        return response


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


def read_token(config: PagerDutyConfig, environ: Mapping[str, str], *,
               account: str = DEFAULT_ACCOUNT) -> tuple[str, str]:
    """Return the API token of `account` and a description of where it came from, or raise ConfigError."""
    if config.token_file:
        path = Path(config.token_file).expanduser()
        try:
            token = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"cannot read the API token file {path} of account {account!r}: {exc.strerror}") from None
        if not token:
            raise ConfigError(f"the API token file {path} of account {account!r} is empty")
        return token, f"token file {path}"
    token = environ.get(config.token_env, "").strip()
    if not token:
        raise ConfigError(
            f"no PagerDuty API token for account {account!r}: set the environment variable {config.token_env}"
            " (or use --sandbox to try pdrun on the built-in sandbox account)"
        )
    return token, f"${config.token_env}"


def connect(
    config: PagerDutyConfig,
    *,
    account_name: str = DEFAULT_ACCOUNT,
    token: str,
    token_source: str,
    url: str | None = None,
    transport: httpx2.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Session:
    """Build the session `config` describes, with this token; `url` and `transport` stand in for another endpoint.

    `now` tells the account's current time (the sandbox has a clock of its own): runs start by it, and
    listings end their default window at it.
    """
    url = url or config.url
    if transport is None:
        transport = NetworkTransport(timeout=config.timeout, plain=url.startswith("http://"))
    return Session(
        account_name=account_name,
        token=token,
        token_source=token_source,
        url=url,
        events_url=config.events_url if url == config.url else url,
        from_email=config.from_email,
        timeout=config.timeout,
        retries=config.max_retries,
        transport=transport,
        sleep=sleep,
        clock=clock,
        now=now,
        rate_limit=config.rate_limit,
        concurrency=config.concurrency,
    )

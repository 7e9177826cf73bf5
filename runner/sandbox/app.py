"""The sandbox as a WSGI app answering like PagerDuty's REST and Events APIs, with a log of every exchange."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, quote

from runner.sandbox.account import Account
from runner.sandbox.api import ApiError, Request, Result, Route, not_found
from runner.sandbox.faults import CAN_DROP, Faults, Verdict
from runner.sandbox.objects import SANDBOX_BASE_URL
from runner.sandbox.routes import ROUTES

SANDBOX_TOKEN = "pdrun-sandbox-token"
REDACTED = "[redacted]"
TOKEN_PREFIX = "Token token="

StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Exchange:
    """One request the sandbox served and its response; `Authorization` is redacted.

    `fault` says what the faults did instead of serving it: "rate_limit",
    "error" (a 5xx), or "drop" (served, but the connection closed unanswered).
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes
    fault: str | None = None


class SandboxApp:
    """Serve an `Account` over WSGI.

    REST requests authenticate with `Authorization: Token token=<token>`: the
    account token, or a user-level token from `user_tokens` (token -> user id)
    or `account.user_tokens`. Events API requests (`POST /v2/enqueue`) carry
    their routing key instead. Every request is appended to `exchanges` before
    its response is returned. Requests are served one at a time (latency aside),
    so the app is safe to serve from a threaded server.
    """

    def __init__(
        self,
        account: Account,
        *,
        token: str = SANDBOX_TOKEN,
        faults: Faults | None = None,
        user_tokens: Mapping[str, str] | None = None,
    ) -> None:
        self.account = account
        self.token = token
        self.faults = faults or Faults()
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        for user_token, user_id in (user_tokens or {}).items():
            self.add_user_token(user_token, user_id)

    def add_user_token(self, token: str, user_id: str) -> None:
        """Accept `token` as a user-level API token acting as the user `user_id`."""
        self.account.add_user_token(token, user_id)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        request = _read_request(environ)
        faults = self.faults
        faults.delay()  # outside the lock, so concurrent requests wait together
        with self._lock:
            verdict = faults.judge(request.headers.get("authorization", ""))
            status, body = _fault_response(verdict.status) if verdict.status else self._respond(request)
            drop = environ.get(CAN_DROP) if verdict.drop else None
            payload, headers = _encode(body, _base_url(environ))
            headers.update(verdict.headers)
            fault = "drop" if drop else _fault_name(verdict)
            self.exchanges.append(_exchange(request, status, headers, payload, fault))
        if drop:
            drop()
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [payload]

    def _respond(self, request: Request) -> Result:
        route, params = _route(request)
        user_id = None
        if route is None or route.api == "REST":
            authenticated, user_id = self._authenticate(request)
            if not authenticated:
                return 401, ApiError(401, 2006, "Authentication failed").body()
        if route is None:
            return 404, not_found().body()
        token = request.headers.get("authorization", "").removeprefix(TOKEN_PREFIX)
        user = self.account.users.get(user_id) if user_id else None
        try:
            with self.account.acting_as(user, token=token):
                return route.handler(self.account, replace(request, params=params, user_id=user_id))
        except ApiError as error:
            return error.status, error.body()

    def _authenticate(self, request: Request) -> tuple[bool, str | None]:
        """Return whether the request's token is valid, and the user a user-level token acts as."""
        header = request.headers.get("authorization", "")
        token = header.removeprefix(TOKEN_PREFIX) if header.startswith(TOKEN_PREFIX) else None
        if token == self.token:
            return True, None
        user_id = self.account.user_tokens.get(token) if token else None
        return user_id is not None, user_id


def _route(request: Request) -> tuple[Route | None, dict[str, str]]:
    for route in ROUTES:
        params = route.match(request.method, request.path)
        if params is not None:
            return route, params
    return None, {}


def _fault_response(status: int) -> Result:
    if status == 429:
        return 429, ApiError(429, 2020, "Rate Limit Exceeded").body()
    return status, ApiError(status, 2000, HTTPStatus(status).phrase).body()


def _fault_name(verdict: Verdict) -> str | None:
    if verdict.status is None:
        return None
    return "rate_limit" if verdict.status == 429 else "error"


def _encode(body: Any, base_url: str) -> tuple[bytes, dict[str, str]]:
    """Return the response payload and headers: JSON with links rebased, or nothing."""
    if body is None:
        return b"", {"content-length": "0"}
    payload = json.dumps(body if base_url == SANDBOX_BASE_URL else _rebase(body, base_url)).encode()
    return payload, {"content-type": "application/json; charset=utf-8", "content-length": str(len(payload))}


def _read_request(environ: dict[str, Any]) -> Request:
    headers = {
        key.removeprefix("HTTP_").replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_") or key in ("CONTENT_TYPE", "CONTENT_LENGTH")
    }
    length = int(environ.get("CONTENT_LENGTH") or 0)
    return Request(
        method=environ["REQUEST_METHOD"].upper(),
        path=environ.get("PATH_INFO") or "/",
        query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        headers=headers,
        body=environ["wsgi.input"].read(length) if length else b"",
    )


def _base_url(environ: dict[str, Any]) -> str:
    """Rebuild the URL the client addressed, up to the script name (PEP 3333)."""
    scheme = environ["wsgi.url_scheme"]
    host = environ.get("HTTP_HOST")
    if not host:
        host = environ["SERVER_NAME"]
        if environ["SERVER_PORT"] != {"https": "443", "http": "80"}[scheme]:
            host += ":" + environ["SERVER_PORT"]
    return f"{scheme}://{host}{quote(environ.get('SCRIPT_NAME', ''))}"


def _rebase(value: Any, base_url: str) -> Any:
    """Return `value` with every `self` link pointing at `base_url` instead of the sandbox's own."""
    if isinstance(value, list):
        return [_rebase(item, base_url) for item in value]
    if isinstance(value, dict):
        return {
            key: (
                base_url + item.removeprefix(SANDBOX_BASE_URL)
                if key == "self" and isinstance(item, str) and item.startswith(SANDBOX_BASE_URL)
                else _rebase(item, base_url)
            )
            for key, item in value.items()
        }
    return value


def _exchange(request: Request, status: int, headers: dict[str, str], payload: bytes, fault: str | None) -> Exchange:
    logged_headers = dict(request.headers)
    if "authorization" in logged_headers:
        logged_headers["authorization"] = REDACTED
    return Exchange(
        method=request.method,
        path=request.path,
        query=request.query,
        headers=logged_headers,
        body=request.body,
        status=status,
        response_headers=dict(headers),
        response_body=payload,
        fault=fault,
    )

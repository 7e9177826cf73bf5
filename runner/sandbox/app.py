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
from runner.sandbox.api import ApiError, Request, Result, method_not_allowed, not_found
from runner.sandbox.faults import CAN_DROP, Faults, Verdict
from runner.sandbox.locks import ReadWriteLock
from runner.sandbox.objects import SANDBOX_BASE_URL
from runner.sandbox.routes import ROUTES

SANDBOX_TOKEN = "pdrun-sandbox-token"
REDACTED = "[redacted]"
# Authorization schemes: an API token, or an OAuth access token (the audit trail's method type for each).
SCHEMES = {"Token token=": "api_token", "Bearer ": "oauth"}
READS = ("GET", "HEAD")

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

    REST requests authenticate with `Authorization: Token token=<token>` or an
    OAuth `Authorization: Bearer <token>`: the account token, or a user-level
    token from `user_tokens` (token -> user id) or `account.user_tokens`.
    Events API requests (`POST /v2/enqueue`) carry their routing key instead.

    Reads (GET) are served concurrently, writes one at a time with no read
    under way, so the app is safe to serve from a threaded server. Faults are
    decided and every request is appended to `exchanges` one at a time, in the
    order requests are answered. `self` links point at `public_url` if given,
    else at the URL the client addressed.
    """

    def __init__(
        self,
        account: Account,
        *,
        token: str = SANDBOX_TOKEN,
        faults: Faults | None = None,
        user_tokens: Mapping[str, str] | None = None,
        public_url: str | None = None,
    ) -> None:
        self.account = account
        self.token = token
        self.faults = faults or Faults()
        self.public_url = public_url
        self.exchanges: list[Exchange] = []
        self._account_lock = ReadWriteLock()
        self._log_lock = threading.Lock()
        for user_token, user_id in (user_tokens or {}).items():
            self.add_user_token(user_token, user_id)

    def add_user_token(self, token: str, user_id: str) -> None:
        """Accept `token` as a user-level API token acting as the user `user_id`."""
        self.account.add_user_token(token, user_id)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        request = _read_request(environ)
        faults = self.faults
        faults.delay()  # outside the locks, so concurrent requests wait together
        with self._log_lock:
            verdict = faults.judge(request.headers.get("authorization", ""))
        if verdict.status:
            status, body, allowed = *_fault_response(verdict.status), ()
        else:
            with self._account_lock.reading() if request.method in READS else self._account_lock.writing():
                status, body, allowed = self._respond(request)
        drop = environ.get(CAN_DROP) if verdict.drop else None
        payload, headers = _encode(body, self.public_url or _base_url(environ))
        headers.update(verdict.headers)
        if allowed:
            headers["allow"] = ", ".join(allowed)
        with self._log_lock:
            fault = "drop" if drop else _fault_name(verdict)
            self.exchanges.append(_exchange(request, status, headers, payload, fault))
        if drop:
            drop()
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [payload]

    def _respond(self, request: Request) -> tuple[int, Any, tuple[str, ...]]:
        """Answer `request`: status, body, and the methods its path takes when the method is not one of them."""
        routes = [(route, params) for route in ROUTES if (params := route.match(request.path)) is not None]
        chosen = next(((route, params) for route, params in routes if route.method == request.method), None)
        credentials = None
        if chosen is None or chosen[0].api == "REST":
            credentials = self._authenticate(request)
            if credentials is None:
                return 401, ApiError(401, 2006, "Authentication failed").body(), ()
        if chosen is None:
            allowed = tuple(dict.fromkeys(route.method for route, _ in routes))
            return (405, method_not_allowed().body(), allowed) if allowed else (404, not_found().body(), ())
        route, params = chosen
        token, method, user_id = credentials or ("", "api_token", None)
        request = replace(request, params=params, user_id=user_id)
        try:
            if request.method in READS:
                return *route.handler(self.account, request), ()
            with self.account.acting_as(self.account.users.get(user_id or ""), token=token, method=method):
                return *route.handler(self.account, request), ()
        except ApiError as error:
            return error.status, error.body(), ()

    def _authenticate(self, request: Request) -> tuple[str, str, str | None] | None:
        """Return the request's token, its audit method and the user a user-level token acts as; None if invalid."""
        header = request.headers.get("authorization", "")
        for prefix, method in SCHEMES.items():
            if header.startswith(prefix):
                token = header.removeprefix(prefix)
                if token == self.token:
                    return token, method, None
                if token in self.account.user_tokens:
                    return token, method, self.account.user_tokens[token]
        return None


def _fault_response(status: int) -> Result:
    """Return the answer of a fault: PagerDuty's 429, or a 5xx."""
    if status == 429:
        return 429, ApiError(429, 2020, "Rate Limit Exceeded").body()
    return status, ApiError(status, 2000, HTTPStatus(status).phrase).body()


def _fault_name(verdict: Verdict) -> str | None:
    if verdict.status is None:
        return None
    return "rate_limit" if verdict.status == 429 else "error"


def _encode(body: Any, base_url: str) -> tuple[bytes, dict[str, str]]:
    """Return the response payload and headers: JSON with `self` links pointing at `base_url`, or nothing."""
    if body is None:
        return b"", {"content-length": "0"}
    payload = json.dumps(body).encode()
    if base_url != SANDBOX_BASE_URL:
        # A `self` link's key and value, as json.dumps writes them: quotes inside strings are escaped, so the
        # pattern matches nothing else, and rewriting the encoded text spares walking the whole body.
        ours, theirs = f'"self": "{SANDBOX_BASE_URL}', f'"self": "{json.dumps(base_url)[1:-1]}'
        payload = payload.replace(ours.encode(), theirs.encode())
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

"""The sandbox as a WSGI app answering like PagerDuty's REST API v2, with a log of every exchange."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, quote

from runner.sandbox.account import SANDBOX_BASE_URL, Account
from runner.sandbox.routes import ROUTES, ApiError, Request, not_found

SANDBOX_TOKEN = "pdrun-sandbox-token"
REDACTED = "[redacted]"

StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class Exchange:
    """One request the sandbox served and its response; `Authorization` is redacted."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str]
    response_body: bytes


class SandboxApp:
    """Serve an `Account` over WSGI, accepting only `Authorization: Token token=<token>`.

    Every request served is appended to `exchanges` before the response is
    returned. Requests are handled one at a time, so the app is safe to serve
    from a threaded server.
    """

    def __init__(self, account: Account, *, token: str = SANDBOX_TOKEN) -> None:
        self.account = account
        self.token = token
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        request = _read_request(environ)
        with self._lock:
            status, body = self._respond(request)
            base_url = _base_url(environ)
            payload = json.dumps(body if base_url == SANDBOX_BASE_URL else _rebase(body, base_url)).encode()
            headers = {"content-type": "application/json; charset=utf-8", "content-length": str(len(payload))}
            self.exchanges.append(_exchange(request, status, headers, payload))
        start_response(f"{status} {HTTPStatus(status).phrase}", list(headers.items()))
        return [payload]

    def _respond(self, request: Request) -> tuple[int, dict[str, Any]]:
        if request.headers.get("authorization") != f"Token token={self.token}":
            return 401, ApiError(401, 2006, "Authentication failed").body()
        for route in ROUTES:
            params = route.match(request.method, request.path)
            if params is not None:
                break
        else:
            return 404, not_found().body()
        try:
            return route.handler(self.account, replace(request, params=params))
        except ApiError as error:
            return error.status, error.body()


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


def _exchange(request: Request, status: int, headers: dict[str, str], payload: bytes) -> Exchange:
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
    )

"""Reaching PagerDuty over the network: each request abandoned after `timeout` seconds, start to last byte.

httpx2's timeouts bound each network operation, so an endpoint that
trickles a byte now and then would hold a request forever; here every
operation of a request gets only what is left of the request's time.
"""

from __future__ import annotations

import contextlib
import contextvars
import ssl
import time
from collections.abc import Iterable
from typing import Any

import httpcore2
import httpx2

# When the request in flight in this context must be over (time.monotonic()), if one is.
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("pdrun_request_deadline", default=None)


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the request took longer than its timeout")
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore2.NetworkStream):
    def __init__(self, inner: httpcore2.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore2.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore2.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore2.NetworkStream:
        return _BoundedStream(
            self._inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore2.ConnectTimeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _BoundedBackend(httpcore2.SyncBackend):
    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.NetworkStream:
        timeout = _left(timeout, httpcore2.ConnectTimeout)
        return _BoundedStream(super().connect_tcp(host, port, timeout, local_address, socket_options))


class NetworkTransport(httpx2.HTTPTransport):
    """HTTP(S) to PagerDuty, each request, its response's body included, over within `timeout` seconds.

    `plain` reaches an http:// endpoint (a local sandbox), although the client only accepts https:// base URLs.
    """

    def __init__(self, *, timeout: float, plain: bool = False) -> None:
        # Not HTTPTransport.__init__: it would build a pool (and load the CA bundle) only for this one to replace.
        self._timeout = timeout
        self._plain = plain
        self._pool = httpcore2.ConnectionPool(
            ssl_context=httpx2.create_ssl_context(), max_connections=100, max_keepalive_connections=20,
            keepalive_expiry=5.0, network_backend=_BoundedBackend(),
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self._plain:
            request.url = request.url.copy_with(scheme="http")
        token = _deadline.set(time.monotonic() + self._timeout)
        try:
            response = super().handle_request(request)
            with contextlib.closing(response):
                body = b"".join(response.iter_raw())
        finally:
            _deadline.reset(token)
        return httpx2.Response(response.status_code, headers=response.headers, stream=httpx2.ByteStream(body),
                               extensions=response.extensions)

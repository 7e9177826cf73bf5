"""Serve the sandbox over HTTP or HTTPS, a thread per request, with the standard library's WSGI server."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from socketserver import TCPServer, ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from runner.sandbox.faults import CAN_DROP

log = logging.getLogger(__name__)


class SandboxServer(ThreadingMixIn, WSGIServer):
    """A threaded WSGI server whose requests the app may drop (see `runner.sandbox.faults`).

    With `tls` (a server-side SSL context) it speaks HTTPS; each connection's
    handshake happens in its own thread, so a slow or failing client holds up
    no other.
    """

    daemon_threads = True
    request_queue_size = 128  # a burst of clients (concurrent runs, pages fetched at once) waits rather than resets
    tls: ssl.SSLContext | None = None

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host up in DNS (getfqdn), which can hang offline.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        if self.tls is not None:
            connection = self.tls.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        return connection, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                log.warning("TLS handshake with %s failed: %s", client_address[0], exc)
                return
        super().finish_request(request, client_address)

    @property
    def url(self) -> str:
        """Return the base URL clients reach the server at."""
        host, port = self.server_address[:2]
        scheme = "https" if self.tls else "http"
        return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


class _IPv6SandboxServer(SandboxServer):
    address_family = socket.AF_INET6


class _RequestHandler(WSGIRequestHandler):
    """Let the app drop the connection, and log requests through `logging` (to stderr)."""

    def get_environ(self) -> dict[str, Any]:
        environ = super().get_environ()
        environ[CAN_DROP] = self._drop
        if self.headers.get("content-type") is None:  # wsgiref says text/plain where the client said nothing
            environ.pop("CONTENT_TYPE", None)
        return environ

    def _drop(self) -> None:
        # Whatever the app answers after this goes nowhere: wsgiref ignores the broken pipe.
        self.connection.shutdown(socket.SHUT_RDWR)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        log.info("%s %s -> %s", self.command, self.path, code)

    def log_message(self, format: str, *args: Any) -> None:
        log.warning(format, *args)


def make_server(
    app: Callable[..., Any], host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None
) -> SandboxServer:
    """Bind a server for `app` on `host:port` (port 0: a free one), HTTPS with `tls`; raises OSError if it cannot."""
    server_class = _IPv6SandboxServer if ":" in host else SandboxServer
    server = server_class((host, port), _RequestHandler)
    if tls is not None:
        server.tls = tls
        server.base_environ["HTTPS"] = "on"  # so wsgiref tells the app the scheme is https
    server.set_app(app)
    return server


def serve(
    app: Callable[..., Any],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    tls: ssl.SSLContext | None = None,
    ready: Callable[[str], None] = lambda url: None,
) -> None:
    """Serve `app` until SIGINT or SIGTERM, calling `ready(url)` once it listens; from the main thread only."""
    server = make_server(app, host, port, tls=tls)

    def stop(signum: int, frame: Any) -> None:
        # shutdown() waits for serve_forever() to return, so it must run outside this (the serving) thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        ready(server.url)
        server.serve_forever(poll_interval=0.1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.server_close()


@contextlib.contextmanager
def running(
    app: Callable[..., Any], host: str = "127.0.0.1", port: int = 0, *, tls: ssl.SSLContext | None = None
) -> Iterator[SandboxServer]:
    """Serve `app` from a background thread for the duration of the block (tests, the pytest plugin)."""
    server = make_server(app, host, port, tls=tls)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        thread.join()
        server.server_close()

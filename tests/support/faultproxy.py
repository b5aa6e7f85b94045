"""An HTTP proxy in front of the S3 server that injects failures and delays.

`rule(method, path, query)` decides per request: None forwards it untouched, an int answers
with that status and an S3 error body without forwarding, a float delays the forwarded request
by that many seconds.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Rule = Callable[[str, str, str], int | float | None]

_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code>'
    b"<Message>injected</Message></Error>"
)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """Clients dropping idle keep-alive connections are expected here."""


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        target = urlsplit(upstream)
        self.upstream_host = target.hostname or "127.0.0.1"
        self.upstream_port = target.port or 80
        self.rule: Rule = lambda method, path, query: None
        self.injected: list[tuple[str, str, int]] = []
        self.seen: list[tuple[str, str, str]] = []
        self._lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def _relay(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with proxy._lock:
                    proxy.seen.append((self.command, split.path, split.query))
                decision = proxy.rule(self.command, split.path, split.query)
                if isinstance(decision, int) and not isinstance(decision, bool):
                    with proxy._lock:
                        proxy.injected.append((self.command, split.path, decision))
                    code = b"SlowDown" if decision == 503 else b"InternalError"
                    payload = _ERROR % code
                    self.send_response(decision)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                if isinstance(decision, float):
                    threading.Event().wait(decision)
                connection = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=60
                )
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    connection.request(self.command, self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                finally:
                    connection.close()
                self.send_response(response.status)
                skipped = ("transfer-encoding", "connection")
                if self.command != "HEAD":
                    skipped += ("content-length",)
                    self.send_header("Content-Length", str(len(data)))
                for key, value in response.getheaders():
                    if key.lower() not in skipped:
                        self.send_header(key, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _relay

        return Handler


@contextmanager
def fault_proxy(upstream: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.server.shutdown()
        proxy.server.server_close()

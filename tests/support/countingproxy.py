"""A streaming HTTP reverse proxy in front of an upstream registry that counts what it is asked.

Pull-through tests put it between Modelyard and the upstream registry:2 to see how often the
upstream is really hit (`count("GET", path)`), how many body bytes it sent, and to misbehave on
purpose:

- `corrupt(digest)`: blob GETs of that digest get the same number of bytes, but wrong ones;
- `throttle(bytes_per_second)`: blob bodies are sent at that rate (per response);
- `delay(seconds)`: every request waits that long before it is forwarded (a hung upstream);
- `answer(status)`: every request is answered with that status (503, 429...) without
  forwarding, as an overloaded upstream does;
- `stop()`: the listening socket closes, so connections are refused as by a dead upstream;
  `start()` listens again on the same port.

Bodies are relayed in 64 KiB pieces, never buffered whole.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PIECE = 64 << 10
#: what a corrupted blob's bytes are mapped through: same length, other bytes
_FLIP = bytes(byte ^ 0x5A for byte in range(256))
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "upgrade"}
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients that drop a connection mid-body (a killed instance) are expected here."""


class CountingProxy:
    def __init__(self, upstream: str, port: int = 0) -> None:
        target = urlsplit(upstream)
        self.upstream_host = target.hostname or "127.0.0.1"
        self.upstream_port = target.port or 80
        self.requests: Counter[tuple[str, str]] = Counter()
        #: body bytes sent to clients, per request path
        self.sent: Counter[str] = Counter()
        self.log: list[tuple[str, str, int]] = []
        self._corrupt: set[str] = set()
        self._rate: float | None = None
        self._status: int | None = None
        self._delay = 0.0
        self._active = 0
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.start()

    # ------------------------------------------------------------------ control

    @property
    def port(self) -> int:
        return self._port

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"

    def start(self) -> None:
        if self._server is not None:
            return
        self._server = _Server(("127.0.0.1", self._port), self._handler())
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the listening socket and every open connection, as a dead upstream does:
        new connections are refused until `start()`."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def corrupt(self, digest: str, enabled: bool = True) -> None:
        with self._lock:
            if enabled:
                self._corrupt.add(digest)
            else:
                self._corrupt.discard(digest)

    def throttle(self, bytes_per_second: float | None) -> None:
        self._rate = bytes_per_second

    def delay(self, seconds: float) -> None:
        self._delay = seconds

    def answer(self, status: int | None) -> None:
        """Answer every request with `status` (None: forward again)."""
        self._status = status

    # ------------------------------------------------------------------ what was seen

    def count(self, method: str, path: str) -> int:
        with self._lock:
            return self.requests[(method, path)]

    def blob_gets(self, repository: str, digest: str) -> int:
        return self.count("GET", f"/v2/{repository}/blobs/{digest}")

    def manifest_requests(self, repository: str, reference: str) -> dict[str, int]:
        path = f"/v2/{repository}/manifests/{reference}"
        return {"GET": self.count("GET", path), "HEAD": self.count("HEAD", path)}

    def bytes_sent(self, path: str) -> int:
        with self._lock:
            return self.sent[path]

    def in_flight(self) -> int:
        """Requests being relayed right now."""
        with self._lock:
            return self._active

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.sent.clear()
            self.log.clear()

    # ------------------------------------------------------------------ relay

    def _record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests[(method, path)] += 1
            self.log.append((method, path, status))

    def _add_sent(self, path: str, size: int) -> None:
        with self._lock:
            self.sent[path] += size

    def _should_corrupt(self, method: str, path: str) -> bool:
        if method != "GET" or "/blobs/" not in path:
            return False
        with self._lock:
            return path.rsplit("/", 1)[-1] in self._corrupt

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._connections.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def log_message(self, format: str, *args: object) -> None:
                return

            def _canned(self, status: int, path: str) -> None:
                proxy._record(self.command, path, status)
                body = b'{"errors":[{"code":"UNAVAILABLE","message":"injected by the test"}]}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if status == 429:
                    self.send_header("Retry-After", "1")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _relay(self) -> None:
                with proxy._lock:
                    proxy._active += 1
                try:
                    self._relay_one()
                finally:
                    with proxy._lock:
                        proxy._active -= 1

            def _relay_one(self) -> None:
                path = urlsplit(self.path).path
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if proxy._delay:
                    time.sleep(proxy._delay)
                status = proxy._status
                if status is not None:
                    self._canned(status, path)
                    return
                upstream = http.client.HTTPConnection(
                    proxy.upstream_host, proxy.upstream_port, timeout=120
                )
                try:
                    try:
                        self._forward(upstream, body)
                        response = upstream.getresponse()
                    except OSError:
                        self._canned(502, path)
                        return
                    proxy._record(self.command, path, response.status)
                    self._respond(response, path)
                finally:
                    upstream.close()

            def _forward(self, upstream: http.client.HTTPConnection, body: bytes | None) -> None:
                """Send the request on, every header line kept (clients repeat Accept)."""
                upstream.putrequest(
                    self.command, self.path, skip_host=True, skip_accept_encoding=True
                )
                for key, value in self.headers.items():
                    if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                        upstream.putheader(key, value)
                if body is not None:
                    upstream.putheader("Content-Length", str(len(body)))
                upstream.endheaders(body)

            def _respond(self, response: http.client.HTTPResponse, path: str) -> None:
                self.send_response(response.status)
                declared = response.getheader("Content-Length")
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                if declared is None and self.command != "HEAD":
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                if self.command == "HEAD":
                    return
                corrupt = proxy._should_corrupt(self.command, path)
                started = time.monotonic()
                sent = 0
                while piece := response.read(PIECE):
                    if corrupt:
                        piece = piece.translate(_FLIP)
                    try:
                        self.wfile.write(piece)
                    except OSError:
                        self.close_connection = True
                        return
                    sent += len(piece)
                    proxy._add_sent(path, len(piece))
                    rate = proxy._rate
                    if rate and "/blobs/" in path:
                        ahead = sent / rate - (time.monotonic() - started)
                        if ahead > 0:
                            time.sleep(ahead)

            do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _relay

        return Handler

"""A small blocking HTTP/1.1 client on raw sockets, built so it is never the bottleneck.

Request bodies go from a file with `sendfile(2)` (no copy through Python); response bodies
are either collected (small: JSON, manifests) or received into one reused buffer and
discarded (blobs). One keep-alive connection per `Connection`, reopened when the server
closes it.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit

RECV_BUFFER = 1 << 20
_NO_BODY_STATUS = {204, 304}


class HTTPError(RuntimeError):
    """A response with an unexpected status, or a broken exchange."""


@dataclass(frozen=True)
class FileSpan:
    """`count` bytes of `path` from `offset`: a request body sent with sendfile."""

    path: Path
    offset: int
    count: int


Body = bytes | FileSpan | None


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes = b""
    received: int = 0  # body bytes received, also when they were discarded
    extra: dict[str, float] = field(default_factory=dict)

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def expect(self, *statuses: int) -> Response:
        if self.status not in statuses:
            text = self.body[:500].decode("utf-8", "replace")
            raise HTTPError(f"HTTP {self.status} {self.reason} (wanted {statuses}): {text}")
        return self


class Connection:
    """One keep-alive HTTP/1.1 connection to `host:port`."""

    def __init__(self, host: str, port: int, timeout: float = 600.0) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._pending = bytearray()  # bytes received past the end of the last response
        self._buffer = bytearray(RECV_BUFFER)
        self._view = memoryview(self._buffer)

    @classmethod
    def to(cls, base_url: str) -> Connection:
        parts = urlsplit(base_url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 80)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self._pending.clear()

    def _socket(self) -> socket.socket:
        if self._sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        return self._sock

    def request(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
        discard: bool = False,
    ) -> Response:
        """Send one request and read its response; `discard` drops the response body."""
        target = self._path_of(target)
        sock = self._socket()
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        length = len(body) if isinstance(body, bytes) else body.count if body else 0
        if body is not None or method in {"POST", "PUT", "PATCH"}:
            lines.append(f"Content-Length: {length}")
        lines.extend(f"{key}: {value}" for key, value in (headers or {}).items())
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        try:
            if isinstance(body, bytes):
                sock.sendall(head + body)
            else:
                sock.sendall(head)
                if isinstance(body, FileSpan) and body.count:
                    with open(body.path, "rb") as handle:
                        self._sendfile(sock, handle, body)
            response = self._read_response(method, discard)
        except (OSError, HTTPError):
            self.close()
            raise
        if response.header("connection").lower() == "close":
            self.close()
        return response

    def _path_of(self, target: str) -> str:
        if target.startswith(("http://", "https://")):
            parts = urlsplit(target)
            return parts.path + (f"?{parts.query}" if parts.query else "")
        return target

    @staticmethod
    def _sendfile(sock: socket.socket, handle: BinaryIO, span: FileSpan) -> None:
        sent = sock.sendfile(handle, span.offset, span.count)
        if sent != span.count:
            raise HTTPError(f"sent {sent} of {span.count} body bytes")

    def _recv_some(self) -> bytes:
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            return data
        assert self._sock is not None
        data = self._sock.recv(RECV_BUFFER)
        if not data:
            raise HTTPError("connection closed by the server")
        return data

    def _read_head(self) -> tuple[int, str, dict[str, str]]:
        data = bytearray()
        while (end := data.find(b"\r\n\r\n")) < 0:
            data += self._recv_some()
            if len(data) > 1 << 20:
                raise HTTPError("response head larger than 1 MiB")
        self._pending[:0] = data[end + 4 :]
        status_line, *header_lines = data[:end].decode("latin-1").split("\r\n")
        _version, status, *reason = status_line.split(" ", 2)
        headers: dict[str, str] = {}
        for line in header_lines:
            key, _, value = line.partition(":")
            headers[key.strip().lower()] = value.strip()
        return int(status), reason[0] if reason else "", headers

    def _read_response(self, method: str, discard: bool) -> Response:
        status, reason, headers = self._read_head()
        while 100 <= status < 200:
            status, reason, headers = self._read_head()
        response = Response(status, reason, headers)
        if method == "HEAD" or status in _NO_BODY_STATUS:
            return response
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._read_chunked(response, discard)
        elif "content-length" in headers:
            self._read_exactly(response, int(headers["content-length"]), discard)
        else:
            self._read_to_close(response, discard)
        return response

    def _take(self, response: Response, data: bytes | memoryview, discard: bool) -> None:
        response.received += len(data)
        if not discard:
            response.body += bytes(data)

    def _read_exactly(self, response: Response, length: int, discard: bool) -> None:
        remaining = length
        if self._pending:
            head = bytes(self._pending[:remaining])
            del self._pending[: len(head)]
            self._take(response, head, discard)
            remaining -= len(head)
        assert self._sock is not None
        recv_into = self._sock.recv_into
        view = self._view
        while remaining:
            got = recv_into(view, min(remaining, RECV_BUFFER))
            if not got:
                raise HTTPError(f"connection closed with {remaining} body bytes missing")
            remaining -= got
            if discard:
                response.received += got
            else:
                self._take(response, view[:got], discard)

    def _read_line(self) -> bytes:
        data = bytearray()
        while (end := data.find(b"\r\n")) < 0:
            data += self._recv_some()
        self._pending[:0] = data[end + 2 :]
        return bytes(data[:end])

    def _read_chunked(self, response: Response, discard: bool) -> None:
        while True:
            size = int(self._read_line().split(b";")[0].strip(), 16)
            if size == 0:
                while self._read_line():  # trailers, then the empty line
                    pass
                return
            self._read_exactly(response, size, discard)
            self._read_line()

    def _read_to_close(self, response: Response, discard: bool) -> None:
        try:
            while True:
                self._take(response, self._recv_some(), discard)
        except HTTPError:
            pass
        self.close()

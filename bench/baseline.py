"""Trivial servers that measure the harness itself: how fast can the client and the load tool go?

`python -m bench.baseline --rps-port A --bulk-port B --file BLOB` runs, in one process:
- on A, an asyncio (uvloop when installed) server that answers every request head at once
  with a canned 200, keep-alive: the load tool's ceiling on this machine;
- on B, a threaded blocking server that discards request bodies (recv_into one buffer) and
  answers GET with BLOB through sendfile(2): the bulk client's ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import socketserver
import threading
from pathlib import Path
from typing import cast

CANNED_HEADERS = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
    b"Connection: keep-alive\r\nDocker-Distribution-API-Version: registry/2.0\r\n\r\n"
)


class CannedProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.WriteTransport | None = None
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.WriteTransport, transport)  # uvloop's is no subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        out = []
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            out.append(CANNED_HEADERS if head.startswith(b"HEAD ") else CANNED_HEADERS + b"{}")
        if out and self.transport is not None:
            self.transport.write(b"".join(out))


class BulkHandler(socketserver.BaseRequestHandler):
    blob: Path

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buffer = bytearray(1 << 20)
        view = memoryview(buffer)
        pending = b""
        while True:
            while (end := pending.find(b"\r\n\r\n")) < 0:
                data = sock.recv(65536)
                if not data:
                    return
                pending += data
            head, pending = pending[:end].decode("latin-1"), pending[end + 4 :]
            length = 0
            for line in head.split("\r\n")[1:]:
                key, _, value = line.partition(":")
                if key.strip().lower() == "content-length":
                    length = int(value)
            remaining = length - len(pending)
            pending = pending[length:] if remaining < 0 else b""
            while remaining > 0:
                got = sock.recv_into(view, min(remaining, len(buffer)))
                if not got:
                    return
                remaining -= got
            if head.startswith("GET "):
                size = os.path.getsize(self.blob)
                sock.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
                with open(self.blob, "rb") as handle:
                    sock.sendfile(handle)
            else:
                sock.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")


class BulkServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


async def serve_canned(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(CannedProtocol, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rps-port", type=int, required=True)
    parser.add_argument("--bulk-port", type=int, required=True)
    parser.add_argument("--file", type=Path, required=True)
    args = parser.parse_args()
    BulkHandler.blob = args.file
    bulk = BulkServer(("127.0.0.1", args.bulk_port), BulkHandler)
    threading.Thread(target=bulk.serve_forever, daemon=True).start()
    try:
        import uvloop

        uvloop.run(serve_canned(args.rps_port))
    except ImportError:
        asyncio.run(serve_canned(args.rps_port))


if __name__ == "__main__":
    main()

"""A real HTTP webhook receiver on a free loopback port, in a thread of the test process.

It records every POST (headers, body, the event ids in it), checks the HMAC signature the
way a receiver should, and answers as the test scripts it: a status per attempt of an event,
or a hang on the first attempt (until released) to stand for a receiver that stalls while
the sending instance dies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.s3server import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def events(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = json.loads(self.body)["events"]
        return found

    @property
    def event_id(self) -> str:
        return self.headers["x-modelyard-event-id"]


def verify(secret: str, received: Received, tolerance: float = 300.0) -> bool:
    """What a receiver checks: the signature of `<timestamp>.<body>` and a recent timestamp."""
    timestamp = received.headers.get("x-modelyard-timestamp", "")
    signature = received.headers.get("x-modelyard-signature", "")
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= tolerance
    return fresh and hmac.compare_digest(signature, "sha256=" + expected)


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    #: status of the n-th attempt (0-based) of each event; 204 beyond the list
    statuses: list[int] = field(default_factory=list)
    #: (action, repository): the next event of these hangs on its first attempt until
    #: `release` is set (once per pair)
    hang_first: set[tuple[str, str]] = field(default_factory=set)
    release: threading.Event = field(default_factory=threading.Event)
    hanging: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def attempts(self, event_id: str) -> list[Received]:
        with self.lock:
            return [item for item in self.received if item.event_id == event_id]

    def by_event(self) -> dict[str, int]:
        with self.lock:
            counts: dict[str, int] = {}
            for item in self.received:
                counts[item.event_id] = counts.get(item.event_id, 0) + 1
            return counts

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver: condition not met in {timeout}s: {self.received}")
            time.sleep(0.05)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            item = Received({k.lower(): v for k, v in self.headers.items()}, body, time.time())
            with receiver.lock:
                previous = sum(1 for r in receiver.received if r.event_id == item.event_id)
                receiver.received.append(item)
            event = item.events[0]
            key = (event["action"], event["target"]["repository"])
            with receiver.lock:
                hang = previous == 0 and key in receiver.hang_first
                receiver.hang_first.discard(key)
            if hang:
                receiver.hanging.set()
                receiver.release.wait(60)
                return
            status = receiver.statuses[previous] if previous < len(receiver.statuses) else 204
            try:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
            except OSError:
                pass

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    port = free_port()
    receiver = Receiver(f"http://127.0.0.1:{port}/hook")
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        server.shutdown()
        server.server_close()

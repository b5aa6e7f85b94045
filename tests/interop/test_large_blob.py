"""A 1 GiB blob through a real Modelyard process with bounded server memory.

The blob is generated on the fly from a seeded PRNG in 1 MiB pieces and hashed as it is
produced; it is never held in memory by the test, and the server must not hold it either: a
thread samples the server's RSS every 50 ms during each transfer and the peak must stay under
150 MiB. The peaks are printed (and recorded as junit properties) so they can be quoted.
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin

import httpx
import psutil
import pytest

from tests.interop.helpers import ServerProcess

pytestmark = [pytest.mark.interop, pytest.mark.slow]

MIB = 1 << 20
SIZE = 1024 * MIB
PIECE = MIB
CHUNK = 16 * MIB
RSS_LIMIT = 150 * MIB
SEED = 20240601
TAIL = 4096
TIMEOUT = httpx.Timeout(600.0, connect=10.0)


def pieces(seed: int = SEED, size: int = SIZE, piece: int = PIECE) -> Iterator[bytes]:
    """The blob, deterministic for a seed, one `piece` at a time."""
    rng = random.Random(seed)
    for _ in range(size // piece):
        yield rng.randbytes(piece)


@dataclass
class Generated:
    """Hashes (and keeps the tail of) whatever passes through `stream`."""

    hasher: hashlib._Hash = field(default_factory=hashlib.sha256)
    length: int = 0
    tail: bytes = b""

    def stream(self, source: Iterator[bytes]) -> Iterator[bytes]:
        for piece in source:
            self.hasher.update(piece)
            self.length += len(piece)
            self.tail = (self.tail + piece)[-TAIL:]
            yield piece

    @property
    def digest(self) -> str:
        return "sha256:" + self.hasher.hexdigest()


def rechunk(source: Iterator[bytes], size: int) -> Iterator[bytes]:
    buffer = bytearray()
    for piece in source:
        buffer += piece
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)


def tree_rss(process: psutil.Process) -> int:
    """RSS of the server with its worker processes (granian serves from a child)."""
    total = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += child.memory_info().rss
    return total


class RssSampler:
    """Samples a process's RSS every `interval` seconds on a background thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        rss = tree_rss(self.process)
        self.peak = max(self.peak, rss)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._sample()
            except psutil.NoSuchProcess:
                return
            self._stop.wait(self.interval)

    @contextmanager
    def running(self) -> Iterator[RssSampler]:
        self._sample()
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()
            self._sample()


@dataclass
class Report:
    server: ServerProcess
    capsys: pytest.CaptureFixture[str]
    record_property: Callable[[str, object], None]

    @contextmanager
    def measure(self, phase: str) -> Iterator[RssSampler]:
        sampler = RssSampler(self.server.pid)
        started = time.perf_counter()
        with sampler.running():
            yield sampler
        seconds = time.perf_counter() - started
        line = (
            f"[large-blob] {phase}: 1 GiB in {seconds:.1f}s ({SIZE / MIB / seconds:.0f} MiB/s), "
            f"server peak RSS {sampler.peak / MIB:.1f} MiB over {sampler.samples} samples "
            f"(limit {RSS_LIMIT / MIB:.0f} MiB)"
        )
        with self.capsys.disabled():
            print("\n" + line, flush=True)
        self.record_property(
            f"peak_rss_mib_{phase.replace(' ', '_')}", round(sampler.peak / MIB, 1)
        )
        assert sampler.peak < RSS_LIMIT, line


@pytest.fixture
def report(
    modelyard: ServerProcess,
    capsys: pytest.CaptureFixture[str],
    record_property: Callable[[str, object], None],
) -> Iterator[Report]:
    baseline = tree_rss(psutil.Process(modelyard.pid))
    with capsys.disabled():
        print(f"\n[large-blob] server pid {modelyard.pid} idle RSS {baseline / MIB:.1f} MiB")
    yield Report(modelyard, capsys, record_property)
    # the blob and its upload leftovers are 1 GiB or more: do not keep them in tmp_path
    modelyard.stop()
    shutil.rmtree(modelyard.root, ignore_errors=True)


def _check_get(
    server: ServerProcess, client: httpx.Client, digest: str, tail: bytes, report: Report
) -> None:
    url = f"{server.url}/v2/big/model/blobs/{digest}"
    head = client.head(url)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == SIZE
    assert head.headers["Docker-Content-Digest"] == digest

    received = Generated()
    with report.measure("GET"), client.stream("GET", url) as response:
        assert response.status_code == 200
        assert int(response.headers["Content-Length"]) == SIZE
        assert response.headers["Docker-Content-Digest"] == digest
        for _ in received.stream(response.iter_bytes(PIECE)):
            pass
    assert received.length == SIZE
    assert received.digest == digest

    ranged = client.get(url, headers={"Range": f"bytes={SIZE - TAIL}-{SIZE - 1}"})
    assert ranged.status_code == 206
    assert ranged.headers["Content-Range"] == f"bytes {SIZE - TAIL}-{SIZE - 1}/{SIZE}"
    assert ranged.content == tail


def test_monolithic_push_and_get(modelyard: ServerProcess, report: Report) -> None:
    # POST ?digest= needs the digest up front: one generating pass to hash, then the upload
    expected = Generated()
    for _ in expected.stream(pieces()):
        pass
    sent = Generated()
    with httpx.Client(timeout=TIMEOUT) as client:
        with report.measure("monolithic push"):
            response = client.post(
                f"{modelyard.url}/v2/big/model/blobs/uploads/",
                params={"digest": expected.digest},
                content=sent.stream(pieces()),
                headers={"Content-Type": "application/octet-stream", "Content-Length": str(SIZE)},
            )
        assert response.status_code == 201, response.text
        assert response.headers["Docker-Content-Digest"] == expected.digest
        assert sent.digest == expected.digest, "the generator is not deterministic"
        _check_get(modelyard, client, expected.digest, expected.tail, report)


def test_chunked_push_and_get(modelyard: ServerProcess, report: Report) -> None:
    sent = Generated()
    with httpx.Client(timeout=TIMEOUT) as client:
        with report.measure("chunked push"):
            started = client.post(f"{modelyard.url}/v2/big/model/blobs/uploads/")
            assert started.status_code == 202, started.text
            location = urljoin(modelyard.url, started.headers["Location"])
            offset = 0
            for chunk in rechunk(sent.stream(pieces()), CHUNK):
                end = offset + len(chunk) - 1
                patched = client.patch(
                    location,
                    content=chunk,
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Range": f"{offset}-{end}",
                        "Content-Length": str(len(chunk)),
                    },
                )
                assert patched.status_code == 202, patched.text
                assert patched.headers["Range"] == f"0-{end}"
                location = urljoin(modelyard.url, patched.headers["Location"])
                offset = end + 1
            status = client.get(location)
            assert status.status_code == 204
            assert status.headers["Range"] == f"0-{SIZE - 1}"
            finished = client.put(location, params={"digest": sent.digest})
        assert finished.status_code == 201, finished.text
        assert finished.headers["Docker-Content-Digest"] == sent.digest
        assert sent.length == SIZE
        _check_get(modelyard, client, sent.digest, sent.tail, report)

"""The harness's own ceiling, measured against the trivial servers of `bench.baseline`.

If the client pushes and pulls far faster than either registry, and the load tool does
more requests per second against a canned responder than against either registry, then
the numbers of the scenarios are the servers' and not the harness's.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

from bench.blobfile import BlobFile
from bench.client import Connection, FileSpan, HTTPError
from bench.loadgen import run_load
from bench.servers import HOST, free_port
from bench.settings import Settings
from bench.units import mib_per_s


@dataclass
class Capacity:
    name: str
    unit: str
    title: str
    values: list[float] = field(default_factory=list)
    extra: dict[str, float | str] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.values)


def _wait(port: int, process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the baseline server exited at start")
        try:
            with Connection(HOST, port) as conn:
                conn.request("PUT", "/ready", body=b"").expect(201)
            return
        except (OSError, HTTPError):
            time.sleep(0.05)
    raise RuntimeError("the baseline server did not start")


def measure(settings: Settings) -> list[Capacity]:
    files = settings.workdir / "files" / "capacity"
    files.mkdir(parents=True, exist_ok=True)
    blob = BlobFile.generate(files / "blob", settings.size, 9_000)
    rps_port, bulk_port = free_port(), free_port()
    argv = [sys.executable, "-m", "bench.baseline", "--rps-port", str(rps_port)]
    argv += ["--bulk-port", str(bulk_port), "--file", str(blob.path)]
    log = open(files / "baseline.log", "wb")  # noqa: SIM115 - handed to the child
    with log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
    upload = Capacity("client-upload", "MiB/s", "raw client PUT of the blob to a discarding sink")
    download = Capacity("client-download", "MiB/s", "raw client GET of the blob from sendfile")
    get = Capacity("tool-get", "req/s", f"{settings.load_tool} GET against a canned responder")
    head = Capacity("tool-head", "req/s", f"{settings.load_tool} HEAD against a canned responder")
    try:
        _wait(bulk_port, process)
        with Connection(HOST, bulk_port) as conn:
            for _ in range(settings.runs):
                started = time.perf_counter()
                conn.request("PUT", "/sink", body=FileSpan(blob.path, 0, blob.size)).expect(201)
                upload.values.append(mib_per_s(blob.size, time.perf_counter() - started))
                started = time.perf_counter()
                got = conn.request("GET", "/source", discard=True).expect(200)
                download.values.append(mib_per_s(got.received, time.perf_counter() - started))
        for capacity, method in ((get, "GET"), (head, "HEAD")):
            for _ in range(settings.runs):
                result = run_load(
                    f"http://{HOST}:{rps_port}/v2/",
                    tool=settings.load_tool,
                    method=method,
                    concurrency=settings.concurrency,
                    duration=settings.duration,
                    requests=settings.requests,
                )
                capacity.values.append(result.rps)
                capacity.extra["tool_cores"] = round(result.tool_cores, 3)
    finally:
        process.terminate()
        process.wait(10)
        blob.remove()
    return [upload, download, get, head]

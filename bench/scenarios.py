"""The scenarios: what each one sets up, what one run of it measures, and in which unit.

A scenario is run against both servers in the same process of the harness: `setup` once per
server, then for every run `before_run` (shared input, e.g. a fresh blob), `measure` on each
server (alternating which goes first), `after_run`. `measure` returns one `Sample` per metric.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bench import ociimage, ops
from bench.blobfile import BlobFile
from bench.client import HTTPError
from bench.loadgen import run_load
from bench.servers import RssSampler, S3Service, Server, ServerName, running
from bench.settings import Settings
from bench.units import MIB, mib_per_s

Extra = dict[str, float | str]
REPO = "bench/blobs"


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    better: Literal["higher", "lower"]
    title: str


@dataclass
class Sample:
    value: float
    extra: Extra = field(default_factory=dict)


class Usage:
    """CPU used by the server, by this client process (or its child tools) and, on S3, by the
    moto server, over a block."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.extra: Extra = {}

    @staticmethod
    def _own() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime

    def __enter__(self) -> Usage:
        self._server0 = self.server.cpu_seconds()
        self._client0 = self._own()
        self._s3_0 = self.server.s3.cpu_seconds() if self.server.s3 else 0.0
        self._wall0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._wall0
        self.seconds = wall
        self.extra["server_cpu_s"] = round(self.server.cpu_seconds() - self._server0, 3)
        self.extra["server_cores"] = round(float(self.extra["server_cpu_s"]) / wall, 3)
        self.extra["client_cores"] = round((self._own() - self._client0) / wall, 3)
        if self.server.s3 is not None:
            self.extra["s3_cores"] = round((self.server.s3.cpu_seconds() - self._s3_0) / wall, 3)


class Scenario:
    name = ""
    metrics: tuple[Metric, ...] = ()

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.single_post: dict[ServerName, bool] = {}

    @property
    def files(self) -> Path:
        path = self.settings.workdir / "files" / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def servers(
        self, folder: Path, s3: S3Service | None, http_server: str | None
    ) -> AbstractContextManager[dict[ServerName, Server]]:
        """The servers a run measures: by default one of each, fresh, under `folder`."""
        return running(folder, s3, http_server)

    def setup(self, server: Server) -> None:
        with server.connect() as conn:
            self.single_post[server.name] = ops.supports_monolithic_post(conn, REPO)

    def before_run(self, run: int) -> None:
        return None

    def measure(self, server: Server, run: int) -> dict[str, Sample]:
        raise NotImplementedError

    def after_run(self, run: int) -> None:
        return None

    def teardown(self) -> None:
        shutil.rmtree(self.files, ignore_errors=True)

    def _push_method(self, server: Server) -> str:
        return "POST ?digest=" if self.single_post[server.name] else "POST + PUT ?digest="


class _FreshBlob(Scenario):
    """Scenarios that push a new blob of `size` every run, then drop it from the storage."""

    seed_base = 0

    def _size(self) -> int:
        return self.settings.size

    def before_run(self, run: int) -> None:
        self.blob = BlobFile.generate(self.files / "blob", self._size(), self.seed_base + run)

    def after_run(self, run: int) -> None:
        self.blob.remove()

    def _verify_and_drop(self, server: Server) -> None:
        with server.connect() as conn:
            size = ops.blob_size(conn, REPO, self.blob.digest)
            if size != self.blob.size:
                raise HTTPError(f"{server.name} stored {size} bytes of {self.blob.size}")
            if self.settings.smoke and ops.get_blob_digest(conn, REPO, self.blob.digest) != (
                self.blob.digest
            ):
                raise HTTPError(f"{server.name} returned other bytes than were pushed")
        server.remove_blob(self.blob.hex)


class PushMonolithic(_FreshBlob):
    name = "push-monolithic"
    metrics = (Metric(name, "MiB/s", "higher", "blob push, one request body"),)
    seed_base = 1_000

    def measure(self, server: Server, run: int) -> dict[str, Sample]:
        with server.connect() as conn, Usage(server) as usage:
            timed = ops.push_monolithic(conn, REPO, self.blob, self.single_post[server.name])
        self._verify_and_drop(server)
        extra: Extra = {**usage.extra, "method": self._push_method(server)}
        return {self.name: Sample(mib_per_s(timed.size, timed.seconds), extra)}


class PushChunked(_FreshBlob):
    name = "push-chunked"
    metrics = (Metric(name, "MiB/s", "higher", "blob push, PATCH chunks + Content-Range"),)
    seed_base = 2_000

    def _size(self) -> int:
        return self.settings.chunked_size

    def measure(self, server: Server, run: int) -> dict[str, Sample]:
        with server.connect() as conn, Usage(server) as usage:
            timed = ops.push_chunked(conn, REPO, self.blob, self.settings.chunk)
        self._verify_and_drop(server)
        extra: Extra = {**usage.extra, "chunk_bytes": self.settings.chunk, "blob_bytes": timed.size}
        return {self.name: Sample(mib_per_s(timed.size, timed.seconds), extra)}


class BlobGet(Scenario):
    name = "blob-get"
    metrics = (Metric(name, "MiB/s", "higher", "blob GET, streamed and discarded"),)

    def setup(self, server: Server) -> None:
        super().setup(server)
        if not hasattr(self, "blob"):
            self.blob = BlobFile.generate(self.files / "blob", self.settings.size, 3_000)
        with server.connect() as conn:
            ops.push_monolithic(conn, REPO, self.blob, self.single_post[server.name])
            ops.get_blob(conn, REPO, self.blob.digest, self.blob.size)  # warm the page cache

    def measure(self, server: Server, run: int) -> dict[str, Sample]:
        with server.connect() as conn, Usage(server) as usage:
            timed = ops.get_blob(conn, REPO, self.blob.digest, self.blob.size)
        return {self.name: Sample(mib_per_s(timed.size, timed.seconds), usage.extra)}


class _RequestRate(Scenario):
    """req/s of one URL at `concurrency` keep-alive connections, after a warm-up."""

    method = "GET"
    headers: dict[str, str] = {}  # noqa: RUF012 - read only

    def setup(self, server: Server) -> None:
        super().setup(server)
        with server.connect() as conn:
            self.manifest, self.layer = ops.push_small_image(
                conn, REPO, "latest", self.single_post[server.name]
            )

    def path(self) -> str:
        raise NotImplementedError

    def _load(self, server: Server, warmup: bool = False) -> Sample:
        s = self.settings
        with Usage(server) as usage:
            result = run_load(
                server.url + self.path(),
                tool=s.load_tool,
                method=self.method,
                headers=self.headers,
                concurrency=s.concurrency,
                duration=(s.warmup if warmup else s.duration),
                requests=s.requests,
            )
        extra: Extra = {
            **usage.extra,
            "tool": result.tool,
            "requests": result.requests,
            "tool_cores": round(result.tool_cores, 3),
        }
        extra.pop("client_cores")  # that is the tool's, already in tool_cores
        if result.keepalive_requests is not None:
            extra["keepalive_requests"] = result.keepalive_requests
        return Sample(result.rps, extra)

    def measure(self, server: Server, run: int) -> dict[str, Sample]:
        if run == 0 and self.settings.warmup:
            self._load(server, warmup=True)
        return {self.name: self._load(server)}


class ManifestGet(_RequestRate):
    name = "manifest-get"
    metrics = (Metric(name, "req/s", "higher", "GET manifest by tag, 64 connections"),)
    headers = {"Accept": ops.MANIFEST_ACCEPT}  # noqa: RUF012

    def path(self) -> str:
        return f"/v2/{REPO}/manifests/latest"


class BlobHead(_RequestRate):
    name = "blob-head"
    metrics = (Metric(name, "req/s", "higher", "HEAD blob, 64 connections"),)
    method = "HEAD"

    def path(self) -> str:
        return f"/v2/{REPO}/blobs/{self.layer}"


class BaseCheck(_RequestRate):
    name = "v2-base"
    metrics = (Metric(name, "req/s", "higher", "GET /v2/, 64 connections"),)

    def path(self) -> str:
        return "/v2/"


class Skopeo(Scenario):
    name = "skopeo"
    metrics = (
        Metric("skopeo-push", "s", "lower", "skopeo copy oci: -> registry, 3 layers"),
        Metric("skopeo-pull", "s", "lower", "skopeo copy registry -> oci:"),
    )

    def before_run(self, run: int) -> None:
        shutil.rmtree(self.files / "image", ignore_errors=True)
        self.image = ociimage.generate(self.files / "image", list(self.settings.layer_sizes))

    def _skopeo(self, *args: str) -> float:
        argv = ["skopeo", "--insecure-policy", "copy", "--retry-times", "0", "-q", *args]
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {done.stderr[-2000:]}")
        return time.perf_counter() - started

    def measure(self, server: Server, run: int) -> dict[str, Sample]:
        ref = f"127.0.0.1:{server.port}/bench/skopeo:run{run}"
        source = f"oci:{self.image.layout}:{self.image.tag}"
        with Usage(server) as push:
            self._skopeo("--dest-tls-verify=false", source, f"docker://{ref}")
        pulled = self.files / f"pulled-{server.name}"
        shutil.rmtree(pulled, ignore_errors=True)
        with Usage(server) as pull:
            self._skopeo("--src-tls-verify=false", f"docker://{ref}", f"oci:{pulled}:latest")
        shutil.rmtree(pulled, ignore_errors=True)
        size: Extra = {"image_bytes": self.image.size}
        return {
            "skopeo-push": Sample(push.seconds, {**push.extra, **size}),
            "skopeo-pull": Sample(pull.seconds, {**pull.extra, **size}),
        }


class PeakRss(_FreshBlob):
    name = "rss"
    metrics = (
        Metric("rss-push", "MiB", "lower", "peak server RSS during a blob push"),
        Metric("rss-pull", "MiB", "lower", "peak server RSS during a blob GET"),
    )
    seed_base = 4_000

    def _size(self) -> int:
        return self.settings.rss_size

    def measure(self, server: Server, run: int) -> dict[str, Sample]:
        idle = server.rss() / MIB
        with server.connect() as conn:
            with RssSampler(server) as push_rss, Usage(server) as push_cpu:
                pushed = ops.push_monolithic(conn, REPO, self.blob, self.single_post[server.name])
            with RssSampler(server) as pull_rss, Usage(server) as pull_cpu:
                pulled = ops.get_blob(conn, REPO, self.blob.digest, self.blob.size)
        self._verify_and_drop(server)
        common: Extra = {"idle_mib": round(idle, 1), "blob_bytes": self.blob.size}
        push_rate = round(mib_per_s(pushed.size, pushed.seconds), 1)
        pull_rate = round(mib_per_s(pulled.size, pulled.seconds), 1)
        return {
            "rss-push": Sample(
                push_rss.peak / MIB, {**common, **push_cpu.extra, "mib_per_s": push_rate}
            ),
            "rss-pull": Sample(
                pull_rss.peak / MIB, {**common, **pull_cpu.extra, "mib_per_s": pull_rate}
            ),
        }


SCENARIOS: tuple[type[Scenario], ...] = (
    PushMonolithic,
    PushChunked,
    BlobGet,
    ManifestGet,
    BlobHead,
    BaseCheck,
    Skopeo,
    PeakRss,
)


def all_metrics() -> list[Metric]:
    return [metric for scenario in SCENARIOS for metric in scenario.metrics]

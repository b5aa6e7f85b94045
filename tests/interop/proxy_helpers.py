"""Shared setup of the pull-through interop tests: an upstream registry:2 behind a counting
proxy, Modelyard instances configured to pull through it, and clients that download and hash.

`ProxyLab` owns everything a test starts (servers, proxies, a PostgreSQL schema) and stops it
afterwards, checking the server logs for crashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.interop import helpers
from tests.interop.helpers import OciImage, ServerProcess
from tests.support.countingproxy import CountingProxy
from tests.support.postgres import drop_schema, new_schema
from tests.support.s3server import free_port

CACHE_HEADER = "X-Modelyard-Cache"
UPSTREAM = "central"
PIECE = 1 << 20


def proxy_section(
    upstream_url: str,
    *,
    prefixes: list[tuple[str, str]] | None = None,
    manifestttl: int = 300,
    leaseseconds: int = 15,
    **upstream: Any,
) -> dict[str, Any]:
    """The agreed `proxy:` config section with one upstream named `central`."""
    return {
        "manifestttl": manifestttl,
        "leaseseconds": leaseseconds,
        "upstreams": [
            {
                "name": UPSTREAM,
                "url": upstream_url,
                "timeout": 10,
                "prefixes": [
                    {"local": local, "remote": remote}
                    for local, remote in (prefixes or [("library/", "library/")])
                ],
                **upstream,
            }
        ],
    }


@dataclass
class ProxyLab:
    """Servers and proxies of one test, all on loopback; see `proxy_lab`."""

    tmp_path: Path
    database_url: str
    stack: ExitStack
    servers: list[ServerProcess] = field(default_factory=list)
    schema: str = ""

    def upstream(self, name: str = "upstream", auth: dict[str, Any] | None = None) -> ServerProcess:
        """A registry:2 (Debian `docker-registry`) on its own folder, with an `auth:` section
        (token or htpasswd) when given."""
        workdir = self.tmp_path / "servers" / name
        if auth is None:
            server = helpers.start_docker_registry(self.tmp_path / name, workdir)
        else:
            server = start_registry2_with_auth(self.tmp_path / name, workdir, auth)
        self.servers.append(server)
        return server

    def counting(self, upstream: ServerProcess | str) -> CountingProxy:
        url = upstream if isinstance(upstream, str) else upstream.url
        proxy = CountingProxy(url)
        self.stack.callback(proxy.stop)
        return proxy

    def database(self) -> dict[str, str]:
        """The `database:` section: one fresh schema shared by every instance of the test."""
        if not self.schema:
            self.schema = anyio.run(new_schema, self.database_url)
            self.stack.callback(anyio.run, drop_schema, self.database_url, self.schema)
        return {"url": self.database_url, "schema": self.schema}

    def modelyard(
        self, proxy: dict[str, Any], storage: dict[str, Any] | None = None, name: str = "cache"
    ) -> ServerProcess:
        """A Modelyard instance pulling through `proxy`; instances given the same `storage`
        (an S3 bucket) or the same `name` (a folder) share their blobs."""
        server = helpers.start_modelyard(
            self.tmp_path / name,
            self.tmp_path / "servers",
            storage=storage,
            database=self.database(),
            sections={"proxy": proxy},
        )
        self.servers.append(server)
        return server


@contextmanager
def proxy_lab(tmp_path: Path, database_url: str) -> Iterator[ProxyLab]:
    with ExitStack() as stack:
        lab = ProxyLab(tmp_path, database_url, stack)
        try:
            yield lab
        finally:
            for server in lab.servers:
                server.stop()
        for server in lab.servers:
            server.check_log()


def start_registry2_with_auth(root: Path, workdir: Path, auth: dict[str, Any]) -> ServerProcess:
    """registry:2 as `helpers.start_docker_registry` starts it, plus an `auth:` section; ready
    when `/v2/` asks for credentials."""
    binary = helpers.require_tool("docker-registry")
    workdir.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / f"registry2-{port}.yml"
    settings = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": helpers.filesystem_storage(root),
        "http": {"addr": f"127.0.0.1:{port}"},
        "auth": auth,
    }
    config.write_text(json.dumps(settings, indent=2))
    log_path = workdir / f"registry2-{port}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, "serve", config], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir
        )
    server = ServerProcess(
        "docker-registry", "127.0.0.1", port, root, log_path, process, fatal_markers=("panic:",)
    )
    deadline = time.monotonic() + helpers.STARTUP_SECONDS
    while True:
        try:
            if httpx.get(server.url + "/v2/", timeout=1).status_code == 401:
                return server
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"registry:2 with auth did not start:\n{server.log()[-4000:]}")
        time.sleep(0.05)


def fill_upstream(
    skopeo: str,
    upstream: ServerProcess,
    image: OciImage,
    repository: str,
    tag: str,
    work: Path,
    *extra: str,
) -> str:
    """Push an OCI layout into the upstream with skopeo; returns the manifest digest."""
    return helpers.skopeo_copy(
        skopeo, image.ref, f"docker://{upstream.netloc}/{repository}:{tag}", *extra, workdir=work
    )


# --------------------------------------------------------------------------- blobs


@dataclass(frozen=True)
class BlobFile:
    path: Path
    size: int
    digest: str


def make_blob(path: Path, size: int, seed: int) -> BlobFile:
    """A file of `size` seeded pseudo-random bytes, written in pieces, with its digest."""
    rng = random.Random(seed)
    hasher = hashlib.sha256()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        left = size
        while left:
            piece = rng.randbytes(min(PIECE, left))
            hasher.update(piece)
            out.write(piece)
            left -= len(piece)
    return BlobFile(path, size, "sha256:" + hasher.hexdigest())


def push_blob(registry_url: str, repository: str, blob: BlobFile) -> None:
    """A monolithic upload streamed from the file (registry:2 2.8 ignores a POST body, so
    POST, then PUT ?digest= with the body)."""
    with httpx.Client(timeout=300) as client:
        started = client.post(f"{registry_url}/v2/{repository}/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = started.headers["Location"]
        if location.startswith("/"):
            location = registry_url + location
        separator = "&" if "?" in location else "?"
        with blob.path.open("rb") as body:
            done = client.put(
                f"{location}{separator}digest={blob.digest}",
                content=body,
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(blob.size),
                },
            )
        assert done.status_code == 201, done.text


@dataclass
class Download:
    """What one client got: status, cache header, body size and digest, or the error."""

    status: int = 0
    cache: str = ""
    size: int = 0
    digest: str = ""
    error: str = ""
    first_byte: threading.Event = field(default_factory=threading.Event, repr=False)

    def ok(self, blob: BlobFile) -> bool:
        return (
            not self.error
            and self.status == 200
            and self.size == blob.size
            and self.digest == blob.digest
        )


def download(url: str, result: Download | None = None, timeout: float = 300) -> Download:
    """GET `url` streaming, hashing as it arrives; never raises, records the failure instead."""
    result = result or Download()
    hasher = hashlib.sha256()
    try:
        with (
            httpx.Client(timeout=timeout) as client,
            client.stream("GET", url, follow_redirects=True) as response,
        ):
            result.status = response.status_code
            result.cache = response.headers.get(CACHE_HEADER, "")
            for piece in response.iter_bytes(PIECE):
                result.first_byte.set()
                hasher.update(piece)
                result.size += len(piece)
    except httpx.HTTPError as exc:
        result.error = f"{type(exc).__name__}: {exc}"
    result.first_byte.set()
    result.digest = "sha256:" + hasher.hexdigest()
    return result


def blob_url(server: ServerProcess, repository: str, digest: str) -> str:
    return f"{server.url}/v2/{repository}/blobs/{digest}"


def stored_blob(root: Path, digest: str) -> Path:
    """Where the filesystem driver keeps a blob's data under a server's root."""
    hex_ = digest.split(":", 1)[1]
    return root / "docker" / "registry" / "v2" / "blobs" / "sha256" / hex_[:2] / hex_ / "data"


# --------------------------------------------------------------------------- observing


def metric(server: ServerProcess, name: str, **labels: str) -> float:
    """The sum of the samples of `name` at the server's /metrics whose labels include
    `labels` (a counter's `_total` samples, not its `_created`)."""
    response = httpx.get(f"{server.url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    total = 0.0
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def cache_header(response: httpx.Response) -> str:
    return response.headers.get(CACHE_HEADER, "")


def kill_tree(server: ServerProcess) -> None:
    """SIGKILL a server and its worker processes at once, as a crashed node loses them."""
    parent = psutil.Process(server.pid)
    victims = [*parent.children(recursive=True), parent]
    for process in victims:
        with suppress(psutil.NoSuchProcess):
            process.kill()
    psutil.wait_procs(victims, timeout=10)
    server.process.wait(timeout=10)


#: how long a test waits for something that should happen in a second or two
PATIENCE = 120.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` until it holds; fail the test after PATIENCE seconds."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up after {PATIENCE}s waiting for {what}")
        time.sleep(0.05)

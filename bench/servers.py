"""Start and stop the two servers under test, each on a free loopback port and fresh storage.

Both use the same storage kind: the filesystem driver on a fresh folder each, or (`--s3`) the
S3 driver on a fresh bucket each of one shared moto server. registry:2 gets the configuration
its official image ships (in-memory blob descriptor cache, storage health check), with logging
reduced to errors as Modelyard's access log is switched off. On S3, registry:2's redirect of
blob GETs to the bucket is switched off, so both servers stream blob bytes themselves (as
Modelyard does by default), and both use the same part size.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import boto3
import psutil
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from bench.client import Connection, HTTPError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

HOST = "127.0.0.1"
ServerName = Literal["modelyard", "registry2"]
SERVERS: tuple[ServerName, ...] = ("modelyard", "registry2")
_ENV_PREFIXES = ("MODELYARD_", "REGISTRY_")

S3_ACCESS_KEY = "modelyard-bench"
S3_SECRET_KEY = "modelyard-bench-secret"
S3_REGION = "us-east-1"
S3_ROOT = "bench"  # rootdirectory of both servers: their keys start with "bench/docker/..."
S3_CHUNK = 10 << 20  # multipart part size of both servers (registry:2's default)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """Stop a child: SIGTERM, then SIGKILL if it has not exited within 10 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def modelyard_command() -> list[str]:
    script = Path(sys.executable).parent / "modelyard"
    if script.exists():
        return [str(script)]
    found = shutil.which("modelyard")
    return [found] if found else [sys.executable, "-m", "registry"]


def registry2_command() -> list[str]:
    found = shutil.which("docker-registry") or shutil.which("registry")
    if found is None:
        raise RuntimeError("docker-registry (registry:2) is not installed: apt-get install it")
    return [found]


def moto_command(port: int) -> list[str]:
    script = Path(sys.executable).parent / "moto_server"
    found = str(script) if script.exists() else shutil.which("moto_server")
    if found is None:
        raise RuntimeError("moto_server is not installed: pip install -e '.[test]'")
    return [found, "-H", HOST, "-p", str(port)]


def _clean_env(name: ServerName) -> dict[str, str]:
    """The environment without MODELYARD_* or REGISTRY_* overrides of the config files.

    registry:2 also loses AWS_CA_BUNDLE: its AWS SDK loads that file when it creates the S3
    session and fails the start if it cannot use it (it may be meant for another client);
    moto is plain HTTP, so there is nothing for it to verify.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIXES)}
    if name == "registry2":
        env.pop("AWS_CA_BUNDLE", None)
    return env


@dataclass
class S3Service:
    """One moto server (S3 over HTTP on loopback) in its own process, shared by both servers."""

    workdir: Path
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    ps: psutil.Process | None = None
    _client: S3Client | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        log = open(self.workdir / "moto.log", "wb")  # noqa: SIM115 - handed to the child
        with log:
            self.process = subprocess.Popen(
                moto_command(self.port), stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        self.ps = psutil.Process(self.process.pid)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto exited at start: {_tail(self.workdir / 'moto.log')}")
            try:
                self.client().list_buckets()
                return
            except (BotoCoreError, ClientError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto not ready after {timeout:g}s") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            _terminate(self.process)
        self.process = None
        self.ps = None
        self._client = None

    def client(self) -> S3Client:
        if self._client is None:
            self._client = boto3.client(
                "s3",
                endpoint_url=self.endpoint,
                aws_access_key_id=S3_ACCESS_KEY,
                aws_secret_access_key=S3_SECRET_KEY,
                region_name=S3_REGION,
                config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"}),
            )
        return self._client

    def new_bucket(self, name: ServerName) -> str:
        bucket = f"bench-{name}-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=bucket)
        return bucket

    def drop_bucket(self, bucket: str) -> None:
        """Delete the bucket with everything in it, so moto lets go of the memory."""
        client = self.client()
        uploads = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        for upload in uploads:
            client.abort_multipart_upload(
                Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
            )
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            keys: list[ObjectIdentifierTypeDef] = [
                {"Key": item["Key"]} for item in page.get("Contents", [])
            ]
            if keys:
                client.delete_objects(Bucket=bucket, Delete={"Objects": keys})
        client.delete_bucket(Bucket=bucket)

    def cpu_seconds(self) -> float:
        if self.ps is None:
            return 0.0
        with contextlib.suppress(psutil.Error):
            times = self.ps.cpu_times()
            return times.user + times.system
        return 0.0


def _tail(path: Path, lines: int = 20) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _storage(name: ServerName, root: Path, s3: S3Service | None, bucket: str) -> str:
    """The `storage:` driver section, indented under `storage:`."""
    if s3 is None:
        return f"  filesystem:\n    rootdirectory: {root}\n"
    section = (
        f"  s3:\n    bucket: {bucket}\n    region: {S3_REGION}\n"
        f"    regionendpoint: {s3.endpoint}\n"
        f"    accesskey: {S3_ACCESS_KEY}\n    secretkey: {S3_SECRET_KEY}\n"
        f"    rootdirectory: /{S3_ROOT}\n    secure: false\n    chunksize: {S3_CHUNK}\n"
    )
    if name == "modelyard":
        return section + "    redirect: false\n"
    return section + "    v4auth: true\n  redirect:\n    disable: true\n"


def _config(
    name: ServerName,
    root: Path,
    port: int,
    s3: S3Service | None = None,
    bucket: str = "",
    http_server: str | None = None,
) -> str:
    storage = _storage(name, root, s3, bucket)
    if name == "modelyard":
        http = f"http:\n  server: {http_server}\n" if http_server else ""
        return f"storage:\n{storage}log:\n  level: warning\n  access: false\n{http}"
    return (
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  cache:\n    blobdescriptor: inmemory\n{storage}"
        f"http:\n  addr: {HOST}:{port}\n  headers:\n    X-Content-Type-Options: [nosniff]\n"
        "health:\n  storagedriver:\n    enabled: true\n    interval: 10s\n    threshold: 3\n"
    )


@dataclass
class Server:
    """One running server process with its own storage folder, or its own bucket on `s3`."""

    name: ServerName
    workdir: Path
    s3: S3Service | None = None
    http_server: str | None = None  # Modelyard's http.server; None: its default
    bucket: str = ""
    extra_config: str = ""  # further top-level YAML sections (e.g. `proxy:`)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    ps: psutil.Process | None = None
    root: Path = field(init=False)

    def __post_init__(self) -> None:
        self.root = self.workdir / "storage"

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def connect(self) -> Connection:
        return Connection(HOST, self.port)

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        if self.s3 is not None and not self.bucket:
            self.bucket = self.s3.new_bucket(self.name)
        config = self.workdir / "config.yml"
        config.write_text(
            _config(self.name, self.root, self.port, self.s3, self.bucket, self.http_server)
            + self.extra_config
        )
        if self.name == "modelyard":
            argv = [*modelyard_command(), "serve", "--config", str(config)]
            argv += ["--host", HOST, "--port", str(self.port)]
        else:
            argv = [*registry2_command(), "serve", str(config)]
        log = open(self.workdir / "server.log", "wb")  # noqa: SIM115 - handed to the child
        with log:
            self.process = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_clean_env(self.name),
                cwd=self.workdir,
            )
        self.ps = psutil.Process(self.process.pid)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start: {self.log_tail()}")
            try:
                with self.connect() as conn:
                    conn.request("GET", "/v2/").expect(200)
                return
            except (OSError, HTTPError):
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready after {timeout:g}s: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        return _tail(self.workdir / "server.log", lines)

    def stop(self) -> None:
        if self.process is None:
            return
        _terminate(self.process)
        self.process = None
        self.ps = None
        if self.s3 is not None and self.bucket:
            with contextlib.suppress(Exception):
                self.s3.drop_bucket(self.bucket)
            self.bucket = ""

    def _tree(self) -> list[psutil.Process]:
        assert self.ps is not None
        try:
            return [self.ps, *self.ps.children(recursive=True)]
        except psutil.Error:
            return [self.ps]

    def rss(self) -> int:
        total = 0
        for proc in self._tree():
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def cpu_seconds(self) -> float:
        total = 0.0
        for proc in self._tree():
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def has_blob(self, hex_digest: str) -> bool:
        """Whether the blob's data is in the server's storage (looked at behind its back)."""
        relative = f"docker/registry/v2/blobs/sha256/{hex_digest[:2]}/{hex_digest}/data"
        if self.s3 is None:
            return (self.root / relative).is_file()
        try:
            self.s3.client().head_object(Bucket=self.bucket, Key=f"{S3_ROOT}/{relative}")
        except ClientError:
            return False
        return True

    def remove_blob(self, hex_digest: str) -> None:
        """Delete a blob's data behind the server's back, to keep the disk (or moto's memory)
        use bounded. Both servers keep a blob at the same path below their root."""
        relative = f"docker/registry/v2/blobs/sha256/{hex_digest[:2]}/{hex_digest}"
        if self.s3 is not None:
            self.s3.client().delete_object(Bucket=self.bucket, Key=f"{S3_ROOT}/{relative}/data")
        else:
            shutil.rmtree(self.root / relative, ignore_errors=True)


class RssSampler:
    """Samples a server's resident set size in a thread; `peak` is the largest sample."""

    def __init__(self, server: Server, interval: float = 0.02) -> None:
        self.server = server
        self.interval = interval
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.rss())
            self.samples += 1
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self.peak = self.server.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.server.rss())


@contextlib.contextmanager
def running_s3(workdir: Path) -> Iterator[S3Service]:
    """A moto server on a free loopback port, stopped on exit."""
    service = S3Service(workdir)
    try:
        service.start()
        yield service
    finally:
        service.stop()


@contextlib.contextmanager
def running(
    workdir: Path, s3: S3Service | None = None, http_server: str | None = None
) -> Iterator[dict[ServerName, Server]]:
    """Both servers, started on fresh folders under `workdir` (and fresh buckets on `s3`),
    stopped on exit (and their buckets deleted)."""
    servers = {name: Server(name, workdir / name, s3, http_server) for name in SERVERS}
    try:
        for server in servers.values():
            server.start()
        yield servers
    finally:
        for server in servers.values():
            server.stop()

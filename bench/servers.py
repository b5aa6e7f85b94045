"""Start and stop the two servers under test, each on a free loopback port and a fresh folder.

Both use the filesystem driver. registry:2 gets the configuration its official image ships
(in-memory blob descriptor cache, storage health check), with logging reduced to errors as
Modelyard's access log is switched off.
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
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import psutil

from bench.client import Connection, HTTPError

HOST = "127.0.0.1"
ServerName = Literal["modelyard", "registry2"]
SERVERS: tuple[ServerName, ...] = ("modelyard", "registry2")
_ENV_PREFIXES = ("MODELYARD_", "REGISTRY_")


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


def _clean_env() -> dict[str, str]:
    """The environment without MODELYARD_* or REGISTRY_* overrides of the config files."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIXES)}


def _config(name: ServerName, root: Path, port: int) -> str:
    if name == "modelyard":
        return (
            f"storage:\n  filesystem:\n    rootdirectory: {root}\n"
            "log:\n  level: warning\n  access: false\n"
        )
    return (
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        "storage:\n  cache:\n    blobdescriptor: inmemory\n"
        f"  filesystem:\n    rootdirectory: {root}\n"
        f"http:\n  addr: {HOST}:{port}\n  headers:\n    X-Content-Type-Options: [nosniff]\n"
        "health:\n  storagedriver:\n    enabled: true\n    interval: 10s\n    threshold: 3\n"
    )


@dataclass
class Server:
    """One running server process with its own storage folder."""

    name: ServerName
    workdir: Path
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
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        config = self.workdir / "config.yml"
        config.write_text(_config(self.name, self.root, self.port))
        if self.name == "modelyard":
            argv = [*modelyard_command(), "serve", "--config", str(config)]
            argv += ["--host", HOST, "--port", str(self.port)]
        else:
            argv = [*registry2_command(), "serve", str(config)]
        log = open(self.workdir / "server.log", "wb")  # noqa: SIM115 - handed to the child
        with log:
            self.process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, env=_clean_env(), cwd=self.workdir
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
        path = self.workdir / "server.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
        self.ps = None

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

    def remove_blob(self, hex_digest: str) -> None:
        """Delete a blob's data behind the server's back, to keep the disk use bounded."""
        folder = self.root / "docker/registry/v2/blobs/sha256" / hex_digest[:2] / hex_digest
        shutil.rmtree(folder, ignore_errors=True)


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
def running(workdir: Path) -> Iterator[dict[ServerName, Server]]:
    """Both servers, started on fresh folders under `workdir`, stopped on exit."""
    servers = {name: Server(name, workdir / name) for name in SERVERS}
    try:
        for server in servers.values():
            server.start()
        yield servers
    finally:
        for server in servers.values():
            server.stop()

"""Real server processes, real client commands and a generated OCI image layout.

Everything here runs on loopback without network access. A missing tool is a test failure,
never a skip: the interop suite exists to prove these clients work.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.s3server import free_port

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"

#: the Modelyard console script of the virtualenv running the tests
MODELYARD = Path(sys.executable).with_name("modelyard")
STARTUP_SECONDS = 30.0
COMMAND_SECONDS = 300.0


def require_tool(name: str) -> str:
    """The absolute path of an executable, or a test failure that says how to get it."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"interop test needs `{name}` on PATH but it is not installed "
            f"(Debian: apt-get install {name}); refusing to skip",
            pytrace=False,
        )
    return found


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = COMMAND_SECONDS,
) -> subprocess.CompletedProcess[str]:
    """Run a client command; a non-zero exit fails the test with the command's output."""
    args = [os.fspath(part) for part in argv]
    full_env = {**os.environ, **(env or {})}
    try:
        result = subprocess.run(
            args, capture_output=True, text=True, env=full_env, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`{' '.join(args)}` timed out after {timeout}s\n{exc.stderr!r}")
    if check and result.returncode != 0:
        pytest.fail(
            f"`{' '.join(args)}` exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}",
            pytrace=False,
        )
    return result


# --------------------------------------------------------------------------- server processes


@dataclass
class ServerProcess:
    """A registry listening on loopback: Modelyard or the Debian registry:2 binary."""

    kind: str
    host: str
    port: int
    root: Path
    log_path: Path
    process: subprocess.Popen[bytes]
    #: log substrings that mean a server-side bug (checked when the server stops)
    fatal_markers: tuple[str, ...] = ()
    _stopped: bool = field(default=False, repr=False)

    @property
    def netloc(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminate (SIGTERM, then SIGKILL after 15 s) and wait; idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def check_log(self) -> None:
        """Fail when the server logged an unhandled exception while it ran."""
        text = self.log()
        for marker in self.fatal_markers:
            if marker in text:
                pytest.fail(f"{self.kind} logged {marker!r}:\n{text[-6000:]}", pytrace=False)


def wait_ready(server: ServerProcess) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if server.process.poll() is not None:
            pytest.fail(
                f"{server.kind} exited with {server.process.returncode} before answering:\n"
                f"{server.log()[-4000:]}",
                pytrace=False,
            )
        try:
            # 401: the server is up and requires authentication
            if httpx.get(server.url + "/v2/", timeout=1).status_code in (200, 401):
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            pytest.fail(
                f"{server.kind} did not answer {server.url}/v2/ within {STARTUP_SECONDS}s:\n"
                f"{server.log()[-4000:]}",
                pytrace=False,
            )
        time.sleep(0.05)


def filesystem_storage(root: Path) -> dict[str, Any]:
    """The `storage:` section (same shape for both servers) of a folder."""
    return {"filesystem": {"rootdirectory": str(root)}, "delete": {"enabled": True}}


def start_modelyard(
    root: Path,
    workdir: Path,
    storage: dict[str, Any] | None = None,
    database: dict[str, Any] | None = None,
    sections: dict[str, Any] | None = None,
) -> ServerProcess:
    """`modelyard serve` in its own process on a free loopback port over `root`.

    `storage` replaces the filesystem section, e.g. with an `s3:` one; `root` is then only
    where the server's files are kept. `database` is the config's `database:` section
    (default: the embedded PostgreSQL). `sections` adds further top-level config sections,
    such as `proxy:` or `auth:`.
    """
    if not MODELYARD.exists():
        pytest.fail(f"{MODELYARD} is missing: pip install -e '.[test]' in the virtualenv")
    workdir.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / f"modelyard-{port}.yml"
    config.write_text(
        json.dumps(
            {
                "storage": storage or filesystem_storage(root),
                "database": database or {},
                "log": {"access": False, "level": "info"},
                **(sections or {}),
            }
        )
    )
    log_path = workdir / f"modelyard-{port}.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MODELYARD_", "REGISTRY_"))
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [MODELYARD, "serve", "--config", config, "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
    server = ServerProcess(
        "modelyard", "127.0.0.1", port, root, log_path, process, fatal_markers=("Traceback",)
    )
    wait_ready(server)
    return server


def start_docker_registry(
    root: Path, workdir: Path, storage: dict[str, Any] | None = None
) -> ServerProcess:
    """The Debian `docker-registry` (registry:2) on a free loopback port over `root`."""
    binary = require_tool("docker-registry")
    workdir.mkdir(parents=True, exist_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / f"registry2-{port}.yml"
    config.write_text(
        json.dumps(
            {
                "version": 0.1,
                "log": {"level": "info", "accesslog": {"disabled": True}},
                "storage": storage or filesystem_storage(root),
                "http": {"addr": f"127.0.0.1:{port}"},
            },
            indent=2,
        )
    )
    log_path = workdir / f"registry2-{port}.log"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("REGISTRY_") and key != "AWS_CA_BUNDLE"
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary, "serve", config], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir
        )
    server = ServerProcess(
        "docker-registry", "127.0.0.1", port, root, log_path, process, fatal_markers=("panic:",)
    )
    wait_ready(server)
    return server


# --------------------------------------------------------------------------- OCI image layout


@dataclass(frozen=True)
class OciImage:
    """A single-image OCI layout directory that skopeo and podman read as `oci:DIR:TAG`."""

    path: Path
    tag: str
    manifest_digest: str
    config_digest: str
    layer_digests: list[str]
    diff_ids: list[str]

    @property
    def ref(self) -> str:
        return f"oci:{self.path}:{self.tag}"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _write_blob(layout: Path, data: bytes) -> str:
    digest = _sha256(data)
    target = layout / "blobs" / "sha256" / digest.split(":", 1)[1]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return digest


def _layer_tar(rng: random.Random, index: int, files: int) -> bytes:
    """An uncompressed tar with a directory and a few small generated files, fixed mtimes."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        folder = tarfile.TarInfo(f"layer{index}")
        folder.type = tarfile.DIRTYPE
        folder.mode = 0o755
        folder.mtime = 1_700_000_000
        tar.addfile(folder)
        for number in range(files):
            payload = (
                f"layer {index} file {number}\n".encode()
                + rng.randbytes(rng.randrange(512, 8192)).hex().encode()
            )
            info = tarfile.TarInfo(f"layer{index}/file{number}.txt")
            info.size = len(payload)
            info.mode = 0o644
            info.mtime = 1_700_000_000
            tar.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def host_architecture() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine, machine
    )


def build_oci_layout(
    path: Path, *, tag: str = "v1", layers: int = 3, files_per_layer: int = 3, seed: int = 1
) -> OciImage:
    """Write an OCI image layout with `layers` real tar+gzip layers and a valid image config."""
    rng = random.Random(seed)
    path.mkdir(parents=True, exist_ok=True)
    (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    layer_descriptors = []
    layer_digests = []
    diff_ids = []
    history = []
    for index in range(layers):
        tar = _layer_tar(rng, index, files_per_layer)
        diff_ids.append(_sha256(tar))
        compressed = gzip.compress(tar, compresslevel=6, mtime=0)
        digest = _write_blob(path, compressed)
        layer_digests.append(digest)
        layer_descriptors.append(
            {"mediaType": OCI_LAYER_GZIP, "digest": digest, "size": len(compressed)}
        )
        history.append(
            {
                "created": "2024-01-01T00:00:00Z",
                "created_by": f"interop layer {index} (seed {seed})",
            }
        )
    config = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": host_architecture(),
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["/bin/sh"],
            "Labels": {"org.example.interop.seed": str(seed)},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_digest = _write_blob(path, config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": layer_descriptors,
        "annotations": {"org.opencontainers.image.title": f"interop-{seed}"},
    }
    manifest_bytes = json.dumps(manifest, indent=2).encode()
    manifest_digest = _write_blob(path, manifest_bytes)
    image_index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (path / "index.json").write_text(json.dumps(image_index, indent=2))
    return OciImage(
        path=path,
        tag=tag,
        manifest_digest=manifest_digest,
        config_digest=config_digest,
        layer_digests=layer_digests,
        diff_ids=diff_ids,
    )


def read_oci_layout(path: Path, tag: str) -> tuple[str, dict[str, object]]:
    """The manifest digest and parsed manifest that `tag` names in an OCI layout directory."""
    index = json.loads((path / "index.json").read_text())
    for entry in index["manifests"]:
        if entry.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            digest = entry["digest"]
            blob = path / "blobs" / "sha256" / digest.split(":", 1)[1]
            data = blob.read_bytes()
            assert _sha256(data) == digest, f"{blob} does not match its digest"
            manifest: dict[str, object] = json.loads(data)
            return digest, manifest
    raise AssertionError(f"tag {tag!r} not in {path / 'index.json'}: {index}")


def layout_blob(path: Path, digest: str) -> bytes:
    """A blob of an OCI layout directory, verified against its digest."""
    data = (path / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()
    assert _sha256(data) == digest
    return data


# --------------------------------------------------------------------------- skopeo


def skopeo_copy(skopeo: str, src: str, dest: str, *extra: str, workdir: Path) -> str:
    """`skopeo copy` with plain HTTP allowed on both sides; returns the manifest digest written.

    skopeo tries HTTPS first and falls back to HTTP only with `--*-tls-verify=false`.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    digestfile = workdir / f"digest-{hashlib.sha1((src + dest).encode()).hexdigest()[:12]}"
    run(
        [
            skopeo,
            "--insecure-policy",
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--digestfile",
            digestfile,
            *extra,
            src,
            dest,
        ]
    )
    return digestfile.read_text().strip()


def skopeo_tags(skopeo: str, repository: str) -> list[str]:
    """`skopeo list-tags` of a `docker://HOST/NAME` reference."""
    listed = json.loads(run([skopeo, "list-tags", "--tls-verify=false", repository]).stdout)
    tags: list[str] = listed["Tags"]
    return tags


def skopeo_raw_manifest(skopeo: str, ref: str) -> bytes:
    """The manifest bytes exactly as the registry serves them."""
    return run([skopeo, "inspect", "--tls-verify=false", "--raw", ref]).stdout.encode()

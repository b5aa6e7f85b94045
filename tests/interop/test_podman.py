"""podman (vfs storage in a temporary root) pushing to and pulling from a Modelyard process."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.interop.helpers import DOCKER_MANIFEST, OCI_MANIFEST, OciImage, ServerProcess, run

pytestmark = pytest.mark.interop


class Podman:
    """podman with its own storage, run root, libpod tmpdir and registries.conf."""

    def __init__(self, binary: str, home: Path, runroot: Path, insecure_registry: str) -> None:
        self.home = home
        home.mkdir(parents=True, exist_ok=True)
        registries = home / "registries.conf"
        registries.write_text(
            "unqualified-search-registries = []\n\n[[registry]]\n"
            f'location = "{insecure_registry}"\ninsecure = true\n'
        )
        self.env = {"CONTAINERS_REGISTRIES_CONF": str(registries)}
        self.base = [
            binary,
            "--root",
            str(home / "root"),
            "--runroot",
            str(runroot),
            "--tmpdir",
            str(home / "tmp"),
            "--storage-driver",
            "vfs",
            "--events-backend",
            "none",
        ]

    def __call__(self, *args: str | Path, check: bool = True) -> str:
        return run([*self.base, *args], env=self.env, check=check).stdout

    def inspect(self, ref: str) -> dict[str, object]:
        found: list[dict[str, object]] = json.loads(self("image", "inspect", ref))
        assert len(found) == 1
        return found[0]

    def image_ids(self) -> list[str]:
        return self("images", "--quiet", "--no-trunc").split()


@pytest.fixture
def podman_client(podman: str, tmp_path: Path, modelyard: ServerProcess) -> Iterator[Podman]:
    # podman refuses a runroot longer than 50 characters, so it cannot live in tmp_path
    runroot = Path(tempfile.mkdtemp(prefix="my-podrun-", dir="/tmp"))
    try:
        yield Podman(podman, tmp_path / "podman", runroot, modelyard.netloc)
    finally:
        shutil.rmtree(runroot, ignore_errors=True)


@pytest.mark.parametrize(
    ("push_format", "media_type"), [("oci", OCI_MANIFEST), ("v2s2", DOCKER_MANIFEST)]
)
def test_push_remove_and_pull_back(
    podman_client: Podman,
    modelyard: ServerProcess,
    oci_image: OciImage,
    tmp_path: Path,
    push_format: str,
    media_type: str,
) -> None:
    podman = podman_client
    image_id = "sha256:" + podman("pull", "--quiet", oci_image.ref).strip()
    assert image_id == oci_image.config_digest, "podman's image id is the config digest"

    remote = f"{modelyard.netloc}/team/podman:{push_format}"
    podman("tag", image_id, remote)
    digestfile = tmp_path / "pushed-digest"
    podman(
        "push",
        "--tls-verify=false",
        "--format",
        push_format,
        "--digestfile",
        digestfile,
        remote,
    )
    pushed = digestfile.read_text().strip()

    manifest = httpx.get(
        f"{modelyard.url}/v2/team/podman/manifests/{push_format}",
        headers={"Accept": f"{OCI_MANIFEST}, {DOCKER_MANIFEST}"},
    )
    assert manifest.status_code == 200
    assert manifest.headers["Docker-Content-Digest"] == pushed
    assert "sha256:" + hashlib.sha256(manifest.content).hexdigest() == pushed
    assert manifest.headers["Content-Type"] == media_type
    assert manifest.json()["config"]["digest"] == oci_image.config_digest

    podman("rmi", "--all", "--force")
    assert podman.image_ids() == []

    # the pull relies on registries.conf (insecure = true), not on --tls-verify
    podman("pull", remote)
    pulled = podman.inspect(remote)
    assert "sha256:" + pulled["Id"] == oci_image.config_digest  # type: ignore[operator]
    assert pulled["Digest"] == pushed
    assert pulled["RootFS"]["Layers"] == oci_image.diff_ids  # type: ignore[index]
    assert podman.image_ids() == [oci_image.config_digest]

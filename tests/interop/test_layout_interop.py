"""One storage root, two servers in turn: what registry:2 wrote, Modelyard serves, and the
reverse. skopeo is the client on both sides; tags, deletes and artifacts carry over."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import oras.client
import pytest

from tests.interop.helpers import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    OciImage,
    ServerProcess,
    build_oci_layout,
    layout_blob,
    read_oci_layout,
    run,
    skopeo_copy,
    skopeo_raw_manifest,
    skopeo_tags,
)

pytestmark = pytest.mark.interop

ServerFactory = Callable[[Path], ServerProcess]
MODEL_CONFIG = "application/vnd.example.model.config.v1+json"


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tags(skopeo: str, server: ServerProcess, name: str = "team/app") -> list[str]:
    """Tags through skopeo; Modelyard sorts them lexically, registry:2 lists in readdir order."""
    tags = skopeo_tags(skopeo, f"docker://{server.netloc}/{name}")
    if server.kind == "modelyard":
        assert tags == sorted(tags)
    return sorted(tags)


def _populate(skopeo: str, server: ServerProcess, tmp_path: Path) -> dict[str, object]:
    """Push an OCI image (two tags), a schema 2 image and a doomed image, then delete it."""
    image = build_oci_layout(tmp_path / "src-image", tag="v1", layers=3, seed=11)
    doomed = build_oci_layout(tmp_path / "src-doomed", tag="v1", layers=2, seed=12)
    repo = f"docker://{server.netloc}/team/app"
    work = tmp_path / "digests"
    oci = skopeo_copy(skopeo, image.ref, f"{repo}:v1", workdir=work)
    skopeo_copy(skopeo, image.ref, f"{repo}:latest", workdir=work)
    schema2 = skopeo_copy(skopeo, image.ref, f"{repo}:v1-docker", "--format", "v2s2", workdir=work)
    gone = skopeo_copy(skopeo, doomed.ref, f"{repo}:doomed", workdir=work)
    assert oci == image.manifest_digest
    assert _tags(skopeo, server) == ["doomed", "latest", "v1", "v1-docker"]
    run([skopeo, "delete", "--tls-verify=false", f"{repo}:doomed"])
    assert _tags(skopeo, server) == ["latest", "v1", "v1-docker"]
    return {"image": image, "oci": oci, "schema2": schema2, "gone": gone}


def _check_served(
    skopeo: str, server: ServerProcess, pushed: dict[str, object], tmp_path: Path
) -> None:
    """Everything _populate left behind reads back through `server`, byte for byte."""
    image = pushed["image"]
    assert isinstance(image, OciImage)
    repo = f"docker://{server.netloc}/team/app"
    assert _tags(skopeo, server) == ["latest", "v1", "v1-docker"]
    tags = httpx.get(f"{server.url}/v2/team/app/tags/list").json()
    assert tags["name"] == "team/app"
    assert sorted(tags["tags"]) == ["latest", "v1", "v1-docker"]

    out = tmp_path / f"pulled-{server.kind}"
    pulled = skopeo_copy(skopeo, f"{repo}:v1", f"oci:{out}:v1", workdir=tmp_path / "digests")
    assert pulled == pushed["oci"]
    digest, manifest = read_oci_layout(out, "v1")
    assert digest == image.manifest_digest
    layers = [layer["digest"] for layer in manifest["layers"]]  # type: ignore[attr-defined]
    assert layers == image.layer_digests
    for layer in [*layers, image.config_digest]:
        assert layout_blob(out, layer) == layout_blob(image.path, layer)

    raw = skopeo_raw_manifest(skopeo, f"{repo}:v1-docker")
    assert _sha256(raw) == pushed["schema2"]
    assert json.loads(raw)["mediaType"] == DOCKER_MANIFEST
    latest = skopeo_raw_manifest(skopeo, f"{repo}:latest")
    assert _sha256(latest) == pushed["oci"]

    for digest, media_type in [(pushed["oci"], OCI_MANIFEST), (pushed["schema2"], DOCKER_MANIFEST)]:
        head = httpx.head(
            f"{server.url}/v2/team/app/manifests/{digest}", headers={"Accept": media_type}
        )
        assert head.status_code == 200, (server.kind, digest)
        assert head.headers["Docker-Content-Digest"] == digest
    missing = httpx.get(
        f"{server.url}/v2/team/app/manifests/{pushed['gone']}", headers={"Accept": OCI_MANIFEST}
    )
    assert missing.status_code == 404, f"{server.kind} serves a manifest deleted before"


def _push_artifact(server: ServerProcess, tmp_path: Path) -> tuple[str, bytes]:
    weights = tmp_path / "artifact" / "weights.bin"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(bytes(range(256)) * 1000)
    config = tmp_path / "artifact" / "config.json"
    config.write_text('{"name": "layout-model"}')
    client = oras.client.OrasClient(hostname=server.netloc, insecure=True)
    response = client.push(
        target=f"{server.netloc}/ml/model:v1",
        files=[f"{weights}:application/vnd.example.model.weights.v1"],
        manifest_config=f"{config}:{MODEL_CONFIG}",
        disable_path_validation=True,
    )
    assert response.status_code == 201, response.text
    return response.headers["Docker-Content-Digest"], weights.read_bytes()


def test_registry2_root_served_by_modelyard(
    skopeo: str,
    start_docker_registry: ServerFactory,
    start_modelyard: ServerFactory,
    tmp_path: Path,
) -> None:
    root = tmp_path / "shared-root"
    registry2 = start_docker_registry(root)
    pushed = _populate(skopeo, registry2, tmp_path)
    artifact, weights = _push_artifact(registry2, tmp_path)
    _check_served(skopeo, registry2, pushed, tmp_path)
    registry2.stop()

    modelyard = start_modelyard(root)
    _check_served(skopeo, modelyard, pushed, tmp_path)
    manifest = httpx.get(
        f"{modelyard.url}/v2/ml/model/manifests/v1", headers={"Accept": OCI_MANIFEST}
    )
    assert manifest.headers["Docker-Content-Digest"] == artifact
    assert manifest.json()["config"]["mediaType"] == MODEL_CONFIG
    layer = manifest.json()["layers"][0]["digest"]
    assert httpx.get(f"{modelyard.url}/v2/ml/model/blobs/{layer}").content == weights
    catalog = httpx.get(f"{modelyard.url}/v2/_catalog").json()
    assert catalog == {"repositories": ["ml/model", "team/app"]}

    # Modelyard writes into the registry:2 root: a new tag, then registry:2 sees it
    skopeo_copy(
        skopeo,
        f"docker://{modelyard.netloc}/team/app:v1",
        f"docker://{modelyard.netloc}/team/app:v2",
        workdir=tmp_path / "digests",
    )
    modelyard.stop()
    registry2 = start_docker_registry(root)
    assert _tags(skopeo, registry2) == [
        "latest",
        "v1",
        "v1-docker",
        "v2",
    ]


def test_modelyard_root_served_by_registry2(
    skopeo: str,
    start_docker_registry: ServerFactory,
    start_modelyard: ServerFactory,
    tmp_path: Path,
) -> None:
    root = tmp_path / "shared-root"
    modelyard = start_modelyard(root)
    pushed = _populate(skopeo, modelyard, tmp_path)
    artifact, weights = _push_artifact(modelyard, tmp_path)
    _check_served(skopeo, modelyard, pushed, tmp_path)
    modelyard.stop()

    registry2 = start_docker_registry(root)
    _check_served(skopeo, registry2, pushed, tmp_path)
    manifest = httpx.get(
        f"{registry2.url}/v2/ml/model/manifests/v1", headers={"Accept": OCI_MANIFEST}
    )
    assert manifest.status_code == 200, manifest.text
    assert manifest.headers["Docker-Content-Digest"] == artifact
    layer = manifest.json()["layers"][0]["digest"]
    assert httpx.get(f"{registry2.url}/v2/ml/model/blobs/{layer}").content == weights
    catalog = httpx.get(f"{registry2.url}/v2/_catalog").json()
    assert catalog == {"repositories": ["ml/model", "team/app"]}

    # registry:2 writes into the Modelyard root, then Modelyard sees it
    skopeo_copy(
        skopeo,
        f"docker://{registry2.netloc}/team/app:v1",
        f"docker://{registry2.netloc}/team/app:v2",
        workdir=tmp_path / "digests",
    )
    registry2.stop()
    modelyard = start_modelyard(root)
    assert _tags(skopeo, modelyard) == [
        "latest",
        "v1",
        "v1-docker",
        "v2",
    ]

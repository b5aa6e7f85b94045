"""skopeo against a real Modelyard process: copy in and out (OCI and Docker schema 2),
inspect, copy between repositories, list-tags and delete."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from tests.interop.helpers import (
    DOCKER_LAYER_GZIP,
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    OciImage,
    ServerProcess,
    layout_blob,
    read_oci_layout,
    run,
    skopeo_copy,
    skopeo_raw_manifest,
    skopeo_tags,
)

pytestmark = pytest.mark.interop


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _inspect(skopeo: str, ref: str, *extra: str) -> str:
    return run([skopeo, "inspect", "--tls-verify=false", *extra, ref]).stdout


def test_copy_oci_image_in_inspect_and_copy_out(
    skopeo: str, modelyard: ServerProcess, oci_image: OciImage, tmp_path: Path
) -> None:
    remote = f"docker://{modelyard.netloc}/team/app:v1"
    pushed = skopeo_copy(skopeo, oci_image.ref, remote, workdir=tmp_path)
    assert pushed == oci_image.manifest_digest, "an OCI manifest must be stored byte for byte"

    info = json.loads(_inspect(skopeo, remote))
    assert info["Digest"] == oci_image.manifest_digest
    assert info["Layers"] == oci_image.layer_digests
    assert info["RepoTags"] == ["v1"]
    assert info["Labels"] == {"org.example.interop.seed": "1"}

    raw = skopeo_raw_manifest(skopeo, remote)
    assert _sha256(raw) == oci_image.manifest_digest
    assert json.loads(raw)["mediaType"] == OCI_MANIFEST
    config = run([skopeo, "inspect", "--tls-verify=false", "--config", "--raw", remote]).stdout
    assert _sha256(config.encode()) == oci_image.config_digest

    head = httpx.head(f"{modelyard.url}/v2/team/app/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert head.status_code == 200
    assert head.headers["Docker-Content-Digest"] == oci_image.manifest_digest
    assert head.headers["Content-Type"] == OCI_MANIFEST

    out = tmp_path / "out-layout"
    pulled = skopeo_copy(skopeo, remote, f"oci:{out}:v1", workdir=tmp_path)
    assert pulled == oci_image.manifest_digest
    digest, manifest = read_oci_layout(out, "v1")
    assert digest == oci_image.manifest_digest
    layers = [layer["digest"] for layer in manifest["layers"]]  # type: ignore[attr-defined]
    assert layers == oci_image.layer_digests
    for layer in layers:
        assert layout_blob(out, layer) == layout_blob(oci_image.path, layer)
    assert layout_blob(out, oci_image.config_digest) == layout_blob(
        oci_image.path, oci_image.config_digest
    )


def test_docker_schema2_in_and_out(
    skopeo: str, modelyard: ServerProcess, oci_image: OciImage, tmp_path: Path
) -> None:
    remote = f"docker://{modelyard.netloc}/team/app:v2s2"
    pushed = skopeo_copy(skopeo, oci_image.ref, remote, "--format", "v2s2", workdir=tmp_path)
    assert pushed != oci_image.manifest_digest, "conversion to schema 2 rewrites the manifest"

    raw = skopeo_raw_manifest(skopeo, remote)
    assert _sha256(raw) == pushed
    manifest = json.loads(raw)
    assert manifest["mediaType"] == DOCKER_MANIFEST
    assert [layer["mediaType"] for layer in manifest["layers"]] == [DOCKER_LAYER_GZIP] * 3
    assert [layer["digest"] for layer in manifest["layers"]] == oci_image.layer_digests

    head = httpx.head(
        f"{modelyard.url}/v2/team/app/manifests/v2s2", headers={"Accept": DOCKER_MANIFEST}
    )
    assert head.headers["Docker-Content-Digest"] == pushed
    assert head.headers["Content-Type"] == DOCKER_MANIFEST
    assert int(head.headers["Content-Length"]) == len(raw)

    # `dir:` keeps the manifest exactly as served, so the schema 2 bytes come back unchanged
    out = tmp_path / "out-dir"
    pulled = skopeo_copy(skopeo, remote, f"dir:{out}", workdir=tmp_path)
    assert pulled == pushed
    assert (out / "manifest.json").read_bytes() == raw
    for digest in oci_image.layer_digests:
        assert (out / digest.split(":", 1)[1]).read_bytes() == layout_blob(oci_image.path, digest)

    # and back out as an OCI layout: skopeo converts, the layers stay the same blobs
    out_oci = tmp_path / "out-oci"
    skopeo_copy(skopeo, remote, f"oci:{out_oci}:v2s2", workdir=tmp_path)
    _, converted = read_oci_layout(out_oci, "v2s2")
    layers = [layer["digest"] for layer in converted["layers"]]  # type: ignore[attr-defined]
    assert layers == oci_image.layer_digests


def test_copy_between_repositories(
    skopeo: str, modelyard: ServerProcess, oci_image: OciImage, tmp_path: Path
) -> None:
    source = f"docker://{modelyard.netloc}/team/app:v1"
    skopeo_copy(skopeo, oci_image.ref, source, workdir=tmp_path)
    target = f"docker://{modelyard.netloc}/other/copy:latest"
    copied = skopeo_copy(skopeo, source, target, workdir=tmp_path)
    assert copied == oci_image.manifest_digest
    info = json.loads(_inspect(skopeo, target))
    assert info["Layers"] == oci_image.layer_digests
    for digest in oci_image.layer_digests:
        blob = httpx.get(f"{modelyard.url}/v2/other/copy/blobs/{digest}")
        assert blob.status_code == 200
        assert _sha256(blob.content) == digest

    # the cross-repository mount skopeo may use, checked directly
    mounted = httpx.post(
        f"{modelyard.url}/v2/third/repo/blobs/uploads/",
        params={"mount": oci_image.layer_digests[0], "from": "team/app"},
    )
    assert mounted.status_code == 201
    assert mounted.headers["Docker-Content-Digest"] == oci_image.layer_digests[0]


def test_list_tags_and_delete(
    skopeo: str, modelyard: ServerProcess, oci_image: OciImage, tmp_path: Path
) -> None:
    repo = f"docker://{modelyard.netloc}/team/app"
    skopeo_copy(skopeo, oci_image.ref, f"{repo}:v1", workdir=tmp_path)
    skopeo_copy(skopeo, oci_image.ref, f"{repo}:latest", workdir=tmp_path)
    schema2 = skopeo_copy(
        skopeo, oci_image.ref, f"{repo}:v2s2", "--format", "v2s2", workdir=tmp_path
    )

    listed = skopeo_tags(skopeo, repo)
    assert listed == ["latest", "v1", "v2s2"]

    # skopeo deletes by digest: the schema 2 manifest and its tag go, the OCI one stays
    run([skopeo, "delete", "--tls-verify=false", f"{repo}:v2s2"])
    gone = httpx.get(f"{modelyard.url}/v2/team/app/manifests/{schema2}")
    assert gone.status_code == 404
    assert gone.json()["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    failed = run([skopeo, "inspect", "--tls-verify=false", f"{repo}:v2s2"], check=False)
    assert failed.returncode != 0
    listed = skopeo_tags(skopeo, repo)
    assert listed == ["latest", "v1"]

    # deleting the OCI manifest by digest removes both tags that point at it
    run([skopeo, "delete", "--tls-verify=false", f"{repo}@{oci_image.manifest_digest}"])
    listed = skopeo_tags(skopeo, repo)
    assert listed == []

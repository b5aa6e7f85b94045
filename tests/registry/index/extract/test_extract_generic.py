"""Container images, artifacts of unknown kinds, indexes: the generic records."""

from __future__ import annotations

from typing import Any

from registry.index.extract import detect, extract_record, generic
from tests.registry.index.extract.manifests import blob, expected, layer, manifest, total_size

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"

IMAGE_CONFIG: dict[str, Any] = {
    "created": "2024-05-06T07:08:09.123Z",
    "author": "Jane Doe <jane@example.com>",
    "architecture": "arm64",
    "os": "linux",
    "variant": "v8",
    "config": {
        "Env": ["PATH=/usr/bin"],
        "Cmd": ["sh"],
        "Labels": {
            "org.opencontainers.image.title": "busybox",
            "org.opencontainers.image.version": "1.36.1",
            "org.opencontainers.image.licenses": "GPL-2.0",
        },
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "d" * 64]},
    "history": [{"created": "2024-05-06T07:08:09Z", "created_by": "ADD rootfs.tar.gz /"}],
}


def test_generic_media_types() -> None:
    assert {OCI_CONFIG, DOCKER_CONFIG} == generic.CONFIG_MEDIA_TYPES


def test_plain_oci_image() -> None:
    config = blob(IMAGE_CONFIG)
    layers = [layer("application/vnd.oci.image.layer.v1.tar+gzip", 2_000_000)]
    body = manifest(
        OCI_CONFIG, config, layers, annotations={"org.opencontainers.image.title": "bb"}
    )
    assert detect(body) == "oci-image"
    assert extract_record(body, config).to_json() == expected(
        "oci-image",
        name="bb",
        version="1.36.1",
        authors=["Jane Doe <jane@example.com>"],
        licenses=["GPL-2.0"],
        created="2024-05-06T07:08:09.123000+00:00",
        labels=IMAGE_CONFIG["config"]["Labels"],
        extra={
            "manifest_media_type": "application/vnd.oci.image.manifest.v1+json",
            "config_media_type": OCI_CONFIG,
            "layer_count": 1,
            "total_size": total_size(body),
            "annotations": {"org.opencontainers.image.title": "bb"},
            "layer_media_types": ["application/vnd.oci.image.layer.v1.tar+gzip"],
            "platform": "linux/arm64/v8",
            "diff_id_count": 1,
        },
    )


def test_docker_schema2_image_with_null_labels() -> None:
    document = dict(IMAGE_CONFIG, config={"Labels": None}, author="")
    config = blob(document)
    body = manifest(DOCKER_CONFIG, config, [], media_type=DOCKER_MANIFEST)
    assert detect(body) == "oci-image"
    record = extract_record(body, config)
    assert (record.labels, record.authors, record.name) == ({}, [], None)
    assert record.parse_errors == []


def test_unknown_artifact_keeps_types_and_annotations() -> None:
    annotations = {
        "org.opencontainers.image.created": "2025-01-02T03:04:05Z",
        "org.opencontainers.image.description": "SPDX SBOM",
        "com.example.tool": "syft",
    }
    body = manifest(
        "application/vnd.oci.empty.v1+json",
        b"{}",
        [layer("application/spdx+json", 12_345)],
        artifact_type="application/vnd.example.sbom.v1+json",
        annotations=annotations,
    )
    body["subject"] = {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + "e" * 64,
        "size": 500,
    }
    assert detect(body) == "oci-artifact"
    assert extract_record(body, b"{}").to_json() == expected(
        "oci-artifact",
        description="SPDX SBOM",
        created="2025-01-02T03:04:05+00:00",
        extra={
            "manifest_media_type": "application/vnd.oci.image.manifest.v1+json",
            "artifact_type": "application/vnd.example.sbom.v1+json",
            "config_media_type": "application/vnd.oci.empty.v1+json",
            "layer_count": 1,
            "total_size": total_size(body),
            "annotations": annotations,
            "layer_media_types": ["application/spdx+json"],
        },
    )


def test_json_config_of_unknown_schema_is_skimmed() -> None:
    # A Helm chart: config is Chart.yaml as JSON.
    chart = {"name": "nginx", "version": "15.1.0", "description": "NGINX", "apiVersion": "v2"}
    config = blob(chart)
    body = manifest(
        "application/vnd.cncf.helm.config.v1+json",
        config,
        [layer("application/vnd.cncf.helm.chart.content.v1.tar+gzip", 30_000)],
    )
    assert detect(body) == "oci-artifact"
    record = extract_record(body, config)
    assert (record.name, record.version, record.description) == ("nginx", "15.1.0", "NGINX")
    assert record.extra["config_keys"] == ["apiVersion", "description", "name", "version"]
    assert record.parse_errors == []
    broken = extract_record(body, b"not json")
    assert broken.family == "oci-artifact"
    assert broken.parse_errors == [
        "config: invalid JSON: Expecting value at line 1 column 1",
    ]


def test_binary_config_of_unknown_artifact_is_not_parsed() -> None:
    body = manifest("application/vnd.example.blob", b"\x00\xff", [])
    record = extract_record(body, b"\x00\xff")
    assert record.family == "oci-artifact"
    assert record.parse_errors == []


def test_index_is_unknown_without_errors() -> None:
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "x", "digest": "sha256:" + "f" * 64, "size": 1}] * 2,
    }
    assert detect(index) == "unknown"
    record = extract_record(index, None)
    assert record.to_json() == expected(
        "unknown",
        extra={
            "manifest_media_type": "application/vnd.oci.image.index.v1+json",
            "manifest_count": 2,
        },
    )


def test_kitops_index_artifact_type_is_generic() -> None:
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "artifactType": "application/vnd.kitops.modelkit.index.v1+json",
        "manifests": [],
    }
    assert detect(index) == "oci-artifact"
    assert extract_record(index, None).parse_errors == []

"""Manifest parsing, validation and media-type sniffing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from registry.digest import Digest
from registry.manifest import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    ManifestInvalid,
    parse,
    sniff_media_type,
)

CONFIG: dict[str, Any] = {
    "mediaType": "application/vnd.oci.image.config.v1+json",
    "digest": str(Digest.of(b"{}")),
    "size": 2,
}
LAYER: dict[str, Any] = {
    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
    "digest": str(Digest.of(b"layer")),
    "size": 5,
    "annotations": {"org.opencontainers.image.title": "layer.tgz"},
}


def image(**extra: Any) -> dict[str, Any]:
    return {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": CONFIG, "layers": [LAYER]} | (
        extra
    )


def index(**extra: Any) -> dict[str, Any]:
    child = {"mediaType": OCI_MANIFEST, "digest": str(Digest.of(b"child")), "size": 10}
    return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [child]} | extra


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()


def test_parse_image_manifest() -> None:
    manifest = parse(raw(image()), OCI_MANIFEST)
    assert manifest.media_type == OCI_MANIFEST
    assert not manifest.is_index
    assert manifest.config == Descriptor(CONFIG["mediaType"], Digest.of(b"{}"), 2)
    assert manifest.layers == (
        Descriptor(
            LAYER["mediaType"],
            Digest.of(b"layer"),
            5,
            annotations={"org.opencontainers.image.title": "layer.tgz"},
        ),
    )
    assert manifest.manifests == ()
    assert manifest.subject is None
    assert manifest.artifact_type is None
    assert manifest.annotations == {}
    assert manifest.referrer_artifact_type() == CONFIG["mediaType"]


def test_parse_index() -> None:
    manifest = parse(raw(index(annotations={"a": "b"})), OCI_INDEX)
    assert manifest.is_index
    assert manifest.config is None
    assert manifest.layers == ()
    assert [str(d.digest) for d in manifest.manifests] == [str(Digest.of(b"child"))]
    assert manifest.annotations == {"a": "b"}
    assert manifest.referrer_artifact_type() is None


def test_parse_docker_types() -> None:
    assert parse(raw(image(mediaType=DOCKER_MANIFEST)), DOCKER_MANIFEST).media_type == (
        DOCKER_MANIFEST
    )
    assert parse(raw(index(mediaType=DOCKER_LIST)), DOCKER_LIST).is_index


def test_parse_artifact_with_subject() -> None:
    subject = {"mediaType": OCI_MANIFEST, "digest": str(Digest.of(b"s")), "size": 1}
    manifest = parse(raw(image(artifactType="application/x.sbom", subject=subject)))
    assert manifest.artifact_type == "application/x.sbom"
    assert manifest.referrer_artifact_type() == "application/x.sbom"
    assert manifest.subject is not None
    assert manifest.subject.digest == Digest.of(b"s")


def test_media_type_from_content_type_when_field_absent() -> None:
    body = image()
    del body["mediaType"]
    assert parse(raw(body), OCI_MANIFEST).media_type == OCI_MANIFEST
    assert parse(raw(body), f"{OCI_MANIFEST}; charset=utf-8").media_type == OCI_MANIFEST


@pytest.mark.parametrize("content_type", [None, "", "application/json", "application/octet-stream"])
def test_media_type_guessed_from_shape(content_type: str | None) -> None:
    body, listing = image(), index()
    del body["mediaType"], listing["mediaType"]
    assert parse(raw(body), content_type).media_type == OCI_MANIFEST
    assert parse(raw(listing), content_type).media_type == OCI_INDEX


def test_content_type_is_case_insensitive() -> None:
    assert parse(raw(image()), OCI_MANIFEST.upper()).media_type == OCI_MANIFEST


def test_descriptor_to_json() -> None:
    descriptor = Descriptor(
        OCI_MANIFEST, Digest.of(b"x"), 1, "application/x", {"k": "v"}, ("https://a",)
    )
    assert descriptor.to_json() == {
        "mediaType": OCI_MANIFEST,
        "digest": str(Digest.of(b"x")),
        "size": 1,
        "artifactType": "application/x",
        "annotations": {"k": "v"},
    }
    assert Descriptor(OCI_MANIFEST, Digest.of(b"x"), 1).to_json() == {
        "mediaType": OCI_MANIFEST,
        "digest": str(Digest.of(b"x")),
        "size": 1,
    }


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


INVALID: list[tuple[str, bytes, str | None, str]] = [
    ("invalid json", b"{", None, "invalid JSON"),
    ("binary", b"\xff\xfe", None, "invalid JSON"),
    ("list", b"[]", None, "JSON object"),
    ("schema 1", raw(image(schemaVersion=1)), None, "schemaVersion"),
    ("no schema", raw(_without(image(), "schemaVersion")), None, "schemaVersion"),
    ("mediaType not string", raw(image(mediaType=1)), None, "mediaType must be a string"),
    ("mismatch", raw(image()), DOCKER_MANIFEST, "does not match Content-Type"),
    ("unsupported", raw(image(mediaType="application/x")), None, "unsupported"),
    ("unsupported header", raw(_without(image(), "mediaType")), "text/plain", "unsupported"),
    ("docker no field", raw(_without(image(), "mediaType")), DOCKER_MANIFEST, "required"),
    ("docker list no field", raw(_without(index(), "mediaType")), DOCKER_LIST, "required"),
    ("no config", raw(_without(image(), "config")), None, "config missing"),
    ("no manifests", raw(_without(index(), "manifests")), OCI_INDEX, "manifests missing"),
    ("manifests not list", raw(index(manifests={})), None, "must be a list"),
    ("layer not object", raw(image(layers=["x"])), None, "descriptor must be an object"),
    ("no media type", raw(image(config=_without(CONFIG, "mediaType"))), None, "mediaType"),
    ("no digest", raw(image(config=_without(CONFIG, "digest"))), None, "digest missing"),
    ("bad digest", raw(image(config=CONFIG | {"digest": "sha256:x"})), None, "invalid"),
    ("bool size", raw(image(config=CONFIG | {"size": True})), None, "size"),
    ("float size", raw(image(config=CONFIG | {"size": 1.5})), None, "size"),
    ("negative size", raw(image(config=CONFIG | {"size": -1})), None, "size"),
    ("bad artifactType", raw(image(artifactType=["x"])), None, "artifactType"),
    ("bad desc artifactType", raw(image(config=CONFIG | {"artifactType": 1})), None, "artifact"),
    ("bad urls", raw(image(layers=[LAYER | {"urls": "http://x"}])), None, "urls"),
    ("bad annotations", raw(image(annotations={"a": 1})), None, "annotations"),
    ("layer annotations", raw(image(layers=[LAYER | {"annotations": []}])), None, "annotations"),
    ("bad subject", raw(image(subject={"mediaType": OCI_MANIFEST})), None, "subject"),
]


@pytest.mark.parametrize(
    ("data", "content_type", "reason"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid(data: bytes, content_type: str | None, reason: str) -> None:
    with pytest.raises(ManifestInvalid, match=reason):
        parse(data, content_type)


def test_where_is_named() -> None:
    with pytest.raises(ManifestInvalid, match=r"layers\[1\]"):
        parse(raw(image(layers=[LAYER, LAYER | {"size": -5}])))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (raw(image()), OCI_MANIFEST),
        (raw(image(mediaType=DOCKER_MANIFEST)), DOCKER_MANIFEST),
        (raw(index(mediaType=DOCKER_LIST)), DOCKER_LIST),
        (raw(_without(image(), "mediaType")), OCI_MANIFEST),
        (raw(_without(index(), "mediaType")), OCI_INDEX),
        (raw(image(mediaType="application/vnd.other+json")), "application/vnd.other+json"),
        (raw(image(mediaType="")), OCI_MANIFEST),
        (raw(image(mediaType=5)), OCI_MANIFEST),
        (b"not json", OCI_MANIFEST),
        (b"\xff", OCI_MANIFEST),
        (b"[1, 2]", OCI_MANIFEST),
    ],
)
def test_sniff_media_type(data: bytes, expected: str) -> None:
    assert sniff_media_type(data) == expected


def test_every_accepted_manifest_sniffs_as_its_media_type() -> None:
    bodies = [
        (image(), OCI_MANIFEST),
        (_without(image(), "mediaType"), OCI_MANIFEST),
        (_without(image(), "mediaType"), None),
        (index(), OCI_INDEX),
        (_without(index(), "mediaType"), OCI_INDEX),
        (_without(index(), "mediaType"), "application/json"),
        (image(mediaType=DOCKER_MANIFEST), DOCKER_MANIFEST),
        (index(mediaType=DOCKER_LIST), None),
    ]
    for body, content_type in bodies:
        data = raw(body)
        assert sniff_media_type(data) == parse(data, content_type).media_type

"""Manifest media types, parsing and structural validation (OCI and Docker schema 2)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from registry.digest import Digest, InvalidDigest

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
SUPPORTED_TYPES = IMAGE_TYPES | INDEX_TYPES
_GENERIC_TYPES = frozenset({"", "application/json", "application/octet-stream"})
_DOCKER_TYPES = frozenset({DOCKER_MANIFEST, DOCKER_LIST})


class ManifestInvalid(ValueError):
    """The manifest cannot be accepted; the message says why."""


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    urls: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": str(self.digest),
            "size": self.size,
        }
        if self.artifact_type:
            body["artifactType"] = self.artifact_type
        if self.annotations:
            body["annotations"] = self.annotations
        return body


@dataclass(frozen=True, slots=True)
class Manifest:
    media_type: str
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None
    artifact_type: str | None
    annotations: dict[str, str]

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    def referrer_artifact_type(self) -> str | None:
        """artifactType as the referrers API reports it: the field, else the config type."""
        if self.artifact_type:
            return self.artifact_type
        return self.config.media_type if self.config else None


def _string_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ManifestInvalid(f"{where}: annotations must map strings to strings")
    return value


def _descriptor(value: Any, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{where}: descriptor must be an object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise ManifestInvalid(f"{where}: mediaType missing")
    if not isinstance(digest, str):
        raise ManifestInvalid(f"{where}: digest missing")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestInvalid(f"{where}: size must be a non-negative integer")
    artifact_type = value.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise ManifestInvalid(f"{where}: artifactType must be a string")
    urls = value.get("urls") or []
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise ManifestInvalid(f"{where}: urls must be a list of strings")
    try:
        parsed = Digest.parse(digest)
    except InvalidDigest as exc:
        raise ManifestInvalid(f"{where}: {exc}") from None
    return Descriptor(
        media_type,
        parsed,
        size,
        artifact_type,
        _string_map(value.get("annotations"), where),
        tuple(urls),
    )


def _descriptors(value: Any, where: str) -> tuple[Descriptor, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ManifestInvalid(f"{where}: must be a list")
    return tuple(_descriptor(item, f"{where}[{i}]") for i, item in enumerate(value))


def _media_type(body: dict[str, Any], content_type: str | None) -> str:
    declared = body.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise ManifestInvalid("mediaType must be a string")
    header = (content_type or "").split(";", 1)[0].strip().lower()
    if header in _GENERIC_TYPES:
        header = ""
    if declared and header and declared != header:
        raise ManifestInvalid(f"mediaType {declared!r} does not match Content-Type {header!r}")
    media_type = declared or header
    if not media_type:
        media_type = OCI_INDEX if "manifests" in body else OCI_MANIFEST
    if media_type not in SUPPORTED_TYPES:
        raise ManifestInvalid(f"unsupported manifest media type {media_type!r}")
    if not declared and media_type in _DOCKER_TYPES:
        # stored bytes are all there is: GET could not tell them from an OCI manifest
        raise ManifestInvalid(f"mediaType is required for {media_type}")
    return media_type


def parse(data: bytes, content_type: str | None = None) -> Manifest:
    """Parse and structurally validate a manifest. Raises ManifestInvalid."""
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestInvalid(f"invalid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ManifestInvalid("manifest must be a JSON object")
    if body.get("schemaVersion") != 2:
        raise ManifestInvalid("schemaVersion must be 2")
    media_type = _media_type(body, content_type)
    artifact_type = body.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise ManifestInvalid("artifactType must be a string")
    subject = _descriptor(body["subject"], "subject") if body.get("subject") else None
    annotations = _string_map(body.get("annotations"), "annotations")
    if media_type in INDEX_TYPES:
        if "manifests" not in body:
            raise ManifestInvalid("manifests missing")
        return Manifest(
            media_type,
            None,
            (),
            _descriptors(body["manifests"], "manifests"),
            subject,
            artifact_type,
            annotations,
        )
    if "config" not in body:
        raise ManifestInvalid("config missing")
    return Manifest(
        media_type,
        _descriptor(body["config"], "config"),
        _descriptors(body.get("layers"), "layers"),
        (),
        subject,
        artifact_type,
        annotations,
    )


def sniff_media_type(data: bytes) -> str:
    """Media type of stored manifest bytes: their `mediaType`, else guessed from the shape."""
    try:
        body = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return OCI_MANIFEST
    if not isinstance(body, dict):
        return OCI_MANIFEST
    declared = body.get("mediaType")
    if isinstance(declared, str) and declared:
        return declared
    return OCI_INDEX if "manifests" in body else OCI_MANIFEST

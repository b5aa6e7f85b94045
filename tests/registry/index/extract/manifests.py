"""Builders for manifests and config blobs shaped the way each tool writes them."""

from __future__ import annotations

import hashlib
import json
from typing import Any

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def digest_of(seed: str) -> str:
    return "sha256:" + hashlib.sha256(seed.encode()).hexdigest()


def blob(document: Any) -> bytes:
    """Compact JSON, as Go's encoding/json writes it."""
    return json.dumps(document, separators=(",", ":")).encode()


def layer(media_type: str, size: int, seed: str = "", **annotations: str) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "mediaType": media_type,
        "digest": digest_of(seed or f"{media_type}:{size}:{sorted(annotations.items())}"),
        "size": size,
    }
    if annotations:
        descriptor["annotations"] = dict(annotations)
    return descriptor


def manifest(
    config_media_type: str,
    config: bytes | None,
    layers: list[dict[str, Any]],
    *,
    artifact_type: str | None = None,
    annotations: dict[str, str] | None = None,
    media_type: str | None = OCI_MANIFEST,
) -> dict[str, Any]:
    body: dict[str, Any] = {"schemaVersion": 2}
    if media_type is not None:
        body["mediaType"] = media_type
    if artifact_type is not None:
        body["artifactType"] = artifact_type
    body["config"] = {
        "mediaType": config_media_type,
        "digest": digest_of((config or b"").decode("utf-8", "replace")),
        "size": len(config or b""),
    }
    body["layers"] = layers
    if annotations:
        body["annotations"] = annotations
    return body


def total_size(body: dict[str, Any]) -> int:
    return int(body["config"]["size"]) + sum(int(item["size"]) for item in body["layers"])


# The record of an artifact that says nothing: each test overrides what its format fills.
EMPTY_RECORD: dict[str, Any] = {
    "name": None,
    "version": None,
    "description": None,
    "authors": [],
    "licenses": [],
    "framework": None,
    "model_format": None,
    "architecture": None,
    "parameter_count": None,
    "precision": None,
    "quantization": None,
    "metrics": {},
    "hyperparameters": {},
    "signature": None,
    "hardware": None,
    "source": None,
    "created": None,
    "tags_hint": [],
    "labels": {},
    "extra": {},
    "parse_errors": [],
}


def expected(family: str, **fields: Any) -> dict[str, Any]:
    """A full to_json() dict: EMPTY_RECORD with `family` and `fields` set."""
    unknown = set(fields) - set(EMPTY_RECORD)
    assert not unknown, f"not record fields: {unknown}"
    return {"family": family, **EMPTY_RECORD, **fields}

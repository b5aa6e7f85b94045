"""A real OCI image layout on disk (what `skopeo copy oci:DIR:TAG` reads), made up on the spot.

Layers are gzip-compressed tars of random bytes, so skopeo copies them as they are (it would
compress an uncompressed layer, which would time skopeo's gzip rather than the registry).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"


@dataclass(frozen=True)
class OciImage:
    layout: Path
    tag: str
    size: int  # bytes of all blobs and the manifest


def _store(layout: Path, data: bytes) -> tuple[str, int]:
    hex_digest = hashlib.sha256(data).hexdigest()
    (layout / "blobs/sha256" / hex_digest).write_bytes(data)
    return f"sha256:{hex_digest}", len(data)


def _layer(size: int, index: int) -> bytes:
    payload = os.urandom(size)
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"layer{index}/data.bin")
        info.size = size
        info.mtime = 0
        tar.addfile(info, io.BytesIO(payload))
    return raw.getvalue()


def generate(layout: Path, layer_sizes: list[int], tag: str = "latest") -> OciImage:
    """Write an image of one layer per size (random content, unique every call)."""
    (layout / "blobs/sha256").mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    layers, diff_ids, total = [], [], 0
    for index, size in enumerate(layer_sizes):
        tar = _layer(size, index)
        diff_ids.append(f"sha256:{hashlib.sha256(tar).hexdigest()}")
        digest, length = _store(layout, gzip.compress(tar, compresslevel=1, mtime=0))
        layers.append({"mediaType": OCI_LAYER_GZIP, "digest": digest, "size": length})
        total += length
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Labels": {"org.modelyard.bench": "1"}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    config_digest, config_size = _store(layout, json.dumps(config).encode())
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
        "layers": layers,
    }
    manifest_digest, manifest_size = _store(layout, json.dumps(manifest).encode())
    image_index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    (layout / "index.json").write_text(json.dumps(image_index))
    return OciImage(layout, tag, total + config_size + manifest_size)

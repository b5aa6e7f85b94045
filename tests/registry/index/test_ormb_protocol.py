"""An ORMB model pushed the way ormb's containerd remotes push, then found by the query API.

The sequence is what containerd-based clients send: HEAD of each blob (404), POST for an
upload, one PUT with `?digest=` carrying the whole blob, then PUT of the manifest and a HEAD
of it with an Accept list; every answer must carry Docker-Content-Digest and Content-Length.
"""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

pytestmark = pytest.mark.anyio

ORMB_CONFIG = "application/vnd.caicloud.model.config.v1alpha1+json"
ACCEPT = ", ".join(
    [
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.oci.image.index.v1+json",
        "*/*",
    ]
)


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


async def containerd_push_blob(client: httpx.AsyncClient, name: str, data: bytes) -> str:
    digest = digest_of(data)
    head = await client.head(f"/v2/{name}/blobs/{digest}")
    assert head.status_code == 404
    started = await client.post(f"/v2/{name}/blobs/uploads/")
    assert started.status_code == 202
    location = started.headers["location"]
    finished = await client.put(
        location,
        params={"digest": digest},
        content=data,
        headers={"Content-Type": "application/octet-stream", "Content-Length": str(len(data))},
    )
    assert finished.status_code == 201
    assert finished.headers["docker-content-digest"] == digest
    head = await client.head(f"/v2/{name}/blobs/{digest}")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(data))
    return digest


async def test_ormb_push_then_query(indexed_client: httpx.AsyncClient) -> None:
    config = json.dumps(
        {
            "author": "ormb",
            "description": "fashion-mnist classifier",
            "format": "SavedModel",
            "framework": "TensorFlow",
            "metrics": {
                "training": [{"name": "accuracy", "value": "0.93"}],
                "validation": [{"name": "accuracy", "value": "0.88"}],
            },
            "created": "2020-06-18T10:20:30Z",
        }
    ).encode()
    model = b"\x1f\x8b" + b"saved model tarball" * 100
    name = "library/fashion"
    config_digest = await containerd_push_blob(indexed_client, name, config)
    layer_digest = await containerd_push_blob(indexed_client, name, model)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "config": {"mediaType": ORMB_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [
                {"mediaType": "application/tar+gzip", "digest": layer_digest, "size": len(model)}
            ],
        }
    ).encode()
    put = await indexed_client.put(
        f"/v2/{name}/manifests/v1",
        content=manifest,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
    )
    assert put.status_code == 201
    head = await indexed_client.head(f"/v2/{name}/manifests/v1", headers={"Accept": ACCEPT})
    assert head.status_code == 200
    assert head.headers["docker-content-digest"] == digest_of(manifest)
    assert head.headers["content-length"] == str(len(manifest))
    assert head.headers["content-type"] == "application/vnd.oci.image.manifest.v1+json"

    found = await indexed_client.get(
        "/api/v1/models",
        params={"framework": "TensorFlow", "metric": "training.accuracy>=0.9"},
    )
    assert found.status_code == 200, found.text
    [item] = found.json()["items"]
    assert item["repository"] == name
    assert item["digest"] == digest_of(manifest)
    assert item["family"] == "ormb"
    missed = await indexed_client.get(
        "/api/v1/models", params={"metric": "validation.accuracy>=0.9"}
    )
    assert missed.json()["items"] == []

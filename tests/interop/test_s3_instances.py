"""Many servers, one S3 bucket (moto over HTTP): registry:2 and Modelyard share a bucket in
both directions, and several Modelyard instances act as one registry."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.interop.helpers import OciImage, ServerProcess, read_oci_layout, skopeo_copy, skopeo_tags
from tests.support.s3server import S3Server

pytestmark = pytest.mark.interop

ServerFactory = Callable[..., ServerProcess]


@pytest.fixture
def storage(s3_server: S3Server) -> dict[str, Any]:
    return s3_server.storage()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _keys(s3_server: S3Server, storage: dict[str, Any]) -> list[str]:
    client: Any = s3_server.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=storage["s3"]["bucket"])
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


@pytest.mark.parametrize("writer_kind", ["docker-registry", "modelyard"])
def test_a_bucket_written_by_one_is_served_by_the_other(
    writer_kind: str,
    skopeo: str,
    oci_image: OciImage,
    storage: dict[str, Any],
    s3_server: S3Server,
    start_modelyard: ServerFactory,
    start_docker_registry: ServerFactory,
    tmp_path: Path,
) -> None:
    starters = {"modelyard": start_modelyard, "docker-registry": start_docker_registry}
    reader_kind = "modelyard" if writer_kind == "docker-registry" else "docker-registry"
    writer = starters[writer_kind](tmp_path / "writer", storage)
    pushed = skopeo_copy(
        skopeo, oci_image.ref, f"docker://{writer.netloc}/team/app:v1", workdir=tmp_path / "d"
    )
    writer.stop()
    keys = _keys(s3_server, storage)
    assert all(key.startswith("cluster/docker/registry/v2/") for key in keys), keys[:5]
    assert (
        "cluster/docker/registry/v2/repositories/team/app/_manifests/tags/v1/current/link" in keys
    )

    reader = starters[reader_kind](tmp_path / "reader", storage)
    pulled = skopeo_copy(
        skopeo,
        f"docker://{reader.netloc}/team/app:v1",
        "oci:" + str(tmp_path / "out") + ":v1",
        workdir=tmp_path / "d",
    )
    assert pushed == pulled == oci_image.manifest_digest
    digest, manifest = read_oci_layout(tmp_path / "out", "v1")
    assert digest == oci_image.manifest_digest
    assert skopeo_tags(skopeo, f"docker://{reader.netloc}/team/app") == ["v1"]
    layers: Any = manifest["layers"]
    for layer in layers:
        response = httpx.get(
            f"{reader.url}/v2/team/app/blobs/{layer['digest']}", follow_redirects=True
        )
        assert response.status_code == 200
        assert _digest(response.content) == layer["digest"]


def test_two_instances_one_bucket(
    storage: dict[str, Any], start_modelyard: ServerFactory, tmp_path: Path
) -> None:
    first = start_modelyard(tmp_path / "one", storage)
    second = start_modelyard(tmp_path / "two", storage)
    data = os.urandom(7 << 20)
    digest = _digest(data)

    # a chunked upload begun on the first instance is continued and finished on the second
    with httpx.Client(timeout=60) as client:
        started = client.post(f"{first.url}/v2/team/model/blobs/uploads/")
        assert started.status_code == 202
        location = started.headers["Location"]
        half = len(data) // 2
        patched = client.patch(
            first.url + location,
            content=data[:half],
            headers={"Content-Range": f"0-{half - 1}", "Content-Type": "application/octet-stream"},
        )
        assert patched.status_code == 202
        status = client.get(second.url + location)
        assert status.status_code == 204
        assert status.headers["Range"] == f"0-{half - 1}"
        patched = client.patch(
            second.url + location,
            content=data[half:],
            headers={"Content-Range": f"{half}-{len(data) - 1}"},
        )
        assert patched.status_code == 202
        finished = client.put(f"{first.url}{location}?digest={digest}")
        assert finished.status_code == 201, finished.text

        # pushed through one, pullable through the other at once
        config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
        pushed = client.post(
            f"{second.url}/v2/team/model/blobs/uploads/?digest={_digest(config)}", content=config
        )
        assert pushed.status_code == 201
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": _digest(config),
                    "size": len(config),
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": digest,
                        "size": len(data),
                    }
                ],
            }
        ).encode()
        put = client.put(
            f"{second.url}/v2/team/model/manifests/v1",
            content=manifest,
            headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert put.status_code == 201, put.text
        fetched = client.get(
            f"{first.url}/v2/team/model/manifests/v1",
            headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        )
        assert fetched.status_code == 200
        assert fetched.content == manifest
        blob = client.get(f"{first.url}/v2/team/model/blobs/{digest}")
        assert blob.content == data

        # deleted through one, gone through the other
        assert client.delete(f"{first.url}/v2/team/model/manifests/v1").status_code == 202
        assert client.get(f"{second.url}/v2/team/model/manifests/v1").status_code == 404


def test_same_blob_pushed_concurrently_through_several_instances(
    storage: dict[str, Any], start_modelyard: ServerFactory, tmp_path: Path
) -> None:
    instances = [start_modelyard(tmp_path / f"i{n}", storage) for n in range(3)]
    data = os.urandom(6 << 20)
    digest = _digest(data)

    def push(n: int) -> int:
        server = instances[n % len(instances)]
        with httpx.Client(timeout=120) as client:
            response = client.post(
                f"{server.url}/v2/shared/blob/blobs/uploads/?digest={digest}", content=data
            )
            return response.status_code

    with ThreadPoolExecutor(max_workers=9) as pool:
        statuses = list(pool.map(push, range(9)))
    assert statuses == [201] * 9
    for server in instances:
        response = httpx.get(f"{server.url}/v2/shared/blob/blobs/{digest}", timeout=60)
        assert response.status_code == 200
        assert _digest(response.content) == digest

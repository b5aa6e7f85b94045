"""`GET|HEAD|PUT|DELETE /v2/<name>/manifests/<reference>`."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from registry.config import Config, DeleteConfig, LimitsConfig
from tests.registry.conftest import MakeClient
from tests.registry.helpers import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Image,
    assert_error,
    descriptor,
    digest_of,
    encode,
    image_manifest,
    push_blob,
    push_image,
    push_manifest,
)

pytestmark = pytest.mark.anyio

CONFIG = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
LAYER = b"\x1f\x8b layer bytes"


async def assert_manifest(
    client: httpx.AsyncClient, name: str, reference: str, data: bytes, media_type: str
) -> None:
    digest = digest_of(data)
    response = await client.get(f"/v2/{name}/manifests/{reference}")
    assert response.status_code == 200, response.text
    assert response.content == data
    assert response.headers["content-type"] == media_type
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["content-length"] == str(len(data))
    head = await client.head(f"/v2/{name}/manifests/{reference}")
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == media_type
    assert head.headers["docker-content-digest"] == digest
    assert head.headers["content-length"] == str(len(data))


async def test_put_and_get_oci_manifest_by_tag(client: httpx.AsyncClient) -> None:
    image = await push_image(client, "repo", "v1", config=CONFIG, layers=[LAYER, b"second"])
    await assert_manifest(client, "repo", "v1", image.data, OCI_MANIFEST)
    await assert_manifest(client, "repo", image.digest, image.data, OCI_MANIFEST)


async def test_put_response_headers(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", CONFIG)
    data = encode(image_manifest(CONFIG, []))
    response = await client.put(
        "/v2/repo/manifests/v1", content=data, headers={"Content-Type": OCI_MANIFEST}
    )
    digest = digest_of(data)
    assert response.status_code == 201
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["location"] == f"/v2/repo/manifests/{digest}"
    assert response.headers["content-length"] == "0"
    assert "oci-subject" not in response.headers


async def test_put_by_digest(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", CONFIG)
    data = encode(image_manifest(CONFIG, []))
    digest = await push_manifest(client, "repo", digest_of(data), data)
    await assert_manifest(client, "repo", digest, data, OCI_MANIFEST)
    assert (await client.get("/v2/repo/tags/list")).json()["tags"] == []


async def test_put_by_sha512_digest(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", CONFIG)
    data = encode(image_manifest(CONFIG, []))
    digest = digest_of(data, "sha512")
    assert await push_manifest(client, "repo", digest, data) == digest
    response = await client.get(f"/v2/repo/manifests/{digest}")
    assert response.content == data
    assert response.headers["docker-content-digest"] == digest


async def test_put_by_digest_mismatch(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", CONFIG)
    data = encode(image_manifest(CONFIG, []))
    wrong = digest_of(data + b" ")
    response = await client.put(
        f"/v2/repo/manifests/{wrong}", content=data, headers={"Content-Type": OCI_MANIFEST}
    )
    error = assert_error(response, 400, "DIGEST_INVALID")
    assert error["detail"] == {"expected": wrong, "got": digest_of(data)}
    assert_error(await client.get(f"/v2/repo/manifests/{wrong}"), 404, "MANIFEST_UNKNOWN")
    assert_error(await client.get(f"/v2/repo/manifests/{digest_of(data)}"), 404, "MANIFEST_UNKNOWN")


async def test_put_oci_index(client: httpx.AsyncClient) -> None:
    amd = await push_image(client, "repo", layers=[b"amd64"])
    arm = await push_image(client, "repo", layers=[b"arm64"])
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            amd.descriptor(platform={"architecture": "amd64", "os": "linux"}),
            arm.descriptor(platform={"architecture": "arm64", "os": "linux"}),
        ],
        "annotations": {"org.opencontainers.image.version": "1.0"},
    }
    data = encode(index)
    digest = await push_manifest(client, "repo", "multi", data, OCI_INDEX)
    assert digest == digest_of(data)
    await assert_manifest(client, "repo", "multi", data, OCI_INDEX)
    await assert_manifest(client, "repo", digest, data, OCI_INDEX)


async def test_put_docker_schema2_manifest(client: httpx.AsyncClient) -> None:
    image = await push_image(
        client,
        "library/app",
        "latest",
        config=CONFIG,
        layers=[LAYER],
        media_type=DOCKER_MANIFEST,
        config_type=DOCKER_CONFIG,
        layer_type=DOCKER_LAYER,
    )
    await assert_manifest(client, "library/app", "latest", image.data, DOCKER_MANIFEST)


async def test_put_docker_manifest_list(client: httpx.AsyncClient) -> None:
    child = await push_image(
        client,
        "library/app",
        media_type=DOCKER_MANIFEST,
        config_type=DOCKER_CONFIG,
        layer_type=DOCKER_LAYER,
    )
    listing = {
        "schemaVersion": 2,
        "mediaType": DOCKER_LIST,
        "manifests": [child.descriptor(platform={"architecture": "amd64", "os": "linux"})],
    }
    data = encode(listing)
    await push_manifest(client, "library/app", "latest", data, DOCKER_LIST)
    await assert_manifest(client, "library/app", "latest", data, DOCKER_LIST)


@pytest.mark.parametrize("by_tag", [True, False], ids=["tag", "digest"])
async def test_put_artifact_manifest(client: httpx.AsyncClient, by_tag: bool) -> None:
    config = b'{"descriptor":{"name":"tiny-llm"},"modelfs":{"type":"layers","diffIds":[]}}'
    weights = b"GGUF model weights"
    image = await push_image(
        client,
        "models/tiny-llm",
        "v1.0.0" if by_tag else None,
        config=config,
        layers=[weights],
        config_type="application/vnd.cncf.model.config.v1+json",
        layer_type="application/vnd.cncf.model.weight.v1.raw",
        artifactType="application/vnd.cncf.model.manifest.v1+json",
        annotations={"org.opencontainers.image.title": "tiny"},
    )
    reference = "v1.0.0" if by_tag else image.digest
    await assert_manifest(client, "models/tiny-llm", reference, image.data, OCI_MANIFEST)
    await assert_manifest(client, "models/tiny-llm", image.digest, image.data, OCI_MANIFEST)
    blob = await client.get(f"/v2/models/tiny-llm/blobs/{digest_of(weights)}")
    assert blob.content == weights


async def test_put_manifest_with_empty_config_and_no_layers(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", b"{}")
    manifest = image_manifest(b"{}", [], config_type=OCI_EMPTY, artifactType="application/x")
    await push_manifest(client, "repo", "empty", manifest)
    await assert_manifest(client, "repo", "empty", encode(manifest), OCI_MANIFEST)


async def test_manifest_without_media_type_field(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", CONFIG)
    manifest = image_manifest(CONFIG, [])
    del manifest["mediaType"]
    data = encode(manifest)
    await push_manifest(client, "repo", "v1", data, OCI_MANIFEST)
    await assert_manifest(client, "repo", "v1", data, OCI_MANIFEST)


@pytest.mark.parametrize("content_type", [None, "application/json", "application/octet-stream"])
async def test_generic_content_type_uses_manifest_media_type(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    await push_blob(client, "repo", CONFIG)
    data = encode(image_manifest(CONFIG, [], media_type=DOCKER_MANIFEST))
    await push_manifest(client, "repo", "v1", data, content_type)
    await assert_manifest(client, "repo", "v1", data, DOCKER_MANIFEST)


async def test_content_type_with_parameters(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", CONFIG)
    data = encode(image_manifest(CONFIG, []))
    await push_manifest(client, "repo", "v1", data, OCI_MANIFEST + "; charset=utf-8")


async def test_foreign_layer_with_urls_need_not_be_pushed(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", CONFIG)
    manifest = image_manifest(CONFIG, [])
    manifest["layers"] = [
        descriptor(
            b"windows base layer",
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            urls=["https://example.invalid/layer"],
        )
    ]
    await push_manifest(client, "repo", "win", manifest)


async def test_same_manifest_under_two_tags(client: httpx.AsyncClient) -> None:
    image = await push_image(client, "repo", "a")
    assert await push_manifest(client, "repo", "b", image.data) == image.digest
    for tag in ("a", "b"):
        assert (await client.get(f"/v2/repo/manifests/{tag}")).content == image.data


async def test_retagging_moves_the_tag(client: httpx.AsyncClient) -> None:
    first = await push_image(client, "repo", "latest", layers=[b"one"])
    second = await push_image(client, "repo", "latest", layers=[b"two"])
    response = await client.get("/v2/repo/manifests/latest")
    assert response.headers["docker-content-digest"] == second.digest
    # the old revision stays readable by digest
    assert (await client.get(f"/v2/repo/manifests/{first.digest}")).content == first.data


async def test_missing_config_blob(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", LAYER)
    manifest = image_manifest(CONFIG, [LAYER])
    response = await client.put(
        "/v2/repo/manifests/v1", content=encode(manifest), headers={"Content-Type": OCI_MANIFEST}
    )
    error = assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")
    assert error["detail"] == {"digest": digest_of(CONFIG)}
    assert_error(await client.get("/v2/repo/manifests/v1"), 404, "MANIFEST_UNKNOWN")


async def test_missing_layer_blob(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", CONFIG)
    manifest = image_manifest(CONFIG, [LAYER])
    response = await client.put(
        "/v2/repo/manifests/v1", content=encode(manifest), headers={"Content-Type": OCI_MANIFEST}
    )
    error = assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")
    assert error["detail"] == {"digest": digest_of(LAYER)}


async def test_blob_of_another_repository_is_missing(client: httpx.AsyncClient) -> None:
    await push_blob(client, "other", CONFIG)
    response = await client.put(
        "/v2/repo/manifests/v1",
        content=encode(image_manifest(CONFIG, [])),
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")


async def test_index_with_unknown_child(client: httpx.AsyncClient) -> None:
    known = await push_image(client, "repo")
    missing = {"mediaType": OCI_MANIFEST, "digest": digest_of(b"no such manifest"), "size": 16}
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [known.descriptor(), missing]}
    response = await client.put(
        "/v2/repo/manifests/multi", content=encode(index), headers={"Content-Type": OCI_INDEX}
    )
    error = assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")
    assert error["detail"] == {"digest": missing["digest"]}


async def test_index_child_in_another_repository(client: httpx.AsyncClient) -> None:
    child = await push_image(client, "other")
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [child.descriptor()]}
    response = await client.put(
        "/v2/repo/manifests/multi", content=encode(index), headers={"Content-Type": OCI_INDEX}
    )
    assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")


async def test_blob_size_mismatch(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", CONFIG)
    manifest = image_manifest(CONFIG, [])
    manifest["config"]["size"] += 1
    response = await client.put(
        "/v2/repo/manifests/v1", content=encode(manifest), headers={"Content-Type": OCI_MANIFEST}
    )
    error = assert_error(response, 400, "MANIFEST_INVALID")
    assert error["detail"]["digest"] == digest_of(CONFIG)


def _valid() -> dict[str, Any]:
    return image_manifest(CONFIG, [])


INVALID: list[tuple[str, bytes, str | None]] = [
    ("not json", b"{not json", OCI_MANIFEST),
    ("empty body", b"", OCI_MANIFEST),
    ("not utf-8", b"\xff\xfe{}", OCI_MANIFEST),
    ("json array", b"[]", OCI_MANIFEST),
    ("schema 1", encode({**_valid(), "schemaVersion": 1}), OCI_MANIFEST),
    ("schema missing", encode({k: v for k, v in _valid().items() if k != "schemaVersion"}), None),
    ("schema as string", encode({**_valid(), "schemaVersion": "2"}), OCI_MANIFEST),
    ("type mismatch", encode(_valid()), DOCKER_MANIFEST),
    ("type mismatch index", encode(_valid()), OCI_INDEX),
    (
        "unsupported media type",
        encode({**_valid(), "mediaType": "application/vnd.example+json"}),
        "application/vnd.example+json",
    ),
    ("unsupported content type", encode(_valid() | {"mediaType": None}), "text/plain"),
    (
        "docker schema 1",
        encode({"schemaVersion": 1, "name": "repo", "tag": "v1", "fsLayers": []}),
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
    ),
    (
        "docker manifest without mediaType field",
        encode({k: v for k, v in _valid().items() if k != "mediaType"}),
        DOCKER_MANIFEST,
    ),
    (
        "docker list without mediaType field",
        encode({"schemaVersion": 2, "manifests": []}),
        DOCKER_LIST,
    ),
    ("config missing", encode({"schemaVersion": 2, "mediaType": OCI_MANIFEST}), None),
    ("manifests missing", encode({"schemaVersion": 2, "mediaType": OCI_INDEX}), OCI_INDEX),
    ("config not object", encode({**_valid(), "config": "sha256:abc"}), None),
    ("layers not list", encode({**_valid(), "layers": {}}), None),
    (
        "bad layer digest",
        encode({**_valid(), "layers": [{**_valid()["config"], "digest": "x"}]}),
        None,
    ),
    ("negative size", encode({**_valid(), "config": {**_valid()["config"], "size": -1}}), None),
    ("size not int", encode({**_valid(), "config": {**_valid()["config"], "size": "3"}}), None),
    (
        "no media type",
        encode({**_valid(), "config": {"digest": digest_of(CONFIG), "size": 1}}),
        None,
    ),
    ("annotations", encode({**_valid(), "annotations": {"a": 1}}), None),
    ("artifactType", encode({**_valid(), "artifactType": 5}), None),
    ("subject", encode({**_valid(), "subject": {"digest": "sha256:0"}}), None),
]


@pytest.mark.parametrize(
    ("data", "content_type"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
async def test_invalid_manifest(
    client: httpx.AsyncClient, data: bytes, content_type: str | None
) -> None:
    await push_blob(client, "repo", CONFIG)
    headers = {"Content-Type": content_type} if content_type else {}
    response = await client.put("/v2/repo/manifests/v1", content=data, headers=headers)
    error = assert_error(response, 400, "MANIFEST_INVALID")
    assert error["detail"]["reason"]
    assert_error(await client.get("/v2/repo/manifests/v1"), 404, "MANIFEST_UNKNOWN")


async def test_manifest_too_large(
    client: httpx.AsyncClient, make_client: MakeClient, config: Config
) -> None:
    small = make_client(dataclasses.replace(config, limits=LimitsConfig(manifest_max_bytes=300)))
    await push_blob(client, "repo", CONFIG)
    manifest = image_manifest(CONFIG, [], annotations={"padding": "x" * 400})
    response = await small.put(
        "/v2/repo/manifests/v1", content=encode(manifest), headers={"Content-Type": OCI_MANIFEST}
    )
    error = assert_error(response, 413, "SIZE_INVALID")
    assert error["detail"] == {"limit": 300}
    assert_error(await small.get("/v2/repo/manifests/v1"), 404, "MANIFEST_UNKNOWN")
    # one under the limit is accepted
    fitting = encode(image_manifest(CONFIG, []))
    assert len(fitting) <= 300
    assert (
        await small.put(
            "/v2/repo/manifests/v1", content=fitting, headers={"Content-Type": OCI_MANIFEST}
        )
    ).status_code == 201


async def test_manifest_too_large_without_content_length(
    client: httpx.AsyncClient, make_client: MakeClient, config: Config
) -> None:
    small = make_client(dataclasses.replace(config, limits=LimitsConfig(manifest_max_bytes=300)))
    data = encode(image_manifest(CONFIG, [], annotations={"padding": "x" * 400}))

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 100):
            yield data[start : start + 100]

    response = await small.put(
        "/v2/repo/manifests/v1", content=chunks(), headers={"Content-Type": OCI_MANIFEST}
    )
    assert "content-length" not in response.request.headers
    assert_error(response, 413, "SIZE_INVALID")


@pytest.mark.parametrize(
    "tag", ["-leading-dash", ".leading-dot", "a" * 129, "with+plus", "spa ce", "ümlaut"]
)
async def test_bad_tag(client: httpx.AsyncClient, tag: str) -> None:
    await push_blob(client, "repo", CONFIG)
    data = encode(image_manifest(CONFIG, []))
    response = await client.put(
        f"/v2/repo/manifests/{tag}", content=data, headers={"Content-Type": OCI_MANIFEST}
    )
    assert response.status_code == 400
    error = assert_error(response, 400, "MANIFEST_INVALID")
    assert error["detail"]["tag"] == tag
    assert_error(await client.get(f"/v2/repo/manifests/{tag}"), 400, "MANIFEST_INVALID")


@pytest.mark.parametrize("tag", ["a" * 128, "_underscore", "V1.2.3-rc.1_build", "0"])
async def test_valid_unusual_tags(client: httpx.AsyncClient, tag: str) -> None:
    image = await push_image(client, "repo", tag)
    assert (await client.get(f"/v2/repo/manifests/{tag}")).content == image.data


@pytest.mark.parametrize("reference", ["sha256:abc", "md5:" + "0" * 32, "sha256:" + "Z" * 64])
async def test_bad_digest_reference(client: httpx.AsyncClient, reference: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = await client.request(method, f"/v2/repo/manifests/{reference}")
        assert_error(response, 400, "DIGEST_INVALID")


async def test_subject_gives_oci_subject_header(client: httpx.AsyncClient) -> None:
    subject = await push_image(client, "repo", "v1")
    await push_blob(client, "repo", b"{}")
    referrer = image_manifest(
        b"{}", [], config_type=OCI_EMPTY, artifactType="application/vnd.example.sbom"
    )
    referrer["subject"] = subject.descriptor()
    response = await client.put(
        f"/v2/repo/manifests/{digest_of(encode(referrer))}",
        content=encode(referrer),
        headers={"Content-Type": OCI_MANIFEST},
    )
    assert response.status_code == 201
    assert response.headers["oci-subject"] == subject.digest


async def test_subject_need_not_exist(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", b"{}")
    referrer = image_manifest(b"{}", [], config_type=OCI_EMPTY, artifactType="application/x")
    missing = {"mediaType": OCI_MANIFEST, "digest": digest_of(b"later"), "size": 5}
    referrer["subject"] = missing
    response = await client.put(
        "/v2/repo/manifests/sig", content=encode(referrer), headers={"Content-Type": OCI_MANIFEST}
    )
    assert response.status_code == 201
    assert response.headers["oci-subject"] == missing["digest"]


async def test_index_with_subject(client: httpx.AsyncClient) -> None:
    subject = await push_image(client, "repo", "v1")
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
    index["subject"] = subject.descriptor()
    response = await client.put(
        "/v2/repo/manifests/idx", content=encode(index), headers={"Content-Type": OCI_INDEX}
    )
    assert response.status_code == 201
    assert response.headers["oci-subject"] == subject.digest


async def test_get_unknown_manifest(client: httpx.AsyncClient) -> None:
    await push_image(client, "repo", "v1")
    for reference in ("v2", digest_of(b"unknown")):
        assert_error(await client.get(f"/v2/repo/manifests/{reference}"), 404, "MANIFEST_UNKNOWN")
        head = await client.head(f"/v2/repo/manifests/{reference}")
        assert head.status_code == 404
    response = await client.get("/v2/never-pushed/manifests/latest")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] in ("MANIFEST_UNKNOWN", "NAME_UNKNOWN")


async def test_manifest_of_one_repository_is_unknown_in_another(
    client: httpx.AsyncClient,
) -> None:
    image = await push_image(client, "one", "v1")
    assert_error(await client.get(f"/v2/two/manifests/{image.digest}"), 404, "MANIFEST_UNKNOWN")
    assert_error(await client.get("/v2/two/manifests/v1"), 404, "MANIFEST_UNKNOWN")


async def test_head_with_accept_list(client: httpx.AsyncClient) -> None:
    image = await push_image(client, "repo", "v1")
    accept = ", ".join([DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX, "*/*"])
    head = await client.head("/v2/repo/manifests/v1", headers={"Accept": accept})
    assert head.status_code == 200
    assert head.headers["docker-content-digest"] == image.digest
    assert head.headers["content-length"] == str(len(image.data))


async def test_stored_bytes_are_returned_unchanged(client: httpx.AsyncClient) -> None:
    await push_blob(client, "repo", CONFIG)
    body = json.dumps(image_manifest(CONFIG, []), separators=(",", ":"), sort_keys=True)
    data = ("\n  " + body + "\n\n").encode()
    digest = await push_manifest(client, "repo", "v1", data)
    response = await client.get(f"/v2/repo/manifests/{digest}")
    assert response.content == data


async def _two_tags(client: httpx.AsyncClient) -> Image:
    image = await push_image(client, "repo", "v1")
    await push_manifest(client, "repo", "stable", image.data)
    await push_image(client, "repo", "other", layers=[b"different"])
    return image


async def test_delete_by_tag(client: httpx.AsyncClient) -> None:
    image = await _two_tags(client)
    response = await client.delete("/v2/repo/manifests/v1")
    assert response.status_code == 202
    assert response.headers["content-length"] == "0"
    assert_error(await client.get("/v2/repo/manifests/v1"), 404, "MANIFEST_UNKNOWN")
    assert (await client.head("/v2/repo/manifests/v1")).status_code == 404
    assert (await client.get(f"/v2/repo/manifests/{image.digest}")).content == image.data
    assert (await client.get("/v2/repo/manifests/stable")).content == image.data
    assert (await client.get("/v2/repo/tags/list")).json()["tags"] == ["other", "stable"]
    assert_error(await client.delete("/v2/repo/manifests/v1"), 404, "MANIFEST_UNKNOWN")


async def test_delete_by_digest(client: httpx.AsyncClient) -> None:
    image = await _two_tags(client)
    response = await client.delete(f"/v2/repo/manifests/{image.digest}")
    assert response.status_code == 202
    assert response.headers["content-length"] == "0"
    for reference in (image.digest, "v1", "stable"):
        assert_error(await client.get(f"/v2/repo/manifests/{reference}"), 404, "MANIFEST_UNKNOWN")
        assert (await client.head(f"/v2/repo/manifests/{reference}")).status_code == 404
    assert (await client.get("/v2/repo/tags/list")).json()["tags"] == ["other"]
    assert (await client.get("/v2/repo/manifests/other")).status_code == 200
    assert_error(await client.delete(f"/v2/repo/manifests/{image.digest}"), 404, "MANIFEST_UNKNOWN")
    # the layers stay: deleting a manifest does not delete blobs
    blob = await client.head(f"/v2/repo/blobs/{image.manifest['layers'][0]['digest']}")
    assert blob.status_code == 200


async def test_delete_unknown_manifest(client: httpx.AsyncClient) -> None:
    await push_image(client, "repo", "v1")
    assert_error(await client.delete("/v2/repo/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    assert_error(
        await client.delete(f"/v2/repo/manifests/{digest_of(b'x')}"), 404, "MANIFEST_UNKNOWN"
    )


async def test_delete_in_one_repository_keeps_the_other(client: httpx.AsyncClient) -> None:
    one = await push_image(client, "one", "v1")
    two = await push_image(client, "two", "v1")
    assert one.digest == two.digest
    assert (await client.delete(f"/v2/one/manifests/{one.digest}")).status_code == 202
    assert (await client.get(f"/v2/two/manifests/{two.digest}")).content == two.data
    assert (await client.get("/v2/two/manifests/v1")).status_code == 200


async def test_repush_after_delete(client: httpx.AsyncClient) -> None:
    image = await push_image(client, "repo", "v1")
    assert (await client.delete(f"/v2/repo/manifests/{image.digest}")).status_code == 202
    await push_manifest(client, "repo", "v1", image.data)
    assert (await client.get("/v2/repo/manifests/v1")).content == image.data


async def test_delete_disabled(
    client: httpx.AsyncClient, make_client: MakeClient, config: Config
) -> None:
    image = await push_image(client, "repo", "v1")
    disabled = make_client(
        dataclasses.replace(
            config, storage=dataclasses.replace(config.storage, delete=DeleteConfig(False))
        )
    )
    for reference in ("v1", image.digest):
        response = await disabled.delete(f"/v2/repo/manifests/{reference}")
        assert_error(response, 405, "UNSUPPORTED")
    assert (await client.get("/v2/repo/manifests/v1")).content == image.data

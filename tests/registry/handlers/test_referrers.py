"""`GET /v2/<name>/referrers/<digest>`: the referrers of a subject as an OCI image index."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.registry.helpers import (
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    Image,
    assert_error,
    digest_of,
    encode,
    image_manifest,
    push_blob,
    push_image,
    push_manifest,
)

pytestmark = pytest.mark.anyio

SBOM = "application/vnd.example.sbom.v1"
SIGNATURE = "application/vnd.example.signature.v1"


async def push_referrer(
    client: httpx.AsyncClient,
    name: str,
    subject: Image,
    artifact_type: str | None,
    *,
    payload: bytes = b"payload",
    config: bytes = b"{}",
    config_type: str = OCI_EMPTY,
    annotations: dict[str, str] | None = None,
) -> tuple[str, bytes]:
    await push_blob(client, name, config)
    await push_blob(client, name, payload)
    manifest = image_manifest(
        config, [payload], config_type=config_type, layer_type="application/octet-stream"
    )
    if artifact_type:
        manifest["artifactType"] = artifact_type
    manifest["subject"] = subject.descriptor()
    if annotations:
        manifest["annotations"] = annotations
    data = encode(manifest)
    digest = await push_manifest(client, name, digest_of(data), data)
    return digest, data


def entry(digest: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(data), **extra}


async def test_referrers_index(client: httpx.AsyncClient) -> None:
    subject = await push_image(client, "repo", "v1")
    created = {"org.opencontainers.image.created": "2024-01-01T00:00:00Z"}
    sbom = await push_referrer(client, "repo", subject, SBOM, annotations=created)
    signature = await push_referrer(client, "repo", subject, SIGNATURE, payload=b"sig")
    response = await client.get(f"/v2/repo/referrers/{subject.digest}")
    assert response.status_code == 200
    assert response.headers["content-type"] == OCI_INDEX
    assert "oci-filters-applied" not in response.headers
    body = response.json()
    assert body["schemaVersion"] == 2
    assert body["mediaType"] == OCI_INDEX
    expected = [
        entry(*sbom, artifactType=SBOM, annotations=created),
        entry(*signature, artifactType=SIGNATURE),
    ]
    assert sorted(body["manifests"], key=lambda d: d["digest"]) == sorted(
        expected, key=lambda d: d["digest"]
    )


async def test_artifact_type_falls_back_to_config_media_type(client: httpx.AsyncClient) -> None:
    subject = await push_image(client, "repo", "v1")
    digest, data = await push_referrer(
        client, "repo", subject, None, config=b'{"a":1}', config_type="application/vnd.x.config"
    )
    body = (await client.get(f"/v2/repo/referrers/{subject.digest}")).json()
    assert body["manifests"] == [entry(digest, data, artifactType="application/vnd.x.config")]


async def test_artifact_type_filter(client: httpx.AsyncClient) -> None:
    subject = await push_image(client, "repo", "v1")
    sbom = await push_referrer(client, "repo", subject, SBOM)
    await push_referrer(client, "repo", subject, SIGNATURE, payload=b"sig")
    response = await client.get(
        f"/v2/repo/referrers/{subject.digest}", params={"artifactType": SBOM}
    )
    assert response.status_code == 200
    assert response.headers["oci-filters-applied"] == "artifactType"
    assert response.json()["manifests"] == [entry(*sbom, artifactType=SBOM)]
    none = await client.get(
        f"/v2/repo/referrers/{subject.digest}", params={"artifactType": "application/none"}
    )
    assert none.headers["oci-filters-applied"] == "artifactType"
    assert none.json()["manifests"] == []


async def test_referrers_of_other_subjects_are_not_listed(client: httpx.AsyncClient) -> None:
    one = await push_image(client, "repo", "one", layers=[b"1"])
    two = await push_image(client, "repo", "two", layers=[b"2"])
    referrer = await push_referrer(client, "repo", one, SBOM)
    assert (await client.get(f"/v2/repo/referrers/{two.digest}")).json()["manifests"] == []
    listed = (await client.get(f"/v2/repo/referrers/{one.digest}")).json()["manifests"]
    assert [d["digest"] for d in listed] == [referrer[0]]


async def test_referrers_are_per_repository(client: httpx.AsyncClient) -> None:
    subject = await push_image(client, "one", "v1")
    await push_image(client, "two", "v1")
    await push_referrer(client, "one", subject, SBOM)
    response = await client.get(f"/v2/two/referrers/{subject.digest}")
    assert response.json()["manifests"] == []


async def test_index_referrer(client: httpx.AsyncClient) -> None:
    subject = await push_image(client, "repo", "v1")
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "artifactType": "application/vnd.example.bundle",
        "manifests": [],
        "subject": subject.descriptor(),
    }
    data = encode(index)
    digest = await push_manifest(client, "repo", digest_of(data), data, OCI_INDEX)
    body = (await client.get(f"/v2/repo/referrers/{subject.digest}")).json()
    assert body["manifests"] == [
        {
            "mediaType": OCI_INDEX,
            "digest": digest,
            "size": len(data),
            "artifactType": "application/vnd.example.bundle",
        }
    ]


async def test_deleted_referrer_disappears(client: httpx.AsyncClient) -> None:
    subject = await push_image(client, "repo", "v1")
    digest, _ = await push_referrer(client, "repo", subject, SBOM)
    assert len((await client.get(f"/v2/repo/referrers/{subject.digest}")).json()["manifests"]) == 1
    assert (await client.delete(f"/v2/repo/manifests/{digest}")).status_code == 202
    assert (await client.get(f"/v2/repo/referrers/{subject.digest}")).json()["manifests"] == []


async def test_referrer_pushed_before_its_subject(client: httpx.AsyncClient) -> None:
    config = b'{"late":true}'
    await push_blob(client, "repo", config)
    subject = image_manifest(config, [])
    subject_data = encode(subject)
    image = Image(subject, subject_data, digest_of(subject_data), config)
    digest, _ = await push_referrer(client, "repo", image, SBOM)
    listed = (await client.get(f"/v2/repo/referrers/{image.digest}")).json()["manifests"]
    assert [d["digest"] for d in listed] == [digest]


async def test_unknown_subject(client: httpx.AsyncClient) -> None:
    await push_image(client, "repo", "v1")
    for name in ("repo", "never-pushed"):
        response = await client.get(f"/v2/{name}/referrers/{digest_of(b'unknown')}")
        assert response.status_code == 200
        assert response.headers["content-type"] == OCI_INDEX
        assert response.json() == {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}


@pytest.mark.parametrize("digest", ["sha256:abc", "latest", "md5:" + "0" * 32])
async def test_bad_digest(client: httpx.AsyncClient, digest: str) -> None:
    response = await client.get(f"/v2/repo/referrers/{digest}")
    assert_error(response, 400, "DIGEST_INVALID")


async def test_sha512_subject(client: httpx.AsyncClient) -> None:
    config = b"{}"
    await push_blob(client, "repo", config)
    data = encode(image_manifest(config, [], config_type=OCI_EMPTY))
    digest = await push_manifest(client, "repo", digest_of(data, "sha512"), data)
    subject = Image(image_manifest(config, []), data, digest, config)
    referrer, _ = await push_referrer(client, "repo", subject, SBOM)
    listed = (await client.get(f"/v2/repo/referrers/{digest}")).json()["manifests"]
    assert [d["digest"] for d in listed] == [referrer]

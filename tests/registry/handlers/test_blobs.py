"""`GET|HEAD|DELETE /v2/<name>/blobs/<digest>`."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from registry.config import Config, DeleteConfig
from storage.inmemory import InMemoryDriver
from tests.registry.conftest import MakeClient
from tests.registry.helpers import assert_error, digest_of, push_blob, push_image

pytestmark = pytest.mark.anyio

DATA = bytes(range(256)) * 40 + b"tail"  # 10244 bytes


async def test_get_blob(client: httpx.AsyncClient) -> None:
    digest = await push_blob(client, "repo", DATA)
    response = await client.get(f"/v2/repo/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{digest}"'


async def test_head_blob(client: httpx.AsyncClient) -> None:
    digest = await push_blob(client, "repo", DATA)
    response = await client.head(f"/v2/repo/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["content-type"] == "application/octet-stream"


async def test_empty_blob(client: httpx.AsyncClient) -> None:
    digest = await push_blob(client, "repo", b"")
    assert digest == digest_of(b"")
    head = await client.head(f"/v2/repo/blobs/{digest}")
    assert head.status_code == 200
    assert head.headers["content-length"] == "0"
    response = await client.get(f"/v2/repo/blobs/{digest}")
    assert response.status_code == 200
    assert response.content == b""


async def test_sha512_blob(client: httpx.AsyncClient) -> None:
    digest = await push_blob(client, "repo", DATA, algorithm="sha512")
    assert digest.startswith("sha512:")
    response = await client.get(f"/v2/repo/blobs/{digest}")
    assert response.content == DATA
    assert response.headers["docker-content-digest"] == digest


async def test_unknown_blob(client: httpx.AsyncClient) -> None:
    digest = digest_of(b"never pushed")
    response = await client.get(f"/v2/repo/blobs/{digest}")
    error = assert_error(response, 404, "BLOB_UNKNOWN")
    assert error["detail"] == {"subject": digest}
    head = await client.head(f"/v2/repo/blobs/{digest}")
    assert head.status_code == 404


async def test_blob_of_one_repository_is_not_readable_from_another(
    client: httpx.AsyncClient,
) -> None:
    digest = await push_blob(client, "team-a/model", DATA)
    for path in (f"/v2/team-b/model/blobs/{digest}", f"/v2/team-a/blobs/{digest}"):
        assert_error(await client.get(path), 404, "BLOB_UNKNOWN")
        assert (await client.head(path)).status_code == 404
    assert (await client.get(f"/v2/team-a/model/blobs/{digest}")).content == DATA


async def test_manifest_is_readable_as_blob(client: httpx.AsyncClient) -> None:
    image = await push_image(client, "repo", "v1")
    response = await client.get(f"/v2/repo/blobs/{image.digest}")
    assert response.status_code == 200
    assert response.content == image.data


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:abc",
        "sha256:" + "A" * 64,
        "sha256:" + "g" * 64,
        "sha512:" + "a" * 64,
        "md5:" + "a" * 32,
        "nodigest",
        "sha256-" + "a" * 64,
        ":" + "a" * 64,
    ],
)
async def test_bad_digest(client: httpx.AsyncClient, digest: str) -> None:
    for method in ("GET", "HEAD", "DELETE"):
        response = await client.request(method, f"/v2/repo/blobs/{digest}")
        assert response.status_code == 400, (method, response.text)
        if method != "HEAD":
            error = assert_error(response, 400, "DIGEST_INVALID")
            assert error["detail"]["digest"] == digest


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-9", 0, 9),
        ("bytes=100-199", 100, 199),
        ("bytes=10000-", 10000, len(DATA) - 1),
        ("bytes=-100", len(DATA) - 100, len(DATA) - 1),
        ("bytes=-99999", 0, len(DATA) - 1),
        ("bytes=5-5", 5, 5),
        ("bytes=10240-99999", 10240, len(DATA) - 1),
        ("bytes=0-", 0, len(DATA) - 1),
    ],
)
async def test_range(client: httpx.AsyncClient, header: str, start: int, end: int) -> None:
    digest = await push_blob(client, "repo", DATA)
    response = await client.get(f"/v2/repo/blobs/{digest}", headers={"Range": header})
    assert response.status_code == 206
    assert response.content == DATA[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["docker-content-digest"] == digest


async def test_range_of_large_blob_crosses_read_chunks(client: httpx.AsyncClient) -> None:
    data = bytes(range(256)) * (5 << 12)  # 5 MiB, more than one driver read chunk
    digest = await push_blob(client, "repo", data)
    start, end = (1 << 20) - 10, (3 << 20) + 10
    response = await client.get(
        f"/v2/repo/blobs/{digest}", headers={"Range": f"bytes={start}-{end}"}
    )
    assert response.status_code == 206
    assert response.content == data[start : end + 1]


@pytest.mark.parametrize(
    "header",
    [
        f"bytes={len(DATA)}-",
        f"bytes={len(DATA) + 5}-{len(DATA) + 10}",
        "bytes=-0",
        "bytes=10-5",
        "bytes=abc",
        "bytes=a-b",
        "bytes=",
        "bytes=-",
        "items=0-5",
        "0-5",
        "bytes=0-1,5-6",
        "bytes=--5",
    ],
)
async def test_unsatisfiable_or_malformed_range(client: httpx.AsyncClient, header: str) -> None:
    digest = await push_blob(client, "repo", DATA)
    response = await client.get(f"/v2/repo/blobs/{digest}", headers={"Range": header})
    error = assert_error(response, 416, "RANGE_INVALID")
    assert error["detail"] == {"range": header, "size": len(DATA)}
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"


async def test_any_range_of_empty_blob_is_unsatisfiable(client: httpx.AsyncClient) -> None:
    digest = await push_blob(client, "repo", b"")
    for header in ("bytes=0-", "bytes=-1", "bytes=0-0"):
        response = await client.get(f"/v2/repo/blobs/{digest}", headers={"Range": header})
        assert_error(response, 416, "RANGE_INVALID")
        assert response.headers["content-range"] == "bytes */0"


async def test_head_ignores_range(client: httpx.AsyncClient) -> None:
    digest = await push_blob(client, "repo", DATA)
    response = await client.head(f"/v2/repo/blobs/{digest}", headers={"Range": "bytes=0-1"})
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))


async def test_delete_blob(client: httpx.AsyncClient) -> None:
    digest = await push_blob(client, "repo", DATA)
    response = await client.delete(f"/v2/repo/blobs/{digest}")
    assert response.status_code == 202
    assert response.headers["content-length"] == "0"
    assert_error(await client.get(f"/v2/repo/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert (await client.head(f"/v2/repo/blobs/{digest}")).status_code == 404
    assert_error(await client.delete(f"/v2/repo/blobs/{digest}"), 404, "BLOB_UNKNOWN")


async def test_delete_blob_only_unlinks_it_from_that_repository(
    client: httpx.AsyncClient,
) -> None:
    digest = await push_blob(client, "one", DATA)
    await push_blob(client, "two", DATA)
    assert (await client.delete(f"/v2/one/blobs/{digest}")).status_code == 202
    assert (await client.get(f"/v2/two/blobs/{digest}")).content == DATA
    assert_error(await client.get(f"/v2/one/blobs/{digest}"), 404, "BLOB_UNKNOWN")


async def test_delete_blob_of_another_repository(client: httpx.AsyncClient) -> None:
    digest = await push_blob(client, "one", DATA)
    assert_error(await client.delete(f"/v2/two/blobs/{digest}"), 404, "BLOB_UNKNOWN")
    assert (await client.get(f"/v2/one/blobs/{digest}")).content == DATA


async def test_delete_unknown_blob(client: httpx.AsyncClient) -> None:
    response = await client.delete(f"/v2/repo/blobs/{digest_of(b'nothing')}")
    assert_error(response, 404, "BLOB_UNKNOWN")


async def test_delete_blob_disabled(
    client: httpx.AsyncClient, make_client: MakeClient, config: Config
) -> None:
    digest = await push_blob(client, "repo", DATA)
    disabled = make_client(
        dataclasses.replace(
            config, storage=dataclasses.replace(config.storage, delete=DeleteConfig(False))
        )
    )
    response = await disabled.delete(f"/v2/repo/blobs/{digest}")
    error = assert_error(response, 405, "UNSUPPORTED")
    assert error["detail"] == {"reason": "deletes are disabled"}
    assert (await client.get(f"/v2/repo/blobs/{digest}")).content == DATA
    assert (await disabled.get(f"/v2/repo/blobs/{digest}")).content == DATA


class RedirectingDriver(InMemoryDriver):
    """Storage that hands out direct download URLs, as S3 with `redirect: true` does."""

    async def redirect_url(self, path: str, method: str) -> str | None:
        return f"https://bucket.example{path}?method={method}"


async def test_get_redirects_when_storage_offers_a_url(make_client: MakeClient) -> None:
    client = make_client(driver=RedirectingDriver())
    digest = await push_blob(client, "repo", DATA)
    response = await client.get(f"/v2/repo/blobs/{digest}")
    assert response.status_code == 307
    algorithm, hex_digest = digest.split(":")
    assert response.headers["location"] == (
        f"https://bucket.example/docker/registry/v2/blobs/{algorithm}/{hex_digest[:2]}/"
        f"{hex_digest}/data?method=GET"
    )
    assert response.headers["docker-content-digest"] == digest
    # HEAD and ranged GETs are answered directly
    head = await client.head(f"/v2/repo/blobs/{digest}")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(DATA))
    ranged = await client.get(f"/v2/repo/blobs/{digest}", headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206
    assert ranged.content == DATA[:4]
    # a blob of another repository is still refused, not redirected
    assert_error(await client.get(f"/v2/other/blobs/{digest}"), 404, "BLOB_UNKNOWN")

"""Blob uploads: POST (plain, monolithic, mount), PATCH, GET status, PUT, DELETE."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from storage.driver import StorageDriver
from storage.filesystem import FilesystemDriver
from tests.registry.helpers import asgi_request, assert_error, digest_of, push_blob

pytestmark = pytest.mark.anyio

DATA = b"0123456789" * 1000
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


async def start(client: httpx.AsyncClient, name: str = "repo") -> str:
    """Open an upload session; returns its Location."""
    response = await client.post(f"/v2/{name}/blobs/uploads/")
    assert response.status_code == 202, response.text
    location: str = response.headers["location"]
    return location


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


async def assert_no_blob(client: httpx.AsyncClient, name: str, digest: str) -> None:
    assert_error(await client.get(f"/v2/{name}/blobs/{digest}"), 404, "BLOB_UNKNOWN")


async def assert_no_upload_left(driver: StorageDriver, name: str) -> None:
    """No upload state of `name` and no blob data anywhere, whatever the driver."""
    left = [info.path async for info in driver.walk("/") if not info.is_dir]
    assert [path for path in left if f"/repositories/{name}/_uploads/" in path] == []
    assert [path for path in left if "/docker/registry/v2/blobs/" in path] == []


async def test_start_upload(client: httpx.AsyncClient, driver: StorageDriver) -> None:
    response = await client.post("/v2/repo/blobs/uploads/")
    assert response.status_code == 202
    upload_id = response.headers["docker-upload-uuid"]
    assert UUID.match(upload_id)
    assert response.headers["location"] == f"/v2/repo/blobs/uploads/{upload_id}"
    assert response.headers["range"] == "0-0"
    assert response.headers["oci-chunk-min-length"] == str(driver.min_chunk_size)
    assert response.headers["content-length"] == "0"


async def test_start_upload_without_trailing_slash(client: httpx.AsyncClient) -> None:
    response = await client.post("/v2/org/repo/blobs/uploads")
    assert response.status_code == 202
    assert response.headers["location"].startswith("/v2/org/repo/blobs/uploads/")


async def test_upload_ids_are_unique(client: httpx.AsyncClient) -> None:
    locations = {await start(client) for _ in range(5)}
    assert len(locations) == 5


async def test_monolithic_post(client: httpx.AsyncClient) -> None:
    digest = digest_of(DATA)
    response = await client.post("/v2/repo/blobs/uploads/", params={"digest": digest}, content=DATA)
    assert response.status_code == 201
    assert response.headers["location"] == f"/v2/repo/blobs/{digest}"
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["content-length"] == "0"
    assert (await client.get(f"/v2/repo/blobs/{digest}")).content == DATA


async def test_monolithic_post_streamed_without_content_length(client: httpx.AsyncClient) -> None:
    digest = digest_of(DATA)
    response = await client.post(
        "/v2/repo/blobs/uploads/",
        params={"digest": digest},
        content=stream(DATA[:10], DATA[10:5000], DATA[5000:]),
    )
    assert response.status_code == 201
    assert (await client.get(f"/v2/repo/blobs/{digest}")).content == DATA


async def test_monolithic_post_sha512(client: httpx.AsyncClient) -> None:
    digest = digest_of(DATA, "sha512")
    response = await client.post("/v2/repo/blobs/uploads/", params={"digest": digest}, content=DATA)
    assert response.status_code == 201
    assert response.headers["docker-content-digest"] == digest
    assert (await client.get(f"/v2/repo/blobs/{digest}")).content == DATA


async def test_monolithic_post_of_existing_blob(client: httpx.AsyncClient) -> None:
    digest = await push_blob(client, "repo", DATA)
    assert await push_blob(client, "repo", DATA) == digest
    assert await push_blob(client, "other", DATA) == digest
    assert (await client.get(f"/v2/other/blobs/{digest}")).content == DATA


async def test_monolithic_post_digest_mismatch(
    client: httpx.AsyncClient, driver: StorageDriver
) -> None:
    wrong = digest_of(b"something else")
    response = await client.post("/v2/repo/blobs/uploads/", params={"digest": wrong}, content=DATA)
    assert_error(response, 400, "DIGEST_INVALID")
    await assert_no_blob(client, "repo", wrong)
    await assert_no_blob(client, "repo", digest_of(DATA))
    await assert_no_upload_left(driver, "repo")


@pytest.mark.parametrize("digest", ["sha256:short", "md5:" + "0" * 32, "garbage", "sha256:"])
async def test_monolithic_post_bad_digest(
    client: httpx.AsyncClient, driver: StorageDriver, digest: str
) -> None:
    response = await client.post("/v2/repo/blobs/uploads/", params={"digest": digest}, content=DATA)
    assert_error(response, 400, "DIGEST_INVALID")
    await assert_no_upload_left(driver, "repo")


async def test_post_with_empty_digest_parameter(client: httpx.AsyncClient) -> None:
    response = await client.post("/v2/repo/blobs/uploads/?digest=", content=DATA)
    assert_error(response, 400, "DIGEST_INVALID")


async def test_mount(client: httpx.AsyncClient) -> None:
    digest = await push_blob(client, "source/repo", DATA)
    response = await client.post(
        "/v2/target/blobs/uploads/", params={"mount": digest, "from": "source/repo"}
    )
    assert response.status_code == 201
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["location"] == f"/v2/target/blobs/{digest}"
    assert (await client.get(f"/v2/target/blobs/{digest}")).content == DATA
    assert (await client.get(f"/v2/source/repo/blobs/{digest}")).content == DATA


@pytest.mark.parametrize(
    "query",
    [
        {"from": "source"},  # the blob is not in the source repository
        {"from": "elsewhere"},  # unknown source repository
        {},  # no `from`
        {"from": ""},
        {"from": "Bad/Name"},
    ],
)
async def test_mount_falls_back_to_upload(client: httpx.AsyncClient, query: dict[str, str]) -> None:
    await push_blob(client, "source", b"other bytes")
    digest = digest_of(DATA)
    response = await client.post("/v2/target/blobs/uploads/", params={"mount": digest, **query})
    assert response.status_code == 202
    assert response.headers["range"] == "0-0"
    location = response.headers["location"]
    await assert_no_blob(client, "target", digest)
    done = await client.put(location, params={"digest": digest}, content=DATA)
    assert done.status_code == 201
    assert (await client.get(f"/v2/target/blobs/{digest}")).content == DATA


async def test_mount_of_blob_only_in_target_does_not_read_other_repositories(
    client: httpx.AsyncClient,
) -> None:
    digest = await push_blob(client, "private", DATA)
    response = await client.post(
        "/v2/target/blobs/uploads/", params={"mount": digest, "from": "public"}
    )
    assert response.status_code == 202
    await assert_no_blob(client, "target", digest)


async def test_mount_bad_digest(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v2/target/blobs/uploads/", params={"mount": "sha256:nope", "from": "source"}
    )
    assert_error(response, 400, "DIGEST_INVALID")


async def test_chunked_upload_with_content_range(client: httpx.AsyncClient) -> None:
    location = await start(client)
    offset = 0
    for size in (4000, 3000, 3000):
        chunk = DATA[offset : offset + size]
        response = await client.patch(
            location,
            content=chunk,
            headers={
                "Content-Range": f"{offset}-{offset + size - 1}",
                "Content-Type": "application/octet-stream",
            },
        )
        offset += size
        assert response.status_code == 202, response.text
        assert response.headers["range"] == f"0-{offset - 1}"
        assert response.headers["location"] == location
        assert response.headers["docker-upload-uuid"] == location.rsplit("/", 1)[1]
        assert response.headers["content-length"] == "0"
    digest = digest_of(DATA)
    done = await client.put(location, params={"digest": digest})
    assert done.status_code == 201
    assert done.headers["docker-content-digest"] == digest
    assert done.headers["location"] == f"/v2/repo/blobs/{digest}"
    assert (await client.get(f"/v2/repo/blobs/{digest}")).content == DATA


async def test_content_range_with_bytes_prefix_and_total(client: httpx.AsyncClient) -> None:
    location = await start(client)
    response = await client.patch(
        location, content=DATA[:100], headers={"Content-Range": "bytes 0-99/*"}
    )
    assert response.status_code == 202
    response = await client.patch(
        location, content=DATA[100:], headers={"Content-Range": f"bytes=100-{len(DATA) - 1}"}
    )
    assert response.status_code == 202
    assert response.headers["range"] == f"0-{len(DATA) - 1}"


@pytest.mark.parametrize("first", [0, 1, 50, 200])
async def test_out_of_order_chunk(client: httpx.AsyncClient, first: int) -> None:
    location = await start(client)
    if first:
        response = await client.patch(
            location, content=DATA[:first], headers={"Content-Range": f"0-{first - 1}"}
        )
        assert response.status_code == 202
    for start_at in (first + 1, first + 100, max(first - 1, 0) if first else 5):
        response = await client.patch(
            location,
            content=DATA[start_at : start_at + 10],
            headers={"Content-Range": f"{start_at}-{start_at + 9}"},
        )
        assert_error(response, 416, "RANGE_INVALID")
        assert response.headers["range"] == f"0-{max(first - 1, 0)}"
    status = await client.get(location)
    assert status.headers["range"] == f"0-{max(first - 1, 0)}"
    # the session is still usable from where it really is
    response = await client.patch(
        location, content=DATA[first:], headers={"Content-Range": f"{first}-{len(DATA) - 1}"}
    )
    assert response.status_code == 202
    done = await client.put(location, params={"digest": digest_of(DATA)})
    assert done.status_code == 201


async def test_repeated_chunk_is_out_of_order(client: httpx.AsyncClient) -> None:
    location = await start(client)
    headers = {"Content-Range": "0-99"}
    assert (await client.patch(location, content=DATA[:100], headers=headers)).status_code == 202
    response = await client.patch(location, content=DATA[:100], headers=headers)
    assert_error(response, 416, "RANGE_INVALID")
    assert response.headers["range"] == "0-99"


@pytest.mark.parametrize("header", ["abc", "10-5", "bytes 0-", "-5", "0-9/x"])
async def test_malformed_content_range(client: httpx.AsyncClient, header: str) -> None:
    location = await start(client)
    response = await client.patch(location, content=DATA[:10], headers={"Content-Range": header})
    assert_error(response, 400, "BLOB_UPLOAD_INVALID")


async def test_content_range_length_differs_from_content_length(
    client: httpx.AsyncClient,
) -> None:
    location = await start(client)
    response = await client.patch(location, content=DATA[:10], headers={"Content-Range": "0-19"})
    assert_error(response, 400, "BLOB_UPLOAD_INVALID")
    assert (await client.get(location)).headers["range"] == "0-0"


async def test_streamed_patches_without_content_range(client: httpx.AsyncClient) -> None:
    location = await start(client)
    pieces = [DATA[:1], DATA[1:4000], DATA[4000:4000], DATA[4000:]]
    total = 0
    for piece in pieces:
        response = await client.patch(location, content=stream(piece[:7], piece[7:]))
        total += len(piece)
        assert response.status_code == 202
        assert response.headers["range"] == f"0-{max(total - 1, 0)}"
    done = await client.put(location, params={"digest": digest_of(DATA)})
    assert done.status_code == 201
    assert (await client.get(done.headers["location"])).content == DATA


async def test_patch_with_content_length_without_content_range(
    client: httpx.AsyncClient,
) -> None:
    location = await start(client)
    for piece in (DATA[:5000], DATA[5000:]):
        response = await client.patch(location, content=piece)
        assert response.status_code == 202
    assert response.headers["range"] == f"0-{len(DATA) - 1}"
    assert (await client.put(location, params={"digest": digest_of(DATA)})).status_code == 201


async def test_body_shorter_than_content_length(app: Starlette, client: httpx.AsyncClient) -> None:
    location = await start(client)
    response = await asgi_request(
        app, "PATCH", location, headers=[("content-length", "100")], body=[DATA[:40]]
    )
    assert response.status == 400
    assert response.json()["errors"][0]["code"] == "SIZE_INVALID"


async def test_body_longer_than_content_length(app: Starlette, client: httpx.AsyncClient) -> None:
    location = await start(client)
    response = await asgi_request(
        app, "PATCH", location, headers=[("content-length", "10")], body=[DATA[:8], DATA[8:40]]
    )
    assert response.status == 400
    assert response.json()["errors"][0]["code"] == "SIZE_INVALID"


@pytest.mark.parametrize("value", ["-1", "abc"])
async def test_bad_content_length(app: Starlette, client: httpx.AsyncClient, value: str) -> None:
    location = await start(client)
    response = await asgi_request(
        app, "PATCH", location, headers=[("content-length", value)], body=[b"x"]
    )
    assert response.status == 400
    assert response.json()["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"


async def test_upload_status(client: httpx.AsyncClient) -> None:
    location = await start(client)
    status = await client.get(location)
    assert status.status_code == 204
    assert status.headers["range"] == "0-0"
    assert status.headers["location"] == location
    assert status.headers["docker-upload-uuid"] == location.rsplit("/", 1)[1]
    assert status.content == b""
    await client.patch(location, content=DATA[:1234])
    status = await client.get(location)
    assert status.status_code == 204
    assert status.headers["range"] == "0-1233"


async def test_put_with_final_chunk(client: httpx.AsyncClient) -> None:
    location = await start(client)
    await client.patch(location, content=DATA[:3000], headers={"Content-Range": "0-2999"})
    digest = digest_of(DATA)
    done = await client.put(
        location,
        params={"digest": digest},
        content=DATA[3000:],
        headers={"Content-Range": f"3000-{len(DATA) - 1}"},
    )
    assert done.status_code == 201
    assert done.headers["docker-content-digest"] == digest
    assert (await client.get(f"/v2/repo/blobs/{digest}")).content == DATA


async def test_put_with_out_of_order_final_chunk(client: httpx.AsyncClient) -> None:
    location = await start(client)
    await client.patch(location, content=DATA[:3000], headers={"Content-Range": "0-2999"})
    response = await client.put(
        location,
        params={"digest": digest_of(DATA)},
        content=DATA[3001:],
        headers={"Content-Range": f"3001-{len(DATA) - 1}"},
    )
    assert_error(response, 416, "RANGE_INVALID")
    assert response.headers["range"] == "0-2999"
    done = await client.put(location, params={"digest": digest_of(DATA)}, content=DATA[3000:])
    assert done.status_code == 201


async def test_put_whole_blob_in_one_request(client: httpx.AsyncClient) -> None:
    location = await start(client)
    digest = digest_of(DATA)
    done = await client.put(location, params={"digest": digest}, content=DATA)
    assert done.status_code == 201
    assert (await client.get(f"/v2/repo/blobs/{digest}")).content == DATA


async def test_put_streamed_final_chunk(client: httpx.AsyncClient) -> None:
    location = await start(client)
    digest = digest_of(DATA)
    done = await client.put(location, params={"digest": digest}, content=stream(DATA[:9], DATA[9:]))
    assert done.status_code == 201
    assert (await client.get(f"/v2/repo/blobs/{digest}")).content == DATA


async def test_put_sha512_after_chunks(client: httpx.AsyncClient) -> None:
    location = await start(client)
    await client.patch(location, content=DATA[:10])
    await client.patch(location, content=DATA[10:])
    digest = digest_of(DATA, "sha512")
    done = await client.put(location, params={"digest": digest})
    assert done.status_code == 201
    assert done.headers["docker-content-digest"] == digest
    assert (await client.get(f"/v2/repo/blobs/{digest}")).content == DATA


async def test_put_empty_blob(client: httpx.AsyncClient) -> None:
    location = await start(client)
    digest = digest_of(b"")
    done = await client.put(location, params={"digest": digest})
    assert done.status_code == 201
    head = await client.head(f"/v2/repo/blobs/{digest}")
    assert head.headers["content-length"] == "0"


async def test_put_without_digest(client: httpx.AsyncClient) -> None:
    location = await start(client)
    await client.patch(location, content=DATA)
    assert_error(await client.put(location), 400, "DIGEST_INVALID")
    assert_error(await client.put(location + "?digest="), 400, "DIGEST_INVALID")
    # the session survives a refused PUT
    status = await client.get(location)
    assert status.status_code == 204
    assert status.headers["range"] == f"0-{len(DATA) - 1}"


@pytest.mark.parametrize("digest", ["sha256:xyz", "sha1:" + "0" * 40, "sha256:" + "F" * 64])
async def test_put_bad_digest(client: httpx.AsyncClient, digest: str) -> None:
    location = await start(client)
    response = await client.put(location, params={"digest": digest}, content=DATA)
    assert_error(response, 400, "DIGEST_INVALID")


async def test_put_digest_mismatch(client: httpx.AsyncClient, driver: StorageDriver) -> None:
    location = await start(client)
    await client.patch(location, content=DATA)
    wrong = digest_of(b"not the data")
    response = await client.put(location, params={"digest": wrong})
    assert_error(response, 400, "DIGEST_INVALID")
    await assert_no_blob(client, "repo", wrong)
    await assert_no_blob(client, "repo", digest_of(DATA))
    await assert_no_upload_left(driver, "repo")
    # the failed session is gone
    assert_error(await client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")


async def test_put_digest_mismatch_with_final_chunk(
    client: httpx.AsyncClient, driver: StorageDriver
) -> None:
    location = await start(client)
    wrong = digest_of(DATA, "sha512")[:-1] + "0"
    response = await client.put(location, params={"digest": wrong}, content=DATA)
    assert_error(response, 400, "DIGEST_INVALID")
    await assert_no_blob(client, "repo", digest_of(DATA))
    await assert_no_upload_left(driver, "repo")


async def test_cancel_upload(client: httpx.AsyncClient, driver: StorageDriver) -> None:
    location = await start(client)
    await client.patch(location, content=DATA)
    response = await client.delete(location)
    assert response.status_code == 204
    error = assert_error(await client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    assert error["detail"] == {"subject": location.rsplit("/", 1)[1]}
    assert_error(await client.patch(location, content=b"x"), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(
        await client.put(location, params={"digest": digest_of(DATA)}), 404, "BLOB_UPLOAD_UNKNOWN"
    )
    assert_error(await client.delete(location), 404, "BLOB_UPLOAD_UNKNOWN")
    await assert_no_upload_left(driver, "repo")


async def test_finished_upload_is_gone(client: httpx.AsyncClient, driver: StorageDriver) -> None:
    location = await start(client)
    assert (await client.put(location, params={"digest": digest_of(DATA)}, content=DATA)).is_success
    assert_error(await client.get(location), 404, "BLOB_UPLOAD_UNKNOWN")
    if isinstance(driver, FilesystemDriver):
        uploads = Path(driver.root) / "docker/registry/v2/repositories/repo/_uploads"
        assert not uploads.exists() or list(uploads.iterdir()) == []


@pytest.mark.parametrize(
    "upload_id",
    [
        "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9",  # well formed, never started
        "not-a-uuid",
        "0B1C2D3E-4F50-4617-8293-A4B5C6D7E8F9",
        "%2E%2E",
        "startedat",
    ],
)
async def test_unknown_or_malformed_upload_id(client: httpx.AsyncClient, upload_id: str) -> None:
    location = f"/v2/repo/blobs/uploads/{upload_id}"
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method, location, content=b"x" if method == "PATCH" else b""
        )
        assert_error(response, 404, "BLOB_UPLOAD_UNKNOWN")
    response = await client.put(location, params={"digest": digest_of(b"x")}, content=b"x")
    assert_error(response, 404, "BLOB_UPLOAD_UNKNOWN")


async def test_dot_dot_upload_id_in_raw_path(app: Starlette) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = await asgi_request(app, method, "/v2/repo/blobs/uploads/..")
        assert response.status == 404
        assert response.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"


async def test_upload_of_another_repository_is_unknown(client: httpx.AsyncClient) -> None:
    location = await start(client, "one")
    other = location.replace("/v2/one/", "/v2/two/")
    assert_error(await client.get(other), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(await client.patch(other, content=b"x"), 404, "BLOB_UPLOAD_UNKNOWN")
    assert (await client.get(location)).status_code == 204


async def test_uploads_to_nested_repository(client: httpx.AsyncClient) -> None:
    location = await start(client, "a/b/c")
    assert location.startswith("/v2/a/b/c/blobs/uploads/")
    await client.patch(location, content=DATA)
    digest = digest_of(DATA)
    assert (await client.put(location, params={"digest": digest})).status_code == 201
    assert (await client.get(f"/v2/a/b/c/blobs/{digest}")).content == DATA
    await assert_no_blob(client, "a/b", digest)


async def test_two_concurrent_sessions_do_not_mix(client: httpx.AsyncClient) -> None:
    first, second = await start(client), await start(client)
    other = DATA[::-1]
    await client.patch(first, content=DATA[:100])
    await client.patch(second, content=other[:100])
    await client.patch(first, content=DATA[100:])
    await client.patch(second, content=other[100:])
    assert (await client.put(first, params={"digest": digest_of(DATA)})).status_code == 201
    assert (await client.put(second, params={"digest": digest_of(other)})).status_code == 201

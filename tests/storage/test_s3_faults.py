"""The S3 driver under injected failures: retries on 5xx and throttling, never a partial blob."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import AsyncIterator, Iterator

import pytest

from registry.config import S3Config
from registry.digest import Digest
from storage import paths
from storage.errors import BackendError, BlobUnknown, PathNotFound
from storage.layout import RegistryStore
from storage.s3 import S3Driver
from tests.support.faultproxy import FaultProxy, fault_proxy
from tests.support.s3server import ACCESS_KEY, REGION, SECRET_KEY, S3Server

pytestmark = pytest.mark.anyio


@pytest.fixture
def proxy(s3_server: S3Server) -> Iterator[FaultProxy]:
    with fault_proxy(s3_server.endpoint) as running:
        yield running


def _driver(endpoint: str, bucket: str, retries: int) -> S3Driver:
    config = S3Config(
        bucket=bucket,
        region=REGION,
        regionendpoint=endpoint,
        accesskey=ACCESS_KEY,
        secretkey=SECRET_KEY,
        rootdirectory="/faults",
        maxretries=retries,
        chunksize=5 << 20,
    )
    return S3Driver(config)


async def _chunks(data: bytes, size: int = 1 << 20) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def test_every_other_request_failing_is_retried(s3_server: S3Server, proxy: FaultProxy):
    counter = itertools.count()
    proxy.rule = lambda method, path, query: 503 if next(counter) % 2 == 0 else None
    store = RegistryStore(_driver(proxy.endpoint, s3_server.new_bucket(), retries=5))
    data = bytes(range(256)) * 50_000  # 12.8 MB: three multipart parts
    digest = Digest("sha256", hashlib.sha256(data).hexdigest())
    upload_id = await store.uploads.start("team/model")
    await store.uploads.append("team/model", upload_id, _chunks(data))
    await store.uploads.finish("team/model", upload_id, digest)
    assert await store.blobs.size_in("team/model", digest) == len(data)
    stored = b"".join([chunk async for chunk in store.blobs.reader(digest)])
    assert stored == data
    assert len(proxy.injected) > 5


async def test_a_part_that_never_uploads_commits_nothing(s3_server: S3Server, proxy: FaultProxy):
    proxy.rule = lambda method, path, query: 500 if "partNumber=2" in query else None
    store = RegistryStore(_driver(proxy.endpoint, s3_server.new_bucket(), retries=2))
    data = b"\x01" * (12 << 20)
    digest = Digest("sha256", hashlib.sha256(data).hexdigest())
    upload_id = await store.uploads.start("team/model")
    with pytest.raises(BackendError):
        await store.uploads.append("team/model", upload_id, _chunks(data))
    proxy.rule = lambda method, path, query: None
    with pytest.raises(BlobUnknown):
        await store.blobs.size(digest)
    with pytest.raises(PathNotFound):
        await store.driver.stat(paths.blob_data(digest))


async def test_failed_publish_leaves_no_blob(s3_server: S3Server, proxy: FaultProxy):
    def rule(method: str, path: str, query: str) -> int | None:
        return 503 if method == "PUT" and "/blobs/" in path else None

    store = RegistryStore(_driver(proxy.endpoint, s3_server.new_bucket(), retries=2))
    data = b"\x02" * (7 << 20)
    digest = Digest("sha256", hashlib.sha256(data).hexdigest())
    upload_id = await store.uploads.start("team/model")
    await store.uploads.append("team/model", upload_id, _chunks(data))
    proxy.rule = rule
    with pytest.raises(BackendError):
        await store.uploads.finish("team/model", upload_id, digest)
    proxy.rule = lambda method, path, query: None
    with pytest.raises(BlobUnknown):
        await store.blobs.size(digest)


async def test_slow_responses_still_complete(s3_server: S3Server, proxy: FaultProxy):
    proxy.rule = lambda method, path, query: 0.2 if method == "PUT" else None
    driver = _driver(proxy.endpoint, s3_server.new_bucket(), retries=2)
    await driver.put_content("/slow/file", b"patience")
    assert await driver.get_content("/slow/file") == b"patience"


async def test_append_to_an_object_larger_than_one_copy_part(
    s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Objects over the 5 GiB part-copy limit are continued in ranges (scaled down here)."""
    monkeypatch.setattr("storage.s3.COPY_PART_SIZE", 5 << 20)
    driver = _driver(s3_server.endpoint, s3_server.new_bucket(), retries=2)
    first = bytes(range(256)) * (48 << 10)  # 12 MiB: copied as 5 MiB + 7 MiB
    writer = await driver.writer("/big/data")
    await writer.write(first)
    await writer.commit()
    writer = await driver.writer("/big/data", append=True)
    assert writer.size == len(first)
    await writer.write(b"tail")
    await writer.commit()
    stored = b"".join([chunk async for chunk in driver.reader("/big/data")])
    assert stored == first + b"tail"

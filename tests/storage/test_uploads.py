"""UploadStore: resumable uploads under `_uploads/<id>/`, verified before they become blobs."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta

import pytest

from registry.digest import Digest
from storage import paths
from storage.driver import StorageDriver
from storage.errors import (
    DigestMismatch,
    PathNotFound,
    SizeMismatch,
    UploadOffsetMismatch,
    UploadUnknown,
)
from storage.layout import RegistryStore
from storage.uploads import BATCH_SIZE

pytestmark = pytest.mark.anyio

REPO = "models/llama"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


async def body(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def split(data: bytes, size: int) -> Iterable[bytes]:
    return (data[i : i + size] for i in range(0, len(data), size))


async def assert_published(
    store: RegistryStore, driver: StorageDriver, name: str, upload_id: str, data: bytes
) -> None:
    digest = Digest.of(data)
    assert await store.blobs.get(digest) == data
    assert await driver.get_content(paths.layer_link(name, digest)) == str(digest).encode()
    assert await store.blobs.size_in(name, digest) == len(data)
    with pytest.raises(PathNotFound):
        await driver.stat(paths.upload(name, upload_id))


async def test_start(store: RegistryStore, driver: StorageDriver) -> None:
    before = datetime.now(UTC)
    upload_id = await store.uploads.start(REPO)
    assert UUID.match(upload_id)
    raw = (await driver.get_content(paths.upload_started_at(REPO, upload_id))).decode()
    assert raw.endswith("Z")
    started = datetime.fromisoformat(raw.removesuffix("Z") + "+00:00")
    assert before - timedelta(seconds=5) <= started <= datetime.now(UTC) + timedelta(seconds=5)
    assert await store.uploads.size(REPO, upload_id) == 0
    assert upload_id != await store.uploads.start(REPO)


async def test_append_without_start(store: RegistryStore, driver: StorageDriver) -> None:
    upload_id = await store.uploads.start(REPO)
    assert await store.uploads.append(REPO, upload_id, body(b"hello", b" ")) == 6
    assert await store.uploads.append(REPO, upload_id, body(b"world")) == 11
    assert await store.uploads.append(REPO, upload_id, body()) == 11
    assert await store.uploads.size(REPO, upload_id) == 11
    # upload bytes are readable once committed (an S3 multipart upload is not before)
    digest = Digest.of(b"hello world")
    assert await store.uploads.finish(REPO, upload_id, digest) == 11
    assert await store.blobs.get(digest) == b"hello world"


async def test_append_with_start(store: RegistryStore) -> None:
    upload_id = await store.uploads.start(REPO)
    assert await store.uploads.append(REPO, upload_id, body(b"abc"), start=0, length=3) == 3
    assert await store.uploads.append(REPO, upload_id, body(b"def"), start=3, length=3) == 6
    digest = Digest.of(b"abcdef")
    assert await store.uploads.finish(REPO, upload_id, digest) == 6
    assert await store.blobs.get(digest) == b"abcdef"


@pytest.mark.parametrize("start", [0, 2, 4, 100])
async def test_append_at_wrong_offset(
    store: RegistryStore, driver: StorageDriver, start: int
) -> None:
    upload_id = await store.uploads.start(REPO)
    await store.uploads.append(REPO, upload_id, body(b"abc"))
    with pytest.raises(UploadOffsetMismatch) as caught:
        await store.uploads.append(REPO, upload_id, body(b"zzz"), start=start)
    assert caught.value.size == 3
    assert await store.uploads.size(REPO, upload_id) == 3
    # the upload goes on from where it really is
    assert await store.uploads.append(REPO, upload_id, body(b"d"), start=3) == 4
    await store.uploads.finish(REPO, upload_id, Digest.of(b"abcd"))
    assert await store.blobs.get(Digest.of(b"abcd")) == b"abcd"


@pytest.mark.parametrize(
    ("chunks", "length"),
    [
        ((b"abc",), 5),  # shorter than announced
        ((b"abcdef",), 5),  # longer than announced, in one chunk
        ((b"ab", b"cd", b"ef"), 5),  # longer than announced, over several chunks
        ((b"",), 1),
    ],
)
async def test_size_mismatch_keeps_upload_consistent(
    store: RegistryStore, driver: StorageDriver, chunks: tuple[bytes, ...], length: int
) -> None:
    upload_id = await store.uploads.start(REPO)
    await store.uploads.append(REPO, upload_id, body(b"head:"))
    with pytest.raises(SizeMismatch):
        await store.uploads.append(REPO, upload_id, body(*chunks), length=length)
    # never more than the announced length is kept, and the reported size says how much
    kept = await store.uploads.size(REPO, upload_id)
    assert len(b"head:") <= kept <= len(b"head:") + length
    stored = (b"head:" + b"".join(chunks))[:kept]
    # the upload goes on from there, and its digest covers exactly what was kept
    await store.uploads.append(REPO, upload_id, body(b":tail"), start=len(stored))
    assert await store.uploads.finish(REPO, upload_id, Digest.of(stored + b":tail")) == (
        len(stored) + 5
    )
    await assert_published(store, driver, REPO, upload_id, stored + b":tail")


async def test_finish_publishes_blob_and_link(store: RegistryStore, driver: StorageDriver) -> None:
    data = bytes(range(256)) * 1000
    upload_id = await store.uploads.start(REPO)
    for chunk in split(data, 10_000):
        await store.uploads.append(REPO, upload_id, body(chunk))
    digest = Digest.of(data)
    assert await store.uploads.finish(REPO, upload_id, digest) == len(data)
    await assert_published(store, driver, REPO, upload_id, data)
    with pytest.raises(UploadUnknown):
        await store.uploads.size(REPO, upload_id)


async def test_finish_multi_batch_upload(store: RegistryStore, driver: StorageDriver) -> None:
    """Bodies larger than one hashing batch, in odd-sized chunks."""
    data = bytes(range(251)) * ((2 * BATCH_SIZE + 12345) // 251)
    upload_id = await store.uploads.start(REPO)
    half = len(data) // 2
    await store.uploads.append(REPO, upload_id, body(*split(data[:half], 65_537)))
    await store.uploads.append(REPO, upload_id, body(*split(data[half:], 1 << 20)), start=half)
    assert await store.uploads.finish(REPO, upload_id, Digest.of(data)) == len(data)
    await assert_published(store, driver, REPO, upload_id, data)


async def test_finish_empty_upload(store: RegistryStore, driver: StorageDriver) -> None:
    upload_id = await store.uploads.start(REPO)
    assert await store.uploads.finish(REPO, upload_id, Digest.of(b"")) == 0
    await assert_published(store, driver, REPO, upload_id, b"")


async def test_finish_when_blob_already_exists(store: RegistryStore, driver: StorageDriver) -> None:
    data = b"already here"
    digest = Digest.of(data)
    await store.blobs.put(data, digest)
    await store.blobs.link("other", digest)
    upload_id = await store.uploads.start(REPO)
    await store.uploads.append(REPO, upload_id, body(data))
    assert await store.uploads.finish(REPO, upload_id, digest) == len(data)
    await assert_published(store, driver, REPO, upload_id, data)
    assert await store.blobs.is_linked("other", digest)


async def test_digest_mismatch_discards_upload(store: RegistryStore, driver: StorageDriver) -> None:
    upload_id = await store.uploads.start(REPO)
    await store.uploads.append(REPO, upload_id, body(b"actual bytes"))
    claimed = Digest.of(b"claimed bytes")
    with pytest.raises(DigestMismatch):
        await store.uploads.finish(REPO, upload_id, claimed)
    with pytest.raises(PathNotFound):
        await driver.stat(paths.upload(REPO, upload_id))
    for digest in (claimed, Digest.of(b"actual bytes")):
        with pytest.raises(PathNotFound):
            await driver.stat(paths.blob_dir(digest))
        assert not await store.blobs.is_linked(REPO, digest)
    with pytest.raises(UploadUnknown):
        await store.uploads.size(REPO, upload_id)
    with pytest.raises(UploadUnknown):
        await store.uploads.finish(REPO, upload_id, Digest.of(b"actual bytes"))


async def test_digest_mismatch_after_rehash(
    store: RegistryStore, peer_store: RegistryStore
) -> None:
    upload_id = await store.uploads.start(REPO)
    await store.uploads.append(REPO, upload_id, body(b"actual"))
    with pytest.raises(DigestMismatch):
        await peer_store.uploads.finish(REPO, upload_id, Digest.of(b"other"))
    with pytest.raises(UploadUnknown):
        await store.uploads.size(REPO, upload_id)


async def test_sha512_upload(store: RegistryStore, driver: StorageDriver) -> None:
    data = b"hashed with sha512" * 1000
    digest = Digest.of(data, "sha512")
    upload_id = await store.uploads.start(REPO)
    await store.uploads.append(REPO, upload_id, body(data[:7000]), algorithm="sha512")
    await store.uploads.append(REPO, upload_id, body(data[7000:]), algorithm="sha512")
    assert await store.uploads.finish(REPO, upload_id, digest) == len(data)
    assert await driver.get_content(paths.blob_data(digest)) == data
    assert paths.blob_data(digest).startswith(f"{paths.ROOT}/blobs/sha512/{digest.hex[:2]}/")
    assert await store.blobs.size_in(REPO, digest) == len(data)


async def test_finish_with_other_algorithm_than_appended(store: RegistryStore) -> None:
    """Chunks hashed as sha256 (the default), finished as sha512: the bytes are rehashed."""
    data = b"x" * 5000 + b"y" * 5000
    upload_id = await store.uploads.start(REPO)
    await store.uploads.append(REPO, upload_id, body(data[:5000]))
    await store.uploads.append(REPO, upload_id, body(data[5000:]))
    with pytest.raises(DigestMismatch):
        await store.uploads.finish(REPO, upload_id, Digest.of(b"other", "sha512"))
    upload_id = await store.uploads.start(REPO)
    await store.uploads.append(REPO, upload_id, body(data))
    assert await store.uploads.finish(REPO, upload_id, Digest.of(data, "sha512")) == len(data)


async def test_resume_from_another_process(
    store: RegistryStore, peer_store: RegistryStore, peer_driver: StorageDriver
) -> None:
    """Two stores over the same storage (two processes): chunks alternate between them,
    each holding a running hash that is stale once the other has appended."""
    parts = [bytes([n]) * (50_000 + n) for n in range(5)]
    data = b"".join(parts)
    upload_id = await store.uploads.start(REPO)
    offset = 0
    for n, part in enumerate(parts):
        uploads = (store if n % 2 == 0 else peer_store).uploads
        assert await uploads.size(REPO, upload_id) == offset
        offset = await uploads.append(REPO, upload_id, body(part), start=offset, length=len(part))
    # each store's running hash went stale when the other appended (offsets 1-2 and 3-4),
    # so it had to hash the stored bytes again before going on
    assert await store.uploads.finish(REPO, upload_id, Digest.of(data)) == len(data)
    await assert_published(peer_store, peer_driver, REPO, upload_id, data)


async def test_finish_in_another_process(
    store: RegistryStore, peer_store: RegistryStore, driver: StorageDriver
) -> None:
    data = b"first half|second half"
    upload_id = await store.uploads.start(REPO)
    await store.uploads.append(REPO, upload_id, body(data[:11]))
    await store.uploads.append(REPO, upload_id, body(data[11:]))
    assert await peer_store.uploads.finish(REPO, upload_id, Digest.of(data)) == len(data)
    await assert_published(store, driver, REPO, upload_id, data)


async def test_append_in_another_process_invalidates_running_hash(
    store: RegistryStore, peer_store: RegistryStore
) -> None:
    upload_id = await store.uploads.start(REPO)
    await store.uploads.append(REPO, upload_id, body(b"one,"))
    await peer_store.uploads.append(REPO, upload_id, body(b"two,"))
    await store.uploads.append(REPO, upload_id, body(b"three"))
    with pytest.raises(DigestMismatch):
        await store.uploads.finish(REPO, upload_id, Digest.of(b"one,three"))
    upload_id = await store.uploads.start(REPO)
    await store.uploads.append(REPO, upload_id, body(b"one,"))
    await peer_store.uploads.append(REPO, upload_id, body(b"two,"))
    await store.uploads.append(REPO, upload_id, body(b"three"))
    assert await store.uploads.finish(REPO, upload_id, Digest.of(b"one,two,three")) == 13


async def test_cancel(store: RegistryStore, driver: StorageDriver) -> None:
    upload_id = await store.uploads.start(REPO)
    await store.uploads.append(REPO, upload_id, body(b"abandoned"))
    await store.uploads.cancel(REPO, upload_id)
    with pytest.raises(PathNotFound):
        await driver.stat(paths.upload(REPO, upload_id))
    with pytest.raises(UploadUnknown):
        await store.uploads.cancel(REPO, upload_id)
    with pytest.raises(UploadUnknown):
        await store.uploads.append(REPO, upload_id, body(b"more"))


@pytest.mark.parametrize(
    "upload_id",
    [
        str(uuid.uuid4()),  # well formed, never started
        "not-an-upload-id",
        "",
        "../../../blobs",
        "0B5F6D1E-3C4A-4F7E-9A8B-1C2D3E4F5A6B",
        "0b5f6d1e-3c4a-4f7e-9a8b-1c2d3e4f5a6b/../x",
        "0b5f6d1e-3c4a-4f7e-9a8b-1c2d3e4f5a6b\n",
    ],
)
async def test_unknown_upload_ids(
    store: RegistryStore, driver: StorageDriver, upload_id: str
) -> None:
    await store.uploads.start(REPO)
    snapshot = [info.path async for info in driver.walk("/")]
    with pytest.raises(UploadUnknown):
        await store.uploads.size(REPO, upload_id)
    with pytest.raises(UploadUnknown):
        await store.uploads.append(REPO, upload_id, body(b"x"))
    with pytest.raises(UploadUnknown):
        await store.uploads.finish(REPO, upload_id, Digest.of(b"x"))
    with pytest.raises(UploadUnknown):
        await store.uploads.cancel(REPO, upload_id)
    assert [info.path async for info in driver.walk("/")] == snapshot


async def test_upload_belongs_to_its_repository(store: RegistryStore) -> None:
    upload_id = await store.uploads.start(REPO)
    with pytest.raises(UploadUnknown):
        await store.uploads.append("other/repo", upload_id, body(b"x"))
    with pytest.raises(UploadUnknown):
        await store.uploads.finish("other/repo", upload_id, Digest.of(b""))
    assert await store.uploads.size(REPO, upload_id) == 0


async def test_concurrent_uploads_are_independent(store: RegistryStore) -> None:
    ids = [await store.uploads.start(REPO) for _ in range(4)]
    for round_ in range(3):
        for n, upload_id in enumerate(ids):
            await store.uploads.append(REPO, upload_id, body(f"{n}:{round_};".encode()))
    for n, upload_id in enumerate(ids):
        data = "".join(f"{n}:{r};" for r in range(3)).encode()
        assert await store.uploads.finish(REPO, upload_id, Digest.of(data)) == len(data)
        assert await store.blobs.get(Digest.of(data)) == data

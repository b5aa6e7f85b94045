"""BlobStore: content-addressed blobs and the repository links that grant access to them."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from registry.digest import Digest
from storage import paths
from storage.blobs import BlobStore
from storage.driver import StorageDriver
from storage.errors import BlobUnknown, DigestMismatch, InvalidOffset, PathNotFound
from storage.layout import RegistryStore

pytestmark = pytest.mark.anyio


async def read_all(store: RegistryStore, digest: Digest, offset: int = 0) -> bytes:
    return b"".join([chunk async for chunk in store.blobs.reader(digest, offset)])


async def test_put_and_get(store: RegistryStore, driver: StorageDriver) -> None:
    data = b"layer bytes"
    digest = Digest.of(data)
    await store.blobs.put(data, digest)
    assert await store.blobs.get(digest) == data
    assert await store.blobs.size(digest) == len(data)
    assert await driver.get_content(paths.blob_data(digest)) == data


async def test_put_sha512(store: RegistryStore, driver: StorageDriver) -> None:
    data = b"sha512 bytes"
    digest = Digest.of(data, "sha512")
    await store.blobs.put(data, digest)
    assert await store.blobs.get(digest) == data
    assert await driver.get_content(paths.blob_data(digest)) == data


async def test_put_with_wrong_digest_stores_nothing(
    store: RegistryStore, driver: StorageDriver
) -> None:
    claimed = Digest.of(b"what the client said")
    with pytest.raises(DigestMismatch):
        await store.blobs.put(b"what the client sent", claimed)
    # same hex, other algorithm: also a mismatch
    with pytest.raises(DigestMismatch):
        await store.blobs.put(b"x", Digest("sha512", Digest.of(b"x").hex * 2))
    assert await driver.list("/") == []


async def test_unknown_blob(store: RegistryStore) -> None:
    digest = Digest.of(b"never stored")
    with pytest.raises(BlobUnknown):
        await store.blobs.get(digest)
    with pytest.raises(BlobUnknown):
        await store.blobs.size(digest)
    with pytest.raises(BlobUnknown):
        await store.blobs.size_in("repo", digest)


async def test_size_of_blob_path_that_is_a_folder(
    store: RegistryStore, driver: StorageDriver
) -> None:
    digest = Digest.of(b"odd")
    await driver.put_content(paths.blob_data(digest) + "/stray", b"x")
    with pytest.raises(BlobUnknown):
        await store.blobs.size(digest)


async def test_link_grants_access(store: RegistryStore, driver: StorageDriver) -> None:
    data = b"shared layer"
    digest = Digest.of(data)
    await store.blobs.put(data, digest)
    assert not await store.blobs.is_linked("repo", digest)
    with pytest.raises(BlobUnknown):
        await store.blobs.size_in("repo", digest)

    await store.blobs.link("repo", digest)
    assert await driver.get_content(paths.layer_link("repo", digest)) == str(digest).encode()
    assert await store.blobs.is_linked("repo", digest)
    assert await store.blobs.size_in("repo", digest) == len(data)
    # other repositories, including a nested one, still may not read it
    assert not await store.blobs.is_linked("other", digest)
    assert not await store.blobs.is_linked("repo/sub", digest)


async def test_link_of_missing_blob_does_not_make_it_readable(store: RegistryStore) -> None:
    digest = Digest.of(b"absent")
    await store.blobs.link("repo", digest)
    assert await store.blobs.is_linked("repo", digest)
    with pytest.raises(BlobUnknown):
        await store.blobs.size_in("repo", digest)


async def test_manifest_revision_link_grants_access(
    store: RegistryStore, driver: StorageDriver
) -> None:
    data = b'{"schemaVersion":2}'
    digest = Digest.of(data)
    await store.blobs.put(data, digest)
    await driver.put_content(paths.revision_link("repo", digest), str(digest).encode())
    assert await store.blobs.is_linked("repo", digest)
    assert await store.blobs.size_in("repo", digest) == len(data)


async def test_read_link(store: RegistryStore, driver: StorageDriver) -> None:
    digest = Digest.of(b"x")
    link = paths.layer_link("repo", digest)
    assert await store.blobs.read_link(link) is None
    await driver.put_content(link, f"{digest}\n".encode())
    assert await store.blobs.read_link(link) == digest
    for garbage in (b"", b"not a digest", b"sha256:short", b"md5:" + b"0" * 32, b"\xff\xfe"):
        await driver.put_content(link, garbage)
        assert await store.blobs.read_link(link) is None


async def test_link_pointing_elsewhere_does_not_count(
    store: RegistryStore, driver: StorageDriver
) -> None:
    wanted, other = Digest.of(b"wanted"), Digest.of(b"other")
    await store.blobs.put(b"wanted", wanted)
    await driver.put_content(paths.layer_link("repo", wanted), str(other).encode())
    assert not await store.blobs.is_linked("repo", wanted)
    with pytest.raises(BlobUnknown):
        await store.blobs.unlink("repo", wanted)


async def test_unlink_removes_link_but_keeps_blob(
    store: RegistryStore, driver: StorageDriver
) -> None:
    data = b"layer"
    digest = Digest.of(data)
    await store.blobs.put(data, digest)
    await store.blobs.link("a", digest)
    await store.blobs.link("b", digest)
    await store.blobs.unlink("a", digest)
    assert not await store.blobs.is_linked("a", digest)
    with pytest.raises(PathNotFound):
        await driver.stat(paths.layer_link("a", digest).removesuffix("/link"))
    assert await store.blobs.is_linked("b", digest)
    assert await store.blobs.get(digest) == data
    with pytest.raises(BlobUnknown):
        await store.blobs.unlink("a", digest)


async def test_reader(store: RegistryStore) -> None:
    data = bytes(range(256)) * 10_000
    digest = Digest.of(data)
    await store.blobs.put(data, digest)
    assert await read_all(store, digest) == data
    assert await read_all(store, digest, 1000) == data[1000:]
    assert await read_all(store, digest, len(data)) == b""
    with pytest.raises(InvalidOffset):
        await read_all(store, digest, len(data) + 1)


async def test_local_path_and_redirect(
    store: RegistryStore, driver: StorageDriver, has_local_path: bool, redirects: bool
) -> None:
    data = b"served directly"
    digest = Digest.of(data)
    await store.blobs.put(data, digest)
    local = store.blobs.local_path(digest)
    if has_local_path:
        assert isinstance(local, Path)
        assert local.read_bytes() == data
        assert local == driver.local_path(paths.blob_data(digest))
    else:
        assert local is None
    url = await store.blobs.redirect_url(digest, "GET")
    assert (url is not None) == redirects


async def test_readable_size_is_cached_until_the_ttl_or_an_unlink(
    driver: StorageDriver,
) -> None:
    blobs = BlobStore(driver, descriptor_ttl=0.2)
    data = b"a layer read often"
    digest = Digest.of(data)
    await blobs.put(data, digest)
    await blobs.link("team/a", digest)
    await blobs.link("team/b", digest)
    assert await blobs.readable_size("team/a", digest) == len(data)
    assert await blobs.readable_size("team/b", digest) == len(data)
    # another process removes team/a's link: this one answers from its cache until the ttl
    await driver.delete(paths.layer_link("team/a", digest).removesuffix("/link"))
    assert await blobs.readable_size("team/a", digest) == len(data)
    with pytest.raises(BlobUnknown):
        await blobs.size_in("team/a", digest)
    await anyio.sleep(0.25)
    with pytest.raises(BlobUnknown):
        await blobs.readable_size("team/a", digest)
    # an unlink through this store is seen at once
    await blobs.unlink("team/b", digest)
    with pytest.raises(BlobUnknown):
        await blobs.readable_size("team/b", digest)


async def test_a_deleted_manifest_is_forgotten_at_once(store: RegistryStore) -> None:
    data = b'{"schemaVersion": 2}'
    digest = Digest.of(data)
    await store.manifests.put("team/a", data, digest)
    assert await store.blobs.readable_size("team/a", digest) == len(data)
    await store.manifests.delete("team/a", digest)
    with pytest.raises(BlobUnknown):
        await store.blobs.readable_size("team/a", digest)


async def test_no_ttl_caches_nothing(driver: StorageDriver) -> None:
    blobs = BlobStore(driver, descriptor_ttl=0)
    data = b"x"
    digest = Digest.of(data)
    await blobs.put(data, digest)
    await blobs.link("team/a", digest)
    assert await blobs.readable_size("team/a", digest) == 1
    await driver.delete(paths.layer_link("team/a", digest).removesuffix("/link"))
    with pytest.raises(BlobUnknown):
        await blobs.readable_size("team/a", digest)

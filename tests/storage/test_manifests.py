"""ManifestStore: manifest bytes stored as blobs, linked as revisions of a repository."""

from __future__ import annotations

import json

import pytest

from registry.digest import Digest
from storage import paths
from storage.driver import StorageDriver
from storage.errors import BlobUnknown, DigestMismatch, ManifestUnknown, PathNotFound
from storage.layout import RegistryStore

pytestmark = pytest.mark.anyio

REPO = "library/model"


def manifest(n: int) -> bytes:
    return json.dumps({"schemaVersion": 2, "annotations": {"n": str(n)}}).encode()


async def test_put_and_get(store: RegistryStore, driver: StorageDriver) -> None:
    data = manifest(1)
    digest = Digest.of(data)
    await store.manifests.put(REPO, data, digest)
    assert await store.manifests.exists(REPO, digest)
    assert await store.manifests.get(REPO, digest) == data
    # the bytes are an ordinary blob, the revision link holds the digest without a newline
    assert await driver.get_content(paths.blob_data(digest)) == data
    assert await driver.get_content(paths.revision_link(REPO, digest)) == str(digest).encode()
    assert await store.blobs.size_in(REPO, digest) == len(data)


async def test_put_sha512(store: RegistryStore, driver: StorageDriver) -> None:
    data = manifest(2)
    digest = Digest.of(data, "sha512")
    await store.manifests.put(REPO, data, digest)
    assert await store.manifests.get(REPO, digest) == data
    assert await driver.get_content(paths.revision_link(REPO, digest)) == str(digest).encode()


async def test_put_with_wrong_digest_links_nothing(
    store: RegistryStore, driver: StorageDriver
) -> None:
    claimed = Digest.of(manifest(1))
    with pytest.raises(DigestMismatch):
        await store.manifests.put(REPO, manifest(2), claimed)
    assert not await store.manifests.exists(REPO, claimed)
    assert await store.manifests.digests(REPO) == []
    assert await driver.list("/") == []


async def test_put_is_idempotent(store: RegistryStore) -> None:
    data = manifest(1)
    digest = Digest.of(data)
    await store.manifests.put(REPO, data, digest)
    await store.manifests.put(REPO, data, digest)
    assert await store.manifests.digests(REPO) == [digest]


async def test_unknown_manifest(store: RegistryStore) -> None:
    digest = Digest.of(manifest(1))
    assert not await store.manifests.exists(REPO, digest)
    with pytest.raises(ManifestUnknown):
        await store.manifests.get(REPO, digest)
    with pytest.raises(ManifestUnknown):
        await store.manifests.delete(REPO, digest)


async def test_manifest_of_other_repository_is_unknown(store: RegistryStore) -> None:
    data = manifest(1)
    digest = Digest.of(data)
    await store.manifests.put("a", data, digest)
    assert not await store.manifests.exists("b", digest)
    with pytest.raises(ManifestUnknown):
        await store.manifests.get("b", digest)
    with pytest.raises(BlobUnknown):
        await store.blobs.size_in("b", digest)


async def test_revision_link_without_blob(store: RegistryStore, driver: StorageDriver) -> None:
    digest = Digest.of(manifest(1))
    await driver.put_content(paths.revision_link(REPO, digest), str(digest).encode())
    assert await store.manifests.exists(REPO, digest)
    with pytest.raises(ManifestUnknown):
        await store.manifests.get(REPO, digest)


async def test_corrupt_revision_link(store: RegistryStore, driver: StorageDriver) -> None:
    data = manifest(1)
    digest = Digest.of(data)
    await store.manifests.put(REPO, data, digest)
    await driver.put_content(paths.revision_link(REPO, digest), b"garbage")
    assert not await store.manifests.exists(REPO, digest)
    with pytest.raises(ManifestUnknown):
        await store.manifests.get(REPO, digest)
    assert await store.manifests.digests(REPO) == []


async def test_delete_unlinks_revision_and_keeps_blob(
    store: RegistryStore, driver: StorageDriver
) -> None:
    data = manifest(1)
    digest = Digest.of(data)
    await store.manifests.put(REPO, data, digest)
    await store.manifests.put("other", data, digest)
    await store.manifests.delete(REPO, digest)
    assert not await store.manifests.exists(REPO, digest)
    with pytest.raises(PathNotFound):
        await driver.stat(paths.revision_link(REPO, digest).removesuffix("/link"))
    with pytest.raises(ManifestUnknown):
        await store.manifests.get(REPO, digest)
    assert await store.manifests.get("other", digest) == data
    assert await store.blobs.get(digest) == data
    with pytest.raises(ManifestUnknown):
        await store.manifests.delete(REPO, digest)


async def test_digests(store: RegistryStore, driver: StorageDriver) -> None:
    sha256 = [Digest.of(manifest(n)) for n in range(5)]
    sha512 = [Digest.of(manifest(n), "sha512") for n in range(2)]
    for n, digest in enumerate(sha256):
        await store.manifests.put(REPO, manifest(n), digest)
    for n, digest in enumerate(sha512):
        await store.manifests.put(REPO, manifest(n), digest)
    await store.manifests.put("library/model/nested", manifest(9), Digest.of(manifest(9)))
    # noise that is not a revision: a bad folder name, a folder without a link
    await driver.put_content(paths.revisions(REPO, "sha256") + "/not-hex/link", b"x")
    orphan = Digest.of(b"orphan")
    await driver.put_content(paths.revision_link(REPO, orphan).replace("/link", "/other"), b"x")

    found = await store.manifests.digests(REPO)
    assert found == sorted(sha256, key=lambda d: d.hex) + sorted(sha512, key=lambda d: d.hex)


async def test_digests_of_empty_or_missing_repository(store: RegistryStore) -> None:
    assert await store.manifests.digests("missing") == []
    await store.blobs.link(REPO, Digest.of(b"layer"))
    assert await store.manifests.digests(REPO) == []

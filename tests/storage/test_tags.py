"""TagStore: `current/link` names the tagged manifest, `index/` keeps every digest it had."""

from __future__ import annotations

import pytest

from registry.digest import Digest
from storage import paths
from storage.driver import StorageDriver
from storage.errors import ManifestUnknown, PathNotFound, RepositoryUnknown
from storage.layout import RegistryStore

pytestmark = pytest.mark.anyio

REPO = "library/model"


async def push(store: RegistryStore, name: str, n: int) -> Digest:
    data = f'{{"schemaVersion":2,"n":{n}}}'.encode()
    digest = Digest.of(data)
    await store.manifests.put(name, data, digest)
    return digest


async def test_tag_and_resolve(store: RegistryStore, driver: StorageDriver) -> None:
    digest = await push(store, REPO, 1)
    await store.tags.tag(REPO, "v1", digest)
    assert await store.tags.resolve(REPO, "v1") == digest
    assert await driver.get_content(paths.tag_current_link(REPO, "v1")) == str(digest).encode()
    assert await driver.get_content(paths.tag_index_link(REPO, "v1", digest)) == (
        str(digest).encode()
    )


async def test_retag_moves_current_and_keeps_index(
    store: RegistryStore, driver: StorageDriver
) -> None:
    first, second = await push(store, REPO, 1), await push(store, REPO, 2)
    await store.tags.tag(REPO, "latest", first)
    await store.tags.tag(REPO, "latest", second)
    assert await store.tags.resolve(REPO, "latest") == second
    index = await driver.list(paths.tag(REPO, "latest") + "/index/sha256")
    assert index == sorted(
        paths.tag(REPO, "latest") + f"/index/sha256/{d.hex}" for d in (first, second)
    )


async def test_tag_sha512_manifest(store: RegistryStore, driver: StorageDriver) -> None:
    data = b'{"schemaVersion":2}'
    digest = Digest.of(data, "sha512")
    await store.manifests.put(REPO, data, digest)
    await store.tags.tag(REPO, "v512", digest)
    assert await store.tags.resolve(REPO, "v512") == digest
    assert await driver.get_content(paths.tag_index_link(REPO, "v512", digest)) == (
        str(digest).encode()
    )


async def test_resolve_unknown_tag(store: RegistryStore) -> None:
    with pytest.raises(ManifestUnknown):
        await store.tags.resolve(REPO, "missing")
    await store.tags.tag(REPO, "v1", await push(store, REPO, 1))
    with pytest.raises(ManifestUnknown):
        await store.tags.resolve(REPO, "v2")
    with pytest.raises(ManifestUnknown):
        await store.tags.resolve("other", "v1")


async def test_resolve_corrupt_link(store: RegistryStore, driver: StorageDriver) -> None:
    await driver.put_content(paths.tag_current_link(REPO, "bad"), b"sha256:nothex")
    with pytest.raises(ManifestUnknown):
        await store.tags.resolve(REPO, "bad")


async def test_untag(store: RegistryStore, driver: StorageDriver) -> None:
    digest = await push(store, REPO, 1)
    await store.tags.tag(REPO, "v1", digest)
    await store.tags.tag(REPO, "v2", digest)
    await store.tags.untag(REPO, "v1")
    with pytest.raises(PathNotFound):
        await driver.stat(paths.tag(REPO, "v1"))
    with pytest.raises(ManifestUnknown):
        await store.tags.resolve(REPO, "v1")
    assert await store.tags.resolve(REPO, "v2") == digest
    assert await store.tags.names(REPO) == ["v2"]
    # the manifest itself stays
    assert await store.manifests.get(REPO, digest)
    with pytest.raises(ManifestUnknown):
        await store.tags.untag(REPO, "v1")


async def test_names_sorted_lexically(store: RegistryStore) -> None:
    digest = await push(store, REPO, 1)
    tags = ["v1.10", "v1.2", "latest", "Latest", "_x", "0", "v1.2-rc.1"]
    for tag in tags:
        await store.tags.tag(REPO, tag, digest)
    assert await store.tags.names(REPO) == sorted(tags)
    assert await store.tags.names(REPO) == [
        "0",
        "Latest",
        "_x",
        "latest",
        "v1.10",
        "v1.2",
        "v1.2-rc.1",
    ]


async def test_names_of_nested_repositories_are_separate(store: RegistryStore) -> None:
    await store.tags.tag("a", "parent", await push(store, "a", 1))
    await store.tags.tag("a/b", "child", await push(store, "a/b", 2))
    assert await store.tags.names("a") == ["parent"]
    assert await store.tags.names("a/b") == ["child"]


async def test_names_of_repository_without_tags(store: RegistryStore) -> None:
    await push(store, REPO, 1)
    assert await store.tags.names(REPO) == []
    digest = await push(store, REPO, 2)
    await store.tags.tag(REPO, "gone", digest)
    await store.tags.untag(REPO, "gone")
    assert await store.tags.names(REPO) == []


async def test_names_of_unknown_repository(store: RegistryStore) -> None:
    with pytest.raises(RepositoryUnknown):
        await store.tags.names("missing")
    # a parent folder of a repository is not a repository (registry:2 agrees)
    await store.tags.tag("x/y", "v1", await push(store, "x/y", 1))
    with pytest.raises(RepositoryUnknown):
        await store.tags.names("x")
    # nor is a repository that only holds uploads and layers, with no manifest yet
    await store.uploads.start("only/uploads")
    await store.blobs.link("only/uploads", Digest.of(b"layer"))
    with pytest.raises(RepositoryUnknown):
        await store.tags.names("only/uploads")


async def test_pointing_at(store: RegistryStore) -> None:
    first, second = await push(store, REPO, 1), await push(store, REPO, 2)
    await store.tags.tag(REPO, "b", first)
    await store.tags.tag(REPO, "a", first)
    await store.tags.tag(REPO, "c", second)
    await store.tags.tag(REPO, "moved", first)
    await store.tags.tag(REPO, "moved", second)
    assert await store.tags.pointing_at(REPO, first) == ["a", "b"]
    assert await store.tags.pointing_at(REPO, second) == ["c", "moved"]
    assert await store.tags.pointing_at(REPO, Digest.of(b"none")) == []
    with pytest.raises(RepositoryUnknown):
        await store.tags.pointing_at("missing", first)

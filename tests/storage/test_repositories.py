"""The catalog: every repository holding a `_manifests` folder, found by walking storage."""

from __future__ import annotations

import pytest

from registry.digest import Digest
from storage import paths
from storage.driver import StorageDriver
from storage.layout import RegistryStore
from storage.repositories import exists, repository_names

pytestmark = pytest.mark.anyio


async def push(store: RegistryStore, name: str) -> Digest:
    data = f'{{"schemaVersion":2,"repo":"{name}"}}'.encode()
    digest = Digest.of(data)
    await store.manifests.put(name, data, digest)
    await store.tags.tag(name, "latest", digest)
    return digest


async def test_empty_store(driver: StorageDriver) -> None:
    assert await repository_names(driver) == []
    assert not await exists(driver, "a")


async def test_nested_repositories(store: RegistryStore, driver: StorageDriver) -> None:
    for name in ("c/d/e", "a/b", "a", "b-c", "b", "a.b/c"):
        await push(store, name)
    assert await repository_names(driver) == ["a", "a.b/c", "a/b", "b", "b-c", "c/d/e"]
    for name in ("a", "a/b", "c/d/e", "b", "b-c", "a.b/c"):
        assert await exists(driver, name), name


async def test_parents_and_partial_repositories_are_not_listed(
    store: RegistryStore, driver: StorageDriver
) -> None:
    await push(store, "org/team/model")
    # blobs linked and an upload started, but no manifest: not a repository yet
    await store.blobs.link("org/pending", Digest.of(b"layer"))
    await store.uploads.start("org/uploading")
    assert await repository_names(driver) == ["org/team/model"]
    for name in ("org", "org/team", "org/pending", "org/uploading", "missing"):
        assert not await exists(driver, name), name


async def test_underscore_folders_are_not_descended(
    store: RegistryStore, driver: StorageDriver
) -> None:
    await push(store, "repo")
    # folders inside `_manifests`, `_layers` and `_uploads` must never look like repositories
    await driver.put_content(paths.repository("repo") + "/_uploads/x/_manifests/y", b"")
    await driver.put_content(paths.repository("repo") + "/_layers/z/_manifests/y", b"")
    assert await repository_names(driver) == ["repo"]


async def test_repository_with_only_a_tag_or_revision(
    store: RegistryStore, driver: StorageDriver
) -> None:
    digest = Digest.of(b"{}")
    await driver.put_content(paths.tag_current_link("tagged", "v1"), str(digest).encode())
    await driver.put_content(paths.revision_link("revised", digest), str(digest).encode())
    assert await repository_names(driver) == ["revised", "tagged"]


async def test_many_repositories_sorted(store: RegistryStore, driver: StorageDriver) -> None:
    names = [f"ns{n % 3}/model-{n:02d}" for n in range(30)]
    for name in reversed(names):
        await push(store, name)
    assert await repository_names(driver) == sorted(names)

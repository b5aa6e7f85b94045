"""Repositories known to the storage: the catalog walk, as registry:2 does it."""

from __future__ import annotations

from storage import paths
from storage.driver import StorageDriver
from storage.errors import PathNotFound


async def _walk(driver: StorageDriver, directory: str, prefix: str) -> list[str]:
    try:
        children = await driver.list(directory)
    except PathNotFound:
        return []
    names = [child.rsplit("/", 1)[-1] for child in children]
    found = [prefix.rstrip("/")] if "_manifests" in names and prefix else []
    for child, child_name in zip(children, names, strict=True):
        if child_name.startswith("_"):
            continue
        found.extend(await _walk(driver, child, f"{prefix}{child_name}/"))
    return found


async def repository_names(driver: StorageDriver) -> list[str]:
    """Every repository holding a `_manifests` folder, sorted lexically."""
    return sorted(await _walk(driver, paths.REPOSITORIES, ""))


async def exists(driver: StorageDriver, name: str) -> bool:
    """True for a repository the catalog lists; not for a mere parent folder of one."""
    try:
        return (await driver.stat(paths.manifests(name))).is_dir
    except PathNotFound:
        return False

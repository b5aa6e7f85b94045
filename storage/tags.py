"""Tags of a repository: `current/link` names the manifest, `index/` keeps its history."""

from __future__ import annotations

from registry.digest import Digest
from storage import paths, repositories
from storage.blobs import BlobStore
from storage.driver import StorageDriver
from storage.errors import ManifestUnknown, PathNotFound, RepositoryUnknown


class TagStore:
    def __init__(self, driver: StorageDriver, blobs: BlobStore) -> None:
        self.driver = driver
        self.blobs = blobs

    async def resolve(self, name: str, tag: str) -> Digest:
        digest = await self.blobs.read_link(paths.tag_current_link(name, tag))
        if digest is None:
            raise ManifestUnknown(tag)
        return digest

    async def tag(self, name: str, tag: str, digest: Digest) -> None:
        link = str(digest).encode()
        await self.driver.put_content(paths.tag_index_link(name, tag, digest), link)
        await self.driver.put_content(paths.tag_current_link(name, tag), link)

    async def untag(self, name: str, tag: str) -> None:
        try:
            await self.driver.delete(paths.tag(name, tag))
        except PathNotFound:
            raise ManifestUnknown(tag) from None

    async def names(self, name: str) -> list[str]:
        """All tags of the repository in lexical order; RepositoryUnknown if it does not exist."""
        try:
            children = await self.driver.list(paths.tags(name))
        except PathNotFound:
            if not await repositories.exists(self.driver, name):
                raise RepositoryUnknown(name) from None
            return []
        return sorted(child.rsplit("/", 1)[-1] for child in children)

    async def pointing_at(self, name: str, digest: Digest) -> list[str]:
        """Tags whose current manifest is `digest`."""
        tags = []
        for tag in await self.names(name):
            if await self.blobs.read_link(paths.tag_current_link(name, tag)) == digest:
                tags.append(tag)
        return tags

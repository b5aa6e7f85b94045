"""Manifest revisions of a repository: bytes stored as blobs, linked under `_manifests`."""

from __future__ import annotations

from registry.digest import ALGORITHMS, Digest
from storage import paths
from storage.blobs import BlobStore
from storage.driver import StorageDriver
from storage.errors import BlobUnknown, ManifestUnknown, PathNotFound


class ManifestStore:
    def __init__(self, driver: StorageDriver, blobs: BlobStore) -> None:
        self.driver = driver
        self.blobs = blobs

    async def exists(self, name: str, digest: Digest) -> bool:
        return await self.blobs.read_link(paths.revision_link(name, digest)) == digest

    async def get(self, name: str, digest: Digest) -> bytes:
        if not await self.exists(name, digest):
            raise ManifestUnknown(digest)
        try:
            return await self.blobs.get(digest)
        except BlobUnknown:
            raise ManifestUnknown(digest) from None

    async def put(self, name: str, data: bytes, digest: Digest) -> None:
        """Store the bytes (verified against `digest`) and link the revision: data first."""
        await self.blobs.put(data, digest)
        await self.driver.put_content(paths.revision_link(name, digest), str(digest).encode())

    async def delete(self, name: str, digest: Digest) -> None:
        self.blobs.forget(name, digest)
        if not await self.exists(name, digest):
            raise ManifestUnknown(digest)
        await self.driver.delete(paths.revision_link(name, digest).removesuffix("/link"))

    async def digests(self, name: str) -> list[Digest]:
        """Every revision of the repository, in storage order."""
        found: list[Digest] = []
        for algorithm in ALGORITHMS:
            try:
                children = await self.driver.list(paths.revisions(name, algorithm))
            except PathNotFound:
                continue
            for child in children:
                try:
                    digest = Digest.parse(f"{algorithm}:{child.rsplit('/', 1)[-1]}")
                except ValueError:
                    continue
                if await self.exists(name, digest):
                    found.append(digest)
        return found

"""Content-addressed blobs and the per-repository links that grant access to them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from registry.digest import Digest
from storage import paths
from storage.driver import StorageDriver
from storage.errors import BlobUnknown, DigestMismatch, PathNotFound


class BlobStore:
    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver

    async def size(self, digest: Digest) -> int:
        """Size of the stored blob, whichever repository it belongs to."""
        try:
            info = await self.driver.stat(paths.blob_data(digest))
        except PathNotFound:
            raise BlobUnknown(digest) from None
        if info.is_dir:
            raise BlobUnknown(digest)
        return info.size

    async def read_link(self, path: str) -> Digest | None:
        try:
            content = await self.driver.get_content(path)
        except PathNotFound:
            return None
        try:
            return Digest.parse(content.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return None

    async def is_linked(self, name: str, digest: Digest) -> bool:
        """True if the repository may read the blob, as a layer or as a manifest."""
        for link in (paths.layer_link(name, digest), paths.revision_link(name, digest)):
            if await self.read_link(link) == digest:
                return True
        return False

    async def size_in(self, name: str, digest: Digest) -> int:
        """Size of a blob the repository may read; BlobUnknown otherwise."""
        if not await self.is_linked(name, digest):
            raise BlobUnknown(digest)
        return await self.size(digest)

    async def link(self, name: str, digest: Digest) -> None:
        await self.driver.put_content(paths.layer_link(name, digest), str(digest).encode())

    async def unlink(self, name: str, digest: Digest) -> None:
        if await self.read_link(paths.layer_link(name, digest)) != digest:
            raise BlobUnknown(digest)
        await self.driver.delete(paths.layer_link(name, digest).removesuffix("/link"))

    async def put(self, data: bytes, digest: Digest) -> None:
        """Store a small blob whose bytes are in memory (manifests)."""
        if Digest.of(data, digest.algorithm) != digest:
            raise DigestMismatch(digest)
        await self.driver.put_content(paths.blob_data(digest), data)

    async def get(self, digest: Digest) -> bytes:
        try:
            return await self.driver.get_content(paths.blob_data(digest))
        except PathNotFound:
            raise BlobUnknown(digest) from None

    def reader(self, digest: Digest, offset: int = 0) -> AsyncIterator[bytes]:
        return self.driver.reader(paths.blob_data(digest), offset)

    def local_path(self, digest: Digest) -> Path | None:
        return self.driver.local_path(paths.blob_data(digest))

    async def redirect_url(self, digest: Digest, method: str) -> str | None:
        return await self.driver.redirect_url(paths.blob_data(digest), method)

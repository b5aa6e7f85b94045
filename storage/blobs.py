"""Content-addressed blobs and the per-repository links that grant access to them."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncIterator
from pathlib import Path

from registry.digest import Digest
from storage import paths
from storage.driver import StorageDriver
from storage.errors import BlobUnknown, DigestMismatch, PathNotFound


class _ContentCache:
    """Bytes of small blobs (manifests) by digest, least recently used out first.

    Content addressed by digest never changes, so a cached copy is never wrong; whether a
    repository may still read it is decided by its links, which are always read from storage.
    """

    def __init__(self, max_bytes: int = 32 << 20, max_entry: int = 256 << 10) -> None:
        self.max_bytes = max_bytes
        self.max_entry = max_entry
        self._entries: OrderedDict[Digest, bytes] = OrderedDict()
        self._bytes = 0

    def get(self, digest: Digest) -> bytes | None:
        data = self._entries.get(digest)
        if data is not None:
            self._entries.move_to_end(digest)
        return data

    def put(self, digest: Digest, data: bytes) -> None:
        if len(data) > self.max_entry or digest in self._entries:
            return
        self._entries[digest] = data
        self._bytes += len(data)
        while self._bytes > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self._bytes -= len(evicted)


class BlobStore:
    def __init__(self, driver: StorageDriver) -> None:
        self.driver = driver
        self._small = _ContentCache()

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
        self._small.put(digest, data)

    async def get(self, digest: Digest) -> bytes:
        cached = self._small.get(digest)
        if cached is not None:
            return cached
        try:
            data = await self.driver.get_content(paths.blob_data(digest))
        except PathNotFound:
            raise BlobUnknown(digest) from None
        self._small.put(digest, data)
        return data

    def reader(self, digest: Digest, offset: int = 0) -> AsyncIterator[bytes]:
        return self.driver.reader(paths.blob_data(digest), offset)

    def local_path(self, digest: Digest) -> Path | None:
        return self.driver.local_path(paths.blob_data(digest))

    async def redirect_url(self, digest: Digest, method: str) -> str | None:
        return await self.driver.redirect_url(paths.blob_data(digest), method)

"""Content-addressed blobs and the per-repository links that grant access to them."""

from __future__ import annotations

import time
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


#: seconds a blob's descriptor answers a repository's reads before storage is asked again
DESCRIPTOR_TTL = 5.0
_MAX_DESCRIPTORS = 10_000


class _Descriptors:
    """Sizes of blobs a repository was just found to hold, for its blob HEAD and GET.

    A blob's bytes never change, and this process forgets a descriptor when it unlinks the
    blob or deletes the manifest, so the only stale answer is one for a link another process
    removed: it lasts at most `ttl` seconds (registry:2's in-memory cache never expires).
    Saves the one or two storage round trips of each read (two S3 requests per blob HEAD).
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: OrderedDict[tuple[str, Digest], tuple[int, float]] = OrderedDict()

    def get(self, name: str, digest: Digest) -> int | None:
        entry = self._entries.get((name, digest))
        if entry is None:
            return None
        if entry[1] < time.monotonic():
            del self._entries[(name, digest)]
            return None
        return entry[0]

    def put(self, name: str, digest: Digest, size: int) -> None:
        if self.ttl <= 0:
            return
        self._entries[(name, digest)] = (size, time.monotonic() + self.ttl)
        self._entries.move_to_end((name, digest))
        while len(self._entries) > _MAX_DESCRIPTORS:
            self._entries.popitem(last=False)

    def forget(self, name: str, digest: Digest) -> None:
        self._entries.pop((name, digest), None)


class BlobStore:
    def __init__(self, driver: StorageDriver, descriptor_ttl: float = DESCRIPTOR_TTL) -> None:
        self.driver = driver
        self._small = _ContentCache()
        self._descriptors = _Descriptors(descriptor_ttl)

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

    async def readable_size(self, name: str, digest: Digest) -> int:
        """`size_in` for answering a read (blob HEAD and GET): from the descriptor cache
        when the repository was found to hold the blob less than `descriptor_ttl` ago."""
        size = self._descriptors.get(name, digest)
        if size is None:
            size = await self.size_in(name, digest)
            self._descriptors.put(name, digest, size)
        return size

    def forget(self, name: str, digest: Digest) -> None:
        """The repository no longer reads the blob through this process's cache."""
        self._descriptors.forget(name, digest)

    async def link(self, name: str, digest: Digest) -> None:
        await self.driver.put_content(paths.layer_link(name, digest), str(digest).encode())

    async def unlink(self, name: str, digest: Digest) -> None:
        self.forget(name, digest)
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

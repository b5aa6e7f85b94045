"""Resumable blob uploads kept in storage under `_uploads/<id>/`.

The state is the data file itself plus `startedat`, so any process sharing the storage can
continue an upload. A running hash is kept in process only as a shortcut: it is used when its
offset equals the stored size. A chunk appended without it (another process wrote the bytes
before) is not hashed then; the upload is hashed from storage when it is finished, after the
writer's commit has made every byte readable (an S3 multipart upload is not readable before).
"""

from __future__ import annotations

import re
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterable
from datetime import UTC, datetime

import anyio
from anyio import to_thread

from registry.digest import DEFAULT_ALGORITHM, Digest, Hasher
from storage import paths
from storage.blobs import BlobStore
from storage.driver import FileWriter, StorageDriver
from storage.errors import (
    BlobUnknown,
    DigestMismatch,
    PathNotFound,
    SizeMismatch,
    UploadOffsetMismatch,
    UploadUnknown,
)

BATCH_SIZE = 4 << 20
_UPLOAD_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_MAX_CACHED_HASHERS = 1024


class _HasherCache:
    """Running hashes of uploads in progress, keyed by upload path, valid at one offset."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[int, Hasher]] = OrderedDict()

    def take(self, key: str, offset: int, algorithm: str) -> Hasher | None:
        entry = self._entries.pop(key, None)
        if entry is None or entry[0] != offset or entry[1].algorithm != algorithm:
            return None
        return entry[1]

    def keep(self, key: str, offset: int, hasher: Hasher) -> None:
        self._entries[key] = (offset, hasher)
        while len(self._entries) > _MAX_CACHED_HASHERS:
            self._entries.popitem(last=False)

    def drop(self, key: str) -> None:
        self._entries.pop(key, None)


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    error: BaseException = group
    while isinstance(error, BaseExceptionGroup):
        error = error.exceptions[0]
    return error


async def _flush(writer: FileWriter, hasher: Hasher | None, data: bytes) -> None:
    """Hash and write one batch at once: both release the GIL, so they share the cores."""
    async with anyio.create_task_group() as group:
        if hasher is not None:
            group.start_soon(to_thread.run_sync, hasher.update, data)
        await writer.write(data)


def _joined(chunks: list[bytes]) -> bytes:
    """One buffer of `chunks`; a single chunk (a large body message) is passed as is."""
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _write_batches(
    writer: FileWriter, hasher: Hasher | None, body: AsyncIterable[bytes], limit: int | None
) -> int:
    """Copy `body` into `writer`, hashing as it goes. Returns the bytes written.

    Bytes are gathered in batches; while one batch is hashed and written, the next one is
    received. At most two batches are in memory, whatever the size of the body.
    """
    written = 0
    chunks: list[bytes] = []
    pending = 0
    try:
        async with anyio.create_task_group() as group:
            previous: anyio.Event | None = None

            async def flush(data: bytes, done: anyio.Event) -> None:
                try:
                    await _flush(writer, hasher, data)
                finally:
                    done.set()

            async for chunk in body:
                if not chunk:
                    continue
                written += len(chunk)
                if limit is not None and written > limit:
                    raise SizeMismatch(writer, f"body is longer than the announced {limit} bytes")
                chunks.append(chunk)
                pending += len(chunk)
                if pending >= BATCH_SIZE:
                    if previous is not None:
                        await previous.wait()
                    previous = anyio.Event()
                    group.start_soon(flush, _joined(chunks), previous)
                    chunks, pending = [], 0
            if previous is not None:
                await previous.wait()
            if chunks:
                await _flush(writer, hasher, _joined(chunks))
    except BaseExceptionGroup as group_error:
        raise _first_error(group_error) from None
    return written


class UploadStore:
    def __init__(self, driver: StorageDriver, blobs: BlobStore) -> None:
        self.driver = driver
        self.blobs = blobs
        self._hashers = _HasherCache()

    async def start(self, name: str) -> str:
        upload_id = str(uuid.uuid4())
        started = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        await self.driver.put_content(paths.upload_started_at(name, upload_id), started.encode())
        return upload_id

    async def _check(self, name: str, upload_id: str) -> None:
        if not _UPLOAD_ID.fullmatch(upload_id):
            raise UploadUnknown(upload_id)
        try:
            await self.driver.stat(paths.upload_started_at(name, upload_id))
        except PathNotFound:
            raise UploadUnknown(upload_id) from None

    async def size(self, name: str, upload_id: str) -> int:
        await self._check(name, upload_id)
        writer = await self.driver.writer(paths.upload_data(name, upload_id), append=True)
        try:
            return writer.size
        finally:
            await writer.close()

    async def append(
        self,
        name: str,
        upload_id: str,
        body: AsyncIterable[bytes],
        start: int | None = None,
        length: int | None = None,
        algorithm: str = DEFAULT_ALGORITHM,
    ) -> int:
        """Append a chunk. `start` (from Content-Range) must equal the current size.

        Returns the new size. On any failure the running hash is forgotten, so the upload
        is hashed from what storage actually holds when it is finished.
        """
        await self._check(name, upload_id)
        path = paths.upload_data(name, upload_id)
        writer = await self.driver.writer(path, append=True)
        try:
            offset = writer.size
            if start is not None and start != offset:
                raise UploadOffsetMismatch(upload_id, offset)
            hasher = self._hashers.take(path, offset, algorithm)
            if hasher is None and offset == 0:
                hasher = Hasher(algorithm)
            written = await _write_batches(writer, hasher, body, length)
            if length is not None and written != length:
                raise SizeMismatch(upload_id, f"received {written} of {length} bytes")
        finally:
            await writer.close()
        if hasher is not None:
            self._hashers.keep(path, offset + written, hasher)
        return offset + written

    async def _rehash(self, path: str, size: int, algorithm: str) -> Hasher:
        hasher = Hasher(algorithm)
        if size:
            async for chunk in self.driver.reader(path):
                await to_thread.run_sync(hasher.update, chunk)
        return hasher

    async def finish(self, name: str, upload_id: str, digest: Digest) -> int:
        """Verify the whole upload against `digest`, then publish it as a blob of `name`.

        On a mismatch the upload is discarded and nothing is committed.
        """
        await self._check(name, upload_id)
        path = paths.upload_data(name, upload_id)
        writer = await self.driver.writer(path, append=True)
        size = writer.size
        hasher = self._hashers.take(path, size, digest.algorithm)
        try:
            await writer.commit()
        finally:
            await writer.close()
        if hasher is None:
            hasher = await self._rehash(path, size, digest.algorithm)
        if hasher.digest() != digest:
            await self.cancel(name, upload_id)
            raise DigestMismatch(digest)
        try:
            await self.blobs.size(digest)
        except BlobUnknown:
            await self.driver.move(path, paths.blob_data(digest))
        await self.blobs.link(name, digest)
        await self._remove(name, upload_id)
        return size

    async def cancel(self, name: str, upload_id: str) -> None:
        await self._check(name, upload_id)
        await self._remove(name, upload_id)

    async def _remove(self, name: str, upload_id: str) -> None:
        self._hashers.drop(paths.upload_data(name, upload_id))
        try:
            await self.driver.delete(paths.upload(name, upload_id))
        except PathNotFound:
            return

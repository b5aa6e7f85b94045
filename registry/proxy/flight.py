"""One in-process upstream fetch of a blob, and the readers that stream it as it arrives.

The fetching task appends every upstream chunk to an anonymous local spool file (deleted by
the kernel when closed) and wakes the readers; each reader streams its byte range from the
spool at its own pace, so a request that joins late starts at the first byte at once. No
reader sends the last byte of its answer before the whole blob has matched its digest: on a
mismatch, every reader raises instead, which aborts its client's connection with a short body.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator

from anyio import to_thread

from registry.digest import Digest
from registry.errors import RegistryError
from registry.proxy.errors import UPSTREAM_UNAVAILABLE

READ_CHUNK = 1 << 20


class BlobFlight:
    def __init__(self, digest: Digest, upstream: str) -> None:
        self.digest = digest
        self.upstream = upstream
        #: size announced by the upstream (Content-Length); None until known or if absent
        self.size: int | None = None
        self.received = 0
        #: the upstream body has ended: every byte is in the spool
        self.complete = False
        #: the bytes matched the digest (the blob may not be published yet)
        self.matched = False
        #: readers may send their last byte: published, or matched but not cacheable
        self.verified = False
        self.error: RegistryError | None = None
        #: set once the upstream answered (size known) or the fetch failed
        self.started = asyncio.Event()
        #: set once the fetch ended, verified or failed
        self.done = asyncio.Event()
        self._changed = asyncio.Event()
        self._spool = tempfile.TemporaryFile()  # noqa: SIM115 - closed when readers are gone
        self._readers = 0

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def begin(self, size: int | None) -> None:
        self.size = size
        self.started.set()

    def append(self, chunk: bytes) -> None:
        """Spool one upstream chunk (a page-cache write, done inline) and wake the readers."""
        view = memoryview(chunk)
        fd = self._spool.fileno()
        while view:
            written = os.pwrite(fd, view, self.received)
            self.received += written
            view = view[written:]
        self._notify()

    def end(self) -> None:
        """The upstream body is all spooled."""
        self.complete = True
        self._notify()

    async def spooled(self, batch: int) -> AsyncIterator[bytes]:
        """The spool from its start, in batches of `batch` bytes (the last one shorter) as the
        upstream body arrives, until it has ended or failed: what goes to storage, at
        storage's pace, while the upstream and the readers go at theirs."""
        position = 0
        while True:
            changed = self._changed
            available = self.received - position
            if available >= batch or (self.complete and available > 0):
                count = min(available, batch)
                data = await to_thread.run_sync(os.pread, self._spool.fileno(), count, position)
                position += len(data)
                yield data
                continue
            if self.complete or self.error is not None:
                return
            await changed.wait()

    def verify(self) -> None:
        """The whole blob matched its digest: readers may finish their answers."""
        self.verified = True
        self._notify()

    def fail(self, error: RegistryError) -> None:
        """The fetch failed: readers raise `error`, unless the blob was verified already
        (then only the cache missed it, and readers finish from the spool)."""
        if self.done.is_set():
            return
        if not self.verified:
            self.error = error
        self.started.set()
        self.done.set()
        self._notify()
        self._close_if_unused()

    def finish(self) -> None:
        """The fetch is over; a blob never verified fails its remaining readers."""
        if not self.verified:
            self.fail(RegistryError(UPSTREAM_UNAVAILABLE, {"reason": "the fetch was interrupted"}))
            return
        self.done.set()
        self._notify()
        self._close_if_unused()

    def _close_if_unused(self) -> None:
        if self.done.is_set() and self._readers == 0 and not self._spool.closed:
            self._spool.close()

    def _limit(self, stop: int | None) -> int:
        """How far a reader whose answer ends before `stop` (None: the blob's end) may read."""
        if self.verified:
            return self.received if stop is None else min(stop, self.received)
        return self.received - 1 if stop is None else min(stop - 1, self.received)

    async def read(self, start: int, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes `start`..`end` (inclusive; None: to the end) as they arrive; raises
        the fetch's error when it fails before the reader is through."""
        self._readers += 1
        try:
            position = start
            stop = None if end is None else end + 1
            while stop is None or position < stop:
                changed = self._changed
                if self.error is not None:
                    raise self.error
                limit = self._limit(stop)
                if position < limit:
                    count = min(limit - position, READ_CHUNK)
                    data = await to_thread.run_sync(os.pread, self._spool.fileno(), count, position)
                    position += len(data)
                    yield data
                    continue
                if self.verified and stop is None:
                    return
                await changed.wait()
        finally:
            self._readers -= 1
            self._close_if_unused()

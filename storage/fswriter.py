"""The filesystem driver's append-only file writer.

Large uploads are written with direct I/O (`O_DIRECT`) where the filesystem supports it: the
bytes are gathered in one aligned buffer and go from it to the disk, without the kernel
copying every byte into the page cache first. That copy costs about as much CPU as the
sha256 of the upload, and leaves a GiB of dirty pages for the commit's `fsync` to wait for.
The unaligned tail, and whole files on filesystems without direct I/O (tmpfs) or that start
at an unaligned size (an upload resumed after a short chunk), are written normally, with
their disk writeback started every `WRITEBACK_STEP` bytes so that `fsync` stays short.

Durability is unchanged: nothing is durable before `commit`, which `fsync`s the file.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import mmap
import os
from pathlib import Path

from anyio import to_thread

from storage.writeback import WRITEBACK_STEP, start_writeback

#: size of the aligned buffer of a direct-I/O writer, a multiple of any filesystem block size
DIRECT_BUFFER = 4 << 20
#: alignment of direct-I/O offsets and lengths (the page size covers common block sizes)
DIRECT_ALIGN = mmap.PAGESIZE
_O_DIRECT: int = getattr(os, "O_DIRECT", 0)


def _address(data: bytes | bytearray) -> tuple[int, object]:
    """The address of `data`'s bytes, and an object to keep alive while it is used."""
    if isinstance(data, bytearray):
        array = (ctypes.c_char * len(data)).from_buffer(data)
        return ctypes.addressof(array), array
    pointer = ctypes.c_char_p(data)  # points into `data`, no copy
    return ctypes.cast(pointer, ctypes.c_void_p).value or 0, pointer


class _DirectBuffer:
    """Bytes gathered for direct writes: an anonymous mapping, so it is page-aligned."""

    def __init__(self, size: int) -> None:
        self.map = mmap.mmap(-1, size)
        self.array = ctypes.c_char.from_buffer(self.map)
        self.size = size
        self.fill = 0

    def add(self, address: int, count: int) -> int:
        """Copy up to `count` bytes from `address` (without holding the GIL); return how many."""
        count = min(count, self.size - self.fill)
        ctypes.memmove(ctypes.addressof(self.array) + self.fill, address, count)
        self.fill += count
        return count

    def data(self) -> memoryview:
        return memoryview(self.map)[: self.fill]

    def close(self) -> None:
        del self.array
        self.map.close()


def _open_direct(full: Path, size: int) -> int | None:
    """A direct-I/O descriptor of `full`, or None where direct I/O cannot be used."""
    if not _O_DIRECT or size % DIRECT_ALIGN:
        return None
    try:
        return os.open(full, os.O_WRONLY | _O_DIRECT)
    except OSError:
        return None


class FilesystemWriter:
    """Appends to one file from its current size (or from empty)."""

    def __init__(self, full: Path, append: bool) -> None:
        flags = os.O_WRONLY | os.O_CREAT | (0 if append else os.O_TRUNC)
        self._full = full
        self._fd = os.open(full, flags, 0o666)
        self._size = os.fstat(self._fd).st_size
        self._on_disk = self._size
        self._writeback_from = self._size
        self._direct_fd = _open_direct(full, self._size)
        self._buffer = _DirectBuffer(DIRECT_BUFFER) if self._direct_fd is not None else None
        self._closed = False

    @property
    def size(self) -> int:
        return self._size

    def _write(self, data: bytes | bytearray) -> None:
        address, source = _address(data)
        done = 0
        while done < len(data):
            buffer, direct_fd = self._buffer, self._direct_fd
            if buffer is None or direct_fd is None:
                self._write_buffered(memoryview(data)[done:])
                break
            done += buffer.add(address + done, len(data) - done)
            if buffer.fill == buffer.size:
                self._write_direct(buffer, direct_fd)
        del source
        self._size += len(data)

    def _write_buffered(self, data: memoryview) -> None:
        while data:
            written = os.pwrite(self._fd, data, self._on_disk)
            self._on_disk += written
            data = data[written:]
        if self._on_disk - self._writeback_from >= WRITEBACK_STEP:
            start_writeback(self._fd, self._writeback_from, self._on_disk - self._writeback_from)
            self._writeback_from = self._on_disk

    def _write_direct(self, buffer: _DirectBuffer, direct_fd: int) -> None:
        """Write the full aligned buffer with direct I/O. If the filesystem refuses it, the
        rest of the file is written normally."""
        with buffer.data() as data:
            try:
                written = os.pwrite(direct_fd, data, self._on_disk)
            except OSError as error:
                if error.errno != errno.EINVAL:
                    raise
                written = 0
            self._on_disk += written
            refused = written < len(data)
            if refused:
                self._write_buffered(data[written:])
        buffer.fill = 0
        if refused:
            self._stop_direct()

    def _flush(self) -> None:
        """Write what the aligned buffer holds, a tail of any length, normally."""
        if self._buffer is not None and self._buffer.fill:
            with self._buffer.data() as data:
                self._write_buffered(data)
            self._buffer.fill = 0

    def _stop_direct(self) -> None:
        if self._direct_fd is not None:
            os.close(self._direct_fd)
            self._direct_fd = None
        if self._buffer is not None:
            self._buffer.close()
            self._buffer = None

    def _release(self) -> None:
        self._stop_direct()
        os.close(self._fd)

    async def write(self, data: bytes | bytearray) -> int:
        await to_thread.run_sync(self._write, data)
        return len(data)

    def _sync_close(self, durable: bool) -> None:
        try:
            self._flush()
            if durable:
                os.fsync(self._fd)
        finally:
            self._release()

    async def commit(self) -> None:
        if not self._closed:
            self._closed = True
            await to_thread.run_sync(self._sync_close, True)

    async def cancel(self) -> None:
        await self.close()
        with contextlib.suppress(FileNotFoundError):
            await to_thread.run_sync(self._full.unlink)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            await to_thread.run_sync(self._sync_close, False)


def open_writer(full: Path, append: bool) -> FilesystemWriter:
    """Open `full` for appending (creating its folder), or truncated when not `append`."""
    full.parent.mkdir(parents=True, exist_ok=True)
    return FilesystemWriter(full, append)

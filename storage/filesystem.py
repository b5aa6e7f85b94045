"""Filesystem driver: the registry:2 layout on a local (or shared network) folder.

Every blocking call runs in a worker thread. `put_content` and `move` are atomic through
temp file + fsync + rename, so a killed process never leaves a partial file at a final path.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import shutil
import stat
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

from anyio import to_thread

from storage.driver import FileInfo, check_path, join
from storage.errors import InvalidOffset, PathNotFound
from storage.fswriter import FilesystemWriter, open_writer

T = TypeVar("T")
READ_CHUNK = 1 << 20
TEMP_SUFFIX = ".tmp"


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FilesystemDriver:
    name = "filesystem"
    min_chunk_size = 1

    def __init__(self, root: str | Path, inline_metadata: bool = True) -> None:
        """`inline_metadata` runs small reads (links, manifests, stat) on the event loop.

        On a local disk they are served from the page cache in microseconds, far less than a
        hop to a worker thread; on a network filesystem that can stall, turn it off.
        """
        self.root = Path(root).resolve()
        self.inline_metadata = inline_metadata

    async def _small(self, fn: Callable[[], T]) -> T:
        if self.inline_metadata:
            return fn()
        return await to_thread.run_sync(fn)

    def _full(self, path: str) -> Path:
        check_path(path)
        return self.root / path.lstrip("/") if path != "/" else self.root

    async def get_content(self, path: str) -> bytes:
        full = self._full(path)
        try:
            return await self._small(full.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise PathNotFound(path) from None

    def _put(self, full: Path, data: bytes) -> None:
        full.parent.mkdir(parents=True, exist_ok=True)
        temp = full.parent / f".{full.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}"
        try:
            with open(temp, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, full)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()
            raise
        _fsync_dir(full.parent)

    async def put_content(self, path: str, data: bytes) -> None:
        await to_thread.run_sync(self._put, self._full(path), data)

    async def reader(self, path: str, offset: int = 0) -> AsyncIterator[bytes]:
        full = self._full(path)
        try:
            handle = await to_thread.run_sync(open, full, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise PathNotFound(path) from None
        try:
            size = os.fstat(handle.fileno()).st_size
            if offset < 0 or offset > size:
                raise InvalidOffset(path)
            handle.seek(offset)
            while chunk := await to_thread.run_sync(handle.read, READ_CHUNK):
                yield chunk
        finally:
            handle.close()

    async def writer(self, path: str, append: bool = False) -> FilesystemWriter:
        return await to_thread.run_sync(open_writer, self._full(path), append)

    async def stat(self, path: str) -> FileInfo:
        full = self._full(path)
        try:
            st = await self._small(full.stat)
        except (FileNotFoundError, NotADirectoryError):
            raise PathNotFound(path) from None
        is_dir = stat.S_ISDIR(st.st_mode)
        return FileInfo(path, 0 if is_dir else st.st_size, st.st_mtime, is_dir)

    def _list(self, path: str, full: Path) -> list[str]:
        try:
            names = [e.name for e in os.scandir(full) if not _is_temp(e.name)]
        except (FileNotFoundError, NotADirectoryError):
            if path == "/":
                return []
            raise PathNotFound(path) from None
        return sorted(join(path, name) for name in names)

    async def list(self, path: str) -> list[str]:
        return await to_thread.run_sync(self._list, path, self._full(path))

    def _move(self, src: Path, dst: Path) -> None:
        src.lstat()  # a missing source must not leave the destination's folders behind
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)
        _fsync_dir(dst.parent)

    async def move(self, src: str, dst: str) -> None:
        try:
            await to_thread.run_sync(self._move, self._full(src), self._full(dst))
        except (FileNotFoundError, NotADirectoryError):
            raise PathNotFound(src) from None

    def _delete(self, full: Path) -> None:
        if full.is_dir() and not full.is_symlink():
            shutil.rmtree(full)
        else:
            full.unlink()

    async def delete(self, path: str) -> None:
        try:
            await to_thread.run_sync(self._delete, self._full(path))
        except (FileNotFoundError, NotADirectoryError):
            raise PathNotFound(path) from None

    async def walk(self, path: str) -> AsyncIterator[FileInfo]:
        """Every file and folder under `path`, depth first, in lexical order."""
        full = self._full(path)
        if not await to_thread.run_sync(full.is_dir):
            if path == "/":
                return  # an empty store, as `list("/")` reports it
            raise PathNotFound(path)
        async for info in self._walk(path):
            yield info

    async def _walk(self, path: str) -> AsyncIterator[FileInfo]:
        for info in await to_thread.run_sync(self._scan, path):
            yield info
            if info.is_dir:
                async for below in self._walk(info.path):
                    yield below

    def _scan(self, path: str) -> builtins.list[FileInfo]:
        directory = self._full(path)
        infos = []
        try:
            entries = sorted(
                (e for e in os.scandir(directory) if not _is_temp(e.name)), key=lambda e: e.name
            )
        except FileNotFoundError:
            return []
        for entry in entries:
            try:
                st = entry.stat()
            except FileNotFoundError:
                continue
            is_dir = entry.is_dir()
            infos.append(
                FileInfo(join(path, entry.name), 0 if is_dir else st.st_size, st.st_mtime, is_dir)
            )
        return infos

    async def redirect_url(self, path: str, method: str) -> str | None:
        return None

    def local_path(self, path: str) -> Path | None:
        return self._full(path)

    async def close(self) -> None:
        return None

"""In-memory driver: the whole interface over a dict, for unit tests and throwaway runs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

from storage.driver import FileInfo, check_path, join
from storage.errors import InvalidOffset, PathNotFound

READ_CHUNK = 1 << 20


class _File:
    __slots__ = ("data", "mtime")

    def __init__(self, data: bytes = b"") -> None:
        self.data = bytearray(data)
        self.mtime = time.time()


class InMemoryWriter:
    def __init__(self, driver: InMemoryDriver, path: str, file: _File) -> None:
        self._driver = driver
        self._path = path
        self._file = file

    @property
    def size(self) -> int:
        return len(self._file.data)

    async def write(self, data: bytes | bytearray) -> int:
        self._file.data += data
        self._file.mtime = time.time()
        return len(data)

    async def commit(self) -> None:
        return None

    async def cancel(self) -> None:
        if self._driver.files.get(self._path) is self._file:
            del self._driver.files[self._path]

    async def close(self) -> None:
        return None


class InMemoryDriver:
    name = "inmemory"
    min_chunk_size = 1

    def __init__(self) -> None:
        self.files: dict[str, _File] = {}

    def _file(self, path: str) -> _File:
        check_path(path)
        try:
            return self.files[path]
        except KeyError:
            raise PathNotFound(path) from None

    def _is_dir(self, path: str) -> bool:
        prefix = "/" if path == "/" else path + "/"
        return any(key.startswith(prefix) for key in self.files)

    async def get_content(self, path: str) -> bytes:
        return bytes(self._file(path).data)

    async def put_content(self, path: str, data: bytes) -> None:
        check_path(path)
        self.files[path] = _File(data)

    async def reader(self, path: str, offset: int = 0) -> AsyncIterator[bytes]:
        file = self._file(path)
        if offset < 0 or offset > len(file.data):
            raise InvalidOffset(path)
        for start in range(offset, len(file.data), READ_CHUNK):
            yield bytes(file.data[start : start + READ_CHUNK])

    async def writer(self, path: str, append: bool = False) -> InMemoryWriter:
        check_path(path)
        file = self.files.get(path) if append else None
        if file is None:
            file = self.files[path] = _File()
        return InMemoryWriter(self, path, file)

    async def stat(self, path: str) -> FileInfo:
        check_path(path)
        if path in self.files:
            file = self.files[path]
            return FileInfo(path, len(file.data), file.mtime, False)
        if self._is_dir(path):
            return FileInfo(path, 0, time.time(), True)
        raise PathNotFound(path)

    def _children(self, path: str) -> list[str]:
        prefix = "/" if path == "/" else path + "/"
        names = {
            key[len(prefix) :].split("/", 1)[0] for key in self.files if key.startswith(prefix)
        }
        return sorted(join(path, name) for name in names)

    async def list(self, path: str) -> list[str]:
        check_path(path)
        children = self._children(path)
        if not children and path != "/":
            raise PathNotFound(path)
        return children

    async def move(self, src: str, dst: str) -> None:
        file = self._file(src)
        check_path(dst)
        self.files[dst] = file
        del self.files[src]

    async def delete(self, path: str) -> None:
        check_path(path)
        prefix = path + "/"
        doomed = [key for key in self.files if key == path or key.startswith(prefix)]
        if not doomed:
            raise PathNotFound(path)
        for key in doomed:
            del self.files[key]

    async def walk(self, path: str) -> AsyncIterator[FileInfo]:
        """Every file and folder under `path`, depth first, in lexical order."""
        check_path(path)
        if path != "/" and not self._is_dir(path):
            raise PathNotFound(path)
        for child in self._children(path):
            info = await self.stat(child)
            yield info
            if info.is_dir:
                async for below in self.walk(child):
                    yield below

    async def redirect_url(self, path: str, method: str) -> str | None:
        return None

    def local_path(self, path: str) -> Path | None:
        return None

    async def close(self) -> None:
        return None

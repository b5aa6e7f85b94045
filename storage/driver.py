"""The storage driver interface every backend implements, and the path rules they share."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from storage.errors import InvalidPath

_BAD_CHARS = re.compile(r"[\x00-\x1f\\]")


@dataclass(frozen=True, slots=True)
class FileInfo:
    path: str
    size: int
    mtime: float
    is_dir: bool


def check_path(path: str) -> str:
    """Return `path` if it is `/` or an absolute path of clean components, else raise."""
    if path == "/":
        return path
    if not path.startswith("/") or path.endswith("/") or _BAD_CHARS.search(path):
        raise InvalidPath(path)
    for part in path[1:].split("/"):
        if part in ("", ".", ".."):
            raise InvalidPath(path)
    return path


def join(parent: str, child: str) -> str:
    return f"{parent.rstrip('/')}/{child}"


@runtime_checkable
class FileWriter(Protocol):
    """An append-only writer. Bytes become durable on `commit`; `cancel` removes them."""

    @property
    def size(self) -> int: ...

    async def write(self, data: bytes | bytearray) -> int: ...

    async def commit(self) -> None: ...

    async def cancel(self) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class StorageDriver(Protocol):
    """Asynchronous key/value file store with directory semantics (the registry:2 model)."""

    name: str
    #: smallest chunk an upload may append without being the last one
    min_chunk_size: int

    async def get_content(self, path: str) -> bytes: ...

    async def put_content(self, path: str, data: bytes) -> None: ...

    def reader(self, path: str, offset: int = 0) -> AsyncIterator[bytes]: ...

    async def writer(self, path: str, append: bool = False) -> FileWriter: ...

    async def stat(self, path: str) -> FileInfo: ...

    async def list(self, path: str) -> list[str]: ...

    async def move(self, src: str, dst: str) -> None: ...

    async def delete(self, path: str) -> None: ...

    def walk(self, path: str) -> AsyncIterator[FileInfo]: ...

    async def redirect_url(self, path: str, method: str) -> str | None: ...

    def local_path(self, path: str) -> Path | None: ...

    async def close(self) -> None: ...

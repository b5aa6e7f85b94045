"""The filesystem writer: direct I/O through an aligned buffer, normal writes for the rest."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from storage import fswriter, writeback
from storage.fswriter import DIRECT_ALIGN, DIRECT_BUFFER, FilesystemWriter, open_writer

pytestmark = pytest.mark.anyio


def pattern(size: int, seed: int = 0) -> bytes:
    block = bytes((seed + n) % 251 for n in range(251))
    return (block * (size // len(block) + 1))[:size]


async def write_all(writer: FilesystemWriter, data: bytes, piece: int) -> None:
    for start in range(0, len(data), piece):
        chunk = data[start : start + piece]
        await writer.write(chunk if start % 2 else bytearray(chunk))


async def test_a_new_file_is_written_with_direct_io(tmp_path: Path) -> None:
    data = pattern(2 * DIRECT_BUFFER + 12345)
    writer = open_writer(tmp_path / "dir" / "data", append=False)
    assert writer._direct_fd is not None
    await write_all(writer, data, (1 << 20) + 7)
    assert writer.size == len(data)
    await writer.commit()
    assert (tmp_path / "dir" / "data").read_bytes() == data


async def test_close_writes_the_buffered_tail_and_append_continues(tmp_path: Path) -> None:
    path = tmp_path / "data"
    first, second = pattern(DIRECT_BUFFER + 100, 1), pattern(3 * DIRECT_ALIGN, 2)
    writer = open_writer(path, append=False)
    await writer.write(first)
    await writer.close()
    assert path.read_bytes() == first

    appender = open_writer(path, append=True)
    assert appender.size == len(first)
    assert appender._direct_fd is None  # an unaligned start is written normally
    await appender.write(second)
    await appender.commit()
    assert path.read_bytes() == first + second


async def test_an_aligned_append_uses_direct_io(tmp_path: Path) -> None:
    path = tmp_path / "data"
    first, second = pattern(2 * DIRECT_ALIGN, 3), pattern(DIRECT_BUFFER + 1, 4)
    path.write_bytes(first)
    writer = open_writer(path, append=True)
    assert writer._direct_fd is not None
    await writer.write(second)
    await writer.commit()
    assert path.read_bytes() == first + second


async def test_truncates_when_not_appending(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(b"old content")
    writer = open_writer(path, append=False)
    assert writer.size == 0
    await writer.write(b"new")
    await writer.commit()
    assert path.read_bytes() == b"new"


async def test_refused_direct_write_falls_back_to_normal_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = open_writer(tmp_path / "data", append=False)
    direct_fd = writer._direct_fd
    real_pwrite = os.pwrite

    def refusing(fd: int, data: memoryview, offset: int) -> int:
        if fd == direct_fd:
            raise OSError(errno.EINVAL, "direct I/O refused")
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(fswriter.os, "pwrite", refusing)
    data = pattern(3 * DIRECT_BUFFER + 5, 5)
    await write_all(writer, data, 3 << 20)
    assert writer._direct_fd is None
    await writer.commit()
    assert (tmp_path / "data").read_bytes() == data


async def test_normal_writes_start_the_writeback_of_each_step(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[int, int]] = []

    def recording(fd: int, offset: int, length: int) -> None:
        started.append((offset, length))
        writeback.start_writeback(fd, offset, length)

    monkeypatch.setattr(fswriter, "WRITEBACK_STEP", 1000)
    monkeypatch.setattr(fswriter, "start_writeback", recording)
    path = tmp_path / "data"
    path.write_bytes(b"x")  # an unaligned start: no direct I/O
    writer = open_writer(path, append=True)
    for _ in range(5):
        await writer.write(b"a" * 300)
    assert started == [(1, 1200)]
    assert path.stat().st_size == 1501  # written through, before the commit
    await writer.commit()
    assert path.read_bytes() == b"x" + b"a" * 1500


async def test_cancel_removes_the_file(tmp_path: Path) -> None:
    writer = open_writer(tmp_path / "data", append=False)
    await writer.write(pattern(DIRECT_BUFFER + 3))
    await writer.cancel()
    assert not (tmp_path / "data").exists()

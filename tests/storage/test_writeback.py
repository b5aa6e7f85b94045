"""Early writeback: a filesystem writer hands each written step to the disk before commit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from storage import writeback
from storage.filesystem import FilesystemDriver

pytestmark = pytest.mark.anyio


def test_sync_file_range_is_found_on_linux() -> None:
    assert (writeback._sync_file_range is not None) == sys.platform.startswith("linux")


def test_start_writeback_on_a_written_file(tmp_path: Path) -> None:
    path = tmp_path / "data"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        os.write(fd, b"x" * 10000)
        writeback.start_writeback(fd, 0, 10000)
        writeback.start_writeback(fd, 10000, 0)
    finally:
        os.close(fd)
    assert path.read_bytes() == b"x" * 10000


def test_start_writeback_ignores_a_bad_descriptor(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "gone", os.O_WRONLY | os.O_CREAT)
    os.close(fd)
    writeback.start_writeback(fd, 0, 4096)


async def test_writer_flushes_each_step_to_the_file_before_commit(
    fs_driver: FilesystemDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[int, int]] = []
    real = writeback.start_writeback

    def recording(fd: int, offset: int, length: int) -> None:
        started.append((offset, length))
        real(fd, offset, length)

    monkeypatch.setattr("storage.filesystem.WRITEBACK_STEP", 1000)
    monkeypatch.setattr("storage.filesystem.start_writeback", recording)
    full = fs_driver.root / "upload" / "data"
    writer = await fs_driver.writer("/upload/data")
    for _ in range(5):
        await writer.write(b"a" * 300)
    assert started == [(0, 1200)]
    assert full.stat().st_size == 1200  # flushed from the buffer, visible to the kernel
    await writer.commit()
    assert full.read_bytes() == b"a" * 1500

    appender = await fs_driver.writer("/upload/data", append=True)
    await appender.write(b"b" * 1000)
    await appender.commit()
    assert started == [(0, 1200), (1500, 1000)]
    assert full.read_bytes() == b"a" * 1500 + b"b" * 1000

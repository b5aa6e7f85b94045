"""Early writeback: the disk writeback of a written range starts before the commit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from storage import writeback


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

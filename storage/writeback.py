"""Early writeback: start writing a file's dirty pages to disk while the file is still written.

A large upload otherwise leaves all its bytes dirty in the page cache until the final
`fsync`, which then waits for the whole file (about a second per GiB on a fast disk). Asking
the kernel to start the writeback of each range as it is written overlaps the disk with the
transfer, so the commit's `fsync` only waits for the last range. This does not change
durability: nothing is durable before that `fsync`, which still runs at commit.

Linux has `sync_file_range(2)` (not exposed by the `os` module); elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

#: start the writeback of every this many bytes written
WRITEBACK_STEP = 16 << 20
_SYNC_FILE_RANGE_WRITE = 2


def _load() -> Callable[[int, int, int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    function = getattr(libc, "sync_file_range", None)
    if function is None:
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


_sync_file_range = _load()


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing `length` bytes from `offset` of `fd`; do not wait.

    Failures are ignored: the commit's `fsync` reports any real write error.
    """
    if _sync_file_range is not None and length > 0:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)

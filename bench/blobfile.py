"""Blob content: written once to a temp file in blocks, hashed on the way, never held whole.

Each block is one shared random block with its first bytes replaced by (seed, block index),
so every blob of a run is unique (no dedup, no cache hits between runs) and writing a GiB
costs little more than the disk write.
"""

from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path

BLOCK = 16 << 20
_RANDOM: bytes | None = None


def _random_block() -> bytes:
    global _RANDOM
    if _RANDOM is None:
        _RANDOM = os.urandom(BLOCK)
    return _RANDOM


@dataclass(frozen=True)
class BlobFile:
    path: Path
    size: int
    digest: str

    @staticmethod
    def digest_of(data: bytes) -> str:
        return f"sha256:{hashlib.sha256(data).hexdigest()}"

    @property
    def hex(self) -> str:
        return self.digest.partition(":")[2]

    @classmethod
    def generate(cls, path: Path, size: int, seed: int) -> BlobFile:
        """Write `size` bytes unique to `seed` to `path` and return the blob with its digest."""
        base = _random_block()
        hasher = hashlib.sha256()
        with open(path, "wb") as handle:
            written, index = 0, 0
            while written < size:
                count = min(BLOCK, size - written)
                stamp = struct.pack(">QQ", seed, index)
                block = stamp[:count] + base[len(stamp) : count]
                hasher.update(block)
                handle.write(block)
                written += count
                index += 1
            handle.flush()
            os.fsync(handle.fileno())  # no writeback of it competing with the timed transfer
        return cls(path, size, f"sha256:{hasher.hexdigest()}")

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

"""Content digests (`algorithm:hex`) and a streaming hasher."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

#: supported algorithms and the length of their lowercase hex encoding
ALGORITHMS: dict[str, int] = {"sha256": 64, "sha512": 128}
DEFAULT_ALGORITHM = "sha256"

_GRAMMAR = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")


class InvalidDigest(ValueError):
    """The string is not a digest of a supported algorithm."""


@dataclass(frozen=True, slots=True)
class Digest:
    algorithm: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        if len(text) > 255 or not _GRAMMAR.match(text):
            raise InvalidDigest(f"invalid digest {text!r}")
        algorithm, _, encoded = text.partition(":")
        length = ALGORITHMS.get(algorithm)
        if length is None:
            raise InvalidDigest(f"unsupported digest algorithm {algorithm!r}")
        if len(encoded) != length or not all(c in "0123456789abcdef" for c in encoded):
            raise InvalidDigest(f"invalid {algorithm} digest {text!r}")
        return cls(algorithm, encoded)

    @classmethod
    def of(cls, data: bytes, algorithm: str = DEFAULT_ALGORITHM) -> Digest:
        return cls(algorithm, hashlib.new(algorithm, data).hexdigest())

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


class Hasher:
    """Incremental hash of one algorithm; `update` releases the GIL for large buffers."""

    __slots__ = ("_hash", "algorithm")

    def __init__(self, algorithm: str = DEFAULT_ALGORITHM) -> None:
        if algorithm not in ALGORITHMS:
            raise InvalidDigest(f"unsupported digest algorithm {algorithm!r}")
        self.algorithm = algorithm
        self._hash = hashlib.new(algorithm)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        self._hash.update(data)

    def digest(self) -> Digest:
        return Digest(self.algorithm, self._hash.hexdigest())

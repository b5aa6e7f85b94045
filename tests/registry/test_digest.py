"""Digest grammar, supported algorithms and the streaming hasher."""

from __future__ import annotations

import hashlib

import pytest

from registry.digest import ALGORITHMS, DEFAULT_ALGORITHM, Digest, Hasher, InvalidDigest

HEX256 = hashlib.sha256(b"abc").hexdigest()
HEX512 = hashlib.sha512(b"abc").hexdigest()


def test_parse_sha256() -> None:
    digest = Digest.parse(f"sha256:{HEX256}")
    assert digest == Digest("sha256", HEX256)
    assert str(digest) == f"sha256:{HEX256}"


def test_parse_sha512() -> None:
    digest = Digest.parse(f"sha512:{HEX512}")
    assert digest.algorithm == "sha512"
    assert digest.hex == HEX512


def test_digests_are_hashable_values() -> None:
    assert {Digest.parse(f"sha256:{HEX256}"), Digest("sha256", HEX256)} == {
        Digest("sha256", HEX256)
    }


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sha256",
        "sha256:",
        ":" + HEX256,
        HEX256,
        f"SHA256:{HEX256}",
        f"sha256:{HEX256.upper()}",
        f"sha256:{HEX256[:-1]}",
        f"sha256:{HEX256}0",
        f"sha256:{HEX256[:-1]}g",
        f"sha256: {HEX256}",
        f"sha256:{HEX256}\n",
        f"sha256::{HEX256}",
        f"sha256+:{HEX256}",
        f"sha512:{HEX256}",
        f"sha256:{HEX512}",
        "sha256:" + "a" * 300,
    ],
)
def test_invalid(text: str) -> None:
    with pytest.raises(InvalidDigest):
        Digest.parse(text)


@pytest.mark.parametrize(
    "text", ["md5:" + "0" * 32, "sha384:" + "0" * 96, "blake3:" + "0" * 64, "multi+part.alg:abc"]
)
def test_unsupported_algorithm(text: str) -> None:
    with pytest.raises(InvalidDigest, match="unsupported digest algorithm"):
        Digest.parse(text)


def test_grammar_allows_encoded_characters_beyond_hex() -> None:
    # the OCI grammar admits `=`, `_`, `-` and upper case in the encoded part; sha256 does not
    with pytest.raises(InvalidDigest, match="invalid sha256 digest"):
        Digest.parse("sha256:" + "A=_-" * 16)


def test_invalid_digest_is_value_error() -> None:
    assert issubclass(InvalidDigest, ValueError)


def test_of() -> None:
    assert Digest.of(b"abc") == Digest("sha256", HEX256)
    assert Digest.of(b"abc", "sha512") == Digest("sha512", HEX512)
    assert DEFAULT_ALGORITHM == "sha256"
    assert ALGORITHMS == {"sha256": 64, "sha512": 128}


@pytest.mark.parametrize("algorithm", ["sha256", "sha512"])
def test_hasher_matches_one_shot_digest(algorithm: str) -> None:
    data = bytes(range(256)) * 1000
    hasher = Hasher(algorithm)
    assert hasher.algorithm == algorithm
    for start in range(0, len(data), 4096):
        hasher.update(data[start : start + 4096])
    assert hasher.digest() == Digest.of(data, algorithm)


def test_hasher_accepts_buffers() -> None:
    hasher = Hasher()
    hasher.update(bytearray(b"a"))
    hasher.update(memoryview(b"bc"))
    assert hasher.digest() == Digest.of(b"abc")


def test_hasher_of_nothing() -> None:
    assert Hasher().digest() == Digest.of(b"")


def test_hasher_digest_can_be_taken_twice() -> None:
    hasher = Hasher()
    hasher.update(b"ab")
    assert hasher.digest() == Digest.of(b"ab")
    hasher.update(b"c")
    assert hasher.digest() == Digest.of(b"abc")


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "SHA256", ""])
def test_hasher_unsupported_algorithm(algorithm: str) -> None:
    with pytest.raises(InvalidDigest):
        Hasher(algorithm)

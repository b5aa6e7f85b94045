"""bcrypt hashing of passwords and robot secrets."""

from __future__ import annotations

import pytest

from auth.passwords import WeakPassword, hash_password, new_secret, verify_password


def test_hash_and_verify() -> None:
    hashed = hash_password("correct horse", cost=4)
    assert hashed.startswith("$2b$04$")
    assert verify_password("correct horse", hashed)
    assert not verify_password("wrong horse", hashed)


def test_weak_and_overlong_passwords_are_refused() -> None:
    with pytest.raises(WeakPassword):
        hash_password("short", cost=4)
    with pytest.raises(WeakPassword):
        hash_password("x" * 73, cost=4)
    hashed = hash_password("x" * 72, cost=4)
    assert not verify_password("x" * 73, hashed)


def test_garbage_hashes_never_verify() -> None:
    assert not verify_password("anything", "")
    assert not verify_password("anything", "$1$md5$whatever")
    assert not verify_password("anything", "$2b$04$garbage")


def test_secrets_are_long_and_distinct() -> None:
    first, second = new_secret(), new_secret()
    assert first != second
    assert len(first) >= 40

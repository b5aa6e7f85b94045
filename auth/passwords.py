"""Password and robot-secret hashing (bcrypt) and secret generation.

bcrypt reads at most 72 bytes; longer passwords are refused at creation rather than silently
truncated, and never verify.
"""

from __future__ import annotations

import secrets

import bcrypt

MAX_PASSWORD_BYTES = 72
MIN_PASSWORD_LENGTH = 8


class WeakPassword(ValueError):
    """A password that cannot be stored."""


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise WeakPassword(f"a password may have at most {MAX_PASSWORD_BYTES} bytes")


def hash_password(password: str, cost: int) -> str:
    check_password(password)
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=cost)).decode()


def verify_password(password: str, hashed: str) -> bool:
    """Whether `password` matches a bcrypt hash (`$2a$`, `$2b$` or htpasswd's `$2y$`)."""
    data = password.encode()
    if len(data) > MAX_PASSWORD_BYTES or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
        return False
    try:
        return bcrypt.checkpw(data, hashed.encode())
    except ValueError:
        return False


def new_secret() -> str:
    """A robot secret: 32 random bytes, URL-safe text (43 characters)."""
    return secrets.token_urlsafe(32)

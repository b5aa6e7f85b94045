"""Token keys: the signing key, and the public keys tokens are verified with.

The signing key comes from `auth.token.privatekey` (a PEM file, the same on every instance),
or, when none is configured, is generated once and kept in PostgreSQL (`auth_keys`) so every
instance signs and verifies with the same pair. The `kid` header is the RFC 7638 JWK
thumbprint of the public key. Only asymmetric algorithms exist here: ES256 for P-256 keys,
RS256 for RSA keys; a key never verifies under any other algorithm.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey


class InvalidKey(ValueError):
    """A key file or PEM text that cannot be used for tokens."""


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8 or 1, "big")
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def algorithm_of(key: PublicKey) -> str:
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < 2048:
            raise InvalidKey("RSA keys need at least 2048 bits")
        return "RS256"
    if isinstance(key.curve, ec.SECP256R1):
        return "ES256"
    raise InvalidKey(f"unsupported curve {key.curve.name}; use P-256 or RSA")


def key_id(key: PublicKey) -> str:
    """The RFC 7638 thumbprint of the public key (base64url of SHA-256 of its JWK)."""
    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        jwk: dict[str, str] = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
    else:
        point = key.public_numbers()
        size = (key.curve.key_size + 7) // 8

        def coordinate(value: int) -> str:
            return base64.urlsafe_b64encode(value.to_bytes(size, "big")).decode().rstrip("=")

        jwk = {"crv": "P-256", "kty": "EC", "x": coordinate(point.x), "y": coordinate(point.y)}
    canonical = json.dumps(jwk, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(hashlib.sha256(canonical).digest()).decode().rstrip("=")


@dataclass(frozen=True)
class VerifyKey:
    kid: str
    algorithm: str
    key: PublicKey

    @classmethod
    def of(cls, key: PublicKey) -> VerifyKey:
        return cls(key_id(key), algorithm_of(key), key)


@dataclass(frozen=True)
class SigningKey:
    kid: str
    algorithm: str
    key: PrivateKey

    @classmethod
    def of(cls, key: PrivateKey) -> SigningKey:
        public = key.public_key()
        return cls(key_id(public), algorithm_of(public), key)

    @property
    def verify_key(self) -> VerifyKey:
        return VerifyKey(self.kid, self.algorithm, self.key.public_key())

    def pem(self) -> str:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()


def generate(algorithm: str) -> SigningKey:
    key: PrivateKey
    if algorithm == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    return SigningKey.of(key)


def private_key_from_pem(data: bytes) -> SigningKey:
    try:
        key: Any = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InvalidKey(f"not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise InvalidKey("the private key must be EC P-256 or RSA")
    return SigningKey.of(key)


def public_key_from_pem(data: bytes) -> VerifyKey:
    """A public key from a PEM public key or an X.509 certificate (as Harbor distributes)."""
    key: Any
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            key = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise InvalidKey(f"not a PEM public key or certificate: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise InvalidKey("the public key must be EC P-256 or RSA")
    return VerifyKey.of(key)


def read_pem(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise InvalidKey(f"cannot read key file {path}: {exc.strerror}") from None

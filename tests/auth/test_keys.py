"""Token keys: PEM loading, certificates, key ids, and the key shared through PostgreSQL."""

from __future__ import annotations

import base64
import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from auth.keys import (
    InvalidKey,
    generate,
    key_id,
    private_key_from_pem,
    public_key_from_pem,
    read_pem,
)


def certificate_pem(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "harbor-token-issuer")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_generated_keys_round_trip_through_pem() -> None:
    for algorithm in ("ES256", "RS256"):
        key = generate(algorithm)
        assert key.algorithm == algorithm
        loaded = private_key_from_pem(key.pem().encode())
        assert loaded.kid == key.kid
        assert len(key.kid) == 43


def test_public_key_from_certificate_and_from_public_pem() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    from_certificate = public_key_from_pem(certificate_pem(private))
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert from_certificate.kid == public_key_from_pem(public_pem).kid
    assert from_certificate.algorithm == "RS256"


def test_key_id_is_the_rfc7638_thumbprint() -> None:
    # RFC 7638 section 3.1 example key
    n = int.from_bytes(
        base64.urlsafe_b64decode(
            "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_"
            "BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_"
            "FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhA"
            "I4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw=="
        ),
        "big",
    )
    public = rsa.RSAPublicNumbers(65537, n).public_key()
    assert key_id(public) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_unusable_keys_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidKey):
        private_key_from_pem(b"not a key")
    with pytest.raises(InvalidKey):
        public_key_from_pem(b"-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n")
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = small.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidKey):
        private_key_from_pem(pem)
    other_curve = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(InvalidKey):
        private_key_from_pem(other_curve)
    with pytest.raises(InvalidKey):
        read_pem(str(tmp_path / "absent.pem"))

"""Token issue and verification, and every forgery or misuse we know of, each refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from auth.keys import SigningKey, generate
from auth.scope import Scope, parse_scope
from auth.tokens import InvalidToken, TokenService, TrustedIssuer

SERVICE, ISSUER = "modelyard", "modelyard"


def service(signing: SigningKey, **extra: Any) -> TokenService:
    return TokenService(
        signing,
        issuer=ISSUER,
        service=SERVICE,
        expiry=300,
        refresh_expiry=3600,
        leeway=5,
        **extra,
    )


@pytest.fixture(params=["ES256", "RS256"])
def key(request: pytest.FixtureRequest) -> SigningKey:
    return generate(request.param)


@pytest.fixture
def tokens(key: SigningKey) -> TokenService:
    return service(key)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "alice",
        "aud": SERVICE,
        "exp": now + 300,
        "nbf": now,
        "iat": now,
        "jti": "j1",
        "access": [{"type": "repository", "name": "team/a", "actions": ["pull"]}],
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: SigningKey, payload: dict[str, Any], kid: str | None = None) -> str:
    return jwt.encode(payload, key.key, algorithm=key.algorithm, headers={"kid": kid or key.kid})


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    return head + "." + b64(signature)


def test_issued_token_verifies_with_its_grant(tokens: TokenService, key: SigningKey) -> None:
    issued = tokens.issue("alice", [parse_scope("repository:team/a:pull,push")])
    header = jwt.get_unverified_header(issued.token)
    assert header["kid"] == key.kid
    assert header["alg"] == key.algorithm
    verified = tokens.verify(issued.token)
    assert verified.subject == "alice"
    assert verified.access == (Scope("repository", "team/a", frozenset({"pull", "push"})),)
    payload = jwt.decode(issued.token, options={"verify_signature": False})
    assert set(payload) == {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "access"}
    assert payload["exp"] - payload["iat"] == 300


def test_expired_token(tokens: TokenService, key: SigningKey) -> None:
    past = int(time.time()) - 3600
    token = sign(key, claims(exp=past, nbf=past - 10, iat=past - 10))
    with pytest.raises(InvalidToken, match="ExpiredSignature"):
        tokens.verify(token)


def test_small_clock_skew_is_tolerated(tokens: TokenService, key: SigningKey) -> None:
    now = int(time.time())
    tokens.verify(sign(key, claims(nbf=now + 2, iat=now + 2)))


def test_not_yet_valid_token(tokens: TokenService, key: SigningKey) -> None:
    future = int(time.time()) + 600
    with pytest.raises(InvalidToken, match="ImmatureSignature"):
        tokens.verify(sign(key, claims(nbf=future, iat=future - 600)))


def test_token_signed_by_another_key_with_our_kid(tokens: TokenService, key: SigningKey) -> None:
    other = generate(key.algorithm)
    with pytest.raises(InvalidToken, match="InvalidSignature"):
        tokens.verify(sign(other, claims(), kid=key.kid))


def test_token_with_an_unknown_kid(tokens: TokenService, key: SigningKey) -> None:
    with pytest.raises(InvalidToken, match="no key"):
        tokens.verify(sign(generate(key.algorithm), claims()))


def test_tampered_claims(tokens: TokenService, key: SigningKey) -> None:
    header, _payload, signature = sign(key, claims()).split(".")
    changed = claims(access=[{"type": "repository", "name": "team/a", "actions": ["push"]}])
    tampered = f"{header}.{b64(json.dumps(changed).encode())}.{signature}"
    with pytest.raises(InvalidToken):
        tokens.verify(tampered)
    other_sub = f"{header}.{b64(json.dumps(claims(sub='root')).encode())}.{signature}"
    with pytest.raises(InvalidToken):
        tokens.verify(other_sub)


def test_wrong_audience(tokens: TokenService, key: SigningKey) -> None:
    with pytest.raises(InvalidToken, match="InvalidAudience"):
        tokens.verify(sign(key, claims(aud="other-registry")))


def test_wrong_issuer(tokens: TokenService, key: SigningKey) -> None:
    with pytest.raises(InvalidToken, match="untrusted issuer"):
        tokens.verify(sign(key, claims(iss="evil")))


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"])
def test_missing_claims(tokens: TokenService, key: SigningKey, claim: str) -> None:
    payload = claims()
    del payload[claim]
    with pytest.raises(InvalidToken):
        tokens.verify(sign(key, payload))


def test_malformed_access_claims(tokens: TokenService, key: SigningKey) -> None:
    for access in ["team/a", [{"type": "repository"}], [["repository", "team/a", "pull"]]]:
        with pytest.raises(InvalidToken):
            tokens.verify(sign(key, claims(access=access)))
    with pytest.raises(InvalidToken):
        tokens.verify(sign(key, claims(sub=7)))


def test_alg_none(tokens: TokenService, key: SigningKey) -> None:
    for alg in ("none", "None", "NONE"):
        token = forge({"alg": alg, "typ": "JWT", "kid": key.kid}, claims())
        with pytest.raises(InvalidToken):
            tokens.verify(token)
        with pytest.raises(InvalidToken):
            tokens.verify(token.rstrip("."))


def test_hs256_signed_with_the_public_key(tokens: TokenService, key: SigningKey) -> None:
    """Algorithm confusion: an HMAC over the token with the public key PEM as the secret."""
    public_pem = key.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    for alg, digest in (("HS256", hashlib.sha256), ("HS512", hashlib.sha512)):
        unsigned = forge({"alg": alg, "typ": "JWT", "kid": key.kid}, claims()).rsplit(".", 1)[0]
        signature = hmac.new(public_pem, unsigned.encode(), digest).digest()
        with pytest.raises(InvalidToken):
            tokens.verify(unsigned + "." + b64(signature))


def test_algorithm_swapped_in_header(tokens: TokenService, key: SigningKey) -> None:
    _header, payload, signature = sign(key, claims()).split(".")
    other = "RS256" if key.algorithm == "ES256" else "ES256"
    swapped = b64(json.dumps({"alg": other, "typ": "JWT", "kid": key.kid}).encode())
    with pytest.raises(InvalidToken):
        tokens.verify(f"{swapped}.{payload}.{signature}")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "abc",
        "a.b.c",
        "...",
        "eyJhbGciOiJFUzI1NiJ9..",
        "eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln",
        base64.b64encode(b"\xff" * 40).decode(),
        "x" * 20000,
        "e30.e30.",
    ],
)
def test_garbage_tokens(tokens: TokenService, garbage: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(garbage)


def test_refresh_and_access_tokens_are_not_interchangeable(tokens: TokenService) -> None:
    refresh = tokens.issue_refresh("alice")
    assert tokens.verify_refresh(refresh) == "alice"
    with pytest.raises(InvalidToken, match="InvalidAudience"):
        tokens.verify(refresh)
    access = tokens.issue("alice", []).token
    with pytest.raises(InvalidToken, match="InvalidAudience"):
        tokens.verify_refresh(access)


def test_external_issuer_by_its_public_key(key: SigningKey) -> None:
    harbor = generate("RS256")
    trusted = TrustedIssuer("harbor-token-issuer", "harbor-registry", (harbor.verify_key,))
    tokens = service(key, trusted=[trusted])
    external = claims(iss="harbor-token-issuer", aud="harbor-registry", sub="bob")
    verified = tokens.verify(sign(harbor, external, kid="LIBTRUST:KID:OF:HARBOR"))
    assert verified.subject == "bob"
    assert verified.issuer == "harbor-token-issuer"
    # the external issuer's name with our key, or its key for our audience: refused
    with pytest.raises(InvalidToken):
        tokens.verify(sign(key, external))
    with pytest.raises(InvalidToken, match="InvalidAudience"):
        tokens.verify(sign(harbor, {**external, "aud": SERVICE}))
    # and it cannot mint refresh tokens
    with pytest.raises(InvalidToken, match="untrusted issuer"):
        tokens.verify_refresh(sign(harbor, {**external, "aud": f"{SERVICE}:refresh"}))

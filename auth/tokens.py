"""Issuing and verifying the registry's JSON Web Tokens (pyjwt), as distribution specifies.

Access tokens carry `iss`, `sub`, `aud` (the service), `exp`, `nbf`, `iat`, `jti` and the
`access` list of granted scopes. Refresh tokens are signed the same way for the audience
`<service>:refresh` and carry no access: they can never pass for an access token, nor an access
token for them. Verification takes the algorithm from the key (never from the token), so
`alg: none` and HMAC tokens forged with a public key are refused.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt

from auth.keys import SigningKey, VerifyKey
from auth.scope import Scope, scope_from_claim

REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"]
MAX_TOKEN_LENGTH = 16384


class InvalidToken(Exception):
    """A token that must not be honoured; the message says why (never the token itself)."""


@dataclass(frozen=True)
class TrustedIssuer:
    """Another token service whose tokens this registry accepts (e.g. Harbor's core)."""

    issuer: str
    audience: str
    keys: tuple[VerifyKey, ...]


@dataclass(frozen=True)
class Claims:
    subject: str
    issuer: str
    access: tuple[Scope, ...]
    expires: int


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_in: int
    issued_at: str


class TokenService:
    def __init__(
        self,
        signing: SigningKey,
        *,
        issuer: str,
        service: str,
        expiry: int,
        refresh_expiry: int,
        leeway: int,
        trusted: Iterable[TrustedIssuer] = (),
        verify_keys: Iterable[VerifyKey] = (),
    ) -> None:
        self.signing = signing
        self.issuer = issuer
        self.service = service
        self.expiry = expiry
        self.refresh_expiry = refresh_expiry
        self.leeway = leeway
        self.keys: dict[str, VerifyKey] = {key.kid: key for key in verify_keys}
        self.keys[signing.kid] = signing.verify_key
        self.trusted: Mapping[str, TrustedIssuer] = {entry.issuer: entry for entry in trusted}

    @property
    def refresh_audience(self) -> str:
        return f"{self.service}:refresh"

    def _sign(self, subject: str, audience: str, lifetime: int, extra: dict[str, Any]) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": subject,
            "aud": audience,
            "exp": now + lifetime,
            "nbf": now,
            "iat": now,
            "jti": secrets.token_urlsafe(16),
            **extra,
        }
        return jwt.encode(
            claims,
            self.signing.key,
            algorithm=self.signing.algorithm,
            headers={"kid": self.signing.kid, "typ": "JWT"},
        )

    def issue(self, subject: str, access: Iterable[Scope]) -> IssuedToken:
        granted = [scope.to_claim() for scope in access]
        token = self._sign(subject, self.service, self.expiry, {"access": granted})
        issued = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return IssuedToken(token, self.expiry, issued)

    def issue_refresh(self, subject: str) -> str:
        return self._sign(subject, self.refresh_audience, self.refresh_expiry, {})

    def verify(self, token: str) -> Claims:
        """The claims of a valid access token, from this registry or a trusted issuer."""
        claims, issuer = self._decode(token, refresh=False)
        raw_access = claims.get("access", [])
        if not isinstance(raw_access, list):
            raise InvalidToken("access claim is not a list")
        access = []
        for entry in raw_access:
            scope = scope_from_claim(entry)
            if scope is None:
                raise InvalidToken("malformed access entry")
            access.append(scope)
        return Claims(str(claims["sub"]), issuer, tuple(access), int(claims["exp"]))

    def verify_refresh(self, token: str) -> str:
        """The subject of a valid refresh token this registry issued."""
        claims, _ = self._decode(token, refresh=True)
        return str(claims["sub"])

    def _decode(self, token: str, *, refresh: bool) -> tuple[dict[str, Any], str]:
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("token too long")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {type(exc).__name__}") from None
        issuer = unverified.get("iss")
        candidates: list[VerifyKey]
        if issuer == self.issuer:
            own = self.keys.get(str(header.get("kid")))
            candidates = [own] if own else []
            audience = self.refresh_audience if refresh else self.service
        elif not refresh and isinstance(issuer, str) and issuer in self.trusted:
            candidates = list(self.trusted[issuer].keys)
            audience = self.trusted[issuer].audience
        else:
            raise InvalidToken("untrusted issuer")
        candidates = [key for key in candidates if key.algorithm == header.get("alg")]
        if not candidates:
            raise InvalidToken("no key for this token's kid and algorithm")
        failure = "no key verified the token"
        for key in candidates:
            try:
                decoded: dict[str, Any] = jwt.decode(
                    token,
                    key.key,
                    algorithms=[key.algorithm],
                    audience=audience,
                    issuer=issuer,
                    leeway=self.leeway,
                    options={"require": REQUIRED_CLAIMS, "strict_aud": False},
                )
            except jwt.PyJWTError as exc:
                failure = type(exc).__name__
                continue
            if not isinstance(decoded.get("sub"), str):
                raise InvalidToken("sub is not a string")
            return decoded, issuer
        raise InvalidToken(failure)

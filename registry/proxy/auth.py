"""Credentials for an upstream: anonymous, basic, a static bearer token, or the Docker token
flow (`401` with `WWW-Authenticate: Bearer realm=...,service=...,scope=...`, a token request to
the realm with the basic credentials, then the bearer). Tokens are reused per scope until they
expire."""

from __future__ import annotations

import base64
import logging
import re
import time
from dataclasses import dataclass

import httpx

from registry.config import UpstreamConfig

log = logging.getLogger("modelyard.proxy")

_PARAM = re.compile(r'([a-zA-Z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))')
#: tokens are renewed this many seconds before they expire
EXPIRY_MARGIN = 10.0
#: lifetime of a token whose response names none (distribution's token spec default)
DEFAULT_EXPIRES_IN = 60


class AuthFailed(Exception):
    """The token service refused the credentials or could not be reached."""


@dataclass(frozen=True, slots=True)
class Challenge:
    scheme: str
    params: dict[str, str]


def parse_challenge(header: str | None) -> Challenge | None:
    """The scheme and parameters of a `WWW-Authenticate` header."""
    if not header:
        return None
    scheme, _, rest = header.strip().partition(" ")
    params = {
        match.group(1).lower(): (match.group(2) if match.group(2) is not None else match.group(3))
        for match in _PARAM.finditer(rest)
    }
    return Challenge(scheme.lower(), params)


def scope_of(repository: str) -> str:
    return f"repository:{repository}:pull"


CATALOG_SCOPE = "registry:catalog:*"


class Authenticator:
    def __init__(self, config: UpstreamConfig, client: httpx.AsyncClient) -> None:
        self.config = config
        self.client = client
        self._tokens: dict[str, tuple[str, float]] = {}
        self._basic = False

    def _credentials(self) -> httpx.BasicAuth | None:
        if not self.config.username and not self.config.password:
            return None
        return httpx.BasicAuth(self.config.username, self.config.password)

    def _basic_header(self) -> dict[str, str]:
        pair = f"{self.config.username}:{self.config.password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}

    def headers(self, scope: str) -> dict[str, str]:
        """What to send before any challenge: the static token, a cached bearer, or basic."""
        if self.config.token:
            return {"Authorization": f"Bearer {self.config.token}"}
        cached = self._tokens.get(scope)
        if cached is not None and cached[1] > time.monotonic():
            return {"Authorization": f"Bearer {cached[0]}"}
        if self._basic:
            return self._basic_header()
        return {}

    async def answer(self, header: str | None, scope: str) -> dict[str, str] | None:
        """Headers that answer a 401 challenge, None when there is nothing more to try."""
        if self.config.token:
            return None
        challenge = parse_challenge(header)
        if challenge is None:
            return None
        if challenge.scheme == "basic":
            if self._credentials() is None or self._basic:
                return None
            self._basic = True
            return self._basic_header()
        if challenge.scheme != "bearer" or "realm" not in challenge.params:
            return None
        token = await self._token(challenge, scope)
        return {"Authorization": f"Bearer {token}"}

    async def _token(self, challenge: Challenge, scope: str) -> str:
        query = {"scope": challenge.params.get("scope") or scope}
        if "service" in challenge.params:
            query["service"] = challenge.params["service"]
        credentials = self._credentials()
        if credentials is not None:
            query["account"] = self.config.username
        try:
            response = await self.client.get(
                challenge.params["realm"],
                params=query,
                auth=credentials or httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.HTTPError as exc:
            raise AuthFailed(f"token service unreachable: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise AuthFailed(f"token service answered {response.status_code}")
        try:
            body = response.json()
            token = str(body.get("token") or body.get("access_token") or "")
            expires_in = int(body.get("expires_in") or DEFAULT_EXPIRES_IN)
        except (ValueError, AttributeError, TypeError):
            raise AuthFailed("token service answered no JSON token") from None
        if not token:
            raise AuthFailed("token service answered no token")
        lifetime = max(expires_in - EXPIRY_MARGIN, expires_in / 2)
        self._tokens[scope] = (token, time.monotonic() + lifetime)
        log.debug("upstream %s: new token for %s", self.config.name, scope)
        return token

"""The access check on every request, before routing: identify the caller, compare what the
route requires (auth/access.py) with what the caller holds, and let it through or refuse.

Refusals are OCI errors raised to the request boundary (registry/middleware.py): 401
UNAUTHORIZED for anonymous callers (no credentials, or an anonymous token) and invalid
credentials or tokens; 403 DENIED for known callers who lack the action, with the challenge
naming the scope (and `error="insufficient_scope"` for tokens) so that clients such as
oras-py fetch a token for it, as Harbor answers; 429 TOOMANYREQUESTS after too many failed
logins. Every refusal is logged with user, action and repository; credentials never are.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Sequence
from typing import Any

import asyncpg
from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from auth.access import ADMIN, ANYONE, CATALOG, LOGIN, OPEN, REPOSITORY, Requirement, requirement
from auth.identity import REQUEST_KEY, Identity
from auth.ratelimit import RateLimited
from auth.service import AuthService, LoginFailed
from auth.tokens import InvalidToken
from registry.errors import DENIED, TOOMANYREQUESTS, UNAUTHORIZED, ErrorCode, RegistryError
from registry.reference import is_valid_name

log = logging.getLogger("modelyard.auth")

_HOST = re.compile(r"(?:[A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?")
AUTH_UNAVAILABLE = ErrorCode("UNAVAILABLE", 503, "authentication is unavailable")
UNREACHABLE = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,
)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


def realm_of(service: AuthService, scope: Scope) -> str:
    if service.config.realm:
        return service.config.realm
    host = _header(scope, b"host")
    if not _HOST.fullmatch(host):
        host = "localhost"
    return f"{scope.get('scheme', 'http')}://{host}/token"


def challenge(service: AuthService, scope: Scope, wanted: str, error: str = "") -> str:
    """The `WWW-Authenticate` value for a refused request."""
    if service.config.challenge == "basic":
        return f'Basic realm="{service.config.service}"'
    parts = [f'realm="{realm_of(service, scope)}"', f'service="{service.config.service}"']
    if wanted:
        parts.append(f'scope="{wanted}"')
    if error:
        parts.append(f'error="{error}"')
    return "Bearer " + ",".join(parts)


def basic_credentials(value: str) -> tuple[str, str] | None:
    """(username, password) of a `Basic` Authorization value, None when malformed."""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except ValueError:  # binascii.Error, non-ASCII text, UnicodeDecodeError
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep and username else None


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


class AuthMiddleware:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute], enabled: bool) -> None:
        self.app = app
        self.routes = routes
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.enabled:
            await self.app(scope, receive, send)
            return
        service: AuthService | None = getattr(scope["app"].state, "auth", None)
        if service is None:
            raise RegistryError(AUTH_UNAVAILABLE, {"reason": "authentication is not ready"})
        matched = self._match(scope)
        if matched is not None:
            route_path, params = matched
            needed = requirement(route_path, scope["method"])
            if needed.kind != OPEN:
                try:
                    identity = await identify(service, scope)
                    self._check(service, scope, identity, needed, params.get("name"))
                    if needed.kind == ADMIN:
                        await _check_admin(service, scope, identity)
                except UNREACHABLE as exc:
                    log.warning("auth database unreachable: %s", type(exc).__name__)
                    raise RegistryError(
                        AUTH_UNAVAILABLE,
                        {"reason": "the account database is unreachable"},
                        headers={"Retry-After": "5"},
                    ) from None
                scope[REQUEST_KEY] = identity
        await self.app(scope, receive, send)

    def _match(self, scope: Scope) -> tuple[str, dict[str, Any]] | None:
        """The route the router will pick (the first matching path and method) and its raw
        path parameters; regular expressions only, as this runs on every request. Starlette's
        own `get_route_path` keeps the path exactly as the router sees it."""
        path = get_route_path(scope)
        method = scope["method"]
        for route in self.routes:
            if not isinstance(route, Route) or (route.methods and method not in route.methods):
                continue
            found = route.path_regex.match(path)
            if found is not None:
                return route.path, found.groupdict()
        return None

    def _check(
        self,
        service: AuthService,
        scope: Scope,
        identity: Identity,
        needed: Requirement,
        name: Any,
    ) -> None:
        if needed.kind == ANYONE:
            return
        if needed.kind in (LOGIN, ADMIN):
            if identity.anonymous:
                _refuse(service, scope, identity, "login", "", "")
            return
        if needed.kind == CATALOG:
            if not identity.has_catalog():
                _refuse(service, scope, identity, "catalog", "", "registry:catalog:*")
            return
        if needed.kind == REPOSITORY and isinstance(name, str) and is_valid_name(name):
            missing = needed.actions - identity.actions(name)
            if missing:
                wanted = f"repository:{name}:{','.join(sorted(needed.actions))}"
                _refuse(service, scope, identity, ",".join(sorted(missing)), name, wanted)


def _refuse(
    service: AuthService,
    scope: Scope,
    identity: Identity,
    action: str,
    repository: str,
    wanted: str,
) -> None:
    log.warning(
        "access denied: user=%s kind=%s action=%s repository=%s method=%s path=%s",
        identity.name or "-",
        identity.kind,
        action,
        repository or "-",
        scope["method"],
        scope["path"],
    )
    detail = {"action": action, "repository": repository} if repository else {"action": action}
    if identity.anonymous or (identity.kind == "token" and not identity.name):
        headers = {"WWW-Authenticate": challenge(service, scope, wanted)}
        raise RegistryError(UNAUTHORIZED, detail, headers=headers)
    error = "insufficient_scope" if identity.kind == "token" else ""
    headers = {"WWW-Authenticate": challenge(service, scope, wanted, error)}
    raise RegistryError(DENIED, detail, headers=headers)


async def _check_admin(service: AuthService, scope: Scope, identity: Identity) -> None:
    if not (await service.permissions_of(identity)).everything:
        _refuse(service, scope, identity, "admin", "", "")


async def identify(service: AuthService, scope: Scope) -> Identity:
    """The caller of a request from its Authorization header; raises 401 or 429."""
    authorization = _header(scope, b"authorization")
    if not authorization:
        return await service.anonymous()
    kind, _, value = authorization.partition(" ")
    if kind.lower() == "bearer":
        try:
            return service.verify_token(value.strip())
        except InvalidToken as exc:
            log.warning("token refused: %s path=%s", exc, scope["path"])
            raise _unauthorized(service, scope, "invalid token", "invalid_token") from None
    if kind.lower() == "basic":
        credentials = basic_credentials(value)
        if credentials is None:
            raise _unauthorized(service, scope, "malformed basic credentials")
        return await password_login(service, scope, *credentials)
    raise _unauthorized(service, scope, "unsupported authorization scheme")


async def password_login(
    service: AuthService, scope: Scope, username: str, password: str
) -> Identity:
    try:
        return await service.login(username, password, client_address(scope))
    except RateLimited as exc:
        log.warning("login rate limited: user=%s client=%s", username, client_address(scope))
        raise RegistryError(
            TOOMANYREQUESTS,
            {"reason": "too many failed logins", "retry_after": exc.retry_after},
            headers={"Retry-After": str(exc.retry_after)},
        ) from None
    except LoginFailed:
        raise _unauthorized(service, scope, "invalid username or password") from None


def _unauthorized(
    service: AuthService, scope: Scope, reason: str, error: str = ""
) -> RegistryError:
    return RegistryError(
        UNAUTHORIZED,
        {"reason": reason},
        headers={"WWW-Authenticate": challenge(service, scope, "", error)},
    )

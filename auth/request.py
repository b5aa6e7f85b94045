"""What handlers ask of authentication: the caller, and what the caller may see or do."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request

from auth.identity import REQUEST_KEY, Identity
from auth.rbac import PULL, Permissions, expand
from auth.service import AuthService


def service_of(request: Request) -> AuthService | None:
    """The authentication service, None when auth is off."""
    found: AuthService | None = getattr(request.app.state, "auth", None)
    return found


def identity_of(request: Request) -> Identity | None:
    """The caller the middleware identified, None when auth is off."""
    found: Identity | None = request.scope.get(REQUEST_KEY)
    return found


def may(request: Request, repository: str, action: str) -> bool:
    """Whether the caller holds `action` on `repository` (always, with auth off)."""
    identity = identity_of(request)
    return identity is None or action in identity.actions(repository)


async def permissions(request: Request) -> Permissions | None:
    """The caller's standing permissions; None when auth is off."""
    identity, service = identity_of(request), service_of(request)
    if identity is None or service is None:
        return None
    return await service.permissions_of(identity)


async def visibility(request: Request) -> Callable[[str], bool] | None:
    """A filter of the repository names the caller may pull; None when everything shows."""
    identity = identity_of(request)
    found = await permissions(request)
    if identity is None or found is None or found.everything:
        return None
    standing = found

    def visible(name: str) -> bool:
        return standing.may_see(name) or PULL in identity.actions(name)

    return visible


async def pullable(request: Request) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """(namespaces, repositories) the caller may pull; None when everything may be pulled."""
    identity = identity_of(request)
    found = await permissions(request)
    if identity is None or found is None or found.everything:
        return None
    namespaces = sorted(set(found.roles) | found.public)
    repositories = sorted(
        scope.name
        for scope in identity.token_access or ()
        if scope.type == "repository" and PULL in expand(scope.actions)
    )
    return tuple(namespaces), tuple(repositories)

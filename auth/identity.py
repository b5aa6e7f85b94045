"""Who is calling and what they may do, as the middleware attaches it to each request."""

from __future__ import annotations

from dataclasses import dataclass

from auth.rbac import Permissions, expand
from auth.scope import Scope

ANONYMOUS = ""
REQUEST_KEY = "modelyard.identity"


@dataclass(frozen=True)
class Identity:
    """A caller: `name` is empty for anonymous callers.

    `kind` is `user`, `robot`, `htpasswd`, `token` (a bearer token, which carries its own
    grant in `token_access`) or `anonymous`. Callers authenticated by password or not at all
    carry their `permissions`.
    """

    name: str
    kind: str
    permissions: Permissions | None = None
    token_access: tuple[Scope, ...] | None = None
    issuer: str = ""

    @property
    def anonymous(self) -> bool:
        return self.kind == "anonymous"

    def actions(self, repository: str) -> frozenset[str]:
        """The repository actions this caller holds on `repository` right now."""
        if self.token_access is not None:
            found: frozenset[str] = frozenset()
            for scope in self.token_access:
                if scope.type == "repository" and scope.name == repository:
                    found |= expand(scope.actions)
            return found
        return self.permissions.actions(repository) if self.permissions else frozenset()

    def has_catalog(self) -> bool:
        if self.token_access is not None:
            return any(
                scope.type == "registry" and scope.name == "catalog" for scope in self.token_access
            )
        return not self.anonymous

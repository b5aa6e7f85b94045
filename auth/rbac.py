"""Roles and the actions they allow, per namespace.

A namespace is the first path component of a repository name: `team` for `team/model` and
`team/sub/model`, `busybox` for `busybox`. Roles grow by inclusion: reader pulls, developer
also pushes, maintainer also deletes, admin also manages the namespace's members.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

PULL, PUSH, DELETE, ALL = "pull", "push", "delete", "*"
REPOSITORY_ACTIONS = frozenset({PULL, PUSH, DELETE, ALL})

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "reader": frozenset({PULL}),
    "developer": frozenset({PULL, PUSH}),
    "maintainer": frozenset({PULL, PUSH, DELETE}),
    "admin": frozenset({PULL, PUSH, DELETE, ALL}),
}
ROLES = tuple(ROLE_ACTIONS)


def namespace_of(repository: str) -> str:
    return repository.split("/", 1)[0]


def rank(role: str) -> int:
    return ROLES.index(role)


@dataclass(frozen=True)
class Permissions:
    """What one principal may do: everything (system admin), or roles per namespace."""

    everything: bool = False
    roles: Mapping[str, str] = field(default_factory=dict)
    public: frozenset[str] = frozenset()

    def actions(self, repository: str) -> frozenset[str]:
        """The repository actions allowed on `repository`."""
        if self.everything:
            return REPOSITORY_ACTIONS
        namespace = namespace_of(repository)
        role = self.roles.get(namespace)
        allowed = ROLE_ACTIONS[role] if role else frozenset()
        if namespace in self.public:
            allowed = allowed | {PULL}
        return allowed

    def may_see(self, repository: str) -> bool:
        return PULL in self.actions(repository)

    def is_admin_of(self, namespace: str) -> bool:
        return self.everything or self.roles.get(namespace) == "admin"


def expand(actions: frozenset[str]) -> frozenset[str]:
    """`*` stands for every repository action."""
    return REPOSITORY_ACTIONS if ALL in actions else actions

"""Roles to actions, namespaces, and the public flag."""

from __future__ import annotations

from auth.rbac import Permissions, expand, namespace_of


def test_namespace_is_the_first_path_component() -> None:
    assert namespace_of("team/model") == "team"
    assert namespace_of("team/sub/model") == "team"
    assert namespace_of("busybox") == "busybox"


def test_roles_grow_by_inclusion() -> None:
    permissions = Permissions(
        roles={"r": "reader", "d": "developer", "m": "maintainer", "a": "admin"}
    )
    assert permissions.actions("r/x") == {"pull"}
    assert permissions.actions("d/x") == {"pull", "push"}
    assert permissions.actions("m/x") == {"pull", "push", "delete"}
    assert permissions.actions("a/x") == {"pull", "push", "delete", "*"}
    assert permissions.actions("other/x") == frozenset()
    assert permissions.is_admin_of("a")
    assert not permissions.is_admin_of("m")


def test_public_namespaces_add_pull_only() -> None:
    permissions = Permissions(roles={"d": "developer"}, public=frozenset({"open", "d"}))
    assert permissions.actions("open/x") == {"pull"}
    assert permissions.actions("d/x") == {"pull", "push"}
    assert permissions.may_see("open/x")
    assert not permissions.may_see("closed/x")


def test_system_admin_may_do_everything() -> None:
    everything = Permissions(everything=True)
    assert everything.actions("any/thing") == {"pull", "push", "delete", "*"}
    assert everything.is_admin_of("any")


def test_star_expands_to_every_action() -> None:
    assert expand(frozenset({"*"})) == {"pull", "push", "delete", "*"}
    assert expand(frozenset({"pull"})) == {"pull"}

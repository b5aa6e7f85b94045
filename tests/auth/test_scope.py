"""The scope grammar: examples from the token specification, and a property test."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auth.scope import InvalidScope, Scope, parse_scope, parse_scopes, scope_from_claim


def test_repository_scope() -> None:
    scope = parse_scope("repository:team/model:pull,push")
    assert scope == Scope("repository", "team/model", frozenset({"pull", "push"}))
    assert str(scope) == "repository:team/model:pull,push"


def test_registry_catalog_and_resource_class() -> None:
    assert parse_scope("registry:catalog:*") == Scope("registry", "catalog", frozenset({"*"}))
    plugin = parse_scope("repository(plugin):team/model:pull")
    assert plugin.resource_class == "plugin"
    assert str(plugin) == "repository(plugin):team/model:pull"


def test_name_with_a_port_keeps_its_colon() -> None:
    scope = parse_scope("repository:localhost:5000/team/model:pull")
    assert scope.name == "localhost:5000/team/model"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "repository",
        "repository:team/model",
        "repository::pull",
        "Repository:team/model:pull",
        "repository:team/model:pull,",
        "repository:team/model:PULL",
        "repository(:team:pull",
        "repository:team/model:pull push",
        "repository:team\x00:pull",
        "repository:" + "a" * 600 + ":pull",
    ],
)
def test_malformed_scopes_are_refused(text: str) -> None:
    with pytest.raises(InvalidScope):
        parse_scope(text)


def test_several_scopes_space_separated_and_repeated() -> None:
    found = parse_scopes(["repository:a/b:pull repository:c/d:push", "registry:catalog:*"])
    assert [str(scope) for scope in found] == [
        "repository:a/b:pull",
        "repository:c/d:push",
        "registry:catalog:*",
    ]
    with pytest.raises(InvalidScope):
        parse_scopes([" ".join(["repository:a/b:pull"] * 65)])


def test_access_claim_round_trip() -> None:
    scope = parse_scope("repository(plugin):team/model:push,pull")
    assert scope_from_claim(scope.to_claim()) == scope
    for bad in [None, [], {"type": "repository"}, {"type": 1, "name": "a", "actions": []}]:
        assert scope_from_claim(bad) is None
    assert scope_from_claim({"type": "repository", "name": "a", "actions": [1]}) is None


COMPONENT = r"[a-z0-9]+(?:[._-][a-z0-9]+)*"
NAMES = st.from_regex(rf"{COMPONENT}(?:/{COMPONENT}){{0,3}}", fullmatch=True).filter(
    lambda name: len(name) <= 255
)
ACTIONS = st.frozensets(st.sampled_from(["pull", "push", "delete", "*"]), min_size=1)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["repository", "registry"]),
    resource_class=st.sampled_from(["", "plugin"]),
    name=NAMES,
    actions=ACTIONS,
)
def test_format_then_parse_is_identity(
    kind: str, resource_class: str, name: str, actions: frozenset[str]
) -> None:
    scope = Scope(kind, name, actions, resource_class)
    assert parse_scope(str(scope)) == scope


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_parses_or_raises_invalid_scope(text: str) -> None:
    try:
        scope = parse_scope(text)
    except InvalidScope:
        return
    assert parse_scope(str(scope)) == scope

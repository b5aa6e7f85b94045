"""The scope grammar of the Docker token protocol, and the `access` claim of tokens.

A scope is `type[(class)]:name:action[,action...]`, for example `repository:team/model:pull,push`,
`registry:catalog:*` or `repository(plugin):team/model:pull`. The name may itself hold colons
(`localhost:5000/team/model`): the type ends at the first colon, the actions start after the
last. Several scopes are separated by spaces in one `scope` parameter or given as several.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

_TYPE = re.compile(r"^([a-z0-9]+)(?:\(([a-z0-9]+)\))?$")
_ACTION = re.compile(r"^(?:[a-z]+|\*)$")
MAX_SCOPES = 64
MAX_SCOPE_LENGTH = 512


class InvalidScope(ValueError):
    """A scope string that does not follow the grammar."""


@dataclass(frozen=True, slots=True)
class Scope:
    type: str
    name: str
    actions: frozenset[str]
    resource_class: str = ""

    def __str__(self) -> str:
        kind = f"{self.type}({self.resource_class})" if self.resource_class else self.type
        return f"{kind}:{self.name}:{','.join(sorted(self.actions))}"

    def to_claim(self) -> dict[str, Any]:
        """The entry of a token's `access` list."""
        claim: dict[str, Any] = {
            "type": self.type,
            "name": self.name,
            "actions": sorted(self.actions),
        }
        if self.resource_class:
            claim["class"] = self.resource_class
        return claim


def parse_scope(text: str) -> Scope:
    if len(text) > MAX_SCOPE_LENGTH or not text.isprintable() or " " in text:
        raise InvalidScope(f"invalid scope {text[:64]!r}")
    kind, sep, rest = text.partition(":")
    name, sep2, actions = rest.rpartition(":")
    match = _TYPE.match(kind)
    if not sep or not sep2 or match is None or not name:
        raise InvalidScope(f"invalid scope {text!r}")
    parsed = frozenset(actions.split(","))
    if not all(_ACTION.match(action) for action in parsed):
        raise InvalidScope(f"invalid actions in scope {text!r}")
    return Scope(match.group(1), name, parsed, match.group(2) or "")


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Every scope of the (space-separated) `scope` parameters, in order."""
    found = [parse_scope(part) for value in values for part in value.split(" ") if part]
    if len(found) > MAX_SCOPES:
        raise InvalidScope(f"more than {MAX_SCOPES} scopes")
    return found


def scope_from_claim(entry: Any) -> Scope | None:
    """A token's `access` entry as a Scope; None when it is malformed."""
    if not isinstance(entry, dict):
        return None
    kind, name, actions = entry.get("type"), entry.get("name"), entry.get("actions")
    resource_class = entry.get("class", "")
    if not (isinstance(kind, str) and isinstance(name, str) and isinstance(actions, list)):
        return None
    if not isinstance(resource_class, str) or not all(isinstance(a, str) for a in actions):
        return None
    return Scope(kind, name, frozenset(actions), resource_class)

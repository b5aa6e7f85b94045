"""Semantic versions for ordering model versions (`v` prefix and build metadata allowed)."""

from __future__ import annotations

import re
from typing import NamedTuple

_SEMVER = re.compile(
    r"^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+[0-9A-Za-z.-]+)?$"
)
_MAX = 2**63 - 1


class SemVer(NamedTuple):
    major: int
    minor: int
    patch: int
    prerelease: str | None


def parse_semver(text: str | None) -> SemVer | None:
    """The version's parts, or None when it is not a semantic version."""
    if not text:
        return None
    match = _SEMVER.fullmatch(text.strip())
    if match is None:
        return None
    major, minor, patch = (int(match.group(i)) for i in (1, 2, 3))
    if max(major, minor, patch) > _MAX:
        return None
    return SemVer(major, minor, patch, match.group(4))

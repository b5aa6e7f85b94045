"""Ordering the tagged versions of a repository: semantic versions first, by precedence.

A tag's version is the tag itself when it is a semantic version (`1.2.0`, `v1.2.0`), else the
version its model declares (ModelPack descriptor.version, Kitfile package.version, ...) when
that is one, else none. Versions with a semantic version come first, highest precedence
first (SemVer 2.0.0 section 11: 1.10.0 > 1.9.0 > 1.9.0-rc.2 > 1.9.0-rc.1 > 1.9.0-alpha);
the rest follow, most recently tagged first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from registry.index.semver import SemVer, parse_semver

PrereleaseKey = tuple[tuple[int, int, str], ...]
PrecedenceKey = tuple[int, int, int, int, PrereleaseKey]


def precedence(version: SemVer) -> PrecedenceKey:
    """A sort key that orders semantic versions by SemVer precedence (ascending)."""
    identifiers: PrereleaseKey = ()
    if version.prerelease is not None:
        identifiers = tuple(
            (0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in version.prerelease.split(".")
        )
    release = 1 if version.prerelease is None else 0
    return (version.major, version.minor, version.patch, release, identifiers)


@dataclass(frozen=True)
class TaggedVersion:
    """One tag of a repository, with the semantic version it stands for, if any."""

    tag: str
    tagged_at: datetime
    semver_text: str | None
    semver: SemVer | None
    row: Any  # the database row of the tagged manifest

    @property
    def prerelease(self) -> bool:
        return self.semver is not None and self.semver.prerelease is not None


def tagged_version(tag: str, tagged_at: datetime, declared: str | None, row: Any) -> TaggedVersion:
    for text in (tag, declared):
        parsed = parse_semver(text)
        if parsed is not None:
            return TaggedVersion(tag, tagged_at, text, parsed, row)
    return TaggedVersion(tag, tagged_at, None, None, row)


def _precedence(version: TaggedVersion) -> PrecedenceKey:
    return precedence(version.semver) if version.semver is not None else (0, 0, 0, 0, ())


def ordered(versions: Sequence[TaggedVersion]) -> list[TaggedVersion]:
    """Semantic versions by precedence, highest first (ties: newest tag first, then by tag
    name); then the others, newest tag first (ties by tag name)."""
    semantic = [v for v in versions if v.semver is not None]
    other = [v for v in versions if v.semver is None]
    semantic.sort(key=lambda v: v.tag)
    semantic.sort(key=lambda v: v.tagged_at, reverse=True)
    semantic.sort(key=_precedence, reverse=True)
    other.sort(key=lambda v: v.tag)
    other.sort(key=lambda v: v.tagged_at, reverse=True)
    return semantic + other


def latest(versions: Sequence[TaggedVersion], prerelease: bool = False) -> TaggedVersion | None:
    """The highest release by SemVer precedence; pre-releases count when `prerelease` is set
    or when there is no release. With no semantic version at all, the newest tag."""
    ranked = ordered(versions)
    semantic = [v for v in ranked if v.semver is not None]
    releases = semantic if prerelease else [v for v in semantic if not v.prerelease]
    for group in (releases, semantic, ranked):
        if group:
            return group[0]
    return None

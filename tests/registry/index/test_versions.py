"""Version ordering: SemVer 2.0.0 precedence, then push time (pure, no database)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from registry.index.semver import parse_semver
from registry.index.versions import (
    PrecedenceKey,
    TaggedVersion,
    latest,
    ordered,
    precedence,
    tagged_version,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_precedence_follows_the_semver_spec_example() -> None:
    spec = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.9.0-rc.1",
        "1.9.0",
        "1.10.0",
        "2.0.0",
    ]
    shuffled = spec[:]
    random.Random(7).shuffle(shuffled)

    def key(text: str) -> PrecedenceKey:
        parsed = parse_semver(text)
        assert parsed is not None
        return precedence(parsed)

    assert sorted(shuffled, key=key) == spec


def version(tag: str, minutes: int, declared: str | None = None) -> TaggedVersion:
    return tagged_version(tag, T0 + timedelta(minutes=minutes), declared, {"tag": tag})


def test_semver_first_then_push_time() -> None:
    versions = [
        version("1.10.0", 0),
        version("exp", 1),
        version("1.9.0-rc.1", 2),
        version("1.9.0", 3),
        version("nightly", 4),
        version("v1.8.0", 5),
    ]
    assert [v.tag for v in ordered(versions)] == [
        "1.10.0",
        "1.9.0",
        "1.9.0-rc.1",
        "v1.8.0",
        "nightly",
        "exp",
    ]


def test_equal_versions_newest_tag_first() -> None:
    versions = [version("1.0.0", 0), version("latest", 5, "1.0.0"), version("v1.0.0", 5)]
    assert [v.tag for v in ordered(versions)] == ["latest", "v1.0.0", "1.0.0"]


def test_declared_version_when_the_tag_is_none() -> None:
    found = version("latest", 0, "2.1.0-beta+build.5")
    assert found.semver_text == "2.1.0-beta+build.5"
    assert found.prerelease
    assert version("main", 0, "3.1").semver is None


def test_latest() -> None:
    assert latest([]) is None
    mixed = [version("2.0.0-rc.1", 3), version("1.0.0", 0), version("edge", 9)]
    found = latest(mixed)
    assert found is not None
    assert found.tag == "1.0.0"
    found = latest(mixed, prerelease=True)
    assert found is not None
    assert found.tag == "2.0.0-rc.1"
    found = latest([version("0.1.0-a", 0), version("edge", 9)])
    assert found is not None
    assert found.tag == "0.1.0-a"
    found = latest([version("old", 0), version("new", 9)])
    assert found is not None
    assert found.tag == "new"

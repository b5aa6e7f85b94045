"""Repository-name and tag grammar of the OCI distribution spec."""

from __future__ import annotations

import pytest

from registry.reference import MAX_NAME_LENGTH, is_valid_name, is_valid_tag


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "library/ubuntu",
        "a/b/c/d/e",
        "my-repo",
        "my--repo",
        "my.repo",
        "my_repo",
        "my__repo",
        "0",
        "123/456",
        "a" * 255,
        "a" * 127 + "/" + "b" * 127,
        "harbor.example/library/alpine",
    ],
)
def test_valid_names(name: str) -> None:
    assert is_valid_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "A",
        "Library/ubuntu",
        "-a",
        "a-",
        ".a",
        "a.",
        "_a",
        "a_",
        "a___b",
        "a..b",
        "a._b",
        "a/",
        "/a",
        "a//b",
        "a/../b",
        "a/./b",
        "..",
        "a b",
        "a:b",
        "a@b",
        "ä",
        "a" * 256,
        "a/" * 127 + "bb",
        "a\nb",
    ],
)
def test_invalid_names(name: str) -> None:
    assert not is_valid_name(name)


def test_name_length_limit() -> None:
    assert MAX_NAME_LENGTH == 255
    assert is_valid_name("a" * MAX_NAME_LENGTH)
    assert not is_valid_name("a" * (MAX_NAME_LENGTH + 1))


@pytest.mark.parametrize(
    "tag",
    ["latest", "v1.0.0", "V1", "_", "_private", "1", "a-b_c.d", "a" * 128, "A" + "-" * 127],
)
def test_valid_tags(tag: str) -> None:
    assert is_valid_tag(tag)


@pytest.mark.parametrize(
    "tag",
    ["", "-a", ".a", "a" * 129, "a b", "a/b", "a:b", "a@b", "a+b", "é", "latest\n"],
)
def test_invalid_tags(tag: str) -> None:
    assert not is_valid_tag(tag)

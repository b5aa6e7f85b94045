"""Range header parsing for blob downloads."""

from __future__ import annotations

import pytest

from registry.errors import RegistryError
from registry.handlers.ranges import parse_range


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-9", 10, (0, 9)),
        ("bytes=0-0", 10, (0, 0)),
        ("bytes=3-5", 10, (3, 5)),
        ("bytes=3-", 10, (3, 9)),
        ("bytes=9-", 10, (9, 9)),
        ("bytes=-1", 10, (9, 9)),
        ("bytes=-4", 10, (6, 9)),
        ("bytes=-10", 10, (0, 9)),
        ("bytes=-100", 10, (0, 9)),
        ("bytes=5-100", 10, (5, 9)),
        ("BYTES=1-2", 10, (1, 2)),
        (" bytes = 1-2 ", 10, (1, 2)),
        ("bytes= 1 - 2", 10, (1, 2)),
    ],
)
def test_satisfiable(header: str | None, size: int, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=10-", 10),
        ("bytes=10-20", 10),
        ("bytes=5-4", 10),
        ("bytes=-0", 10),
        ("bytes=0-", 0),
        ("bytes=-1", 0),
        ("bytes=0-1,3-4", 10),
        ("bytes=0-1, 3-4", 10),
        ("bytes=", 10),
        ("bytes=-", 10),
        ("bytes=x-1", 10),
        ("bytes=1-x", 10),
        ("bytes=1.5-2", 10),
        ("bytes=-1-2", 10),
        ("bytes", 10),
        ("0-5", 10),
        ("items=0-5", 10),
        ("", 10),
    ],
)
def test_unsatisfiable_or_malformed(header: str, size: int) -> None:
    with pytest.raises(RegistryError) as caught:
        parse_range(header, size)
    error = caught.value
    assert error.status == 416
    assert error.code.code == "RANGE_INVALID"
    assert error.headers == {"Content-Range": f"bytes */{size}"}
    assert error.detail == {"range": header, "size": size}

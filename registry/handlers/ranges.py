"""HTTP Range parsing for blob downloads (one byte range)."""

from __future__ import annotations

from registry.errors import RANGE_INVALID, RegistryError


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """First and last byte (inclusive) asked for, None for the whole blob.

    Multiple ranges, other units and unsatisfiable ranges are answered 416.
    """
    if header is None:
        return None
    unit, _, spec = header.strip().partition("=")
    first, dash, last = spec.strip().partition("-")
    invalid = RegistryError(
        RANGE_INVALID, {"range": header, "size": size}, headers={"Content-Range": f"bytes */{size}"}
    )
    if unit.strip().lower() != "bytes" or not dash or "," in spec:
        raise invalid
    try:
        if not first.strip():
            suffix = int(last)
            if suffix <= 0 or size == 0:
                raise invalid
            return max(size - suffix, 0), size - 1
        start = int(first)
        end = int(last) if last.strip() else size - 1
    except ValueError:
        raise invalid from None
    if start < 0 or start >= size or end < start:
        raise invalid
    return start, min(end, size - 1)

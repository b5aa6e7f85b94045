"""Keyset paging of the JSON API's lists: the page size and opaque cursors."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from registry.index.filters import DEFAULT_LIMIT, MAX_LIMIT, InvalidQuery


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def encode_cursor(values: list[Any]) -> str:
    """The cursor that resumes a list after the row whose sort key is `values`."""
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


def decode_cursor(text: str, length: int) -> list[Any]:
    """The `length` sort-key values of a cursor; InvalidQuery for anything else."""
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, TypeError):
        raise InvalidQuery("cursor", text, "not a cursor of this API") from None
    if not isinstance(values, list) or len(values) != length:
        raise InvalidQuery("cursor", text, "not a cursor of this API")
    return values


def page_limit(text: str | None) -> int:
    """The page size a `limit` parameter asks for (the default when it is absent)."""
    if text is None:
        return DEFAULT_LIMIT
    try:
        limit = int(text)
    except ValueError:
        raise InvalidQuery("limit", text, "not an integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidQuery("limit", text, f"must be between 1 and {MAX_LIMIT}")
    return limit

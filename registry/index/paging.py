"""Keyset paging of the JSON API's lists: the page size and opaque cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from registry.index.filters import DEFAULT_LIMIT, InvalidQuery, parse_limit


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
    return DEFAULT_LIMIT if text is None else parse_limit(text)


def page_of(
    rows: list[Any],
    limit: int,
    item: Callable[[Any], dict[str, Any]],
    sort_key: Callable[[Any], list[Any]],
) -> Page:
    """The page of rows fetched with `LIMIT limit + 1`: the extra row, when there is one,
    says that more follow, and the last row's `sort_key` becomes the cursor."""
    shown = rows[:limit]
    next_cursor = encode_cursor(sort_key(shown[-1])) if len(rows) > limit else None
    return Page([item(row) for row in shown], next_cursor)

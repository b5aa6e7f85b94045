"""OCI error codes of the pull-through path (distribution's `UNAVAILABLE`)."""

from __future__ import annotations

from registry.errors import ErrorCode

UPSTREAM_UNAVAILABLE = ErrorCode("UNAVAILABLE", 502, "upstream registry unavailable")
UPSTREAM_INVALID = ErrorCode(
    "UNAVAILABLE", 502, "upstream registry sent content that does not match its digest"
)

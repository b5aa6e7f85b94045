"""The normalized record that every config extractor produces, one per manifest."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

FAMILIES = frozenset(
    {"ormb", "modelpack", "kitops", "docker-model", "oci-image", "oci-artifact", "unknown"}
)


@dataclass
class ModelRecord:
    """What Modelyard knows about one manifest, whatever tool wrote it.

    Text fields are None when the artifact does not say. `extra` keeps format-specific facts
    that have no column of their own; `parse_errors` lists every problem met on the way (a
    record is produced for any input, however malformed).
    """

    family: str = "unknown"
    name: str | None = None
    version: str | None = None
    description: str | None = None
    authors: list[str] = field(default_factory=list)
    licenses: list[str] = field(default_factory=list)
    framework: str | None = None
    model_format: str | None = None
    architecture: str | None = None
    parameter_count: int | None = None
    precision: str | None = None
    quantization: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    signature: dict[str, Any] | None = None
    hardware: dict[str, Any] | None = None
    source: dict[str, Any] | None = None
    created: datetime | None = None
    tags_hint: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    parse_errors: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict, safe for PostgreSQL jsonb and text columns.

        `created` becomes an RFC 3339 string; strings lose NUL characters and lone
        surrogates (PostgreSQL rejects both), non-finite floats become None.
        """
        return {f.name: _sanitize(getattr(self, f.name)) for f in fields(self)}


def clean_text(value: str) -> str:
    """`value` without NUL characters and with lone surrogates replaced."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


MAX_DEPTH = 64


def _sanitize(value: Any, depth: int = 0) -> Any:
    """A deep copy of `value` made of JSON types only (see ModelRecord.to_json).

    Containers nested deeper than MAX_DEPTH are replaced by a marker string.
    """
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list | tuple | set | frozenset) and depth >= MAX_DEPTH:
        return "<nested too deep>"
    if isinstance(value, dict):
        return {clean_text(str(key)): _sanitize(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_sanitize(item, depth + 1) for item in value]
    return clean_text(str(value))

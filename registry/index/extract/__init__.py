"""Turn a manifest and its config blob into one normalized ModelRecord.

Pure and dependency-free: no I/O, stdlib only. `extract_record` never raises; whatever is
wrong with its input ends up in `ModelRecord.parse_errors`.

    record = extract_record(manifest_dict, config_bytes_or_none)
    row_fields = record.to_json()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import dockermodel, generic, kitops, modelpack, ormb
from .common import artifact_type, config_media_type
from .record import FAMILIES, ModelRecord
from .values import parse_parameter_count, parse_rfc3339

__all__ = [
    "FAMILIES",
    "ModelRecord",
    "detect",
    "extract_record",
    "parse_parameter_count",
    "parse_rfc3339",
]

Extractor = Callable[[dict[str, Any], bytes | None], ModelRecord]

_EXTRACTORS: dict[str, Extractor] = {
    "ormb": ormb.extract,
    "modelpack": modelpack.extract,
    "kitops": kitops.extract,
    "docker-model": dockermodel.extract,
}


def detect(manifest: dict[str, Any]) -> str:
    """The format family of a manifest: artifactType first, then the config media type.

    Media types are compared case-insensitively and without parameters. Gives "oci-image"
    for image configs, "oci-artifact" for any other config or artifactType, and "unknown"
    when there is neither (an index, or not a manifest at all).
    """
    try:
        kind = artifact_type(manifest)
        if kind in modelpack.ARTIFACT_TYPES:
            return "modelpack"
        if kind in kitops.ARTIFACT_TYPES:
            return "kitops"
        config_type = config_media_type(manifest)
        if config_type in ormb.CONFIG_MEDIA_TYPES:
            return "ormb"
        if config_type in modelpack.CONFIG_MEDIA_TYPES:
            return "modelpack"
        if config_type in kitops.CONFIG_MEDIA_TYPES:
            return "kitops"
        if dockermodel.is_config_media_type(config_type):
            return "docker-model"
        return generic.family_of(manifest)
    except Exception:  # pragma: no cover - defensive: detection must not fail an index
        return "unknown"


def extract_record(manifest: dict[str, Any], config: bytes | None) -> ModelRecord:
    """The normalized record of `manifest` (parsed JSON) and its raw `config` blob (or None).

    Never raises: malformed JSON, wrong field types and missing fields give a record whose
    `parse_errors` say what was wrong, with `family` still set from the manifest.
    """
    family = detect(manifest)
    try:
        return _EXTRACTORS.get(family, generic.extract)(manifest, config)
    except Exception as exc:  # a bug in an extractor must not lose the record
        record = ModelRecord(family=family)
        record.parse_errors.append(f"internal error: {type(exc).__name__}: {exc}"[:500])
        return record

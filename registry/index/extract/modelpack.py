"""CNCF ModelPack (modelpack/model-spec): artifactType + config {descriptor, modelfs, config}.

Verified against modelpack/model-spec specs-go/v1/{config,mediatype,annotations}.go at HEAD
(`vnd.cncf.*`, camelCase) and at tags v0.0.1-v0.0.6 (`vnd.cnai.*`, `org.cnai.model.*`,
`diff_ids`; v0.0.6 `input_types`, `output_types`, `knowledge_cutoff`, `tool_usage`;
v0.0.1 `parameterSize` as a number; v0.0.1-v0.0.3 misspelt `puantization`). Weight layers
`.v1.gguf` / `.v1.safetensors` are docker/model-runner's extension
(pkg/distribution/modelpack/types.go). KitOps may write ModelPack artifacts and then keeps its
Kitfile as JSON in the `ml.kitops.modelkit.kitfile` manifest annotation.
"""

from __future__ import annotations

import re
from typing import Any

from . import kitops
from .common import (
    apply_annotation_fallbacks,
    capped,
    dominant_format,
    format_from_filename,
    new_record,
    read_annotations,
    read_layers,
)
from .fields import Fields, decode_config, unknown_keys
from .record import ModelRecord
from .values import parse_parameter_count, unique

ARTIFACT_TYPES = frozenset(
    {"application/vnd.cncf.model.manifest.v1+json", "application/vnd.cnai.model.manifest.v1+json"}
)
CONFIG_MEDIA_TYPES = frozenset(
    {"application/vnd.cncf.model.config.v1+json", "application/vnd.cnai.model.config.v1+json"}
)
_KINDS = ("weight", "weight.config", "doc", "code", "dataset")
LAYER_MEDIA_TYPES = frozenset(
    f"application/vnd.{ns}.model.{kind}.v1.{packing}"
    for ns in ("cncf", "cnai")
    for kind in _KINDS
    for packing in ("raw", "tar", "tar+gzip", "tar+zstd")
) | frozenset(
    {
        "application/vnd.cncf.model.weight.v1.gguf",
        "application/vnd.cncf.model.weight.v1.safetensors",
    }
)
_LAYER_RE = re.compile(
    r"application/vnd\.(?:cncf|cnai)\.model\.(?P<kind>weight\.config|weight|doc|code|dataset)"
    r"\.v1\.(?P<packing>raw|tar|tar\+gzip|tar\+zstd|gguf|safetensors)"
)
_CAPABILITY_NAMES = {
    "input_types": "inputTypes",
    "output_types": "outputTypes",
    "knowledge_cutoff": "knowledgeCutoff",
    "tool_usage": "toolUsage",
}
_CAPABILITY_LISTS = ("inputTypes", "outputTypes", "languages")
_CAPABILITY_FLAGS = ("reasoning", "toolUsage", "reward", "embedding")


def extract(manifest: dict[str, Any], config: bytes | None) -> ModelRecord:
    record, fields, manifest = new_record("modelpack", manifest)
    names = (record.extra.get("config_media_type", ""), record.extra.get("artifact_type", ""))
    old_names = any(".cnai." in str(name).lower() for name in names)
    record.extra["spec_namespace"] = "cnai" if old_names else "cncf"
    doc = decode_config(config, fields)
    _read_descriptor(record, fields, fields.obj(doc, "descriptor", "config"))
    _read_model_config(record, fields, fields.obj(doc, "config", "config"))
    modelfs = fields.obj(doc, "modelfs", "config")
    if modelfs is not None:
        key = "diffIds" if "diffIds" in modelfs else "diff_ids"  # diff_ids before v0.0.7
        record.extra["diff_id_count"] = len(fields.array(modelfs, key, "config.modelfs"))
    if unknown := unknown_keys(doc, frozenset({"descriptor", "modelfs", "config"})):
        record.extra["unknown_fields"] = unknown
    _read_layers(record, fields, manifest)
    annotations = read_annotations(manifest, fields, "manifest")
    if annotations.get(kitops.KITFILE_ANNOTATION):
        _merge_kitfile(record, fields, annotations[kitops.KITFILE_ANNOTATION])
    apply_annotation_fallbacks(record, annotations)
    return record


def _read_descriptor(record: ModelRecord, fields: Fields, desc: dict[str, Any] | None) -> None:
    where = "config.descriptor"
    title = fields.text(desc, "title", where)
    record.name = fields.text(desc, "name", where) or title
    record.version = fields.text(desc, "version", where)
    record.description = fields.text(desc, "description", where)
    record.authors = unique(fields.texts(desc, "authors", where))
    record.licenses = unique(fields.texts(desc, "licenses", where))
    record.created = fields.time(desc, "createdAt", where)
    for key, target in (("family", "model_family"), ("vendor", "vendor")):
        if text := fields.text(desc, key, where):
            record.extra[target] = text
    if title:
        record.extra["title"] = title
    source: dict[str, Any] = {
        key: text
        for key in ("docURL", "sourceURL", "revision")
        if (text := fields.text(desc, key, where))
    }
    if datasets := unique(fields.texts(desc, "datasetsURL", where)):
        source["datasetsURL"] = datasets
    record.source = source or None


def _read_model_config(record: ModelRecord, fields: Fields, conf: dict[str, Any] | None) -> None:
    where = "config.config"
    record.architecture = fields.text(conf, "architecture", where)
    record.model_format = fields.text(conf, "format", where)
    record.precision = fields.text(conf, "precision", where)
    record.quantization = fields.text(conf, "quantization", where) or fields.text(
        conf, "puantization", where
    )
    key = "paramSize" if conf is not None and "parameterSize" not in conf else "parameterSize"
    raw = conf.get(key) if conf is not None else None
    if raw is not None:
        record.extra["param_size"] = raw
        record.parameter_count = parse_parameter_count(raw)
        if record.parameter_count is None:
            fields.error(f"{where}.{key}", f"not a parameter count: {str(raw)[:64]!r}")
    capabilities = fields.obj(conf, "capabilities", where)
    if capabilities:
        record.hardware = {"capabilities": _read_capabilities(fields, capabilities)}


def _read_capabilities(fields: Fields, raw: dict[str, Any]) -> dict[str, Any]:
    """Capabilities with camelCase names (v0.0.6 wrote snake_case) and checked types."""
    where = "config.config.capabilities"
    caps = {_CAPABILITY_NAMES.get(key, key): value for key, value in raw.items()}
    for key in _CAPABILITY_LISTS:
        if key in caps:
            caps[key] = fields.texts(caps, key, where)
    for key in _CAPABILITY_FLAGS:
        if key in caps:
            caps[key] = fields.flag(caps, key, where)
    if "knowledgeCutoff" in caps:
        cutoff = fields.time(caps, "knowledgeCutoff", where)
        caps["knowledgeCutoff"] = cutoff.isoformat() if cutoff else None
    return {key: value for key, value in caps.items() if value is not None}


def _read_layers(record: ModelRecord, fields: Fields, manifest: dict[str, Any]) -> None:
    kinds: dict[str, int] = {}
    formats: list[tuple[str, int | None]] = []
    files: list[str] = []
    for layer in read_layers(manifest, fields):
        match = _LAYER_RE.fullmatch(layer.media_type)
        kind = match["kind"] if match else "other"
        kinds[kind] = kinds.get(kind, 0) + 1
        if layer.filepath:
            files.append(layer.filepath)
        if match and kind == "weight":
            packing = match["packing"]
            found = packing if packing in ("gguf", "safetensors") else None
            if found := found or format_from_filename(layer.filepath):
                formats.append((found, layer.size))
    record.extra["layer_kinds"] = kinds
    record.extra["weight_layers"] = kinds.get("weight", 0)
    if formats:
        record.extra["weight_formats"] = sorted({name for name, _ in formats})
    record.model_format = record.model_format or dominant_format(formats)
    capped(files, record, "files")


def _merge_kitfile(record: ModelRecord, fields: Fields, value: str) -> None:
    """Fill what the ModelPack config left empty from the Kitfile annotation."""
    kit = ModelRecord(family="kitops")
    kitops.apply_kitfile(
        kit, kitops.kitfile_from_annotation(value, fields), fields, kitops.KITFILE_WHERE
    )
    record.extra["packer"] = "kitops"
    record.name = record.name or kit.name
    record.version = record.version or kit.version
    record.description = record.description or kit.description
    record.authors = record.authors or kit.authors
    record.licenses = record.licenses or kit.licenses
    record.framework = record.framework or kit.framework
    record.model_format = record.model_format or kit.model_format
    record.hyperparameters = record.hyperparameters or kit.hyperparameters
    record.metrics = record.metrics or kit.metrics

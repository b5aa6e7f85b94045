"""Docker model artifacts (Docker Model Runner): config {config, descriptor, rootfs}.

Verified against docker/model-runner pkg/distribution/types/config.go (media types, ConfigFile,
Config, Descriptor; v0.1 is the original single-GGUF packaging, v0.2 one layer per file with
`org.cncf.model.filepath`) and pkg/distribution/format/{format,gguf}.go (`parameters` such as
"361.82M" or, from older builds, "361.82 M"; `size` is a byte size such as "256.35MB").
"""

from __future__ import annotations

import re
from typing import Any

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
from .values import parse_parameter_count

CONFIG_MEDIA_TYPE_PREFIX = "application/vnd.docker.ai.model.config."
CONFIG_MEDIA_TYPES = frozenset(
    {
        "application/vnd.docker.ai.model.config.v0.1+json",
        "application/vnd.docker.ai.model.config.v0.2+json",
    }
)
# layer media type -> kind kept in extra["layer_kinds"]
_LAYER_KINDS = {
    "application/vnd.docker.ai.gguf.v3": "gguf",
    "application/vnd.docker.ai.safetensors": "safetensors",
    "application/vnd.docker.ai.dduf": "dduf",
    "application/vnd.docker.ai.license": "license",
    "application/vnd.docker.ai.mmproj": "mmproj",
    "application/vnd.docker.ai.chat.template.jinja": "chat_template",
    "application/vnd.docker.ai.vllm.config.tar": "vllm_config",
    "application/vnd.docker.ai.dir.tar": "dir_tar",
    "application/vnd.docker.ai.model.file": "model_file",
}
LAYER_MEDIA_TYPES = frozenset(_LAYER_KINDS)
_WEIGHT_KINDS = frozenset({"gguf", "safetensors", "dduf"})
_VERSION_RE = re.compile(r"application/vnd\.docker\.ai\.model\.config\.v(?P<v>[0-9][0-9.]*)\+json")
# GGUF general.* metadata keys used when the manifest says nothing better
_GGUF_FALLBACKS = (
    ("name", "general.name"),
    ("version", "general.version"),
    ("description", "general.description"),
)


def is_config_media_type(media_type: str | None) -> bool:
    """True for v0.1, v0.2 and any later `application/vnd.docker.ai.model.config.vX+json`."""
    return bool(media_type) and _VERSION_RE.fullmatch(media_type or "") is not None


def extract(manifest: dict[str, Any], config: bytes | None) -> ModelRecord:
    record, fields, manifest = new_record("docker-model", manifest)
    version = _VERSION_RE.fullmatch(str(record.extra.get("config_media_type", "")).lower())
    if version:
        record.extra["config_version"] = version["v"]
    doc = decode_config(config, fields)
    _read_config(record, fields, fields.obj(doc, "config", "config"))
    descriptor = fields.obj(doc, "descriptor", "config")
    record.created = fields.time(descriptor, "created", "config.descriptor")
    rootfs = fields.obj(doc, "rootfs", "config")
    if rootfs is not None:
        record.extra["diff_id_count"] = len(fields.array(rootfs, "diff_ids", "config.rootfs"))
    if unknown := unknown_keys(doc, frozenset({"config", "descriptor", "rootfs"})):
        record.extra["unknown_fields"] = unknown
    _read_layers(record, fields, manifest)
    apply_annotation_fallbacks(record, read_annotations(manifest, fields, "manifest"))
    gguf = record.extra.get("gguf") or {}
    for attribute, key in _GGUF_FALLBACKS:
        if getattr(record, attribute) is None and gguf.get(key):
            setattr(record, attribute, gguf[key])
    if not record.licenses and gguf.get("general.license"):
        record.licenses = [gguf["general.license"]]
    if not record.authors and gguf.get("general.author"):
        record.authors = [gguf["general.author"]]
    return record


def _read_config(record: ModelRecord, fields: Fields, conf: dict[str, Any] | None) -> None:
    where = "config.config"
    record.model_format = fields.text(conf, "format", where)
    record.quantization = fields.text(conf, "quantization", where)
    record.architecture = fields.text(conf, "architecture", where)
    parameters = fields.text(conf, "parameters", where)
    if parameters:
        record.extra["parameters"] = parameters
        record.parameter_count = parse_parameter_count(parameters)
        if record.parameter_count is None:
            fields.error(f"{where}.parameters", f"not a parameter count: {parameters[:64]!r}")
    if size := fields.text(conf, "size", where):
        record.extra["size"] = size
    context = conf.get("context_size") if conf is not None else None
    if isinstance(context, int) and not isinstance(context, bool):
        record.extra["context_size"] = context
    elif context is not None:
        fields.error(f"{where}.context_size", "expected integer")
    for key in ("gguf", "safetensors", "diffusers"):
        if metadata := fields.string_map(conf, key, where):
            record.extra[key] = metadata


def _read_layers(record: ModelRecord, fields: Fields, manifest: dict[str, Any]) -> None:
    kinds: dict[str, int] = {}
    formats: list[tuple[str, int | None]] = []
    files: list[str] = []
    for layer in read_layers(manifest, fields):
        kind = _LAYER_KINDS.get(layer.media_type, "other")
        kinds[kind] = kinds.get(kind, 0) + 1
        if layer.filepath:
            files.append(layer.filepath)
        if kind in _WEIGHT_KINDS:
            formats.append((kind, layer.size))
        elif kind == "model_file" and format_from_filename(layer.filepath) in _WEIGHT_KINDS:
            formats.append((format_from_filename(layer.filepath) or "", layer.size))
    record.extra["layer_kinds"] = kinds
    record.extra["weight_layers"] = len(formats)
    record.model_format = record.model_format or dominant_format(formats)
    capped(files, record, "files")

"""ORMB (kleveross/ormb): the ormbfile as JSON, one tar+gzip layer of the model/ folder.

Verified against kleveross/ormb pkg/consts/consts.go (media types) and pkg/model/types.go
(Metadata, the JSON written as the config by pkg/oras/cache/cache.go saveModelConfig).
"""

from __future__ import annotations

from typing import Any

from .common import apply_annotation_fallbacks, capped, new_record, read_annotations, read_layers
from .fields import Fields, decode_config, unknown_keys
from .record import ModelRecord
from .values import to_float, unique

CONFIG_MEDIA_TYPE = "application/vnd.caicloud.model.config.v1alpha1+json"
CONTENT_LAYER_MEDIA_TYPE = "application/tar+gzip"
CONFIG_MEDIA_TYPES = frozenset({CONFIG_MEDIA_TYPE})
LAYER_MEDIA_TYPES = frozenset({CONTENT_LAYER_MEDIA_TYPE})

# Metadata's JSON fields, plus "size" which docs/spec-v1alpha1.md lists but the code lacks.
_KNOWN_FIELDS = frozenset(
    {
        "author",
        "created",
        "description",
        "tags",
        "labels",
        "format",
        "gpuType",
        "framework",
        "metrics",
        "hyperParameters",
        "signature",
        "training",
        "dataset",
        "directoryStructure",
        "size",
    }
)


def extract(manifest: dict[str, Any], config: bytes | None) -> ModelRecord:
    record, fields, manifest = new_record("ormb", manifest)
    doc = decode_config(config, fields)
    where = "config"
    author = fields.text(doc, "author", where)
    record.authors = [author] if author else []
    record.description = fields.text(doc, "description", where)
    record.created = fields.time(doc, "created", where)
    record.tags_hint = unique(fields.texts(doc, "tags", where))
    record.labels = fields.string_map(doc, "labels", where)
    record.model_format = fields.text(doc, "format", where)
    record.framework = fields.text(doc, "framework", where)
    gpu_type = fields.text(doc, "gpuType", where)
    if gpu_type:
        record.hardware = {"gpuType": gpu_type}
    _read_metrics(record, fields, doc.get("metrics"))
    _read_hyperparameters(record, fields, doc.get("hyperParameters"))
    record.signature = fields.obj(doc, "signature", where) or None
    _read_source(record, fields, doc)
    size = doc.get("size")
    if isinstance(size, int) and not isinstance(size, bool):
        record.extra["size"] = size
    entries = fields.array(doc, "directoryStructure", where)
    capped([e for e in entries if isinstance(e, str)], record, "directory_structure")
    if unknown := unknown_keys(doc, _KNOWN_FIELDS):
        record.extra["unknown_fields"] = unknown
    layers = read_layers(manifest, fields)
    record.extra["weight_layers"] = sum(
        1 for layer in layers if layer.media_type == CONTENT_LAYER_MEDIA_TYPE
    )
    apply_annotation_fallbacks(record, read_annotations(manifest, fields, "manifest"))
    return record


def _read_metrics(record: ModelRecord, fields: Fields, raw: object) -> None:
    """metrics: {group: [{name, value}]} -> "group.name": float; text values go to extra."""
    if raw is None:
        return
    if isinstance(raw, list):
        fields.error("config.metrics", "expected object of metric lists, got array")
        groups: list[tuple[str, Any]] = [("", raw)]
    elif isinstance(raw, dict):
        groups = list(raw.items())
    else:
        fields.error("config.metrics", "expected object of metric lists")
        return
    other: dict[str, Any] = {}
    for group, items in groups:
        where = f"config.metrics.{group}" if group else "config.metrics"
        if not isinstance(items, list):
            fields.error(where, "expected array of {name, value}")
            continue
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                fields.error(f"{where}[{index}]", "expected object")
                continue
            name = fields.text(item, "name", f"{where}[{index}]")
            if name is None:
                fields.error(f"{where}[{index}]", "metric without a name")
                continue
            key = f"{group}.{name}" if group else name
            number = to_float(item.get("value"))
            if number is None:
                other[key] = item.get("value")
            else:
                record.metrics[key] = number
    if other:
        record.extra["metrics_non_numeric"] = other


def _read_hyperparameters(record: ModelRecord, fields: Fields, raw: object) -> None:
    """hyperParameters: [{name, value}] -> {name: value}, values kept as ORMB wrote them."""
    if raw is None:
        return
    if isinstance(raw, dict):
        fields.error("config.hyperParameters", "expected array of {name, value}, got object")
        record.hyperparameters = dict(raw)
        return
    if not isinstance(raw, list):
        fields.error("config.hyperParameters", "expected array of {name, value}")
        return
    for index, item in enumerate(raw):
        where = f"config.hyperParameters[{index}]"
        if not isinstance(item, dict):
            fields.error(where, "expected object")
            continue
        name = fields.text(item, "name", where)
        if name is None:
            fields.error(where, "hyperparameter without a name")
            continue
        record.hyperparameters[name] = item.get("value")


def _read_source(record: ModelRecord, fields: Fields, doc: dict[str, Any]) -> None:
    """training.git and dataset.git, as {"training": {"git": {...}}, "dataset": ...}."""
    source: dict[str, Any] = {}
    for key in ("training", "dataset"):
        git = fields.obj(fields.obj(doc, key, "config"), "git", f"config.{key}")
        where = f"config.{key}.git"
        repo = {
            name: value
            for name in ("repository", "revision", "description")
            if (value := fields.text(git, name, where))
        }
        if repo:
            source[key] = {"git": repo}
    record.source = source or None

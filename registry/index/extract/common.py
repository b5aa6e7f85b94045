"""Manifest-level helpers shared by the extractors: descriptors, layers, OCI annotations."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from .fields import MAX_LIST_ITEMS, Fields
from .record import ModelRecord, clean_text
from .values import parse_rfc3339

OCI_IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_IMAGE_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

ANN_TITLE = "org.opencontainers.image.title"
ANN_VERSION = "org.opencontainers.image.version"
ANN_DESCRIPTION = "org.opencontainers.image.description"
ANN_AUTHORS = "org.opencontainers.image.authors"
ANN_LICENSES = "org.opencontainers.image.licenses"
ANN_CREATED = "org.opencontainers.image.created"
ANN_VENDOR = "org.opencontainers.image.vendor"
# OCI annotation -> key of ModelRecord.source
_SOURCE_ANNOTATIONS = {
    "org.opencontainers.image.source": "sourceURL",
    "org.opencontainers.image.url": "url",
    "org.opencontainers.image.documentation": "docURL",
    "org.opencontainers.image.revision": "revision",
}
# Layer annotations naming the file a layer holds: ModelPack (also Docker), ModelPack before
# v0.0.7, and the generic OCI title that ORAS sets.
FILEPATH_ANNOTATIONS = ("org.cncf.model.filepath", "org.cnai.model.filepath", ANN_TITLE)

_EXTENSION_FORMATS = {
    ".gguf": "gguf",
    ".safetensors": "safetensors",
    ".onnx": "onnx",
    ".dduf": "dduf",
    ".pt": "pytorch",
    ".pth": "pytorch",
    ".h5": "h5",
    ".keras": "keras",
    ".tflite": "tflite",
    ".pb": "tensorflow",
    ".mlmodel": "coreml",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".joblib": "joblib",
    ".pmml": "pmml",
    ".plan": "tensorrt",
    ".engine": "tensorrt",
    ".mar": "torchserve",
    ".nemo": "nemo",
    ".llamafile": "llamafile",
}


def media_type_of(value: object) -> str | None:
    """A media type compared the way registries compare it: lower case, no parameters."""
    if not isinstance(value, str):
        return None
    return value.split(";", 1)[0].strip().lower() or None


def config_media_type(manifest: object) -> str | None:
    config = manifest.get("config") if isinstance(manifest, dict) else None
    return media_type_of(config.get("mediaType")) if isinstance(config, dict) else None


def artifact_type(manifest: object) -> str | None:
    return media_type_of(manifest.get("artifactType")) if isinstance(manifest, dict) else None


@dataclass
class Layer:
    media_type: str
    size: int | None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def filepath(self) -> str | None:
        for key in FILEPATH_ANNOTATIONS:
            if self.annotations.get(key):
                return self.annotations[key]
        return None


def read_annotations(holder: object, fields: Fields, where: str) -> dict[str, str]:
    if not isinstance(holder, dict):
        return {}
    return fields.string_map(holder, "annotations", where)


def read_layers(manifest: dict[str, Any], fields: Fields) -> list[Layer]:
    layers: list[Layer] = []
    for index, item in enumerate(fields.array(manifest, "layers", "manifest")):
        where = f"manifest.layers[{index}]"
        if not isinstance(item, dict):
            fields.error(where, "expected object")
            continue
        size = item.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            size = None
        layers.append(
            Layer(
                media_type=media_type_of(item.get("mediaType")) or "",
                size=size,
                annotations=read_annotations(item, fields, where),
            )
        )
    return layers


def new_record(family: str, manifest: object) -> tuple[ModelRecord, Fields, dict[str, Any]]:
    """A record of `family` with the manifest facts every family keeps in `extra`.

    Returns the record, a Fields bound to its parse errors and the manifest as a dict ({}
    with an error when it is not one).
    """
    record = ModelRecord(family=family)
    fields = Fields(record.parse_errors)
    if not isinstance(manifest, dict):
        fields.error("manifest", f"expected a JSON object, got {type(manifest).__name__}")
        return record, fields, {}
    config = manifest.get("config")
    for key, value in (
        ("manifest_media_type", manifest.get("mediaType")),
        ("artifact_type", manifest.get("artifactType")),
        ("config_media_type", config.get("mediaType") if isinstance(config, dict) else None),
    ):
        if isinstance(value, str) and value.strip():
            record.extra[key] = clean_text(value.strip())
    sizes = [config.get("size") if isinstance(config, dict) else None]
    layers = manifest.get("layers")
    if isinstance(layers, list):
        record.extra["layer_count"] = len(layers)
        sizes += [layer.get("size") if isinstance(layer, dict) else None for layer in layers]
    known = [s for s in sizes if isinstance(s, int) and not isinstance(s, bool) and s >= 0]
    if known:
        record.extra["total_size"] = sum(known)
    return record, fields, manifest


def apply_annotation_fallbacks(
    record: ModelRecord, annotations: dict[str, str], where: str = "manifest.annotations"
) -> None:
    """Fill fields the config left empty from standard OCI annotations (or image labels)."""
    record.name = record.name or annotations.get(ANN_TITLE) or None
    record.version = record.version or annotations.get(ANN_VERSION) or None
    record.description = record.description or annotations.get(ANN_DESCRIPTION) or None
    if not record.authors and annotations.get(ANN_AUTHORS):
        record.authors = [annotations[ANN_AUTHORS]]
    if not record.licenses and annotations.get(ANN_LICENSES):
        record.licenses = [annotations[ANN_LICENSES]]
    if record.created is None and annotations.get(ANN_CREATED):
        record.created = parse_rfc3339(annotations[ANN_CREATED])
        if record.created is None:
            record.parse_errors.append(f"{where}.{ANN_CREATED}: not an RFC 3339 time")
    if annotations.get(ANN_VENDOR):
        record.extra.setdefault("vendor", annotations[ANN_VENDOR])
    for key, target in _SOURCE_ANNOTATIONS.items():
        if annotations.get(key):
            source = record.source if record.source is not None else {}
            source.setdefault(target, annotations[key])
            record.source = source


def format_from_filename(path: str | None) -> str | None:
    """The model format a weight file's name suggests ("model-00001.safetensors" -> ...)."""
    if not path:
        return None
    name = posixpath.basename(clean_text(path).rstrip("/")).lower()
    if name == "saved_model.pb":
        return "savedmodel"
    return _EXTENSION_FORMATS.get(posixpath.splitext(name)[1])


def dominant_format(candidates: list[tuple[str, int | None]]) -> str | None:
    """The format holding the most bytes among (format, size) pairs; ties go to the first."""
    totals: dict[str, int] = {}
    for name, size in candidates:
        totals[name] = totals.get(name, 0) + (size or 0)
    if not totals:
        return None
    return max(totals, key=lambda name: totals[name])  # max keeps the first of equal keys


def capped(items: list[Any], record: ModelRecord, key: str) -> None:
    """Store `items` in record.extra[key], at most MAX_LIST_ITEMS of them."""
    if not items:
        return
    record.extra[key] = items[:MAX_LIST_ITEMS]
    if len(items) > MAX_LIST_ITEMS:
        record.extra[f"{key}_truncated"] = len(items)

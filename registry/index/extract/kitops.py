"""KitOps ModelKits: the Kitfile as JSON config, one layer per model/part/dataset/code/doc.

Verified against kitops-ml/kitops pkg/artifact/kitfile.go (KitFile, incl. prompts[]),
pkg/lib/constants/mediatype/{mediatype,kitops,artifacttype}.go (layer grammar, config type,
artifact type), pkg/lib/constants/consts.go (annotations), and the history of
pkg/lib/constants/consts.go for the older names: `application/vnd.jozu.model.config.v1+json`
until Feb 2024 (commit 3481c2c), then briefly `application/vnd.kitops.model.config.v1+json`
(renamed in a2c23f5). Jozu-era Kitfiles held `models[]` with training/validation sections.
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
from .values import flatten_numeric, unique

CONFIG_MEDIA_TYPE = "application/vnd.kitops.modelkit.config.v1+json"
CONFIG_MEDIA_TYPES = frozenset(
    {
        CONFIG_MEDIA_TYPE,
        "application/vnd.kitops.model.config.v1+json",  # Feb 2024, a few commits
        "application/vnd.jozu.model.config.v1+json",  # before Feb 2024
    }
)
ARTIFACT_TYPES = frozenset({"application/vnd.kitops.modelkit.manifest.v1+json"})
_LAYER_KINDS = ("model", "modelpart", "dataset", "code", "docs")
_LEGACY_LAYERS = {
    "application/vnd.jozu.model.content.v1.tar+gzip": "model",
    "application/vnd.jozu.dataset.content.v1.tar+gzip": "dataset",
    "application/vnd.jozu.model.code.v1.tar+gzip": "code",
    "application/vnd.kitops.model.content.v1.tar+gzip": "model",
    "application/vnd.kitops.dataset.content.v1.tar+gzip": "dataset",
    "application/vnd.kitops.model.code.v1.tar+gzip": "code",
}
LAYER_MEDIA_TYPES = frozenset(
    f"application/vnd.kitops.modelkit.{kind}.v1.{packing}"
    for kind in _LAYER_KINDS
    for packing in ("tar", "tar+gzip", "tar+zstd", "raw")
) | frozenset(_LEGACY_LAYERS)
_LAYER_RE = re.compile(r"application/vnd\.kitops\.modelkit\.(?P<kind>\w+)\.v1\.\w+(?:\+\w+)?")

KITFILE_ANNOTATION = "ml.kitops.modelkit.kitfile"
CLI_VERSION_ANNOTATION = "ml.kitops.modelkit.cli-version"
LAYER_SUBTYPE_ANNOTATION = "ml.kitops.modelkit.layer-subtype"
KITFILE_WHERE = f"manifest.annotations.{KITFILE_ANNOTATION}"
_KNOWN_FIELDS = frozenset(
    {"manifestVersion", "package", "model", "models", "code", "datasets", "docs", "prompts"}
)


def extract(manifest: dict[str, Any], config: bytes | None) -> ModelRecord:
    record, fields, manifest = new_record("kitops", manifest)
    annotations = read_annotations(manifest, fields, "manifest")
    where = "config"
    if config is None and annotations.get(KITFILE_ANNOTATION):
        where = KITFILE_WHERE
        doc = kitfile_from_annotation(annotations[KITFILE_ANNOTATION], fields)
    else:
        doc = decode_config(config, fields)
    apply_kitfile(record, doc, fields, where)
    if unknown := unknown_keys(doc, _KNOWN_FIELDS):
        record.extra["unknown_fields"] = unknown
    if annotations.get(CLI_VERSION_ANNOTATION):
        record.extra["cli_version"] = annotations[CLI_VERSION_ANNOTATION]
    kinds: dict[str, int] = {}
    files: list[str] = []
    for layer in read_layers(manifest, fields):
        match = _LAYER_RE.fullmatch(layer.media_type)
        kind = match["kind"] if match else _LEGACY_LAYERS.get(layer.media_type, "other")
        if layer.annotations.get(LAYER_SUBTYPE_ANNOTATION) == "prompt":
            kind = "prompt"
        kinds[kind] = kinds.get(kind, 0) + 1
        if layer.filepath:
            files.append(layer.filepath)
    record.extra["layer_kinds"] = kinds
    record.extra["weight_layers"] = kinds.get("model", 0) + kinds.get("modelpart", 0)
    capped(files, record, "files")
    apply_annotation_fallbacks(record, annotations)
    return record


def kitfile_from_annotation(value: str, fields: Fields) -> dict[str, Any]:
    """The Kitfile KitOps stores as JSON in the ml.kitops.modelkit.kitfile annotation."""
    return decode_config(value.encode("utf-8", "replace"), fields, where=KITFILE_WHERE)


def apply_kitfile(record: ModelRecord, doc: dict[str, Any], fields: Fields, where: str) -> None:
    """Fill `record` from a Kitfile document (current or Jozu-era)."""
    package = fields.obj(doc, "package", where)
    model_where = f"{where}.model"
    model = fields.obj(doc, "model", where)
    legacy = model is None and doc.get("models") is not None
    if legacy:
        models = fields.array(doc, "models", where)
        record.extra["models_count"] = len(models)
        model_where = f"{where}.models[0]"
        model = models[0] if models and isinstance(models[0], dict) else None
    pkg_where = f"{where}.package"
    pkg = {key: fields.text(package, key, pkg_where) for key in ("name", "version", "description")}
    mdl = {
        key: fields.text(model, key, model_where)
        for key in ("name", "version", "description", "path", "framework", "format")
    }
    record.name = pkg["name"] or mdl["name"]
    record.version = pkg["version"] or mdl["version"]
    record.description = pkg["description"] or mdl["description"]
    record.authors = unique(fields.texts(package, "authors", pkg_where))
    record.framework = mdl["framework"]
    if manifest_version := fields.text(doc, "manifestVersion", where):
        record.extra["manifest_version"] = manifest_version
    if model_path := mdl["path"]:
        record.extra["model_path"] = model_path
    if mdl["name"] and mdl["name"] != record.name:
        record.extra["model_name"] = mdl["name"]
    parts = _entries(fields, model, "parts", model_where, ("name", "path", "license", "type"))
    capped(parts, record, "parts")
    record.model_format = (
        mdl["format"]
        or format_from_filename(model_path)
        or dominant_format(
            [(f, None) for part in parts if (f := format_from_filename(part.get("path")))]
        )
    )
    parameters = model.get("parameters") if model else None
    if isinstance(parameters, dict):
        record.hyperparameters = dict(parameters)
    elif parameters is not None:
        record.hyperparameters = {"parameters": parameters}
    licenses = [
        fields.text(package, "license", pkg_where),
        fields.text(model, "license", model_where),
    ]
    licenses += [part.get("license") for part in parts]
    for key, keep in (
        ("datasets", ("name", "path", "description", "license")),
        ("code", ("path", "description", "license")),
        ("docs", ("path", "description")),
        ("prompts", ("path", "description")),
    ):
        entries = _entries(fields, doc, key, where, keep)
        capped(entries, record, key)
        licenses += [entry.get("license") for entry in entries]
    record.licenses = unique([text for text in licenses if isinstance(text, str)])
    if legacy and model is not None:
        _apply_legacy_model(record, fields, model, model_where)


def _entries(
    fields: Fields, parent: dict[str, Any] | None, key: str, where: str, keep: tuple[str, ...]
) -> list[dict[str, str]]:
    """An array of Kitfile objects reduced to their string fields named in `keep`."""
    out: list[dict[str, str]] = []
    for index, item in enumerate(fields.array(parent, key, where)):
        if not isinstance(item, dict):
            fields.error(f"{where}.{key}[{index}]", "expected object")
            continue
        entry = {
            name: text
            for name in keep
            if (text := fields.text(item, name, f"{where}.{key}[{index}]"))
        }
        out.append(entry)
    return out


def _apply_legacy_model(
    record: ModelRecord, fields: Fields, model: dict[str, Any], where: str
) -> None:
    """Jozu-era models[]: training.{dataset,parameters}, validation.{dataset,metrics}."""
    training = fields.obj(model, "training", where)
    validation = fields.obj(model, "validation", where)
    parameters = fields.obj(training, "parameters", f"{where}.training")
    if parameters and not record.hyperparameters:
        record.hyperparameters = dict(parameters)
    metrics = fields.obj(validation, "metrics", f"{where}.validation")
    if metrics:
        record.metrics, other = flatten_numeric(metrics)
        if other:
            record.extra["metrics_non_numeric"] = other
    source = {
        name: text
        for name, section, part in (
            ("trainingDataset", training, "training"),
            ("validationDataset", validation, "validation"),
        )
        if (text := fields.text(section, "dataset", f"{where}.{part}"))
    }
    record.source = source or None

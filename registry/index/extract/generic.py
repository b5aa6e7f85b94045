"""Anything that is not a known model format: container images and other OCI artifacts.

Image configs follow the OCI image spec (config.md) and Docker's image v1 JSON: `created`,
`author`, `architecture`/`os`/`variant`, `config.Labels`. Other artifacts keep their
artifactType, config media type, annotations and layer media types in `extra`; a JSON config
of unknown schema is only skimmed for obvious name/version/description/license fields (as
Harbor's default processor stores such configs opaquely, we only add what is plain).
"""

from __future__ import annotations

from typing import Any

from .common import (
    DOCKER_IMAGE_CONFIG,
    OCI_EMPTY,
    OCI_IMAGE_CONFIG,
    apply_annotation_fallbacks,
    artifact_type,
    config_media_type,
    media_type_of,
    new_record,
    read_annotations,
    read_layers,
)
from .fields import MAX_LIST_ITEMS, Fields, decode_config
from .record import ModelRecord
from .values import unique

CONFIG_MEDIA_TYPES = frozenset({OCI_IMAGE_CONFIG, DOCKER_IMAGE_CONFIG})
INDEX_MEDIA_TYPES = frozenset(
    {
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    }
)
_SKIMMED = (("name", "name"), ("title", "name"), ("version", "version"))


def family_of(manifest: object) -> str:
    """ "oci-image", "oci-artifact" or "unknown" (no config and no artifactType, e.g. an index)."""
    if not isinstance(manifest, dict):
        return "unknown"
    config_type = config_media_type(manifest)
    if config_type in CONFIG_MEDIA_TYPES:
        return "oci-image"
    if config_type or artifact_type(manifest):
        return "oci-artifact"
    return "unknown"


def extract(manifest: dict[str, Any], config: bytes | None) -> ModelRecord:
    family = family_of(manifest)
    is_object = isinstance(manifest, dict)
    record, fields, manifest = new_record(family, manifest)
    annotations = read_annotations(manifest, fields, "manifest")
    if annotations:
        record.extra["annotations"] = annotations
    layer_types = unique([layer.media_type for layer in read_layers(manifest, fields)])
    if layer_types:
        record.extra["layer_media_types"] = layer_types[:MAX_LIST_ITEMS]
    if family == "oci-image":
        _read_image_config(record, fields, decode_config(config, fields))
    elif family == "oci-artifact":
        _skim_artifact_config(record, fields, config_media_type(manifest), config)
    elif is_object:
        _describe_unknown(record, fields, manifest)
    apply_annotation_fallbacks(record, annotations)
    apply_annotation_fallbacks(record, record.labels, "config.config.Labels")  # self-labelled
    return record


def _read_image_config(record: ModelRecord, fields: Fields, doc: dict[str, Any]) -> None:
    record.created = fields.time(doc, "created", "config")
    if author := fields.text(doc, "author", "config"):
        record.authors = [author]
    platform = [
        text
        for key in ("os", "architecture", "variant")
        if (text := fields.text(doc, key, "config"))
    ]
    if platform:
        record.extra["platform"] = "/".join(platform)
    record.labels = fields.string_map(
        fields.obj(doc, "config", "config"), "Labels", "config.config"
    )
    rootfs = fields.obj(doc, "rootfs", "config")
    if rootfs is not None:
        record.extra["diff_id_count"] = len(fields.array(rootfs, "diff_ids", "config.rootfs"))


def _skim_artifact_config(
    record: ModelRecord, fields: Fields, config_type: str | None, config: bytes | None
) -> None:
    """Parse a JSON config of unknown schema; take only plain top-level strings from it."""
    is_json = bool(config_type) and (
        config_type == "application/json" or str(config_type).endswith("+json")
    )
    if not is_json or config_type == OCI_EMPTY:
        return
    doc = decode_config(config, fields)
    quiet = Fields([])  # the schema is unknown: a misfit here is no error
    for key, attribute in _SKIMMED:
        if getattr(record, attribute) is None:
            setattr(record, attribute, quiet.text(doc, key, "config"))
    record.description = quiet.text(doc, "description", "config")
    record.created = quiet.time(doc, "created", "config")
    licenses = doc.get("licenses", doc.get("license"))
    items = licenses if isinstance(licenses, list) else [licenses]
    record.licenses = unique(
        [text for item in items[:MAX_LIST_ITEMS] if (text := quiet.coerce_text(item, "config"))]
    )
    if doc:
        record.extra["config_keys"] = sorted(str(key) for key in doc)[:50]


def _describe_unknown(record: ModelRecord, fields: Fields, manifest: dict[str, Any]) -> None:
    media = media_type_of(manifest.get("mediaType"))
    if media in INDEX_MEDIA_TYPES or isinstance(manifest.get("manifests"), list):
        entries = manifest.get("manifests")
        record.extra["manifest_count"] = len(entries) if isinstance(entries, list) else 0
    elif "config" in manifest:
        fields.error("manifest.config", "expected a descriptor object with a mediaType")
    else:
        fields.error("manifest.config", "missing: neither an image manifest nor an index")

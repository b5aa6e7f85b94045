"""The OpenAPI 3.1 document of `/api/v1/`, served at `/api/v1/openapi.json`.

Written by hand as data. The tests validate it with openapi-spec-validator, check that every
`/api/v1/` route is in it, and validate real responses against its schemas (closed objects:
a field the handlers add must be described here first).
"""

from __future__ import annotations

import copy
from typing import Any

from registry.api import openapi_accounts
from registry.index.extract import FAMILIES as FAMILY_SET
from registry.index.filters import DEFAULT_LIMIT, MAX_LIMIT, MAX_REPEATED, OPERATORS

FAMILIES = sorted(FAMILY_SET)

JsonSchema = dict[str, Any]


def _ref(name: str) -> JsonSchema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str, **more: Any) -> JsonSchema:
    return {"type": [kind, "null"], **more}


def _object(properties: dict[str, JsonSchema], description: str = "") -> JsonSchema:
    """A closed object whose every property is required (nullable ones may be null)."""
    schema: JsonSchema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if description:
        schema["description"] = description
    return schema


STRING_MAP: JsonSchema = {"type": "object", "additionalProperties": {"type": "string"}}
ANY_OBJECT: JsonSchema = {"type": "object"}
DATE_TIME = {"type": "string", "format": "date-time"}
COUNT: JsonSchema = {"type": "integer", "minimum": 0}

SUMMARY: dict[str, JsonSchema] = {
    "repository": {"type": "string", "description": "Repository name, e.g. `team/resnet`."},
    "digest": {"type": "string", "description": "Manifest digest, e.g. `sha256:...`."},
    "tags": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Tags pointing at this manifest, sorted.",
    },
    "media_type": {"type": "string", "description": "Manifest media type."},
    "artifact_type": _nullable("string", description="The manifest's `artifactType`."),
    "config_media_type": _nullable("string"),
    "subject_digest": _nullable(
        "string", description="Digest of the manifest this one refers to (`subject`)."
    ),
    "family": {
        "type": "string",
        "enum": FAMILIES,
        "description": "Format family, detected from artifactType and config media type.",
    },
    "name": _nullable("string", description="Model name the artifact declares."),
    "version": _nullable("string", description="Version the artifact declares."),
    "description": _nullable("string"),
    "authors": {"type": "array", "items": {"type": "string"}},
    "licenses": {"type": "array", "items": {"type": "string"}},
    "framework": _nullable("string", description="e.g. TensorFlow, PyTorch, llama.cpp."),
    "format": _nullable("string", description="Model format, e.g. SavedModel, ONNX, gguf."),
    "architecture": _nullable("string", description="e.g. transformer, llama."),
    "parameter_count": _nullable("integer", minimum=0),
    "precision": _nullable("string", description="e.g. float16."),
    "quantization": _nullable("string", description="e.g. Q4_K_M, gptq."),
    "metrics": {
        "type": "object",
        "additionalProperties": {"type": "number"},
        "description": "Numeric metrics, flat: ORMB `{group: [{name, value}]}` becomes "
        "`group.name`.",
    },
    "annotations": {**STRING_MAP, "description": "The manifest's annotations."},
    "total_size": {
        "type": "integer",
        "minimum": 0,
        "description": "Bytes of the manifest, its config and its layers (or child manifests).",
    },
    "created": _nullable("string", format="date-time", description="Creation time declared."),
    "pushed_at": {**DATE_TIME, "description": "When the index first saw this manifest."},
}

LAYER = _object(
    {
        "position": {"type": "integer", "minimum": 0},
        "media_type": {"type": "string"},
        "digest": {"type": "string"},
        "size": {"type": "integer", "minimum": 0},
        "annotations": STRING_MAP,
    },
    "A layer of the manifest (for an index: a child manifest), in manifest order.",
)

TAG_DETAIL = _object({"tag": {"type": "string"}, "updated_at": DATE_TIME})

REFERRER = _object(
    {
        "digest": {"type": "string"},
        "media_type": {"type": "string"},
        "artifact_type": _nullable(
            "string",
            description="`artifactType`, else the config media type (as the OCI referrers "
            "API reports it).",
        ),
        "manifest_size": {"type": "integer", "minimum": 0},
        "total_size": {"type": "integer", "minimum": 0},
        "family": {"type": "string", "enum": FAMILIES},
        "annotations": STRING_MAP,
        "created": _nullable("string", format="date-time"),
        "pushed_at": DATE_TIME,
    },
    "A manifest of the same repository whose `subject` is this one: a signature, an SBOM, "
    "a scan report, ...",
)

DETAIL: dict[str, JsonSchema] = {
    "config_digest": _nullable("string"),
    "manifest_size": {"type": "integer", "minimum": 0},
    "semver": {
        "oneOf": [
            {"type": "null"},
            _object(
                {
                    "major": {"type": "integer"},
                    "minor": {"type": "integer"},
                    "patch": {"type": "integer"},
                    "prerelease": _nullable("string"),
                }
            ),
        ],
        "description": "The declared version's parts when it is a semantic version.",
    },
    "hyperparameters": ANY_OBJECT,
    "signature": _nullable("object", description="Model inputs and outputs (ORMB)."),
    "hardware": _nullable("object"),
    "source": _nullable("object", description="Training code and data sources."),
    "labels": STRING_MAP,
    "extra": {**ANY_OBJECT, "description": "Format-specific facts without a column."},
    "parse_errors": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Problems met reading the config; the record is indexed regardless.",
    },
    "raw_config": {
        "description": "The config blob: parsed JSON when it parses (see `raw_config_is_json`), "
        "else its text; null when it was not read (absent, too large or not UTF-8).",
    },
    "raw_config_is_json": {"type": "boolean"},
    "layers": {"type": "array", "items": _ref("Layer")},
    "tag_details": {"type": "array", "items": _ref("TagDetail")},
    "referrers": {"type": "array", "items": _ref("Referrer")},
}

SCHEMAS: dict[str, JsonSchema] = {
    "Error": _object(
        {
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": _object(
                    {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "detail": {},
                    }
                ),
            }
        },
        "The OCI distribution error body.",
    ),
    "ModelSummary": _object(SUMMARY, "One indexed manifest, as lists show it."),
    "ModelPage": _object(
        {
            "items": {"type": "array", "items": _ref("ModelSummary")},
            "next_cursor": _nullable(
                "string", description="Pass as `cursor` for the next page; null on the last."
            ),
        }
    ),
    "Version": _object(
        {
            "tag": {"type": "string"},
            "semver": _nullable(
                "string",
                description="The semantic version this tag stands for: the tag when it is "
                "one, else the version the model declares; null when neither is.",
            ),
            "prerelease": {"type": "boolean"},
            "tagged_at": DATE_TIME,
            "model": _ref("ModelSummary"),
        }
    ),
    "VersionList": _object(
        {
            "repository": {"type": "string"},
            "complete": {
                "type": "boolean",
                "description": "False when indexing of this repository failed and it awaits "
                "`modelyard reindex`.",
            },
            "items": {"type": "array", "items": _ref("Version")},
        }
    ),
    "Layer": LAYER,
    "TagDetail": TAG_DETAIL,
    "Referrer": REFERRER,
    "ModelRecord": _object({**SUMMARY, **DETAIL}, "Everything the index knows of a manifest."),
    "UsageTotals": _object(
        {
            "pulls": COUNT,
            "pushes": COUNT,
            "errors": {
                **COUNT,
                "description": "Answers of status 400 or more on `/v2/<name>/...` routes.",
            },
        }
    ),
    "VersionUsage": _object(
        {
            "digest": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "pulls": {**COUNT, "description": "Successful manifest GETs (HEAD not counted)."},
            "pushes": {**COUNT, "description": "Successful manifest PUTs."},
            "last_pull_at": _nullable("string", format="date-time"),
        },
        "Counts of one manifest of the repository.",
    ),
    "RepositoryUsage": _object(
        {
            "repository": {"type": "string"},
            "totals": _ref("UsageTotals"),
            "versions": {
                "type": "array",
                "items": _ref("VersionUsage"),
                "description": "Every manifest indexed or counted, most pulled first.",
            },
        },
        "Usage statistics of a repository. Counts are written in batches every few "
        "seconds, so the latest requests may not show yet.",
    ),
}


def _query(name: str, description: str, schema: JsonSchema | None = None) -> JsonSchema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def _repeated(name: str, description: str) -> JsonSchema:
    parameter = _query(
        name, description, {"type": "array", "items": {"type": "string"}, "maxItems": MAX_REPEATED}
    )
    parameter.update({"style": "form", "explode": True})
    return parameter


MODEL_PARAMETERS: list[JsonSchema] = [
    _query(
        "q",
        "Free text: full-text match over repository, name, description, framework and "
        "architecture (websearch syntax), or a case-insensitive substring of repository or name.",
    ),
    _query("name", "Declared model name, case-insensitive; `*` is a wildcard."),
    _query("repository", "Repository name; `*` is a wildcard (e.g. `team/*`)."),
    _query("family", "Format family.", {"type": "string", "enum": FAMILIES}),
    _query("framework", "Framework, case-insensitive exact match."),
    _query("format", "Model format, case-insensitive exact match."),
    _query("architecture", "Architecture, case-insensitive exact match."),
    _query("license", "One of the licenses, case-insensitive exact match."),
    _query("author", "Case-insensitive substring of one of the authors."),
    _query("quantization", "Quantization, case-insensitive exact match."),
    _query(
        "params_min",
        "Least parameter count: an integer or a count such as `7b`, `350m`, `1.5T`.",
    ),
    _query("params_max", "Greatest parameter count (same syntax as `params_min`)."),
    _repeated(
        "metric",
        "Metric threshold `NAME OP NUMBER`, OP one of "
        + ", ".join(f"`{op}`" for op in OPERATORS)
        + " (e.g. `accuracy>=0.9`, `training.acc>0.5`); NAME is a metrics key, `*` a "
        "wildcard over keys. Repeat for several; all must hold. Manifests without the metric "
        "do not match.",
    ),
    _repeated(
        "annotation",
        "`KEY=VALUE`: the manifest has that annotation with that value; `KEY` alone: it has "
        "the annotation. Repeatable; all must hold.",
    ),
    _query(
        "include_referrers",
        "Also list manifests that refer to another (signatures, SBOMs, ...); default false.",
        {"type": "boolean", "default": False},
    ),
    _query(
        "limit",
        "Page size.",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    ),
    _query("cursor", "Opaque `next_cursor` of the previous page."),
]

NAME_PARAMETER: JsonSchema = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "Repository name; it may contain `/` (e.g. `team/resnet`), sent unescaped.",
    "schema": {"type": "string"},
}


def _json(schema: JsonSchema, description: str) -> JsonSchema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> JsonSchema:
    return _json(_ref("Error"), description)


UNAVAILABLE = _error("The model index is disabled or unreachable.")
INVALID = _error("A query or path parameter is invalid (code QUERY_INVALID, NAME_INVALID, ...).")

PATHS: dict[str, JsonSchema] = {
    "/api/v1/models": {
        "get": {
            "operationId": "listModels",
            "summary": "List and search indexed models",
            "description": "Manifests of every repository matching all given filters, newest "
            "push first (ties by repository, then digest), one page at a time.",
            "parameters": MODEL_PARAMETERS,
            "responses": {
                "200": _json(_ref("ModelPage"), "A page of models."),
                "400": INVALID,
                "503": UNAVAILABLE,
            },
        }
    },
    "/api/v1/repositories/{name}/versions": {
        "get": {
            "operationId": "listVersions",
            "summary": "Tagged versions of a repository",
            "description": "One item per tag: tags with a semantic version first, highest "
            "precedence first (1.10.0 > 1.9.0 > 1.9.0-rc.1), then the others, most recently "
            "tagged first.",
            "parameters": [NAME_PARAMETER],
            "responses": {
                "200": _json(_ref("VersionList"), "The versions."),
                "400": INVALID,
                "404": _error("The index has never seen this repository (NAME_UNKNOWN)."),
                "503": UNAVAILABLE,
            },
        }
    },
    "/api/v1/repositories/{name}/versions/latest": {
        "get": {
            "operationId": "latestVersion",
            "summary": "The latest version of a repository",
            "description": "The highest semantic version that is not a pre-release (any when "
            "`prerelease` is true or when all are pre-releases); with no semantic version at "
            "all, the most recently pushed tag.",
            "parameters": [
                NAME_PARAMETER,
                _query(
                    "prerelease",
                    "Let pre-releases be latest.",
                    {"type": "boolean", "default": False},
                ),
            ],
            "responses": {
                "200": _json(_ref("Version"), "The latest version."),
                "400": INVALID,
                "404": _error("Unknown repository, or one without tags."),
                "503": UNAVAILABLE,
            },
        }
    },
    "/api/v1/repositories/{name}/manifests/{digest}": {
        "get": {
            "operationId": "getModel",
            "summary": "One manifest's full record",
            "description": "Every indexed field, the layers, the tags, the referrers and the "
            "raw config.",
            "parameters": [
                NAME_PARAMETER,
                {
                    "name": "digest",
                    "in": "path",
                    "required": True,
                    "description": "Manifest digest, `algorithm:hex`.",
                    "schema": {"type": "string"},
                },
            ],
            "responses": {
                "200": _json(_ref("ModelRecord"), "The record."),
                "400": INVALID,
                "404": _error("No such manifest in the index (MANIFEST_UNKNOWN)."),
                "503": UNAVAILABLE,
            },
        }
    },
    "/api/v1/repositories/{name}/usage": {
        "get": {
            "operationId": "repositoryUsage",
            "summary": "Usage statistics of a repository",
            "description": "Pulls (manifest GETs), pushes (manifest PUTs) and errors of the "
            "repository, and pulls and pushes of each of its manifests with their tags.",
            "parameters": [NAME_PARAMETER],
            "responses": {
                "200": _json(_ref("RepositoryUsage"), "The counts."),
                "400": INVALID,
                "404": _error("Neither the index nor the counters know this repository."),
                "503": UNAVAILABLE,
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {"200": _json({"type": "object"}, "The OpenAPI 3.1 document.")},
        }
    },
}

_DOCUMENT: JsonSchema = {
    "openapi": "3.1.0",
    "info": {
        "title": "Modelyard management API",
        "version": "1",
        "description": "Query the model index: every manifest pushed to the registry, read "
        "from its config (ORMB, CNCF ModelPack, KitOps, Docker model artifacts, images). "
        "Errors use the OCI distribution error body.",
        "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
    },
    "paths": {**PATHS, **openapi_accounts.PATHS},
    "components": {
        "schemas": {**SCHEMAS, **openapi_accounts.SCHEMAS},
        "securitySchemes": openapi_accounts.SECURITY_SCHEMES,
    },
}


def document() -> JsonSchema:
    """A fresh copy of the document (callers may change theirs)."""
    return copy.deepcopy(_DOCUMENT)

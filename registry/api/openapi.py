"""The OpenAPI 3.1 document of `/api/v1/`, served at `/api/v1/openapi.json`.

Written by hand as data. The tests validate it with openapi-spec-validator, check that every
`/api/v1/` route is in it, and validate real responses against its schemas (closed objects:
a field the handlers add must be described here first).
"""

from __future__ import annotations

import copy

from registry.api import openapi_accounts, openapi_cache, openapi_webhooks
from registry.api.schema import (
    COUNT,
    DATE_TIME,
    PAGE_PARAMETERS,
    JsonSchema,
    closed_object,
    error,
    json_body,
    nullable,
    page,
    query,
    ref,
)
from registry.index.extract import FAMILIES as FAMILY_SET
from registry.index.filters import MAX_REPEATED, OPERATORS

FAMILIES = sorted(FAMILY_SET)


STRING_MAP: JsonSchema = {"type": "object", "additionalProperties": {"type": "string"}}
ANY_OBJECT: JsonSchema = {"type": "object"}

SUMMARY: dict[str, JsonSchema] = {
    "repository": {"type": "string", "description": "Repository name, e.g. `team/resnet`."},
    "digest": {"type": "string", "description": "Manifest digest, e.g. `sha256:...`."},
    "tags": {
        "type": "array",
        "items": {"type": "string"},
        "description": "Tags pointing at this manifest, sorted.",
    },
    "media_type": {"type": "string", "description": "Manifest media type."},
    "artifact_type": nullable("string", description="The manifest's `artifactType`."),
    "config_media_type": nullable("string"),
    "subject_digest": nullable(
        "string", description="Digest of the manifest this one refers to (`subject`)."
    ),
    "family": {
        "type": "string",
        "enum": FAMILIES,
        "description": "Format family, detected from artifactType and config media type.",
    },
    "name": nullable("string", description="Model name the artifact declares."),
    "version": nullable("string", description="Version the artifact declares."),
    "description": nullable("string"),
    "authors": {"type": "array", "items": {"type": "string"}},
    "licenses": {"type": "array", "items": {"type": "string"}},
    "framework": nullable("string", description="e.g. TensorFlow, PyTorch, llama.cpp."),
    "format": nullable("string", description="Model format, e.g. SavedModel, ONNX, gguf."),
    "architecture": nullable("string", description="e.g. transformer, llama."),
    "parameter_count": nullable("integer", minimum=0),
    "precision": nullable("string", description="e.g. float16."),
    "quantization": nullable("string", description="e.g. Q4_K_M, gptq."),
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
    "created": nullable("string", format="date-time", description="Creation time declared."),
    "pushed_at": {**DATE_TIME, "description": "When the index first saw this manifest."},
}

LAYER = closed_object(
    {
        "position": {"type": "integer", "minimum": 0},
        "media_type": {"type": "string"},
        "digest": {"type": "string"},
        "size": {"type": "integer", "minimum": 0},
        "annotations": STRING_MAP,
    },
    "A layer of the manifest (for an index: a child manifest), in manifest order.",
)

TAG_DETAIL = closed_object({"tag": {"type": "string"}, "updated_at": DATE_TIME})

REFERRER = closed_object(
    {
        "digest": {"type": "string"},
        "media_type": {"type": "string"},
        "artifact_type": nullable(
            "string",
            description="`artifactType`, else the config media type (as the OCI referrers "
            "API reports it).",
        ),
        "manifest_size": {"type": "integer", "minimum": 0},
        "total_size": {"type": "integer", "minimum": 0},
        "family": {"type": "string", "enum": FAMILIES},
        "annotations": STRING_MAP,
        "created": nullable("string", format="date-time"),
        "pushed_at": DATE_TIME,
    },
    "A manifest of the same repository whose `subject` is this one: a signature, an SBOM, "
    "a scan report, ...",
)

DETAIL: dict[str, JsonSchema] = {
    "config_digest": nullable("string"),
    "manifest_size": {"type": "integer", "minimum": 0},
    "semver": {
        "oneOf": [
            {"type": "null"},
            closed_object(
                {
                    "major": {"type": "integer"},
                    "minor": {"type": "integer"},
                    "patch": {"type": "integer"},
                    "prerelease": nullable("string"),
                }
            ),
        ],
        "description": "The declared version's parts when it is a semantic version.",
    },
    "hyperparameters": ANY_OBJECT,
    "signature": nullable("object", description="Model inputs and outputs (ORMB)."),
    "hardware": nullable("object"),
    "source": nullable("object", description="Training code and data sources."),
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
    "layers": {"type": "array", "items": ref("Layer")},
    "tag_details": {"type": "array", "items": ref("TagDetail")},
    "referrers": {"type": "array", "items": ref("Referrer")},
}

SCHEMAS: dict[str, JsonSchema] = {
    "Error": closed_object(
        {
            "errors": {
                "type": "array",
                "minItems": 1,
                "items": closed_object(
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
    "ModelSummary": closed_object(SUMMARY, "One indexed manifest, as lists show it."),
    "ModelPage": page("ModelSummary"),
    "Version": closed_object(
        {
            "tag": {"type": "string"},
            "semver": nullable(
                "string",
                description="The semantic version this tag stands for: the tag when it is "
                "one, else the version the model declares; null when neither is.",
            ),
            "prerelease": {"type": "boolean"},
            "tagged_at": DATE_TIME,
            "model": ref("ModelSummary"),
        }
    ),
    "VersionList": closed_object(
        {
            "repository": {"type": "string"},
            "complete": {
                "type": "boolean",
                "description": "False when indexing of this repository failed and it awaits "
                "`modelyard reindex`.",
            },
            "items": {"type": "array", "items": ref("Version")},
        }
    ),
    "Layer": LAYER,
    "TagDetail": TAG_DETAIL,
    "Referrer": REFERRER,
    "ModelRecord": closed_object(
        {**SUMMARY, **DETAIL}, "Everything the index knows of a manifest."
    ),
    "UsageTotals": closed_object(
        {
            "pulls": COUNT,
            "pushes": COUNT,
            "errors": {
                **COUNT,
                "description": "Answers of status 400 or more on `/v2/<name>/...` routes.",
            },
        }
    ),
    "VersionUsage": closed_object(
        {
            "digest": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "pulls": {**COUNT, "description": "Successful manifest GETs (HEAD not counted)."},
            "pushes": {**COUNT, "description": "Successful manifest PUTs."},
            "last_pull_at": nullable("string", format="date-time"),
        },
        "Counts of one manifest of the repository.",
    ),
    "RepositoryUsage": closed_object(
        {
            "repository": {"type": "string"},
            "totals": ref("UsageTotals"),
            "versions": {
                "type": "array",
                "items": ref("VersionUsage"),
                "description": "Every manifest indexed or counted, most pulled first.",
            },
        },
        "Usage statistics of a repository. Counts are written in batches every few "
        "seconds, so the latest requests may not show yet.",
    ),
}


def _repeated(name: str, description: str) -> JsonSchema:
    parameter = query(
        name, description, {"type": "array", "items": {"type": "string"}, "maxItems": MAX_REPEATED}
    )
    parameter.update({"style": "form", "explode": True})
    return parameter


MODEL_PARAMETERS: list[JsonSchema] = [
    query(
        "q",
        "Free text: full-text match over repository, name, description, framework and "
        "architecture (websearch syntax), or a case-insensitive substring of repository or name.",
    ),
    query("name", "Declared model name, case-insensitive; `*` is a wildcard."),
    query("repository", "Repository name; `*` is a wildcard (e.g. `team/*`)."),
    query("family", "Format family.", {"type": "string", "enum": FAMILIES}),
    query("framework", "Framework, case-insensitive exact match."),
    query("format", "Model format, case-insensitive exact match."),
    query("architecture", "Architecture, case-insensitive exact match."),
    query("license", "One of the licenses, case-insensitive exact match."),
    query("author", "Case-insensitive substring of one of the authors."),
    query("quantization", "Quantization, case-insensitive exact match."),
    query(
        "params_min",
        "Least parameter count: an integer or a count such as `7b`, `350m`, `1.5T`.",
    ),
    query("params_max", "Greatest parameter count (same syntax as `params_min`)."),
    _repeated(
        "metric",
        "Metric threshold `NAME OP NUMBER`, OP one of "
        + ", ".join(f"`{op}`" for op in OPERATORS)
        + " (e.g. `accuracy>=0.9`, `training.acc>0.5`); NAME is a metrics key, `*` a "
        "wildcard over keys; a NAME without a dot also matches keys ending in `.NAME` (ORMB "
        "`training.accuracy` for `accuracy`), and any matching key may satisfy it. "
        "Repeat for several; all must hold. Manifests without the metric do not match.",
    ),
    _repeated(
        "annotation",
        "`KEY=VALUE`: the manifest has that annotation with that value; `KEY` alone: it has "
        "the annotation. Repeatable; all must hold.",
    ),
    query(
        "include_referrers",
        "Also list manifests that refer to another (signatures, SBOMs, ...); default false.",
        {"type": "boolean", "default": False},
    ),
    *PAGE_PARAMETERS,
]

NAME_PARAMETER: JsonSchema = {
    "name": "name",
    "in": "path",
    "required": True,
    "description": "Repository name; it may contain `/` (e.g. `team/resnet`), sent unescaped.",
    "schema": {"type": "string"},
}


UNAVAILABLE = error("The model index is disabled or unreachable.")
INVALID = error("A query or path parameter is invalid (code QUERY_INVALID, NAME_INVALID, ...).")

PATHS: dict[str, JsonSchema] = {
    "/api/v1/models": {
        "get": {
            "operationId": "listModels",
            "summary": "List and search indexed models",
            "description": "Manifests of every repository matching all given filters, newest "
            "push first (ties by repository, then digest), one page at a time.",
            "parameters": MODEL_PARAMETERS,
            "responses": {
                "200": json_body(ref("ModelPage"), "A page of models."),
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
                "200": json_body(ref("VersionList"), "The versions."),
                "400": INVALID,
                "404": error("The index has never seen this repository (NAME_UNKNOWN)."),
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
                query(
                    "prerelease",
                    "Let pre-releases be latest.",
                    {"type": "boolean", "default": False},
                ),
            ],
            "responses": {
                "200": json_body(ref("Version"), "The latest version."),
                "400": INVALID,
                "404": error("Unknown repository, or one without tags."),
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
                "200": json_body(ref("ModelRecord"), "The record."),
                "400": INVALID,
                "404": error("No such manifest in the index (MANIFEST_UNKNOWN)."),
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
                "200": json_body(ref("RepositoryUsage"), "The counts."),
                "400": INVALID,
                "404": error("Neither the index nor the counters know this repository."),
                "503": UNAVAILABLE,
            },
        }
    },
    "/api/v1/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {"200": json_body({"type": "object"}, "The OpenAPI 3.1 document.")},
        }
    },
}

_DOCUMENT: JsonSchema = {
    "openapi": "3.1.0",
    "info": {
        "title": "Modelyard management API",
        "version": "1",
        "description": "Query the model index: every manifest pushed to the registry, read "
        "from its config (ORMB, CNCF ModelPack, KitOps, Docker model artifacts, images); "
        "manage webhooks that receive push, pull, delete and tag events. "
        "Errors use the OCI distribution error body.",
        "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
    },
    "paths": {
        **PATHS,
        **openapi_cache.PATHS,
        **openapi_webhooks.PATHS,
        **openapi_accounts.PATHS,
    },
    "components": {
        "schemas": {
            **SCHEMAS,
            **openapi_cache.SCHEMAS,
            **openapi_webhooks.SCHEMAS,
            **openapi_accounts.SCHEMAS,
        },
        "securitySchemes": openapi_accounts.SECURITY_SCHEMES,
    },
}


def document() -> JsonSchema:
    """A fresh copy of the document (callers may change theirs)."""
    return copy.deepcopy(_DOCUMENT)

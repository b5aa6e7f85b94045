"""The pull-through cache's part of the OpenAPI document (see registry/api/openapi.py)."""

from __future__ import annotations

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
from registry.proxy import inventory

UNAVAILABLE = error("The database (which holds the cache state) is disabled or unreachable.")
INVALID = error("A query parameter is invalid (code QUERY_INVALID).")

TOTALS = closed_object(
    {
        "objects": {**COUNT, "description": "Cached objects, one per repository."},
        "bytes": {**COUNT, "description": "Bytes in storage, each digest once."},
        "hits": {**COUNT, "description": "Reads answered from the cache."},
    }
)

SCHEMAS: dict[str, JsonSchema] = {
    "CacheSummary": closed_object(
        {
            "upstreams": {
                "type": "array",
                "items": closed_object(
                    {
                        "name": {"type": "string"},
                        "url": nullable(
                            "string", description="null: no longer configured, still cached."
                        ),
                        "prefixes": {
                            "type": "array",
                            "items": closed_object(
                                {"local": {"type": "string"}, "remote": {"type": "string"}}
                            ),
                        },
                        "blobs": TOTALS,
                        "manifests": TOTALS,
                        "last_access_at": nullable("string", format="date-time"),
                    }
                ),
            }
        }
    ),
    "CachedObject": closed_object(
        {
            "repository": {"type": "string", "description": "The local repository."},
            "digest": {"type": "string"},
            "kind": {"type": "string", "enum": list(inventory.KINDS)},
            "upstream": {"type": "string"},
            "remote": {"type": "string", "description": "The repository on the upstream."},
            "size": COUNT,
            "cached_at": DATE_TIME,
            "last_access_at": DATE_TIME,
            "hits": COUNT,
        },
        "A blob or manifest fetched from an upstream into storage.",
    ),
    "CachedObjectPage": page("CachedObject"),
}

PATHS: dict[str, JsonSchema] = {
    "/api/v1/cache": {
        "get": {
            "operationId": "cacheSummary",
            "summary": "Pull-through cache totals per upstream",
            "description": "Objects are counted per repository, bytes once per digest. Access "
            "data is written every 2 s, so the last seconds of hits may not show yet.",
            "responses": {
                "200": json_body(ref("CacheSummary"), "Every upstream with its totals."),
                "400": INVALID,
                "503": UNAVAILABLE,
            },
        }
    },
    "/api/v1/cache/objects": {
        "get": {
            "operationId": "listCachedObjects",
            "summary": "Cached blobs and manifests",
            "parameters": [
                query("upstream", "Only objects of this upstream."),
                query("repository", "Only objects of this local repository."),
                query(
                    "kind",
                    "Only blobs or only manifests.",
                    {"type": "string", "enum": list(inventory.KINDS)},
                ),
                query(
                    "order",
                    "`recent`: most recently used first (default); `idle`: least recently "
                    "used first.",
                    {"type": "string", "enum": list(inventory.ORDERS), "default": "recent"},
                ),
                *PAGE_PARAMETERS,
            ],
            "responses": {
                "200": json_body(ref("CachedObjectPage"), "A page of cached objects."),
                "400": INVALID,
                "503": UNAVAILABLE,
            },
        }
    },
}

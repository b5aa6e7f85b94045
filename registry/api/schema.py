"""Building blocks of the OpenAPI document, shared by its parts (models, webhooks)."""

from __future__ import annotations

from typing import Any

from registry.index.filters import DEFAULT_LIMIT, MAX_LIMIT

JsonSchema = dict[str, Any]

COUNT: JsonSchema = {"type": "integer", "minimum": 0}
DATE_TIME: JsonSchema = {"type": "string", "format": "date-time"}


def ref(name: str) -> JsonSchema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(kind: str, **more: Any) -> JsonSchema:
    return {"type": [kind, "null"], **more}


def closed_object(properties: dict[str, JsonSchema], description: str = "") -> JsonSchema:
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


def query(name: str, description: str, schema: JsonSchema | None = None) -> JsonSchema:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


def json_body(schema: JsonSchema, description: str) -> JsonSchema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def page(item: str) -> JsonSchema:
    """One page of a keyset-paged list of `item` objects."""
    return closed_object(
        {
            "items": {"type": "array", "items": ref(item)},
            "next_cursor": nullable(
                "string", description="Pass as `cursor` for the next page; null on the last."
            ),
        }
    )


def error(description: str) -> JsonSchema:
    return json_body(ref("Error"), description)


#: `limit` and `cursor` of every paged list
PAGE_PARAMETERS: list[JsonSchema] = [
    query(
        "limit",
        "Page size.",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
    ),
    query("cursor", "Opaque `next_cursor` of the previous page."),
]

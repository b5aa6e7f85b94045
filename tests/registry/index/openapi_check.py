"""Responses of `/api/v1/` checked against the schemas of the served OpenAPI document."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator

from registry.api.openapi import document


def assert_schema(body: Any, name: str) -> None:
    """`body` is valid against `#/components/schemas/<name>` (closed objects: no field may be
    missing from the document)."""
    components = document()["components"]
    schema = {"$ref": f"#/components/schemas/{name}", "components": components}
    Draft202012Validator(schema).validate(body)

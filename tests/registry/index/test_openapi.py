"""The OpenAPI 3.1 document of `/api/v1/`: valid, and true to the routes and parameters."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from referencing.exceptions import PointerToNowhere
from starlette.routing import Route

from registry.api.openapi import document
from registry.index.filters import MODEL_PARAMETERS
from registry.routes import ROUTES


def api_routes() -> dict[str, set[str]]:
    """`/api/v1/` paths of the route table in OpenAPI form, with their methods."""
    found: dict[str, set[str]] = {}
    for route in ROUTES:
        if isinstance(route, Route) and route.path.startswith("/api/v1/"):
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            found.setdefault(path, set()).update(m.lower() for m in route.methods or ())
    return found


def test_document_is_valid_openapi_3_1() -> None:
    spec = document()
    assert spec["openapi"].startswith("3.1.")
    validate(spec)
    assert list(OpenAPIV31SpecValidator(spec).iter_errors()) == []


def rejected(spec: dict[str, Any]) -> bool:
    """Whether the validator finds a problem (an unresolvable $ref raises instead)."""
    try:
        return bool(list(OpenAPIV31SpecValidator(spec).iter_errors()))
    except PointerToNowhere:
        return True


def test_validator_would_catch_a_broken_document() -> None:
    spec = document()
    broken = copy.deepcopy(spec)
    operation = broken["paths"]["/api/v1/repositories/{name}/versions"]["get"]
    operation["parameters"] = []  # {name} left undeclared
    assert rejected(broken)
    broken = copy.deepcopy(spec)
    broken["paths"]["/api/v1/models"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ] = {"$ref": "#/components/schemas/Missing"}
    assert rejected(broken)
    broken = copy.deepcopy(spec)
    broken["components"]["schemas"]["Layer"]["type"] = "layer"
    assert rejected(broken)


def test_every_route_is_documented_and_nothing_else() -> None:
    routes = api_routes()
    assert len(routes) == 22
    paths = document()["paths"]
    assert set(paths) == set(routes)
    for path, methods in routes.items():
        assert set(paths[path]) == methods - {"head"}, path


@pytest.mark.parametrize("path", sorted(api_routes()))
def test_path_parameters_are_declared(path: str) -> None:
    for method, operation in document()["paths"][path].items():
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == set(re.findall(r"\{(\w+)\}", path)), method
        assert {"200", "201", "204"} & set(operation["responses"]), method


def test_model_list_parameters_match_the_parser() -> None:
    operation = document()["paths"]["/api/v1/models"]["get"]
    assert {p["name"] for p in operation["parameters"]} == set(MODEL_PARAMETERS)
    for parameter in operation["parameters"]:
        assert parameter["description"], parameter["name"]


def test_every_error_response_uses_the_error_schema() -> None:
    for path, item in document()["paths"].items():
        for operation in item.values():
            for status, response in operation["responses"].items():
                if status >= "400":
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (path, status)


def test_document_copies_are_independent() -> None:
    first = document()
    first["paths"].clear()
    assert document()["paths"]

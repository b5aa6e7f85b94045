"""schemathesis against the account API with auth on: no 5xx, every answer as documented.

Each operation runs first with hand-made cases that succeed (so 2xx bodies are validated
against the document), then with generated cases, positive and negative, as a system
administrator (with basic credentials).
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
import schemathesis
from schemathesis.python import asgi
from starlette.applications import Starlette

from registry.api.openapi_accounts import PATHS
from registry.app import create_app
from registry.config import AdminConfig, AuthConfig, DatabaseConfig, load
from storage.filesystem import FilesystemDriver
from tests.support.apifuzz import CHECKS, fuzz
from tests.support.postgres import drop_schema, new_schema

ADMIN = ("schemathesis-root", "schemathesis-password")
HEADERS = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}
PASSWORD = "password-123"

MAX_EXAMPLES = 25

#: (method, path template): cases that succeed, in an order that makes the later ones succeed
KNOWN: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("POST", "/api/v1/users"): [{"body": {"username": "alice", "password": PASSWORD}}],
    ("GET", "/api/v1/users"): [{}],
    ("POST", "/api/v1/groups"): [{"body": {"name": "ml"}}],
    ("GET", "/api/v1/groups"): [{}],
    ("PUT", "/api/v1/groups/{group}/members/{username}"): [
        {"path_parameters": {"group": "ml", "username": "alice"}}
    ],
    ("POST", "/api/v1/namespaces"): [{"body": {"name": "team", "public": False}}],
    ("GET", "/api/v1/namespaces"): [{}],
    ("GET", "/api/v1/namespaces/{namespace}"): [{"path_parameters": {"namespace": "team"}}],
    ("PATCH", "/api/v1/namespaces/{namespace}"): [
        {"path_parameters": {"namespace": "team"}, "body": {"public": True}}
    ],
    ("PUT", "/api/v1/namespaces/{namespace}/members/{kind}/{principal}"): [
        {
            "path_parameters": {"namespace": "team", "kind": "user", "principal": "alice"},
            "body": {"role": "developer"},
        },
        {
            "path_parameters": {"namespace": "team", "kind": "group", "principal": "ml"},
            "body": {"role": "reader"},
        },
    ],
    ("GET", "/api/v1/namespaces/{namespace}/members"): [{"path_parameters": {"namespace": "team"}}],
    ("POST", "/api/v1/robots"): [
        {"body": {"name": "ci", "namespace": "team", "role": "developer"}},
        {"body": {"name": "global", "description": "no namespace"}},
    ],
    ("GET", "/api/v1/robots"): [{}],
    ("DELETE", "/api/v1/namespaces/{namespace}/members/{kind}/{principal}"): [
        {"path_parameters": {"namespace": "team", "kind": "group", "principal": "ml"}}
    ],
    ("DELETE", "/api/v1/groups/{group}/members/{username}"): [
        {"path_parameters": {"group": "ml", "username": "alice"}}
    ],
    ("DELETE", "/api/v1/robots/{robot}"): [{"path_parameters": {"robot": "global"}}],
    ("DELETE", "/api/v1/groups/{group}"): [{"path_parameters": {"group": "ml"}}],
    ("DELETE", "/api/v1/users/{username}"): [{"path_parameters": {"username": "alice"}}],
    ("DELETE", "/api/v1/namespaces/{namespace}"): [{"path_parameters": {"namespace": "team"}}],
}


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Starlette]:
    schema = anyio.run(new_schema, database_url)
    try:
        base = load(environ={})
        config = dataclasses.replace(
            base,
            database=DatabaseConfig(url=database_url, schema=schema),
            auth=AuthConfig(enabled=True, bcryptcost=4, admin=AdminConfig(*ADMIN)),
        )
        try:
            yield create_app(config, FilesystemDriver(tmp_path / "root"))
        finally:
            asgi.shutdown_lifespans()
    finally:
        anyio.run(drop_schema, database_url, schema)


def test_account_api_finds_no_server_error_and_no_undocumented_answer(served: Starlette) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", served)
    operations = {
        (method.upper(), path): schema[path][method]
        for path, item in PATHS.items()
        for method in item
    }
    assert set(operations) == set(KNOWN)
    statuses: dict[tuple[str, str], set[int]] = {key: set() for key in operations}
    failures: dict[str, BaseException] = {}

    for key, cases in KNOWN.items():
        operation = operations[key]
        for case in cases:
            response = operation.Case(headers=HEADERS, **case).call_and_validate(checks=CHECKS)
            statuses[key].add(response.status_code)
        assert statuses[key] & {200, 201, 204}, (key, statuses[key])

    for key, operation in operations.items():

        def run(case: Any, key: tuple[str, str] = key) -> None:
            case.headers = {**(case.headers or {}), **HEADERS}
            response = case.call_and_validate(checks=CHECKS)
            statuses[key].add(response.status_code)

        try:
            fuzz(operation, run, MAX_EXAMPLES)
        except Exception as exc:
            failures[" ".join(key)] = exc

    assert not failures, "\n\n".join(f"{label}:\n{exc}" for label, exc in failures.items())
    # generated bodies reached the validation of every creating operation
    for key in operations:
        if key[0] == "POST":
            assert 400 in statuses[key], (key, statuses[key])

"""schemathesis against the served OpenAPI document: no 5xx, and every answer as documented.

The schema is loaded from the running ASGI app (`/api/v1/openapi.json`) after the model
fixtures of every format were pushed, then every operation runs with generated cases
(positive and negative), plus hand-made cases naming what the catalog holds, so that real
records (not only 400s and 404s) are validated against the document.

schemathesis drives the app in-process on its own event-loop thread, where it runs the app's
lifespan once; the asyncpg pool must live on that loop, so the catalog is pushed first by a
separate app instance (its own lifespan, on a loop of its own) over the same storage root and
PostgreSQL schema, and the app under test only reads what that one indexed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import schemathesis
from schemathesis.python import asgi
from starlette.applications import Starlette

from registry.api import openapi_accounts
from registry.app import create_app
from registry.config import Config, DatabaseConfig, load
from storage.filesystem import FilesystemDriver
from tests.registry.index.model_fixtures import Catalog, push_catalog
from tests.support.apifuzz import CHECKS, fuzz
from tests.support.postgres import drop_schema, new_schema

#: operations the document has declared since the issue; the test fails, never skips, when
#: one is gone (operations added later are exercised too: the list comes from the document)
OPERATIONS = {
    "GET /api/v1/models",
    "GET /api/v1/repositories/{name}/versions",
    "GET /api/v1/repositories/{name}/versions/latest",
    "GET /api/v1/repositories/{name}/manifests/{digest}",
    "GET /api/v1/openapi.json",
    "GET /api/v1/cache",
    "GET /api/v1/cache/objects",
    "GET /api/v1/webhooks",
    "POST /api/v1/webhooks",
    "GET /api/v1/webhooks/{id}",
    "PATCH /api/v1/webhooks/{id}",
    "DELETE /api/v1/webhooks/{id}",
    "GET /api/v1/webhooks/{id}/deliveries",
}

#: webhooks made before the catalog is pushed, so that their deliveries exist; receivers
#: on a closed port (the deliveries fail and are retried, which the history shows)
WEBHOOKS = 10

MAX_EXAMPLES = 50


async def _push(config: Config, root: Path) -> tuple[Catalog, list[str]]:
    app = create_app(config, FilesystemDriver(root))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        base_url = "http://registry.test"
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            webhooks = []
            for number in range(WEBHOOKS):
                response = await client.post(
                    "/api/v1/webhooks",
                    json={
                        "namespace": "*" if number % 2 else "team/",
                        "url": "http://127.0.0.1:9/",
                    },
                )
                assert response.status_code == 201, response.text
                webhooks.append(response.json()["id"])
            return await push_catalog(client), webhooks


@dataclasses.dataclass
class Served:
    app: Starlette
    catalog: Catalog
    webhooks: list[str]


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    schema = anyio.run(new_schema, database_url)
    try:
        config = dataclasses.replace(
            load(environ={}), database=DatabaseConfig(url=database_url, schema=schema)
        )
        root = tmp_path / "root"
        catalog, webhooks = anyio.run(_push, config, root)
        app = create_app(config, FilesystemDriver(root))
        try:
            yield Served(app, catalog, webhooks)
        finally:
            # schemathesis started the app's lifespan on its loop; close the pool there
            asgi.shutdown_lifespans()
    finally:
        anyio.run(drop_schema, database_url, schema)


def webhook_cases(operation: Any, webhooks: list[str]) -> list[Any]:
    """Cases naming the webhooks made (the first half read, the second half deleted)."""
    if operation.path == "/api/v1/webhooks" and operation.method.upper() == "POST":
        bodies: list[dict[str, Any]] = [
            {"namespace": "*", "url": "https://hooks.example/a"},
            {"namespace": "team-a/", "url": "http://hooks.example:8080/b", "events": ["push"]},
            {"namespace": "t*/x", "url": "http://h.example/", "secret": "s" * 16},
            {"namespace": "llm", "url": "http://h.example/", "enabled": False},
            {"namespace": "*", "url": "http://h.example/", "events": ["pull", "tag", "delete"]},
        ]
        return [operation.Case(body=body, media_type="application/json") for body in bodies]
    if operation.path == "/api/v1/webhooks":
        return [operation.Case(query=query) for query in ({}, {"limit": 2}, {}, {}, {})]
    if operation.method.upper() == "PATCH":
        bodies = [
            {"enabled": False},
            {"namespace": "team-b/", "events": ["tag"]},
            {"url": "http://127.0.0.1:9/moved", "secret": "t" * 16, "enabled": True},
        ]
        return [
            operation.Case(path_parameters={"id": ident}, body=body, media_type="application/json")
            for ident, body in zip(webhooks, bodies, strict=False)
        ]
    chosen = webhooks[WEBHOOKS // 2 :] if operation.method.upper() == "DELETE" else webhooks
    cases = [operation.Case(path_parameters={"id": ident}) for ident in chosen[: WEBHOOKS // 2]]
    if operation.path.endswith("/deliveries"):
        cases += [
            operation.Case(path_parameters={"id": webhooks[0]}, query=query)
            for query in ({"limit": 1}, {"status": "pending"}, {"status": "dead"})
        ]
    return cases


def known_cases(operation: Any, catalog: Catalog, webhooks: list[str]) -> list[Any]:
    """Cases naming what the catalog holds, so that full records are checked too."""
    if operation.path.startswith("/api/v1/webhooks"):
        return webhook_cases(operation, webhooks)
    if operation.path == "/api/v1/models":
        queries: list[dict[str, Any]] = [
            {},
            {"include_referrers": "true", "limit": 2},
            {"repository": "team/*", "metric": ["training.accuracy>=0.9"]},
            {"family": "ormb", "q": "cnn"},
            {"params_min": "1b", "annotation": ["org.opencontainers.image.version=3.1"]},
        ]
        return [operation.Case(query=query) for query in queries]
    if "{digest}" in operation.path:
        return [
            operation.Case(
                path_parameters={"name": catalog.ref(key).split("@")[0], "digest": digest}
            )
            for key, digest in sorted(catalog.digests.items())
        ]
    if "{name}" in operation.path:
        names = sorted({key.split(":")[0] for key in catalog.digests if ":" in key})
        cases = [operation.Case(path_parameters={"name": name}) for name in names]
        if operation.path.endswith("/latest"):
            cases += [
                operation.Case(path_parameters={"name": name}, query={"prerelease": "true"})
                for name in names
            ]
        return cases
    return [operation.Case() for _ in range(5)]


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(served: Served) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", served.app)
    # every operation of the served document (get_all_operations() leaves out the document's own)
    # but the account API, which needs auth on (tests/registry/handlers/test_accounts_schemathesis)
    operations = [
        schema[path][method]
        for path, item in schema.raw_schema["paths"].items()
        for method in item
        if method in ("get", "put", "post", "delete", "patch", "head", "options")
        and path not in openapi_accounts.PATHS
    ]
    labels = {f"{op.method.upper()} {op.path}" for op in operations}
    assert labels >= OPERATIONS

    failures: dict[str, BaseException] = {}
    calls: dict[str, int] = {}
    statuses: dict[str, set[int]] = {}

    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        calls[label] = 0
        statuses[label] = set()

        def run(case: Any, label: str = label) -> None:
            response = case.call_and_validate(checks=CHECKS)
            calls[label] += 1
            statuses[label].add(response.status_code)

        try:
            for case in known_cases(operation, served.catalog, served.webhooks):
                run(case)
            fuzz(operation, run, MAX_EXAMPLES)
        except Exception as exc:
            failures[label] = exc

    assert not failures, "\n\n".join(f"{label}:\n{exc}" for label, exc in failures.items())
    # the known cases reached real records, not only errors
    for label in labels:
        assert statuses[label] & {200, 201, 204}, (label, statuses[label])
        assert calls[label] >= 5, (label, calls[label])

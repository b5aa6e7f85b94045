"""The model query API under `/api/v1/` (JSON): list and search, versions, one full record.

Answers come from the PostgreSQL index. With the index disabled (`database.enabled: false`)
or unreachable, every endpoint but the OpenAPI document answers 503 with an error body.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.request import pullable
from registry.api.openapi import document
from registry.errors import MANIFEST_UNKNOWN, NAME_UNKNOWN, ErrorCode, RegistryError
from registry.handlers import params
from registry.handlers.query import invalid_query, single_parameters
from registry.index import queries, usage
from registry.index.filters import InvalidQuery, parse_bool, parse_model_query
from registry.index.versions import latest

log = logging.getLogger("modelyard")

INDEX_UNAVAILABLE = ErrorCode("INDEX_UNAVAILABLE", 503, "the model index is not available")

_UNREACHABLE = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InterfaceError,
)


@asynccontextmanager
async def index_pool(request: Request) -> AsyncIterator[Any]:
    """The index's connection pool; 503 when the index is disabled or unreachable."""
    index = params.index(request)
    if index is None:
        raise RegistryError(
            INDEX_UNAVAILABLE,
            {"reason": "the model index is disabled (database.enabled is false)"},
            message="the model index is disabled on this server",
        )
    try:
        yield index.database.pool
    except _UNREACHABLE as exc:
        log.warning("model index unreachable: %s: %s", type(exc).__name__, exc)
        raise RegistryError(
            INDEX_UNAVAILABLE,
            {"reason": f"{type(exc).__name__}: {exc}"},
            headers={"Retry-After": "5"},
        ) from None


async def list_models(request: Request) -> Response:
    """`GET /api/v1/models`: filtered, newest push first, one page per keyset cursor."""
    try:
        query = parse_model_query(request.query_params.multi_items())
    except InvalidQuery as exc:
        raise invalid_query(exc) from None
    allowed = await pullable(request)
    if allowed is not None:
        query = dataclasses.replace(query, namespaces=allowed[0], repositories=allowed[1])
    async with index_pool(request) as pool:
        page = await queries.list_models(pool, query)
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})


async def _versions(pool: Any, name: str) -> tuple[bool, list[Any]]:
    try:
        stale = await queries.repository_state(pool, name)
    except queries.RepositoryUnknown:
        raise RegistryError(NAME_UNKNOWN, {"name": name}) from None
    return stale, await queries.tagged_versions(pool, name)


async def list_versions(request: Request) -> Response:
    """`GET /api/v1/repositories/{name}/versions`: tags by semantic version, then push time."""
    name = params.repository(request)
    single_parameters(request, frozenset())
    async with index_pool(request) as pool:
        stale, versions = await _versions(pool, name)
    return JSONResponse(
        {
            "repository": name,
            "complete": not stale,
            "items": [queries.version_item(version) for version in versions],
        }
    )


async def latest_version(request: Request) -> Response:
    """`GET /api/v1/repositories/{name}/versions/latest`: the highest semantic version."""
    name = params.repository(request)
    given = single_parameters(request, frozenset({"prerelease"}))
    try:
        prerelease = parse_bool("prerelease", given.get("prerelease", "false"))
    except InvalidQuery as exc:
        raise invalid_query(exc) from None
    async with index_pool(request) as pool:
        _, versions = await _versions(pool, name)
    found = latest(versions, prerelease)
    if found is None:
        raise RegistryError(
            MANIFEST_UNKNOWN,
            {"name": name, "reason": "the repository has no tagged manifest"},
        )
    return JSONResponse(queries.version_item(found))


async def manifest_record(request: Request) -> Response:
    """`GET /api/v1/repositories/{name}/manifests/{digest}`: the full record."""
    name = params.repository(request)
    digest = params.digest(request.path_params["digest"])
    single_parameters(request, frozenset())
    async with index_pool(request) as pool:
        record = await queries.manifest_record(pool, name, str(digest))
    if record is None:
        raise RegistryError(MANIFEST_UNKNOWN, {"name": name, "digest": str(digest)})
    return JSONResponse(record)


async def repository_usage(request: Request) -> Response:
    """`GET /api/v1/repositories/{name}/usage`: pulls, pushes and errors, per manifest too."""
    name = params.repository(request)
    single_parameters(request, frozenset())
    async with index_pool(request) as pool:
        found = await usage.repository_usage(pool, name)
    if found is None:
        raise RegistryError(NAME_UNKNOWN, {"name": name})
    return JSONResponse(found)


async def openapi(request: Request) -> Response:
    """`GET /api/v1/openapi.json`: the OpenAPI 3.1 document of this API."""
    return JSONResponse(document())

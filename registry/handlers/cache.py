"""The pull-through cache's contents: `GET /api/v1/cache` (totals per upstream) and
`GET /api/v1/cache/objects` (cached blobs and manifests). Read from the cache state in
PostgreSQL; 503 when the database is off."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from registry.handlers.models import index_pool
from registry.handlers.query import invalid_query, single_parameters
from registry.index import paging
from registry.index.filters import InvalidQuery
from registry.proxy import inventory

_OBJECTS = frozenset({"upstream", "repository", "kind", "order", "limit", "cursor"})


def _upstreams(request: Request) -> list[dict[str, Any]]:
    return [
        {
            "name": upstream.name,
            "url": upstream.url,
            "prefixes": [
                {"local": prefix.local, "remote": prefix.remote} for prefix in upstream.prefixes
            ],
        }
        for upstream in request.app.state.config.proxy.upstreams
    ]


async def cache_summary(request: Request) -> Response:
    """`GET /api/v1/cache`: each upstream with its cached objects, bytes and hits."""
    single_parameters(request, frozenset())
    async with index_pool(request) as pool:
        found = await inventory.summary(pool, _upstreams(request))
    return JSONResponse({"upstreams": found})


async def cache_objects(request: Request) -> Response:
    """`GET /api/v1/cache/objects`: cached objects, most recently used first (or `idle`)."""
    given = single_parameters(request, _OBJECTS)
    try:
        query = inventory.parse_object_query(given)
        limit = paging.page_limit(given.get("limit"))
        async with index_pool(request) as pool:
            page = await inventory.objects(pool, query, limit, given.get("cursor") or None)
    except InvalidQuery as exc:
        raise invalid_query(exc) from None
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})

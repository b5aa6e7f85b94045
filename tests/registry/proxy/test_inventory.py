"""The cache contents API over a real registry:2 upstream: totals per upstream, the cached
objects in use order with filters and paging, refusals, and 503 without the database."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from registry.config import Config
from tests.registry.helpers import assert_error
from tests.registry.index.openapi_check import assert_schema
from tests.registry.proxy.conftest import Instance, Upstream, proxy_config

pytestmark = pytest.mark.anyio

Start = Callable[..., Any]


async def _flush(cache: Instance) -> None:
    """Write the batched access data now instead of within 2 s."""
    await cache.app.state.proxy.state.flush()


async def _pages(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, "limit": "2", **({"cursor": cursor} if cursor else {})}
        response = await client.get("/api/v1/cache/objects", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        assert_schema(page, "CachedObjectPage")
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_totals_and_objects_of_what_was_pulled(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    layers = [os.urandom(3000), os.urandom(5000)]
    manifest, _ = upstream.push_image("library/app", "v1", layers)
    shared = os.urandom(7000)
    blob = upstream.push_blob("library/app", shared)
    upstream.push_blob("library/other", shared)
    cache = await instances(proxy_config(db_config, upstream.url))
    client = cache.client

    empty = (await client.get("/api/v1/cache")).json()
    assert_schema(empty, "CacheSummary")
    [central] = empty["upstreams"]
    assert central["name"] == "central"
    assert central["url"] == upstream.url
    assert {"local": "library/", "remote": "library/"} in central["prefixes"]
    assert central["blobs"] == {"objects": 0, "bytes": 0, "hits": 0}
    assert central["last_access_at"] is None

    assert (await client.get("/v2/library/app/manifests/v1")).status_code == 200
    for name in ("library/app", "library/other"):
        assert (await client.get(f"/v2/{name}/blobs/{blob}")).status_code == 200
    await client.get(f"/v2/library/app/blobs/{blob}")  # a hit (library/other's was one too)
    await _flush(cache)

    [central] = (await client.get("/api/v1/cache")).json()["upstreams"]
    assert central["blobs"] == {"objects": 2, "bytes": len(shared), "hits": 2}
    assert central["manifests"]["objects"] == 1
    assert central["last_access_at"] is not None

    recent = await _pages(client)
    assert {(item["repository"], item["digest"]) for item in recent} == {
        ("library/app", manifest),
        ("library/app", blob),
        ("library/other", blob),
    }
    assert recent[0] == {**recent[0], "repository": "library/app", "digest": blob, "hits": 1}
    idle = await _pages(client, order="idle")
    assert idle == list(reversed(recent))
    only = await _pages(client, repository="library/other", kind="blob", upstream="central")
    assert [(item["repository"], item["remote"], item["size"]) for item in only] == [
        ("library/other", "library/other", len(shared))
    ]
    assert await _pages(client, upstream="elsewhere") == []


@pytest.mark.parametrize(
    "query",
    [
        {"kind": "layer"},
        {"order": "oldest"},
        {"limit": "0"},
        {"cursor": "nonsense"},
        {"cursor": "WzEsMl0"},
        {"colour": "red"},
        {"upstream": "a", "repository": "b\x00"},
    ],
)
async def test_bad_object_queries_are_400(
    upstream: Upstream, instances: Start, db_config: Config, query: dict[str, str]
) -> None:
    cache = await instances(proxy_config(db_config, upstream.url))
    response = await cache.client.get("/api/v1/cache/objects", params=query)
    assert_error(response, 400, "QUERY_INVALID")
    assert_error(await cache.client.get("/api/v1/cache", params={"x": "1"}), 400, "QUERY_INVALID")


@pytest.mark.parametrize("path", ["/api/v1/cache", "/api/v1/cache/objects"])
async def test_no_database_is_503(client: httpx.AsyncClient, path: str) -> None:
    assert_error(await client.get(path), 503, "INDEX_UNAVAILABLE")

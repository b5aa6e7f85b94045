"""The service around the pull-through parts: read-only proxied prefixes, `allowpush`, local
repositories beside proxied ones, and pulls without a database."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from typing import Any

import pytest

from registry.config import Config, DatabaseConfig
from tests.registry.helpers import OCI_MANIFEST, assert_error, push_blob, push_image
from tests.registry.proxy.conftest import Upstream, proxy_config

pytestmark = pytest.mark.anyio

Start = Callable[..., Any]


async def test_pushes_and_deletes_under_a_proxied_prefix_are_unsupported(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    cache = await instances(proxy_config(db_config, upstream.url))
    client = cache.client
    for response in (
        await client.post("/v2/library/app/blobs/uploads/"),
        await client.put(
            "/v2/library/app/manifests/v1", content=b"{}", headers={"Content-Type": OCI_MANIFEST}
        ),
        await client.delete("/v2/library/app/manifests/v1"),
        await client.delete("/v2/cache/app/blobs/sha256:" + "0" * 64),
    ):
        assert_error(response, 405, "UNSUPPORTED")
    image = await push_image(client, "team/app", "v1")
    assert (await client.get(f"/v2/team/app/manifests/{image.digest}")).status_code == 200
    assert "x-modelyard-cache" not in (await client.get("/v2/team/app/manifests/v1")).headers


async def test_allowpush_lets_local_pushes_live_beside_cached_content(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    cache = await instances(proxy_config(db_config, upstream.url, allowpush=True))
    image = await push_image(cache.client, "library/mine", "v1")
    got = await cache.client.get("/v2/library/mine/manifests/v1")
    assert got.status_code == 200
    assert got.headers["docker-content-digest"] == image.digest
    await push_blob(cache.client, "library/mine", b"extra")


async def test_pull_through_works_without_a_database(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    data = os.urandom(1 << 16)
    digest = upstream.push_blob("library/app", data)
    manifest, _ = upstream.push_image("library/app", "v1", [data])
    config = dataclasses.replace(
        proxy_config(db_config, upstream.url), database=DatabaseConfig(enabled=False)
    )
    cache = await instances(config)
    assert (await cache.client.get("/v2/library/app/manifests/v1")).headers[
        "docker-content-digest"
    ] == manifest
    blob = await cache.client.get(f"/v2/library/app/blobs/{digest}")
    assert blob.content == data
    assert blob.headers["x-modelyard-cache"] == "miss"
    assert (await cache.client.get("/v2/library/app/manifests/v1")).headers[
        "x-modelyard-cache"
    ] == "hit"

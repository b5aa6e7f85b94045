"""Catalog, tags list and referrers of proxied repositories: upstream first, cache after."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from registry.config import Config
from tests.registry.helpers import OCI_INDEX, assert_error, push_image
from tests.registry.proxy.authserver import auth_upstream
from tests.registry.proxy.conftest import Upstream, proxy_config

pytestmark = pytest.mark.anyio

REPO = "library/app"
Start = Callable[..., Any]


async def test_tags_come_from_the_upstream_then_from_the_cache(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    for tag in ("v1", "v2", "v3"):
        upstream.push_image(REPO, tag, [tag.encode()])
    cache = await instances(proxy_config(db_config, upstream.url))
    listed = await cache.client.get(f"/v2/{REPO}/tags/list")
    assert listed.json() == {"name": REPO, "tags": ["v1", "v2", "v3"]}
    page = await cache.client.get(f"/v2/{REPO}/tags/list", params={"n": 1, "last": "v1"})
    assert page.json()["tags"] == ["v2"]
    assert "link" in page.headers

    await cache.client.get(f"/v2/{REPO}/manifests/v2")
    upstream.counting.stop()
    cached = await cache.client.get(f"/v2/{REPO}/tags/list")
    assert cached.json() == {"name": REPO, "tags": ["v2"]}
    assert_error(await cache.client.get("/v2/library/none/tags/list"), 404, "NAME_UNKNOWN")


async def test_a_repository_unknown_upstream_and_here_is_name_unknown(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    cache = await instances(proxy_config(db_config, upstream.url))
    assert_error(await cache.client.get("/v2/library/none/tags/list"), 404, "NAME_UNKNOWN")


async def test_the_catalog_lists_upstream_repositories_under_every_local_prefix(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    upstream.push_image(REPO, "v1", [b"x"])
    upstream.push_image("team/tool", "v1", [b"y"])
    cache = await instances(proxy_config(db_config, upstream.url))
    await push_image(cache.client, "local/model", "v1")
    catalog = await cache.client.get("/v2/_catalog")
    assert catalog.json()["repositories"] == [
        "cache/library/app",
        "cache/team/tool",
        "library/app",
        "local/model",
    ]
    upstream.counting.stop()
    assert (await cache.client.get("/v2/_catalog")).json()["repositories"] == ["local/model"]


async def test_referrers_come_from_the_upstream_when_it_answers(
    instances: Start, db_config: Config
) -> None:
    subject = "sha256:" + "5" * 64
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": "sha256:" + "6" * 64,
                "size": 10,
                "artifactType": "application/vnd.example.sbom",
            }
        ],
    }
    with auth_upstream("anonymous") as fake:
        fake.put(f"/v2/{REPO}/referrers/{subject}", json.dumps(index).encode())
        cache = await instances(proxy_config(db_config, fake.url))
        found = await cache.client.get(f"/v2/{REPO}/referrers/{subject}")
        assert found.status_code == 200
        assert found.json() == index
        fake.status = 503
        cached = await cache.client.get(f"/v2/{REPO}/referrers/{subject}")
        assert cached.status_code == 200
        assert cached.json()["manifests"] == []

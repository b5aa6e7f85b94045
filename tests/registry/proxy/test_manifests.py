"""Manifest pull-through against a real registry:2 upstream: tags cached and revalidated after
the TTL, moved tags picked up, stale copies served when the upstream fails, digests cached for
good, index manifests and their children, wrong bytes refused, cached manifests indexed."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from registry.config import Config
from registry.digest import Digest
from tests.registry.helpers import (
    OCI_INDEX,
    OCI_MANIFEST,
    assert_error,
    digest_of,
    encode,
)
from tests.registry.proxy.authserver import auth_upstream
from tests.registry.proxy.conftest import Upstream, metric, proxy_config

pytestmark = pytest.mark.anyio

REPO = "library/app"
Start = Callable[..., Any]
ACCEPT = {"Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"}


async def test_a_tag_is_cached_like_a_push_and_served_without_the_upstream(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    digest, data = upstream.push_image(REPO, "v1", [os.urandom(100)])
    cache = await instances(proxy_config(db_config, upstream.url))
    first = await cache.client.get(f"/v2/{REPO}/manifests/v1", headers=ACCEPT)
    assert first.status_code == 200
    assert first.content == data
    assert first.headers["docker-content-digest"] == digest
    assert first.headers["x-modelyard-cache"] == "miss"
    assert str(await cache.store.tags.resolve(REPO, "v1")) == digest

    upstream.counting.stop()
    for reference in ("v1", digest):
        again = await cache.client.get(f"/v2/{REPO}/manifests/{reference}", headers=ACCEPT)
        assert again.content == data
        assert again.headers["x-modelyard-cache"] == "hit"
    head = await cache.client.head(f"/v2/{REPO}/manifests/v1", headers=ACCEPT)
    assert head.headers["content-length"] == str(len(data))


async def test_a_tag_is_revalidated_with_a_head_after_the_ttl_and_refetched_when_moved(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    old, _ = upstream.push_image(REPO, "v1", [b"one"])
    cache = await instances(proxy_config(db_config, upstream.url, ttl=0))
    assert (await cache.client.get(f"/v2/{REPO}/manifests/v1")).headers["x-modelyard-cache"] == (
        "miss"
    )
    unchanged = await cache.client.get(f"/v2/{REPO}/manifests/v1")
    assert unchanged.headers["x-modelyard-cache"] == "hit"
    assert upstream.counting.manifest_requests(REPO, "v1") == {"GET": 0, "HEAD": 2}
    assert upstream.counting.manifest_requests(REPO, old)["GET"] == 1

    new, data = upstream.push_image(REPO, "v1", [b"two"])
    moved = await cache.client.get(f"/v2/{REPO}/manifests/v1")
    assert moved.headers["x-modelyard-cache"] == "miss"
    assert moved.headers["docker-content-digest"] == new
    assert moved.content == data
    assert upstream.counting.manifest_requests(REPO, new)["GET"] == 1
    assert str(await cache.store.tags.resolve(REPO, "v1")) == new


async def test_within_the_ttl_the_upstream_is_not_asked(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    upstream.push_image(REPO, "v1", [b"one"])
    cache = await instances(proxy_config(db_config, upstream.url, ttl=3600))
    await cache.client.get(f"/v2/{REPO}/manifests/v1")
    upstream.push_image(REPO, "v1", [b"two"])
    again = await cache.client.get(f"/v2/{REPO}/manifests/v1")
    assert again.headers["x-modelyard-cache"] == "hit"
    assert upstream.counting.manifest_requests(REPO, "v1") == {"GET": 0, "HEAD": 1}


@pytest.mark.parametrize("failure", ["down", "503", "429"])
async def test_a_failing_upstream_gets_the_cached_copy_served_stale(
    upstream: Upstream, instances: Start, db_config: Config, failure: str
) -> None:
    _, data = upstream.push_image(REPO, "v1", [b"one"])
    cache = await instances(proxy_config(db_config, upstream.url, ttl=0))
    await cache.client.get(f"/v2/{REPO}/manifests/v1")
    if failure == "down":
        upstream.counting.stop()
    else:
        upstream.counting.answer(int(failure))
    stale = await cache.client.get(f"/v2/{REPO}/manifests/v1")
    assert stale.status_code == 200
    assert stale.content == data
    assert stale.headers["x-modelyard-cache"] == "stale"
    metrics = (await cache.client.get("/metrics")).text
    labels = {"upstream": "central", "kind": "manifest"}
    assert metric(metrics, "modelyard_proxy_stale_total", **labels) == 1
    assert_error(await cache.client.get(f"/v2/{REPO}/manifests/v2"), 502, "UNAVAILABLE")


async def test_unknown_manifests_are_manifest_unknown(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    cache = await instances(proxy_config(db_config, upstream.url))
    assert_error(await cache.client.get(f"/v2/{REPO}/manifests/nope"), 404, "MANIFEST_UNKNOWN")
    missing = "sha256:" + "0" * 64
    assert_error(await cache.client.get(f"/v2/{REPO}/manifests/{missing}"), 404, "MANIFEST_UNKNOWN")


async def test_an_index_and_its_children_are_cached_as_clients_ask(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    child, child_data = upstream.push_image(REPO, "amd64", [b"amd64 layer"])
    index = encode(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": child,
                    "size": len(child_data),
                    "platform": {"architecture": "amd64", "os": "linux"},
                }
            ],
        }
    )
    put = await asyncio.to_thread(
        httpx.put,
        f"{upstream.registry.url}/v2/{REPO}/manifests/multi",
        content=index,
        headers={"Content-Type": OCI_INDEX},
    )
    assert put.status_code == 201, put.text
    cache = await instances(proxy_config(db_config, upstream.url))
    got = await cache.client.get(f"/v2/{REPO}/manifests/multi", headers=ACCEPT)
    assert got.content == index
    assert got.headers["content-type"] == OCI_INDEX
    assert not await cache.store.manifests.exists(REPO, Digest.parse(child))
    first = await cache.client.get(f"/v2/{REPO}/manifests/{child}", headers=ACCEPT)
    assert first.headers["x-modelyard-cache"] == "miss"
    second = await cache.client.get(f"/v2/{REPO}/manifests/{child}", headers=ACCEPT)
    assert second.headers["x-modelyard-cache"] == "hit"
    assert second.content == child_data


async def test_a_manifest_that_does_not_match_its_digest_is_refused(
    instances: Start, db_config: Config
) -> None:
    with auth_upstream("anonymous") as fake:
        claimed = digest_of(b'{"schemaVersion": 2}')
        fake.put(f"/v2/{REPO}/manifests/{claimed}", json.dumps({"other": True}).encode())
        cache = await instances(proxy_config(db_config, fake.url))
        assert_error(await cache.client.get(f"/v2/{REPO}/manifests/{claimed}"), 502, "UNAVAILABLE")
        assert_error(await cache.client.get(f"/v2/{REPO}/manifests/{claimed}"), 502, "UNAVAILABLE")


async def test_a_cached_manifest_is_indexed_with_its_config(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    digest, _ = upstream.push_image(REPO, "v1", [b"weights"], config=config)
    cache = await instances(proxy_config(db_config, upstream.url))
    await cache.client.get(f"/v2/{REPO}/manifests/v1")
    url = f"/api/v1/repositories/{REPO}/manifests/{digest}"
    record = await cache.client.get(url)
    while record.status_code == 404:
        await asyncio.sleep(0.05)
        record = await cache.client.get(url)
    assert record.status_code == 200, record.text
    assert record.json()["digest"] == digest
    config_digest = digest_of(config)
    assert upstream.counting.blob_gets(REPO, config_digest) == 1
    cached = await cache.client.get(f"/v2/{REPO}/blobs/{config_digest}")
    assert cached.headers["x-modelyard-cache"] in ("hit", "coalesced")


async def test_concurrent_requests_for_a_tag_share_one_upstream_lookup(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    digest, data = upstream.push_image(REPO, "v1", [b"one"])
    upstream.counting.delay(0.2)
    cache = await instances(proxy_config(db_config, upstream.url))
    answers = await asyncio.gather(
        *(cache.client.get(f"/v2/{REPO}/manifests/v1") for _ in range(4))
    )
    assert all(answer.content == data for answer in answers)
    outcomes = sorted(answer.headers["x-modelyard-cache"] for answer in answers)
    assert outcomes.count("miss") == 1, outcomes
    assert upstream.counting.manifest_requests(REPO, "v1") == {"GET": 0, "HEAD": 1}
    assert upstream.counting.manifest_requests(REPO, digest)["GET"] == 1


async def test_instances_on_one_storage_and_database_look_a_tag_up_once(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    digest, data = upstream.push_image(REPO, "v1", [b"one"])
    upstream.counting.delay(0.2)
    config = proxy_config(db_config, upstream.url)
    caches = [await instances(config) for _ in range(3)]
    answers = await asyncio.gather(
        *(cache.client.get(f"/v2/{REPO}/manifests/v1") for cache in caches for _ in range(2))
    )
    assert all(answer.content == data for answer in answers)
    outcomes = sorted(answer.headers["x-modelyard-cache"] for answer in answers)
    assert outcomes == ["coalesced"] * 5 + ["miss"], outcomes
    assert upstream.counting.manifest_requests(REPO, "v1") == {"GET": 0, "HEAD": 1}
    assert upstream.counting.manifest_requests(REPO, digest)["GET"] == 1
    by_digest = await asyncio.gather(
        *(cache.client.get(f"/v2/{REPO}/manifests/{digest}") for cache in caches)
    )
    assert [answer.headers["x-modelyard-cache"] for answer in by_digest] == ["hit"] * 3
    assert upstream.counting.manifest_requests(REPO, digest)["GET"] == 1

"""Blob pull-through against a real registry:2 upstream: miss then hit, Range on a miss,
single-flight within an instance and across instances, wrong bytes, HEAD."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.types import Message

from registry.config import Config
from registry.digest import Digest
from storage.driver import FileWriter
from storage.errors import BlobUnknown, PathNotFound
from storage.filesystem import FilesystemDriver
from tests.registry.helpers import assert_error
from tests.registry.proxy.conftest import Instance, Upstream, metric, proxy_config

pytestmark = pytest.mark.anyio

REPO = "library/app"
Start = Callable[..., Any]


async def _blob_present(instance: Instance, digest: str) -> bool:
    try:
        await instance.store.blobs.size(Digest.parse(digest))
    except BlobUnknown:
        return False
    return True


async def _uploads(instance: Instance) -> list[str]:
    try:
        return await instance.store.driver.list(f"/docker/registry/v2/repositories/{REPO}/_uploads")
    except PathNotFound:
        return []


async def _get_to_the_end(
    instance: Instance, path: str, first_body: asyncio.Event | None = None
) -> tuple[int, dict[bytes, bytes], bytes]:
    """A GET through the ASGI app by a client that stays connected until the app is done
    (httpx's ASGI transport refuses an answer that ends short). `first_body` is set when
    the first bytes of the body arrive."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"registry.test")],
        "client": ("127.0.0.1", 50000),
        "server": ("registry.test", 80),
    }
    sent: list[Message] = []
    requested = False
    never = asyncio.Event()

    async def receive() -> Message:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await never.wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)
        if first_body is not None and message.get("body"):
            first_body.set()

    await instance.app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), body


async def test_a_miss_is_fetched_once_then_served_from_the_cache(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    data = os.urandom(3 << 20)
    digest = upstream.push_blob(REPO, data)
    cache = await instances(proxy_config(db_config, upstream.url))

    first = await cache.client.get(f"/v2/{REPO}/blobs/{digest}")
    assert first.status_code == 200
    assert first.content == data
    assert first.headers["x-modelyard-cache"] == "miss"
    assert first.headers["docker-content-digest"] == digest
    assert first.headers["content-length"] == str(len(data))
    assert await _blob_present(cache, digest)

    upstream.counting.stop()
    second = await cache.client.get(f"/v2/{REPO}/blobs/{digest}")
    assert second.content == data
    assert second.headers["x-modelyard-cache"] == "hit"
    head = await cache.client.head(f"/v2/{REPO}/blobs/{digest}")
    assert head.headers["x-modelyard-cache"] == "hit"
    assert head.headers["content-length"] == str(len(data))
    assert upstream.counting.blob_gets(REPO, digest) == 1
    metrics = (await cache.client.get("/metrics")).text
    labels = {"upstream": "central", "kind": "blob"}
    assert metric(metrics, "modelyard_proxy_misses_total", **labels) == 1
    assert metric(metrics, "modelyard_proxy_hits_total", **labels) == 2
    assert metric(metrics, "modelyard_proxy_upstream_bytes_total", **labels) == len(data)


class _SlowUploads(FilesystemDriver):
    """A filesystem whose uploads open only once `opened` is set (a slow store)."""

    def __init__(self, root: Path, opened: asyncio.Event) -> None:
        super().__init__(root)
        self.opened = opened

    async def writer(self, path: str, append: bool = False) -> FileWriter:
        if "/_uploads/" in path:
            await self.opened.wait()
        return await super().writer(path, append)


async def test_a_miss_streams_before_the_storage_upload_is_open(
    upstream: Upstream, instances: Start, db_config: Config, tmp_path: Path
) -> None:
    data = os.urandom(3 << 20)
    digest = upstream.push_blob(REPO, data)
    opened, first_body = asyncio.Event(), asyncio.Event()
    driver = _SlowUploads(tmp_path / "slow-root", opened)
    cache = await instances(proxy_config(db_config, upstream.url), driver)
    get = asyncio.create_task(_get_to_the_end(cache, f"/v2/{REPO}/blobs/{digest}", first_body))
    await asyncio.wait_for(first_body.wait(), 10)
    assert not get.done()  # the last byte waits for the blob to be stored
    opened.set()
    status, headers, body = await get
    assert status == 200
    assert headers[b"x-modelyard-cache"] == b"miss"
    assert body == data
    assert await _blob_present(cache, digest)
    assert await _uploads(cache) == []


async def test_a_range_on_a_miss_is_answered_from_the_one_fetch(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    data = os.urandom(1 << 20)
    digest = upstream.push_blob(REPO, data)
    cache = await instances(proxy_config(db_config, upstream.url))
    response = await cache.client.get(
        f"/v2/{REPO}/blobs/{digest}", headers={"Range": "bytes=1000-1999"}
    )
    assert response.status_code == 206
    assert response.content == data[1000:2000]
    assert response.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    whole = await cache.client.get(f"/v2/{REPO}/blobs/{digest}")
    assert whole.content == data
    assert whole.headers["x-modelyard-cache"] == "hit"
    assert upstream.counting.blob_gets(REPO, digest) == 1


async def test_concurrent_misses_on_one_instance_share_one_fetch(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    data = os.urandom(4 << 20)
    digest = upstream.push_blob(REPO, data)
    upstream.counting.throttle(8 << 20)
    cache = await instances(proxy_config(db_config, upstream.url))
    responses = await asyncio.gather(
        *(cache.client.get(f"/v2/{REPO}/blobs/{digest}") for _ in range(5))
    )
    assert all(response.content == data for response in responses)
    outcomes = sorted(response.headers["x-modelyard-cache"] for response in responses)
    assert outcomes.count("miss") == 1, outcomes
    assert upstream.counting.blob_gets(REPO, digest) == 1


async def test_instances_on_one_storage_and_database_fetch_a_blob_once(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    data = os.urandom(4 << 20)
    digest = upstream.push_blob(REPO, data)
    upstream.counting.throttle(8 << 20)
    config = proxy_config(db_config, upstream.url)
    caches = [await instances(config) for _ in range(3)]
    responses = await asyncio.gather(
        *(cache.client.get(f"/v2/{REPO}/blobs/{digest}") for cache in caches for _ in range(2))
    )
    assert all(response.content == data for response in responses)
    assert upstream.counting.blob_gets(REPO, digest) == 1


async def test_wrong_bytes_abort_the_answer_and_are_not_cached(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    data = os.urandom(1 << 20)
    digest = upstream.push_blob(REPO, data)
    cache = await instances(proxy_config(db_config, upstream.url))
    upstream.counting.corrupt(digest)
    status, headers, body = await _get_to_the_end(cache, f"/v2/{REPO}/blobs/{digest}")
    assert status == 200
    assert headers[b"content-length"] == str(len(data)).encode()
    assert len(body) < len(data), "the answer stops short: the client sees the failure"
    assert not await _blob_present(cache, digest)
    assert await _uploads(cache) == [], "the discarded upload is removed"

    upstream.counting.corrupt(digest, enabled=False)
    good = await cache.client.get(f"/v2/{REPO}/blobs/{digest}")
    assert good.content == data
    assert good.headers["x-modelyard-cache"] == "miss"
    assert upstream.counting.blob_gets(REPO, digest) == 2


async def test_a_head_miss_asks_the_upstream_and_caches_nothing(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    data = os.urandom(1000)
    digest = upstream.push_blob(REPO, data)
    cache = await instances(proxy_config(db_config, upstream.url))
    head = await cache.client.head(f"/v2/{REPO}/blobs/{digest}")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["x-modelyard-cache"] == "miss"
    assert upstream.counting.blob_gets(REPO, digest) == 0
    assert not await _blob_present(cache, digest)


async def test_unknown_blobs_and_a_down_upstream_are_oci_errors(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    cache = await instances(proxy_config(db_config, upstream.url))
    unknown = "sha256:" + "0" * 64
    assert_error(await cache.client.get(f"/v2/{REPO}/blobs/{unknown}"), 404, "BLOB_UNKNOWN")
    upstream.counting.answer(503)
    assert_error(await cache.client.get(f"/v2/{REPO}/blobs/{unknown}"), 502, "UNAVAILABLE")


async def test_a_blob_cached_for_one_repository_is_linked_to_another_the_upstream_confirms(
    upstream: Upstream, instances: Start, db_config: Config
) -> None:
    data = os.urandom(1 << 16)
    digest = upstream.push_blob(REPO, data)
    upstream.push_blob("library/other", data)
    cache = await instances(proxy_config(db_config, upstream.url))
    assert (await cache.client.get(f"/v2/{REPO}/blobs/{digest}")).content == data
    other = await cache.client.get(f"/v2/library/other/blobs/{digest}")
    assert other.content == data
    assert upstream.counting.blob_gets("library/other", digest) == 0
    assert upstream.counting.count("HEAD", f"/v2/library/other/blobs/{digest}") == 1
    assert_error(await cache.client.get(f"/v2/library/none/blobs/{digest}"), 404, "BLOB_UNKNOWN")

"""Single-flight across a cluster: four Modelyard instances on one S3 bucket (moto) and one
PostgreSQL schema, eight clients pulling the same cold 256 MiB blob spread over them. The
upstream (registry:2 behind a counting proxy) must see exactly one GET for that blob. And the
cache state (tag freshness, access data) is the cluster's, in PostgreSQL, not an instance's."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import anyio
import asyncpg
import httpx
import pytest

from tests.interop import helpers
from tests.interop.helpers import OCI_MANIFEST
from tests.interop.proxy_helpers import (
    UPSTREAM,
    Download,
    ProxyLab,
    blob_url,
    cache_header,
    download,
    fill_upstream,
    make_blob,
    metric,
    proxy_section,
    push_blob,
)
from tests.support.s3server import S3Server

pytestmark = pytest.mark.interop

REPO = "library/weights"
INSTANCES = 4
CLIENTS = 8
SIZE = 256 << 20


@pytest.mark.slow
def test_eight_clients_on_four_instances_fetch_a_cold_blob_from_upstream_once(
    lab: ProxyLab, s3_server: S3Server, tmp_path: Path
) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    blob = make_blob(tmp_path / "blob", SIZE, seed=256)
    push_blob(upstream.url, REPO, blob)
    blob.path.unlink()
    storage = s3_server.storage()
    proxy = proxy_section(counting.url)
    instances = [lab.modelyard(proxy, storage, name=f"node{n}") for n in range(INSTANCES)]
    assert counting.blob_gets(REPO, blob.digest) == 0

    start = threading.Barrier(CLIENTS)

    def client(number: int) -> Download:
        url = blob_url(instances[number % INSTANCES], REPO, blob.digest)
        start.wait()
        return download(url)

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))

    for number, result in enumerate(results):
        assert result.ok(blob), f"client {number} got {result} instead of {blob}"
    assert counting.blob_gets(REPO, blob.digest) == 1, (
        f"upstream saw {counting.blob_gets(REPO, blob.digest)} GETs of the blob "
        f"(log: {counting.log})"
    )
    assert counting.bytes_sent(f"/v2/{REPO}/blobs/{blob.digest}") == SIZE

    outcomes = Counter(result.cache for result in results)
    assert outcomes["miss"] == 1, f"exactly one request fetches upstream: {outcomes}"
    assert set(outcomes) <= {"miss", "coalesced", "hit"}, outcomes
    misses = sum(
        metric(server, "modelyard_proxy_misses_total", upstream=UPSTREAM, kind="blob")
        for server in instances
    )
    others = sum(
        metric(server, name, upstream=UPSTREAM, kind="blob")
        for server in instances
        for name in ("modelyard_proxy_coalesced_total", "modelyard_proxy_hits_total")
    )
    fetched = sum(
        metric(server, "modelyard_proxy_upstream_bytes_total", upstream=UPSTREAM)
        for server in instances
    )
    assert misses == 1
    assert others == CLIENTS - 1
    assert fetched == SIZE

    # warm: every instance serves it without asking upstream again
    for server in instances:
        again = download(blob_url(server, REPO, blob.digest))
        assert again.ok(blob), again
        assert again.cache == "hit"
    assert counting.blob_gets(REPO, blob.digest) == 1


async def _access_rows(url: str, schema: str, digest: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(url, server_settings={"search_path": schema})
    try:
        rows: list[asyncpg.Record] = await connection.fetch(
            "SELECT * FROM proxy_objects WHERE digest = $1", digest
        )
        return rows
    finally:
        await connection.close()


def test_cache_state_is_shared_by_the_instances_through_postgresql(
    lab: ProxyLab, s3_server: S3Server, skopeo: str, database_url: str, tmp_path: Path
) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    image = helpers.build_oci_layout(tmp_path / "image", seed=51)
    fill_upstream(skopeo, upstream, image, "library/app", "v1", tmp_path / "d")
    storage = s3_server.storage()
    proxy = proxy_section(counting.url, manifestttl=3600)
    first, second = (lab.modelyard(proxy, storage, name=f"node{n}") for n in range(2))
    pulled = helpers.skopeo_copy(
        skopeo,
        f"docker://{first.netloc}/library/app:v1",
        f"oci:{tmp_path / 'out'}:v1",
        workdir=tmp_path / "d",
    )
    assert pulled == image.manifest_digest
    asked = sum(counting.requests.values())

    # the other instance knows the tag is fresh and every blob is cached: nothing goes upstream
    with httpx.Client(base_url=second.url, timeout=30) as client:
        tag = client.get("/v2/library/app/manifests/v1", headers={"Accept": OCI_MANIFEST})
        assert tag.status_code == 200, tag.text
        assert tag.headers["Docker-Content-Digest"] == image.manifest_digest
        assert cache_header(tag) == "hit", "tag freshness is shared, not per instance"
        for digest in image.layer_digests:
            blob = client.get(f"/v2/library/app/blobs/{digest}")
            assert blob.status_code == 200
            assert cache_header(blob) == "hit"
    assert sum(counting.requests.values()) == asked, counting.log[asked:]

    # access data for a later eviction policy: origin, size and last access of each object
    rows = anyio.run(_access_rows, database_url, lab.schema, image.layer_digests[0])
    assert len(rows) == 1, rows
    row = dict(rows[0])
    assert row["upstream"] == UPSTREAM
    assert row["kind"] == "blob"
    assert row["size"] == len(helpers.layout_blob(image.path, image.layer_digests[0]))
    assert isinstance(row["last_access_at"], datetime)
    assert row["last_access_at"] >= row["cached_at"]

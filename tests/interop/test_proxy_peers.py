"""Cross-instance streaming: clients on instances that do not hold a blob's lease stream it
from the holder's fetch while it runs, Range requests included, and the upstream still sees
one GET. Four Modelyard instances on one S3 bucket (moto) and one PostgreSQL schema, the
upstream slowed down by the counting proxy so the fetch lasts seconds."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import httpx
import pytest

from tests.interop.proxy_helpers import (
    PATIENCE,
    UPSTREAM,
    Download,
    ProxyLab,
    blob_url,
    download,
    make_blob,
    metric,
    proxy_section,
    push_blob,
    wait_for,
)
from tests.support.s3server import S3Server

pytestmark = pytest.mark.interop

REPO = "library/weights"
MIB = 1 << 20
SIZE = 24 * MIB


def test_clients_on_other_instances_stream_from_the_holder_while_it_fetches(
    lab: ProxyLab, s3_server: S3Server, tmp_path: Path
) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    blob = make_blob(tmp_path / "blob", SIZE, seed=77)
    data = blob.path.read_bytes()
    push_blob(upstream.url, REPO, blob)
    path = f"/v2/{REPO}/blobs/{blob.digest}"
    storage = s3_server.storage()
    holder, *others = (
        lab.modelyard(proxy_section(counting.url), storage, name=f"node{n}") for n in range(4)
    )

    counting.throttle(4 * MIB)
    first = Download()
    threads = [threading.Thread(target=download, args=(blob_url(holder, REPO, blob.digest), first))]
    threads[0].start()
    wait_for(lambda: counting.bytes_sent(path) >= MIB, "the holder's fetch to start")

    results = [Download() for _ in others]
    for server, result in zip(others, results, strict=True):
        thread = threading.Thread(
            target=download, args=(blob_url(server, REPO, blob.digest), result)
        )
        thread.start()
        threads.append(thread)
    for result in results:
        assert result.first_byte.wait(PATIENCE)
        assert counting.bytes_sent(path) < SIZE, (
            "a client on another instance got its first byte only after the upstream fetch"
        )

    # a Range request on another instance is answered from the holder's fetch too (its last
    # byte once the blob has matched its digest, as on the holder's own instance)
    with httpx.Client(timeout=PATIENCE) as client:
        part = client.get(
            blob_url(others[0], REPO, blob.digest), headers={"Range": "bytes=1000-1999"}
        )
    assert part.status_code == 206, part.text
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{SIZE}"
    assert part.content == data[1000:2000]
    assert part.headers["X-Modelyard-Cache"] == "coalesced"

    counting.throttle(None)
    for thread in threads:
        thread.join(PATIENCE)
    assert first.ok(blob), first
    assert first.cache == "miss"
    for result in results:
        assert result.ok(blob), result
        assert result.cache == "coalesced"
        assert result.digest == "sha256:" + hashlib.sha256(data).hexdigest()
    assert counting.blob_gets(REPO, blob.digest) == 1, counting.log
    assert counting.bytes_sent(path) == SIZE
    coalesced = sum(
        metric(server, "modelyard_proxy_coalesced_total", upstream=UPSTREAM, kind="blob")
        for server in others
    )
    assert coalesced == len(others) + 1

"""Pull-through when things go wrong: an upstream sending wrong bytes, the instance holding the
fetch lease killed mid-fetch, an upstream down or overloaded after the manifest TTL (stale-if-
error), and a tag moved upstream (TTL revalidation with a HEAD)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.interop import helpers
from tests.interop.helpers import OCI_MANIFEST
from tests.interop.proxy_helpers import (
    PATIENCE,
    UPSTREAM,
    Download,
    ProxyLab,
    blob_url,
    cache_header,
    download,
    fill_upstream,
    kill_tree,
    make_blob,
    metric,
    proxy_section,
    push_blob,
    stored_blob,
    wait_for,
)
from tests.support.s3server import S3Server

pytestmark = pytest.mark.interop

REPO = "library/app"
MIB = 1 << 20


def test_wrong_bytes_from_upstream_fail_the_client_and_are_not_cached(
    lab: ProxyLab, tmp_path: Path
) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    blob = make_blob(tmp_path / "blob", 8 * MIB, seed=8)
    push_blob(upstream.url, REPO, blob)
    cache = lab.modelyard(proxy_section(counting.url))
    path = f"/v2/{REPO}/blobs/{blob.digest}"

    counting.corrupt(blob.digest)
    bad = download(blob_url(cache, REPO, blob.digest))
    assert counting.blob_gets(REPO, blob.digest) == 1
    assert counting.bytes_sent(path) == blob.size, "the proxy sent the whole (wrong) body"
    assert bad.error or bad.status != 200 or bad.size < blob.size, (
        f"the client received all {bad.size} wrong bytes with 200 and no error, so it cannot "
        f"tell they are wrong: the connection must be aborted ({bad})"
    )
    assert bad.digest != blob.digest
    assert not stored_blob(cache.root, blob.digest).exists(), "wrong bytes were cached"

    counting.corrupt(blob.digest, enabled=False)
    good = download(blob_url(cache, REPO, blob.digest))
    assert good.ok(blob), f"the upstream is fixed: the blob must come through now ({good})"
    assert good.cache == "miss"
    assert counting.blob_gets(REPO, blob.digest) == 2, "nothing was cached, so it fetched again"
    assert stored_blob(cache.root, blob.digest).exists()

    cached = download(blob_url(cache, REPO, blob.digest))
    assert cached.ok(blob)
    assert cached.cache == "hit"
    assert counting.blob_gets(REPO, blob.digest) == 2


def test_a_range_request_on_a_miss_fetches_the_blob_once(lab: ProxyLab, tmp_path: Path) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    blob = make_blob(tmp_path / "blob", 6 * MIB, seed=6)
    push_blob(upstream.url, REPO, blob)
    cache = lab.modelyard(proxy_section(counting.url))
    expected = blob.path.read_bytes()

    with httpx.Client(timeout=60) as client:
        ranged = client.get(
            blob_url(cache, REPO, blob.digest), headers={"Range": f"bytes={MIB}-{2 * MIB - 1}"}
        )
        assert ranged.status_code == 206, ranged.text
        assert ranged.headers["Content-Range"] == f"bytes {MIB}-{2 * MIB - 1}/{blob.size}"
        assert ranged.content == expected[MIB : 2 * MIB]
        tail = client.get(blob_url(cache, REPO, blob.digest), headers={"Range": "bytes=-1000"})
        assert tail.status_code == 206
        assert tail.content == expected[-1000:]
    whole = download(blob_url(cache, REPO, blob.digest))
    assert whole.ok(blob), whole
    assert counting.blob_gets(REPO, blob.digest) == 1, (
        f"a Range request on a miss must not cost a second upstream fetch: {counting.log}"
    )


def test_another_instance_completes_the_pull_when_the_lease_holder_is_killed(
    lab: ProxyLab, s3_server: S3Server, tmp_path: Path
) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    blob = make_blob(tmp_path / "blob", 48 * MIB, seed=48)
    push_blob(upstream.url, REPO, blob)
    path = f"/v2/{REPO}/blobs/{blob.digest}"
    storage = s3_server.storage()
    proxy = proxy_section(counting.url, leaseseconds=3)
    holder, waiter, late = (lab.modelyard(proxy, storage, name=f"node{n}") for n in range(3))

    # the upstream sends slowly, so the fetch is still running when its holder dies
    counting.throttle(4 * MIB)
    first = Download()
    first_thread = threading.Thread(
        target=download, args=(blob_url(holder, REPO, blob.digest), first)
    )
    first_thread.start()
    wait_for(lambda: counting.bytes_sent(path) >= 2 * MIB, "the holder's fetch to start")
    second = Download()
    second_thread = threading.Thread(
        target=download, args=(blob_url(waiter, REPO, blob.digest), second)
    )
    second_thread.start()
    # give the second request time to reach its instance and join the running fetch
    second.first_byte.wait(timeout=3)
    assert counting.blob_gets(REPO, blob.digest) == 1, "the second instance fetched on its own"
    assert counting.bytes_sent(path) < blob.size, "the fetch ended before the kill"
    wait_for(lambda: second.size > 0, "the waiter to stream from the holder's fetch")
    assert not second.error

    kill_tree(holder)
    counting.throttle(None)
    first_thread.join(timeout=PATIENCE)
    second_thread.join(timeout=PATIENCE)
    assert not first.ok(blob), "the killed instance cannot have served the whole blob"
    assert second.ok(blob), (
        f"the client streaming from the killed holder goes on after the takeover ({second})"
    )
    after = download(blob_url(late, REPO, blob.digest))
    assert after.ok(blob), after
    assert counting.blob_gets(REPO, blob.digest) == 2, (
        f"one fetch by the dead holder, one by the instance that took over: {counting.log}"
    )
    assert metric(late, "modelyard_proxy_misses_total", upstream=UPSTREAM, kind="blob") == 0


@pytest.mark.parametrize("failure", ["503", "429", "stopped", "timeout"])
def test_a_cached_tag_is_served_stale_when_the_upstream_fails_after_the_ttl(
    failure: str, lab: ProxyLab, skopeo: str, tmp_path: Path
) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    image = helpers.build_oci_layout(tmp_path / "image", seed=21)
    fill_upstream(skopeo, upstream, image, REPO, "latest", tmp_path / "d")
    # the upstream timeout is 1 s, and a hung upstream answers after 5 s
    cache = lab.modelyard(proxy_section(counting.url, manifestttl=1, timeout=1))
    url = f"{cache.url}/v2/{REPO}/manifests/latest"
    accept = {"Accept": OCI_MANIFEST}

    fresh = httpx.get(url, headers=accept, timeout=30)
    assert fresh.status_code == 200, fresh.text
    assert fresh.headers["Docker-Content-Digest"] == image.manifest_digest
    assert cache_header(fresh) == "miss"
    assert httpx.get(blob_url(cache, REPO, image.config_digest), timeout=30).status_code == 200

    time.sleep(1.5)  # past the manifest TTL: the next request revalidates upstream
    if failure == "stopped":
        counting.stop()
    elif failure == "timeout":
        counting.delay(5)
    else:
        counting.answer(int(failure))
    stale = httpx.get(url, headers=accept, timeout=30)
    assert stale.status_code == 200, f"upstream {failure}: serve the cached copy ({stale.text})"
    assert stale.headers["Docker-Content-Digest"] == image.manifest_digest
    assert stale.content == fresh.content
    assert cache_header(stale) == "stale"
    if failure in ("503", "429"):
        requests = counting.manifest_requests(REPO, "latest")
        assert requests["HEAD"] + requests["GET"] >= 2, "the TTL ran out: it asked upstream"
    assert metric(cache, "modelyard_proxy_stale_total", upstream=UPSTREAM, kind="manifest") >= 1
    assert "stale" in cache.log().lower(), "a stale serve is logged"

    # a blob cached before the failure keeps being served from the cache
    config = httpx.get(blob_url(cache, REPO, image.config_digest), timeout=30)
    assert config.status_code == 200, config.text
    assert cache_header(config) == "hit"


def test_a_moved_tag_is_picked_up_after_the_ttl_and_not_before(
    lab: ProxyLab, skopeo: str, tmp_path: Path
) -> None:
    ttl = 2
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    old = helpers.build_oci_layout(tmp_path / "old", seed=31)
    new = helpers.build_oci_layout(tmp_path / "new", seed=32)
    fill_upstream(skopeo, upstream, old, REPO, "latest", tmp_path / "d")
    fill_upstream(skopeo, upstream, new, REPO, "next", tmp_path / "d")
    accept = {"Accept": OCI_MANIFEST}
    new_manifest = httpx.get(f"{upstream.url}/v2/{REPO}/manifests/next", headers=accept)
    assert new_manifest.headers["Docker-Content-Digest"] == new.manifest_digest
    cache = lab.modelyard(proxy_section(counting.url, manifestttl=ttl))
    url = f"{cache.url}/v2/{REPO}/manifests/latest"

    def heads() -> int:
        return counting.count("HEAD", f"/v2/{REPO}/manifests/latest")

    def fetches() -> int:
        """Manifest bodies fetched upstream, by the tag or by either digest."""
        return sum(
            counting.count("GET", f"/v2/{REPO}/manifests/{reference}")
            for reference in ("latest", old.manifest_digest, new.manifest_digest)
        )

    with httpx.Client(timeout=30, headers=accept) as client:
        first = client.get(url)
        fetched_at = time.monotonic()
        assert first.headers["Docker-Content-Digest"] == old.manifest_digest
        assert fetches() == 1
        heads_at_first = heads()

        # move the tag upstream (one PUT, straight to the upstream), then ask at once
        moved = client.put(
            f"{upstream.url}/v2/{REPO}/manifests/latest",
            content=new_manifest.content,
            headers={"Content-Type": OCI_MANIFEST},
        )
        assert moved.status_code == 201, moved.text
        before = client.get(url)
        assert time.monotonic() - fetched_at < ttl, "too slow to look within the TTL"
        assert before.headers["Docker-Content-Digest"] == old.manifest_digest, (
            "within the TTL the cached tag is served without asking upstream"
        )
        assert cache_header(before) == "hit"
        assert heads() == heads_at_first, "within the TTL the tag is not revalidated"
        assert fetches() == 1

        time.sleep(ttl + 0.5)
        after = client.get(url)
        assert after.status_code == 200, after.text
        assert after.headers["Docker-Content-Digest"] == new.manifest_digest, (
            "after the TTL the moved tag must be picked up"
        )
        assert after.content == new_manifest.content
        assert heads() == heads_at_first + 1, f"revalidated with one HEAD: {counting.log}"
        assert fetches() == 2, "refetched once because the digest changed"

        # revalidated again, unchanged: one more HEAD and no GET
        time.sleep(ttl + 0.5)
        same = client.get(url)
        assert same.headers["Docker-Content-Digest"] == new.manifest_digest
        assert cache_header(same) == "hit"
        assert heads() == heads_at_first + 2, f"revalidated with one HEAD: {counting.log}"
        assert fetches() == 2, f"unchanged upstream: nothing refetched ({counting.log})"

        # by digest, manifests are immutable: served from the cache, never revalidated
        counting.stop()
        by_digest = client.get(f"{cache.url}/v2/{REPO}/manifests/{old.manifest_digest}")
        assert by_digest.status_code == 200, by_digest.text
        assert by_digest.headers["Docker-Content-Digest"] == old.manifest_digest
        assert cache_header(by_digest) == "hit"

"""Pull-through with real clients: skopeo and podman pull an image from a registry:2 upstream
through Modelyard; the first pull is a miss that fetches upstream, the second is served from
the cache with the upstream stopped."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.interop import helpers
from tests.interop.helpers import (
    OCI_INDEX,
    OCI_MANIFEST,
    OciImage,
    layout_blob,
    read_oci_layout,
)
from tests.interop.proxy_helpers import (
    UPSTREAM,
    ProxyLab,
    blob_url,
    cache_header,
    fill_upstream,
    make_blob,
    metric,
    proxy_section,
    push_blob,
)
from tests.interop.test_podman import Podman

pytestmark = pytest.mark.interop

REPO = "library/app"


def _blobs(image: OciImage) -> list[str]:
    return [image.config_digest, *image.layer_digests]


def test_skopeo_pull_is_a_miss_then_a_hit_with_the_upstream_stopped(
    lab: ProxyLab, skopeo: str, oci_image: OciImage, tmp_path: Path
) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    pushed = fill_upstream(skopeo, upstream, oci_image, REPO, "v1", tmp_path / "d")
    assert pushed == oci_image.manifest_digest
    cache = lab.modelyard(proxy_section(counting.url))

    first = helpers.skopeo_copy(
        skopeo,
        f"docker://{cache.netloc}/{REPO}:v1",
        f"oci:{tmp_path / 'first'}:v1",
        workdir=tmp_path / "d",
    )
    assert first == oci_image.manifest_digest
    for digest in _blobs(oci_image):
        assert layout_blob(tmp_path / "first", digest) == layout_blob(oci_image.path, digest)
        assert counting.blob_gets(REPO, digest) == 1, (
            f"the first pull should fetch {digest} from upstream exactly once: {counting.log}"
        )
    # the layers at least were misses (the config may have been cached with the manifest)
    misses = metric(cache, "modelyard_proxy_misses_total", upstream=UPSTREAM, kind="blob")
    assert misses >= len(oci_image.layer_digests)
    upstream_bytes = metric(cache, "modelyard_proxy_upstream_bytes_total", upstream=UPSTREAM)
    blob_bytes = sum(len(layout_blob(oci_image.path, d)) for d in _blobs(oci_image))
    assert upstream_bytes >= blob_bytes

    upstream.stop()
    counting.stop()
    second = helpers.skopeo_copy(
        skopeo,
        f"docker://{cache.netloc}/{REPO}:v1",
        f"oci:{tmp_path / 'second'}:v1",
        workdir=tmp_path / "d",
    )
    assert second == oci_image.manifest_digest
    digest, _ = read_oci_layout(tmp_path / "second", "v1")
    assert digest == oci_image.manifest_digest
    for blob in _blobs(oci_image):
        assert layout_blob(tmp_path / "second", blob) == layout_blob(oci_image.path, blob)

    with httpx.Client(base_url=cache.url, timeout=30) as client:
        manifest = client.get(f"/v2/{REPO}/manifests/v1", headers={"Accept": OCI_MANIFEST})
        assert manifest.status_code == 200, manifest.text
        assert manifest.headers["Docker-Content-Digest"] == oci_image.manifest_digest
        assert cache_header(manifest) == "hit"
        for blob in _blobs(oci_image):
            response = client.get(f"/v2/{REPO}/blobs/{blob}")
            assert response.status_code == 200
            assert cache_header(response) == "hit", blob
            head = client.head(f"/v2/{REPO}/blobs/{blob}")
            assert head.status_code == 200
            assert int(head.headers["Content-Length"]) == len(response.content)
    assert metric(cache, "modelyard_proxy_hits_total", upstream=UPSTREAM, kind="blob") >= 2 * len(
        _blobs(oci_image)
    )
    assert metric(cache, "modelyard_proxy_hits_total", upstream=UPSTREAM, kind="manifest") >= 1


def test_podman_pulls_through_then_from_the_cache_alone(
    lab: ProxyLab, skopeo: str, podman: str, oci_image: OciImage, tmp_path: Path
) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    fill_upstream(skopeo, upstream, oci_image, REPO, "v1", tmp_path / "d")
    cache = lab.modelyard(proxy_section(counting.url))
    # podman refuses a runroot longer than 50 characters, so it cannot live in tmp_path
    runroot = Path(tempfile.mkdtemp(prefix="my-podrun-", dir="/tmp"))
    try:
        client = Podman(podman, tmp_path / "podman", runroot, cache.netloc)
        ref = f"{cache.netloc}/{REPO}:v1"
        client("pull", "--quiet", ref)
        assert client.image_ids() == [oci_image.config_digest]
        for digest in oci_image.layer_digests:
            assert counting.blob_gets(REPO, digest) == 1, counting.log
        client("rmi", "--all", "--force")
        assert client.image_ids() == []

        upstream.stop()
        counting.stop()
        client("pull", "--quiet", ref)
        assert client.image_ids() == [oci_image.config_digest]
    finally:
        shutil.rmtree(runroot, ignore_errors=True)


def test_prefixes_map_local_names_and_other_repositories_stay_local(
    lab: ProxyLab, skopeo: str, tmp_path: Path
) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    app = helpers.build_oci_layout(tmp_path / "app", seed=11)
    special = helpers.build_oci_layout(tmp_path / "special", seed=12)
    alpine = helpers.build_oci_layout(tmp_path / "alpine", seed=13)
    own = helpers.build_oci_layout(tmp_path / "own", seed=14)
    fill_upstream(skopeo, upstream, app, "library/app", "v1", tmp_path / "d")
    fill_upstream(skopeo, upstream, special, "other/x", "v1", tmp_path / "d")
    fill_upstream(skopeo, upstream, alpine, "alpine", "v1", tmp_path / "d")
    prefixes = [
        ("library/", "library/"),
        ("library/special/", "other/"),
        ("mirror/", "library/"),
        ("cache/", ""),
    ]
    cache = lab.modelyard(proxy_section(counting.url, prefixes=prefixes))

    expected = {
        "library/app": app.manifest_digest,  # same name upstream
        "mirror/app": app.manifest_digest,  # another local prefix for the same upstream one
        "library/special/x": special.manifest_digest,  # the longest local prefix wins
        "cache/alpine": alpine.manifest_digest,  # an empty remote prefix
    }
    with httpx.Client(base_url=cache.url, timeout=30) as client:
        for local, digest in expected.items():
            response = client.get(f"/v2/{local}/manifests/v1", headers={"Accept": OCI_MANIFEST})
            assert response.status_code == 200, (local, response.text)
            assert response.headers["Docker-Content-Digest"] == digest, local
        assert sum(counting.manifest_requests("other/x", "v1").values()) >= 1
        assert sum(counting.manifest_requests("library/special/x", "v1").values()) == 0

        # under a proxied prefix, pushes are refused (allowpush: false) with UNSUPPORTED
        refused = client.post("/v2/library/pushed/blobs/uploads/")
        assert refused.status_code == 405, refused.text
        assert refused.json()["errors"][0]["code"] == "UNSUPPORTED"

    # repositories outside every prefix are ordinary local ones on the same instance
    pushed = helpers.skopeo_copy(
        skopeo, own.ref, f"docker://{cache.netloc}/team/own:v1", workdir=tmp_path / "d"
    )
    assert pushed == own.manifest_digest
    before = sum(counting.requests.values())
    pulled = helpers.skopeo_copy(
        skopeo,
        f"docker://{cache.netloc}/team/own:v1",
        f"oci:{tmp_path / 'own-out'}:v1",
        workdir=tmp_path / "d",
    )
    assert pulled == own.manifest_digest
    assert sum(counting.requests.values()) == before, "a local repository never asks upstream"


def test_tags_and_catalog_come_from_upstream_then_from_the_cache(
    lab: ProxyLab, skopeo: str, oci_image: OciImage, tmp_path: Path
) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    fill_upstream(skopeo, upstream, oci_image, REPO, "v1", tmp_path / "d")
    fill_upstream(skopeo, upstream, oci_image, REPO, "v2", tmp_path / "d")
    cache = lab.modelyard(proxy_section(counting.url))
    with httpx.Client(base_url=cache.url, timeout=30) as client:
        tags = client.get(f"/v2/{REPO}/tags/list")
        assert tags.status_code == 200, tags.text
        assert tags.json() == {"name": REPO, "tags": ["v1", "v2"]}
        assert counting.count("GET", f"/v2/{REPO}/tags/list") >= 1

        # a tag added upstream shows at once: the list is asked upstream while it answers
        fill_upstream(skopeo, upstream, oci_image, REPO, "v3", tmp_path / "d")
        assert client.get(f"/v2/{REPO}/tags/list").json()["tags"] == ["v1", "v2", "v3"]
        pulled = client.get(f"/v2/{REPO}/manifests/v1", headers={"Accept": OCI_MANIFEST})
        assert pulled.status_code == 200

        catalog = client.get("/v2/_catalog")
        assert catalog.status_code == 200, catalog.text
        assert REPO in catalog.json()["repositories"]

        upstream.stop()
        counting.stop()
        cached_tags = client.get(f"/v2/{REPO}/tags/list")
        assert cached_tags.status_code == 200, (
            f"with the upstream down the tags list must come from the cache: {cached_tags.text}"
        )
        assert "v1" in cached_tags.json()["tags"]
        cached_catalog = client.get("/v2/_catalog")
        assert cached_catalog.status_code == 200, cached_catalog.text
        assert REPO in cached_catalog.json()["repositories"]


def test_an_index_and_its_child_manifests_are_cached_as_clients_ask_for_them(
    lab: ProxyLab, skopeo: str, tmp_path: Path
) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    repo = "library/multi"
    children = []
    for seed, arch in ((41, "amd64"), (42, "arm64")):
        image = helpers.build_oci_layout(tmp_path / arch, seed=seed)
        fill_upstream(skopeo, upstream, image, repo, arch, tmp_path / "d")
        manifest = layout_blob(image.path, image.manifest_digest)
        children.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": image.manifest_digest,
                "size": len(manifest),
                "platform": {"architecture": arch, "os": "linux"},
            }
        )
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": children})
    index_digest = "sha256:" + hashlib.sha256(index.encode()).hexdigest()
    put = httpx.put(
        f"{upstream.url}/v2/{repo}/manifests/v1",
        content=index.encode(),
        headers={"Content-Type": OCI_INDEX},
    )
    assert put.status_code == 201, put.text
    cache = lab.modelyard(proxy_section(counting.url))

    def child_fetches(digest: str) -> int:
        return counting.count("GET", f"/v2/{repo}/manifests/{digest}")

    with httpx.Client(base_url=cache.url, timeout=30) as client:
        got = client.get(f"/v2/{repo}/manifests/v1", headers={"Accept": OCI_INDEX})
        assert got.status_code == 200, got.text
        assert got.headers["Docker-Content-Digest"] == index_digest
        assert got.content == index.encode()
    for child in children:
        assert child_fetches(child["digest"]) == 0, "child manifests are fetched when asked for"

    first = helpers.skopeo_copy(
        skopeo,
        f"docker://{cache.netloc}/{repo}:v1",
        f"oci:{tmp_path / 'first'}:v1",
        "--all",
        workdir=tmp_path / "d",
    )
    assert first == index_digest
    for child in children:
        assert child_fetches(child["digest"]) == 1, counting.log

    upstream.stop()
    counting.stop()
    second = helpers.skopeo_copy(
        skopeo,
        f"docker://{cache.netloc}/{repo}:v1",
        f"oci:{tmp_path / 'second'}:v1",
        "--all",
        workdir=tmp_path / "d",
    )
    assert second == index_digest
    with httpx.Client(base_url=cache.url, timeout=30) as client:
        for child in children:
            cached = client.get(
                f"/v2/{repo}/manifests/{child['digest']}", headers={"Accept": OCI_MANIFEST}
            )
            assert cached.status_code == 200, cached.text
            assert cache_header(cached) == "hit"


def test_a_miss_streams_to_the_client_while_the_upstream_is_still_sending(
    lab: ProxyLab, tmp_path: Path
) -> None:
    upstream = lab.upstream()
    counting = lab.counting(upstream)
    blob = make_blob(tmp_path / "blob", 16 << 20, seed=16)
    push_blob(upstream.url, REPO, blob)
    cache = lab.modelyard(proxy_section(counting.url))
    path = f"/v2/{REPO}/blobs/{blob.digest}"
    counting.throttle(4 << 20)  # the upstream needs about 4 s for the whole blob

    hasher = hashlib.sha256()
    upstream_sent_at_first_byte = -1
    with (
        httpx.Client(timeout=120) as client,
        client.stream("GET", blob_url(cache, REPO, blob.digest)) as response,
    ):
        assert response.status_code == 200
        assert cache_header(response) == "miss"
        for piece in response.iter_bytes():
            if upstream_sent_at_first_byte < 0:
                upstream_sent_at_first_byte = counting.bytes_sent(path)
            hasher.update(piece)
    assert "sha256:" + hasher.hexdigest() == blob.digest
    assert upstream_sent_at_first_byte < blob.size, (
        "the client got its first byte only after the upstream had sent the whole blob: a miss "
        "must be teed to the client as it arrives, not fetched first and served after"
    )

"""Registry operations over `client.Connection`: the pushes and pulls that the scenarios time."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from urllib.parse import quote

from bench.blobfile import BlobFile
from bench.client import Connection, FileSpan, HTTPError, Response

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
MANIFEST_ACCEPT = ", ".join(
    [
        OCI_MANIFEST,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
)
OCTET = {"Content-Type": "application/octet-stream"}


@dataclass(frozen=True)
class Timed:
    seconds: float
    size: int


def _location(response: Response) -> str:
    location = response.header("location")
    if not location:
        raise HTTPError(f"HTTP {response.status} without a Location header")
    return location


def _with_query(location: str, key: str, value: str) -> str:
    return f"{location}{'&' if '?' in location else '?'}{key}={quote(value, safe=':')}"


def supports_monolithic_post(conn: Connection, repo: str) -> bool:
    """True if `POST .../uploads/?digest=` with a body creates the blob in one request.

    registry:2 (distribution 2.8) answers 202 and ignores the body; then the blob is pushed
    with POST followed by `PUT ?digest=` carrying the body, as its documentation says.
    """
    data = b"modelyard-bench monolithic probe"
    digest = BlobFile.digest_of(data)
    response = conn.request(
        "POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", OCTET, body=data
    ).expect(201, 202)
    if response.status == 201:
        return True
    conn.request("DELETE", _location(response))  # abandon the upload the probe opened
    return False


def push_monolithic(conn: Connection, repo: str, blob: BlobFile, single_post: bool) -> Timed:
    """Push the whole blob in one request body; the time covers every request of the push."""
    body = FileSpan(blob.path, 0, blob.size)
    started = time.perf_counter()
    if single_post:
        target = f"/v2/{repo}/blobs/uploads/?digest={blob.digest}"
        conn.request("POST", target, OCTET, body=body).expect(201)
    else:
        location = _location(conn.request("POST", f"/v2/{repo}/blobs/uploads/").expect(202))
        target = _with_query(location, "digest", blob.digest)
        conn.request("PUT", target, OCTET, body=body).expect(201)
    return Timed(time.perf_counter() - started, blob.size)


def push_chunked(conn: Connection, repo: str, blob: BlobFile, chunk: int) -> Timed:
    """POST, then PATCH chunks of `chunk` bytes with Content-Range, then `PUT ?digest=`."""
    started = time.perf_counter()
    location = _location(conn.request("POST", f"/v2/{repo}/blobs/uploads/").expect(202))
    offset = 0
    while offset < blob.size:
        count = min(chunk, blob.size - offset)
        headers = {**OCTET, "Content-Range": f"{offset}-{offset + count - 1}"}
        response = conn.request("PATCH", location, headers, body=FileSpan(blob.path, offset, count))
        location = _location(response.expect(202))
        offset += count
    conn.request("PUT", _with_query(location, "digest", blob.digest), body=b"").expect(201)
    return Timed(time.perf_counter() - started, blob.size)


def get_blob(conn: Connection, repo: str, digest: str, size: int) -> Timed:
    """Download the blob, discarding its bytes; checks that every byte arrived."""
    started = time.perf_counter()
    response = conn.request("GET", f"/v2/{repo}/blobs/{digest}", discard=True).expect(200)
    seconds = time.perf_counter() - started
    if response.received != size:
        raise HTTPError(f"GET blob: received {response.received} of {size} bytes")
    return Timed(seconds, size)


def get_blob_digest(conn: Connection, repo: str, digest: str) -> str:
    """Download the blob into memory and return its digest (small blobs, smoke checks)."""
    response = conn.request("GET", f"/v2/{repo}/blobs/{digest}").expect(200)
    return BlobFile.digest_of(response.body)


def blob_size(conn: Connection, repo: str, digest: str) -> int:
    response = conn.request("HEAD", f"/v2/{repo}/blobs/{digest}").expect(200)
    return int(response.header("content-length", "-1"))


def push_bytes(conn: Connection, repo: str, data: bytes, single_post: bool) -> str:
    """Push a small in-memory blob; returns its digest."""
    digest = BlobFile.digest_of(data)
    if single_post:
        target = f"/v2/{repo}/blobs/uploads/?digest={digest}"
        conn.request("POST", target, OCTET, body=data).expect(201)
    else:
        location = _location(conn.request("POST", f"/v2/{repo}/blobs/uploads/").expect(202))
        conn.request("PUT", _with_query(location, "digest", digest), OCTET, body=data).expect(201)
    return digest


def push_small_image(conn: Connection, repo: str, tag: str, single_post: bool) -> tuple[str, str]:
    """A config, one 4 KiB layer and an OCI manifest tagged `tag`: (manifest, layer) digests."""
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}
    ).encode()
    layer = bytes(range(256)) * 16
    config_digest = push_bytes(conn, repo, config, single_post)
    layer_digest = push_bytes(conn, repo, layer, single_post)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": len(config)},
            "layers": [{"mediaType": OCI_LAYER, "digest": layer_digest, "size": len(layer)}],
        }
    ).encode()
    headers = {"Content-Type": OCI_MANIFEST}
    conn.request("PUT", f"/v2/{repo}/manifests/{tag}", headers, body=manifest).expect(201)
    got = conn.request("GET", f"/v2/{repo}/manifests/{tag}", {"Accept": MANIFEST_ACCEPT})
    if got.expect(200).body != manifest:
        raise HTTPError("manifest read back differs from the one pushed")
    return BlobFile.digest_of(manifest), layer_digest

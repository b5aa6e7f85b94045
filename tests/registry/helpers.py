"""Small building blocks of the registry API tests: pushing blobs and manifests, raw requests."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
API_VERSION = "registry/2.0"


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def descriptor(data: bytes, media_type: str, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest_of(data), "size": len(data), **extra}


def encode(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=2).encode()


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an OCI error of `code` with `status`; returns the first error."""
    assert response.status_code == status, response.text
    assert response.headers["docker-distribution-api-version"] == API_VERSION
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body["errors"], list)
    assert body["errors"], body
    error: dict[str, Any] = body["errors"][0]
    assert error["code"] == code, body
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


async def push_blob(
    client: httpx.AsyncClient, name: str, data: bytes, algorithm: str = "sha256"
) -> str:
    """Monolithic upload (`POST ?digest=`); returns the digest."""
    digest = digest_of(data, algorithm)
    response = await client.post(
        f"/v2/{name}/blobs/uploads/",
        params={"digest": digest},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == digest
    return digest


async def push_manifest(
    client: httpx.AsyncClient,
    name: str,
    reference: str,
    manifest: dict[str, Any] | bytes,
    media_type: str | None = OCI_MANIFEST,
) -> str:
    """PUT a manifest under a tag or digest; returns its digest."""
    data = manifest if isinstance(manifest, bytes) else encode(manifest)
    headers = {"Content-Type": media_type} if media_type else {}
    response = await client.put(f"/v2/{name}/manifests/{reference}", content=data, headers=headers)
    assert response.status_code == 201, response.text
    digest = digest_of(data, reference.split(":", 1)[0] if ":" in reference else "sha256")
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["location"] == f"/v2/{name}/manifests/{digest}"
    return digest


@dataclass
class Image:
    """An image manifest pushed with its config and layers."""

    manifest: dict[str, Any]
    data: bytes
    digest: str
    config: bytes
    layers: list[bytes] = field(default_factory=list)

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        media_type = self.manifest.get("mediaType", OCI_MANIFEST)
        return {"mediaType": media_type, "digest": self.digest, "size": len(self.data), **extra}


def image_manifest(
    config: bytes,
    layers: Iterable[bytes],
    *,
    media_type: str = OCI_MANIFEST,
    config_type: str = OCI_CONFIG,
    layer_type: str = OCI_LAYER,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": media_type,
        "config": descriptor(config, config_type),
        "layers": [descriptor(layer, layer_type) for layer in layers],
        **extra,
    }


async def push_image(
    client: httpx.AsyncClient,
    name: str,
    reference: str | None = None,
    *,
    config: bytes = b'{"architecture":"amd64","os":"linux"}',
    layers: Iterable[bytes] = (b"layer one",),
    media_type: str = OCI_MANIFEST,
    config_type: str = OCI_CONFIG,
    layer_type: str = OCI_LAYER,
    **extra: Any,
) -> Image:
    """Push the blobs and the manifest of an image, by `reference` (default: its digest)."""
    layers = list(layers)
    await push_blob(client, name, config)
    for layer in layers:
        await push_blob(client, name, layer)
    manifest = image_manifest(
        config,
        layers,
        media_type=media_type,
        config_type=config_type,
        layer_type=layer_type,
        **extra,
    )
    data = encode(manifest)
    digest = await push_manifest(client, name, reference or digest_of(data), data, media_type)
    return Image(manifest, data, digest, config, layers)


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def asgi_request(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    query: bytes = b"",
    headers: Iterable[tuple[str, str]] = (),
    body: Iterable[bytes] = (),
) -> RawResponse:
    """Call the ASGI app directly: the path goes in unnormalised, the body in the given chunks."""
    chunks = list(body)
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("registry.test", 80),
    }
    pending: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ] or [{"type": "http.request", "body": b"", "more_body": False}]
    sent: list[Message] = []

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    received = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return RawResponse(
        start["status"],
        {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])},
        received,
    )

"""Manifests: `GET|HEAD|PUT|DELETE /v2/<name>/manifests/<reference>`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from registry.digest import Digest
from registry.errors import (
    DIGEST_INVALID,
    MANIFEST_BLOB_UNKNOWN,
    MANIFEST_INVALID,
    SIZE_INVALID,
    UNSUPPORTED,
    RegistryError,
)
from registry.handlers import params
from registry.handlers.origin import origin, record_pull
from registry.index.events import Target
from registry.index.usage import PULL, PUSH
from registry.manifest import Descriptor, Manifest, ManifestInvalid, parse, sniff_media_type
from registry.proxy.blobs import CACHE_HEADER
from storage.errors import BlobUnknown
from storage.layout import RegistryStore


async def _resolve(store: RegistryStore, name: str, reference: Digest | str) -> Digest:
    if isinstance(reference, Digest):
        return reference
    return await store.tags.resolve(name, reference)


async def get_manifest(request: Request) -> Response:
    name = params.repository(request)
    store = params.store(request)
    reference = params.reference(request.path_params["reference"])
    proxied = params.proxied(request, name)
    headers: dict[str, str] = {}
    if proxied is not None:
        answer = await proxied[0].manifests.get(proxied[1], reference)
        digest, data = answer.digest, answer.data
        headers[CACHE_HEADER] = answer.outcome
    else:
        digest = await _resolve(store, name, reference)
        data = await store.manifests.get(name, digest)
    headers.update({"Docker-Content-Digest": str(digest), "ETag": f'"{digest}"'})
    media_type = sniff_media_type(data)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(data))
        return Response(status_code=200, headers=headers, media_type=media_type)
    usage = params.usage(request)
    if usage is not None:
        usage.record(name, str(digest), PULL)
    tag = reference if isinstance(reference, str) else ""
    record_pull(request, Target(name, str(digest), media_type, len(data), tag))
    return Response(data, headers=headers, media_type=media_type)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    too_large = RegistryError(
        SIZE_INVALID, {"limit": limit}, message="manifest too large", status=413
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


async def _check_references(store: RegistryStore, name: str, manifest: Manifest) -> None:
    for child in manifest.manifests:
        if not await store.manifests.exists(name, child.digest):
            raise RegistryError(MANIFEST_BLOB_UNKNOWN, {"digest": str(child.digest)})
    blobs: list[Descriptor] = [manifest.config] if manifest.config else []
    blobs.extend(layer for layer in manifest.layers if not layer.urls)
    for blob in blobs:
        try:
            size = await store.blobs.size_in(name, blob.digest)
        except BlobUnknown:
            raise RegistryError(MANIFEST_BLOB_UNKNOWN, {"digest": str(blob.digest)}) from None
        if size != blob.size:
            raise RegistryError(
                MANIFEST_INVALID,
                {"digest": str(blob.digest), "reason": f"size is {size}, not {blob.size}"},
            )


async def put_manifest(request: Request) -> Response:
    name = params.writable(request, params.repository(request))
    reference = params.reference(request.path_params["reference"])
    store = params.store(request)
    data = await _read_body(request, request.app.state.config.limits.manifest_max_bytes)
    try:
        manifest = parse(data, request.headers.get("content-type"))
    except ManifestInvalid as exc:
        raise RegistryError(MANIFEST_INVALID, {"reason": str(exc)}) from None
    if isinstance(reference, Digest):
        digest = Digest.of(data, reference.algorithm)
        if digest != reference:
            raise RegistryError(DIGEST_INVALID, {"expected": str(reference), "got": str(digest)})
    else:
        digest = Digest.of(data)
    await _check_references(store, name, manifest)
    await store.manifests.put(name, data, digest)
    tag = reference if isinstance(reference, str) else None
    if tag is not None:
        await store.tags.tag(name, tag, digest)
    usage = params.usage(request)
    if usage is not None:
        usage.record(name, str(digest), PUSH)
    index = params.index(request)
    if index is not None:
        await index.safely(
            name, index.manifest_pushed(name, digest, data, manifest, tag, origin(request))
        )
    headers = {
        "Location": f"/v2/{name}/manifests/{digest}",
        "Docker-Content-Digest": str(digest),
        "Content-Length": "0",
    }
    if manifest.subject is not None:
        headers["OCI-Subject"] = str(manifest.subject.digest)
    return Response(status_code=201, headers=headers)


async def delete_manifest(request: Request) -> Response:
    name = params.writable(request, params.repository(request))
    reference = params.reference(request.path_params["reference"])
    if not request.app.state.config.storage.delete.enabled:
        raise RegistryError(UNSUPPORTED, {"reason": "deletes are disabled"})
    store = params.store(request)
    index = params.index(request)
    if isinstance(reference, str):
        await store.tags.untag(name, reference)
        if index is not None:
            await index.safely(name, index.tag_deleted(name, reference, origin(request)))
    else:
        await store.manifests.get(name, reference)
        for tag in await store.tags.pointing_at(name, reference):
            await store.tags.untag(name, tag)
        await store.manifests.delete(name, reference)
        if index is not None:
            await index.safely(name, index.manifest_deleted(name, reference, origin(request)))
    return Response(status_code=202, headers={"Content-Length": "0"})

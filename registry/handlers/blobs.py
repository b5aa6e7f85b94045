"""Blobs: `GET|HEAD|DELETE /v2/<name>/blobs/<digest>`."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from registry.downloads import BlobFileResponse
from registry.errors import UNSUPPORTED, RegistryError
from registry.handlers import params
from registry.handlers.ranges import parse_range
from registry.proxy.blobs import CACHE_HEADER
from registry.proxy.peers import PEER_HEADER, ClientRequest
from storage.errors import BlobUnknown

OCTET_STREAM = "application/octet-stream"


async def _limited(chunks: AsyncIterator[bytes], length: int) -> AsyncIterator[bytes]:
    remaining = length
    async for chunk in chunks:
        if len(chunk) >= remaining:
            yield chunk[:remaining]
            return
        remaining -= len(chunk)
        yield chunk


async def get_blob(request: Request) -> Response:
    name = params.repository(request)
    digest = params.digest(request.path_params["digest"])
    blobs = params.store(request).blobs
    proxied = params.proxied(request, name)
    try:
        size = await blobs.readable_size(name, digest)
        outcome = proxied[0].blobs.hit(proxied[1], digest) if proxied else None
    except BlobUnknown:
        if proxied is None:
            raise
        service, route = proxied
        range_header = request.headers.get("range")
        client = ClientRequest(
            peer=PEER_HEADER in request.headers,
            authorization=request.headers.get("authorization"),
        )
        answer = await service.blobs.miss(route, digest, request.method, range_header, client)
        if answer.response is not None:
            return answer.response
        outcome = answer.outcome
        size = await blobs.size_in(name, digest)
    headers = {
        "Docker-Content-Digest": str(digest),
        "Accept-Ranges": "bytes",
        "ETag": f'"{digest}"',
    }
    if outcome is not None:
        headers[CACHE_HEADER] = outcome
    if request.method == "HEAD":
        headers["Content-Length"] = str(size)
        return Response(status_code=200, headers=headers, media_type=OCTET_STREAM)
    span = parse_range(request.headers.get("range"), size)
    if span is not None:
        start, end = span
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        body = _limited(blobs.reader(digest, start), end - start + 1)
        return StreamingResponse(body, 206, headers=headers, media_type=OCTET_STREAM)
    redirect = await blobs.redirect_url(digest, "GET")
    if redirect is not None:
        return RedirectResponse(redirect, 307, headers=headers)
    local = blobs.local_path(digest)
    if local is not None:
        slots = request.app.state.downloads
        return BlobFileResponse(local, headers, OCTET_STREAM, slots)
    headers["Content-Length"] = str(size)
    return StreamingResponse(blobs.reader(digest), headers=headers, media_type=OCTET_STREAM)


async def delete_blob(request: Request) -> Response:
    name = params.writable(request, params.repository(request))
    digest = params.digest(request.path_params["digest"])
    if not request.app.state.config.storage.delete.enabled:
        raise RegistryError(UNSUPPORTED, {"reason": "deletes are disabled"})
    await params.store(request).blobs.unlink(name, digest)
    return Response(status_code=202, headers={"Content-Length": "0"})

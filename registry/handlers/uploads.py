"""Blob uploads: `POST /v2/<name>/blobs/uploads/` and `GET|PATCH|PUT|DELETE .../<id>`."""

from __future__ import annotations

import contextlib
import re
import time

from starlette.requests import Request
from starlette.responses import Response

from auth.rbac import PULL
from auth.request import may
from registry.digest import Digest
from registry.errors import BLOB_UPLOAD_INVALID, DIGEST_INVALID, RegistryError
from registry.handlers import params
from registry.reference import is_valid_name
from storage.errors import BlobUnknown

_CONTENT_RANGE = re.compile(r"^(?:bytes[ =])?(\d+)-(\d+)(?:/(?:\d+|\*))?$")


def _upload_headers(name: str, upload_id: str, size: int) -> dict[str, str]:
    return {
        "Location": f"/v2/{name}/blobs/uploads/{upload_id}",
        "Range": f"0-{max(size - 1, 0)}",
        "Docker-Upload-UUID": upload_id,
        "Content-Length": "0",
    }


def _blob_created(name: str, digest: Digest) -> Response:
    headers = {
        "Location": f"/v2/{name}/blobs/{digest}",
        "Docker-Content-Digest": str(digest),
        "Content-Length": "0",
    }
    return Response(status_code=201, headers=headers)


def _content_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise RegistryError(BLOB_UPLOAD_INVALID, {"reason": f"bad Content-Length {raw!r}"})
    return value


def _has_body(request: Request) -> bool:
    length = _content_length(request)
    return (length or 0) > 0 or (
        length is None and "chunked" in request.headers.get("transfer-encoding", "").lower()
    )


def _required_digest(request: Request) -> Digest:
    raw = request.query_params.get("digest")
    if not raw:
        raise RegistryError(DIGEST_INVALID, {"reason": "digest query parameter is required"})
    return params.digest(raw)


def _observe(request: Request, started: float) -> None:
    request.app.state.metrics.upload_seconds.observe(time.perf_counter() - started)


async def _try_mount(request: Request, name: str) -> Response | None:
    digest = params.digest(request.query_params["mount"])
    source = request.query_params.get("from")
    if not source or not is_valid_name(source) or not may(request, source, PULL):
        return None
    blobs = params.store(request).blobs
    try:
        await blobs.size_in(source, digest)
    except BlobUnknown:
        return None
    await blobs.link(name, digest)
    return _blob_created(name, digest)


async def start_upload(request: Request) -> Response:
    name = params.writable(request, params.repository(request))
    if "mount" in request.query_params:
        mounted = await _try_mount(request, name)
        if mounted is not None:
            return mounted
    uploads = params.store(request).uploads
    if "digest" in request.query_params:
        digest = _required_digest(request)
        started = time.perf_counter()
        upload_id = await uploads.start(name)
        try:
            await uploads.append(
                name,
                upload_id,
                request.stream(),
                length=_content_length(request),
                algorithm=digest.algorithm,
            )
            await uploads.finish(name, upload_id, digest)
        except BaseException:
            with contextlib.suppress(Exception):
                await uploads.cancel(name, upload_id)
            raise
        _observe(request, started)
        return _blob_created(name, digest)
    upload_id = await uploads.start(name)
    headers = _upload_headers(name, upload_id, 0)
    headers["OCI-Chunk-Min-Length"] = str(params.store(request).driver.min_chunk_size)
    return Response(status_code=202, headers=headers)


def _content_range(request: Request) -> tuple[int, int] | None:
    raw = request.headers.get("content-range")
    if raw is None:
        return None
    match = _CONTENT_RANGE.match(raw.strip())
    if match is None or int(match.group(2)) < int(match.group(1)):
        raise RegistryError(BLOB_UPLOAD_INVALID, {"reason": f"bad Content-Range {raw!r}"})
    start, end = int(match.group(1)), int(match.group(2))
    length = _content_length(request)
    if length is not None and length != end - start + 1:
        raise RegistryError(
            BLOB_UPLOAD_INVALID, {"reason": "Content-Range does not match Content-Length"}
        )
    return start, end - start + 1


async def _append(request: Request, name: str, upload_id: str) -> int:
    span = _content_range(request)
    start, length = span if span else (None, _content_length(request))
    return await params.store(request).uploads.append(
        name, upload_id, request.stream(), start=start, length=length
    )


async def patch_upload(request: Request) -> Response:
    name = params.repository(request)
    upload_id = request.path_params["upload_id"]
    size = await _append(request, name, upload_id)
    return Response(status_code=202, headers=_upload_headers(name, upload_id, size))


async def upload_status(request: Request) -> Response:
    name = params.repository(request)
    upload_id = request.path_params["upload_id"]
    size = await params.store(request).uploads.size(name, upload_id)
    return Response(status_code=204, headers=_upload_headers(name, upload_id, size))


async def finish_upload(request: Request) -> Response:
    name = params.repository(request)
    upload_id = request.path_params["upload_id"]
    digest = _required_digest(request)
    started = time.perf_counter()
    if _has_body(request):
        await _append(request, name, upload_id)
    await params.store(request).uploads.finish(name, upload_id, digest)
    _observe(request, started)
    return _blob_created(name, digest)


async def cancel_upload(request: Request) -> Response:
    name = params.repository(request)
    await params.store(request).uploads.cancel(name, request.path_params["upload_id"])
    return Response(status_code=204)

"""OCI error codes as data, the exception that carries one, and the single HTTP mapping."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from storage import errors as storage_errors


@dataclass(frozen=True, slots=True)
class ErrorCode:
    code: str
    status: int
    message: str


BLOB_UNKNOWN = ErrorCode("BLOB_UNKNOWN", 404, "blob unknown to registry")
BLOB_UPLOAD_INVALID = ErrorCode("BLOB_UPLOAD_INVALID", 400, "blob upload invalid")
BLOB_UPLOAD_UNKNOWN = ErrorCode("BLOB_UPLOAD_UNKNOWN", 404, "blob upload unknown to registry")
DIGEST_INVALID = ErrorCode("DIGEST_INVALID", 400, "provided digest did not match uploaded content")
MANIFEST_BLOB_UNKNOWN = ErrorCode(
    "MANIFEST_BLOB_UNKNOWN", 400, "manifest references a manifest or blob unknown to registry"
)
MANIFEST_INVALID = ErrorCode("MANIFEST_INVALID", 400, "manifest invalid")
MANIFEST_UNKNOWN = ErrorCode("MANIFEST_UNKNOWN", 404, "manifest unknown to registry")
NAME_INVALID = ErrorCode("NAME_INVALID", 400, "invalid repository name")
NAME_UNKNOWN = ErrorCode("NAME_UNKNOWN", 404, "repository name not known to registry")
SIZE_INVALID = ErrorCode("SIZE_INVALID", 400, "provided length did not match content length")
UNAUTHORIZED = ErrorCode("UNAUTHORIZED", 401, "authentication required")
DENIED = ErrorCode("DENIED", 403, "requested access to the resource is denied")
UNSUPPORTED = ErrorCode("UNSUPPORTED", 405, "the operation is unsupported")
TOOMANYREQUESTS = ErrorCode("TOOMANYREQUESTS", 429, "too many requests")
RANGE_INVALID = ErrorCode("RANGE_INVALID", 416, "requested range not satisfiable")
PAGINATION_NUMBER_INVALID = ErrorCode(
    "PAGINATION_NUMBER_INVALID", 400, "invalid number of results requested"
)
UNKNOWN = ErrorCode("UNKNOWN", 500, "unknown error")


class RegistryError(Exception):
    """An OCI error answer: raise it anywhere below a handler, it is rendered in one place."""

    def __init__(
        self,
        code: ErrorCode,
        detail: Any = None,
        *,
        message: str | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or code.message)
        self.code = code
        self.detail = detail
        self.message = message or code.message
        self.status = status or code.status
        self.headers = headers or {}


def _storage_error(exc: storage_errors.RegistryStorageError) -> RegistryError:
    detail = {"subject": str(exc.subject)}
    match exc:
        case storage_errors.BlobUnknown():
            return RegistryError(BLOB_UNKNOWN, detail)
        case storage_errors.ManifestUnknown():
            return RegistryError(MANIFEST_UNKNOWN, detail)
        case storage_errors.RepositoryUnknown():
            return RegistryError(NAME_UNKNOWN, detail)
        case storage_errors.UploadUnknown():
            return RegistryError(BLOB_UPLOAD_UNKNOWN, detail)
        case storage_errors.DigestMismatch():
            return RegistryError(DIGEST_INVALID, detail)
        case storage_errors.SizeMismatch():
            return RegistryError(SIZE_INVALID, {"reason": str(exc)})
        case storage_errors.UploadOffsetMismatch():
            end = max(exc.size - 1, 0)
            return RegistryError(
                RANGE_INVALID,
                {"reason": str(exc)},
                headers={"Range": f"0-{end}"},
            )
    return RegistryError(UNKNOWN, detail)


def as_registry_error(exc: Exception) -> RegistryError | None:
    """The OCI error for an exception that is the client's doing, None for anything else."""
    if isinstance(exc, RegistryError):
        return exc
    if isinstance(exc, storage_errors.RegistryStorageError):
        return _storage_error(exc)
    if isinstance(exc, storage_errors.InvalidPath):
        return RegistryError(NAME_INVALID, {"path": exc.path})
    return None


def error_body(code: ErrorCode, message: str, detail: Any) -> bytes:
    return json.dumps(
        {"errors": [{"code": code.code, "message": message, "detail": detail}]}
    ).encode()


def error_response(error: RegistryError) -> Response:
    return Response(
        error_body(error.code, error.message, error.detail),
        status_code=error.status,
        headers=error.headers,
        media_type="application/json",
    )


async def http_exception_response(request: Request, exc: Exception) -> Response:
    """Routing failures (unknown path, wrong method) as OCI error bodies."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    code = UNSUPPORTED if status == 405 else ErrorCode("NOT_FOUND", 404, "unknown endpoint")
    if status not in (404, 405):
        code = UNKNOWN
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    return error_response(
        RegistryError(code, {"path": request.url.path}, status=status, headers=headers)
    )

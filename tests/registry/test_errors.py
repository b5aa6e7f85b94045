"""OCI error codes as data and their mapping from registry and storage exceptions."""

from __future__ import annotations

import json

import pytest

from registry import errors
from registry.errors import RegistryError, as_registry_error, error_body, error_response
from storage import errors as storage_errors

SPEC_CODES = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "TOOMANYREQUESTS": 429,
}


@pytest.mark.parametrize(("code", "status"), SPEC_CODES.items())
def test_every_spec_code_is_defined(code: str, status: int) -> None:
    defined = getattr(errors, code)
    assert defined.code == code
    assert defined.status == status
    assert defined.message


def test_registry_error_defaults() -> None:
    error = RegistryError(errors.BLOB_UNKNOWN)
    assert error.status == 404
    assert error.message == "blob unknown to registry"
    assert error.detail is None
    assert error.headers == {}
    assert str(error) == "blob unknown to registry"


def test_registry_error_overrides() -> None:
    error = RegistryError(
        errors.SIZE_INVALID, {"limit": 1}, message="too big", status=413, headers={"X": "y"}
    )
    assert (error.status, error.message, error.detail, error.headers) == (
        413,
        "too big",
        {"limit": 1},
        {"X": "y"},
    )


def test_error_body() -> None:
    body = json.loads(error_body(errors.NAME_INVALID, "bad name", {"name": "A"}))
    assert body == {
        "errors": [{"code": "NAME_INVALID", "message": "bad name", "detail": {"name": "A"}}]
    }


def test_error_response() -> None:
    error = RegistryError(errors.RANGE_INVALID, {"r": 1}, headers={"Content-Range": "bytes */5"})
    response = error_response(error)
    assert response.status_code == 416
    assert response.media_type == "application/json"
    assert response.headers["content-range"] == "bytes */5"
    assert json.loads(bytes(response.body))["errors"][0]["code"] == "RANGE_INVALID"


@pytest.mark.parametrize(
    ("exc", "code", "status"),
    [
        (storage_errors.BlobUnknown("sha256:a"), "BLOB_UNKNOWN", 404),
        (storage_errors.ManifestUnknown("v1"), "MANIFEST_UNKNOWN", 404),
        (storage_errors.RepositoryUnknown("repo"), "NAME_UNKNOWN", 404),
        (storage_errors.UploadUnknown("id"), "BLOB_UPLOAD_UNKNOWN", 404),
        (storage_errors.DigestMismatch("sha256:a"), "DIGEST_INVALID", 400),
        (storage_errors.SizeMismatch("id", "short"), "SIZE_INVALID", 400),
        (storage_errors.InvalidPath("/a/../b"), "NAME_INVALID", 400),
        (storage_errors.RegistryStorageError("x"), "UNKNOWN", 500),
    ],
)
def test_storage_errors_map_to_oci_codes(exc: Exception, code: str, status: int) -> None:
    error = as_registry_error(exc)
    assert error is not None
    assert error.code.code == code
    assert error.status == status


def test_subject_is_the_detail() -> None:
    error = as_registry_error(storage_errors.ManifestUnknown("latest"))
    assert error is not None
    assert error.detail == {"subject": "latest"}


@pytest.mark.parametrize(("size", "header"), [(0, "0-0"), (1, "0-0"), (100, "0-99")])
def test_upload_offset_mismatch_reports_current_range(size: int, header: str) -> None:
    error = as_registry_error(storage_errors.UploadOffsetMismatch("id", size))
    assert error is not None
    assert error.status == 416
    assert error.headers == {"Range": header}


def test_registry_error_is_itself() -> None:
    error = RegistryError(errors.DENIED)
    assert as_registry_error(error) is error


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("bug"),
        KeyError("x"),
        storage_errors.BackendError("/", "down"),
        storage_errors.PathNotFound("/x"),
        OSError("disk"),
    ],
)
def test_other_exceptions_are_not_client_errors(exc: Exception) -> None:
    assert as_registry_error(exc) is None

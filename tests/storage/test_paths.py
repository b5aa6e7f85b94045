"""The registry:2 path grammar, string for string (distribution registry/storage/paths.go)."""

from __future__ import annotations

import pytest

from registry.digest import Digest
from storage import paths
from storage.driver import check_path

HEX = "abcdef0123456789" * 4
SHA256 = Digest("sha256", HEX)
SHA512 = Digest("sha512", "0f" * 64)
V2 = "/docker/registry/v2"


def test_roots() -> None:
    assert paths.ROOT == "/docker/registry/v2"
    assert f"{V2}/repositories" == paths.REPOSITORIES


def test_blob_paths() -> None:
    assert paths.blob_dir(SHA256) == f"{V2}/blobs/sha256/ab/{HEX}"
    assert paths.blob_data(SHA256) == f"{V2}/blobs/sha256/ab/{HEX}/data"
    assert paths.blob_data(SHA512) == f"{V2}/blobs/sha512/0f/{'0f' * 64}/data"


def test_repository_paths() -> None:
    assert paths.repository("library/ubuntu") == f"{V2}/repositories/library/ubuntu"
    assert paths.layer_link("library/ubuntu", SHA256) == (
        f"{V2}/repositories/library/ubuntu/_layers/sha256/{HEX}/link"
    )
    assert paths.layer_link("m", SHA512) == f"{V2}/repositories/m/_layers/sha512/{'0f' * 64}/link"


def test_manifest_paths() -> None:
    assert paths.manifests("a/b") == f"{V2}/repositories/a/b/_manifests"
    assert paths.revisions("a/b", "sha256") == f"{V2}/repositories/a/b/_manifests/revisions/sha256"
    assert paths.revision_link("a/b", SHA256) == (
        f"{V2}/repositories/a/b/_manifests/revisions/sha256/{HEX}/link"
    )


def test_tag_paths() -> None:
    assert paths.tags("a/b") == f"{V2}/repositories/a/b/_manifests/tags"
    assert paths.tag("a/b", "v1.0") == f"{V2}/repositories/a/b/_manifests/tags/v1.0"
    assert paths.tag_current_link("a/b", "latest") == (
        f"{V2}/repositories/a/b/_manifests/tags/latest/current/link"
    )
    assert paths.tag_index_link("a/b", "latest", SHA256) == (
        f"{V2}/repositories/a/b/_manifests/tags/latest/index/sha256/{HEX}/link"
    )


def test_upload_paths() -> None:
    upload_id = "0b5f6d1e-3c4a-4f7e-9a8b-1c2d3e4f5a6b"
    assert paths.upload("a", upload_id) == f"{V2}/repositories/a/_uploads/{upload_id}"
    assert paths.upload_data("a", upload_id) == f"{V2}/repositories/a/_uploads/{upload_id}/data"
    assert paths.upload_started_at("a", upload_id) == (
        f"{V2}/repositories/a/_uploads/{upload_id}/startedat"
    )


@pytest.mark.parametrize(
    "path",
    [
        paths.blob_data(SHA256),
        paths.layer_link("library/ubuntu", SHA512),
        paths.revision_link("a/b/c", SHA256),
        paths.tag_current_link("a", "_underscore.tag-1"),
        paths.tag_index_link("a", "latest", SHA256),
        paths.upload_data("a", "0b5f6d1e-3c4a-4f7e-9a8b-1c2d3e4f5a6b"),
    ],
)
def test_every_path_is_a_valid_driver_path(path: str) -> None:
    assert check_path(path) == path

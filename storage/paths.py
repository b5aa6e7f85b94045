"""The registry:2 storage layout: one function per kind of path.

All paths are driver paths under `/docker/registry/v2`. Callers validate repository names,
tags, digests and upload ids before building a path from them.
"""

from __future__ import annotations

from registry.digest import Digest

ROOT = "/docker/registry/v2"
REPOSITORIES = f"{ROOT}/repositories"


def blob_dir(digest: Digest) -> str:
    return f"{ROOT}/blobs/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"


def blob_data(digest: Digest) -> str:
    return f"{blob_dir(digest)}/data"


def repository(name: str) -> str:
    return f"{REPOSITORIES}/{name}"


def layer_link(name: str, digest: Digest) -> str:
    return f"{repository(name)}/_layers/{digest.algorithm}/{digest.hex}/link"


def manifests(name: str) -> str:
    return f"{repository(name)}/_manifests"


def revisions(name: str, algorithm: str) -> str:
    return f"{manifests(name)}/revisions/{algorithm}"


def revision_link(name: str, digest: Digest) -> str:
    return f"{revisions(name, digest.algorithm)}/{digest.hex}/link"


def tags(name: str) -> str:
    return f"{manifests(name)}/tags"


def tag(name: str, tag: str) -> str:
    return f"{tags(name)}/{tag}"


def tag_current_link(name: str, tag_name: str) -> str:
    return f"{tag(name, tag_name)}/current/link"


def tag_index_link(name: str, tag_name: str, digest: Digest) -> str:
    return f"{tag(name, tag_name)}/index/{digest.algorithm}/{digest.hex}/link"


def upload(name: str, upload_id: str) -> str:
    return f"{repository(name)}/_uploads/{upload_id}"


def upload_data(name: str, upload_id: str) -> str:
    return f"{upload(name, upload_id)}/data"


def upload_started_at(name: str, upload_id: str) -> str:
    return f"{upload(name, upload_id)}/startedat"

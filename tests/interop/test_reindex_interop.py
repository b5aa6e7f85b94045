"""A folder written by the Debian `docker-registry` (registry:2), reindexed by `modelyard
reindex`, gives the rows Modelyard's live indexing writes for the same pushes.

skopeo pushes the same images and a model artifact, tags them, and deletes one, once to
registry:2 over root R and once to a `modelyard serve` process indexing into schema A. Then
`modelyard reindex` reads R into a fresh schema B: A and B must hold the same rows.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import anyio
import asyncpg
import pytest

from tests.interop import helpers
from tests.interop.helpers import (
    MODELYARD,
    OCI_MANIFEST,
    ServerProcess,
    build_oci_layout,
    filesystem_storage,
    run,
    skopeo_copy,
    skopeo_tags,
)
from tests.support.postgres import drop_schema, new_schema

pytestmark = pytest.mark.interop

MODELPACK_ARTIFACT = "application/vnd.cncf.model.manifest.v1+json"
MODELPACK_CONFIG = "application/vnd.cncf.model.config.v1+json"
MODELPACK_WEIGHT = "application/vnd.cncf.model.weight.v1.raw"
ORDER = {
    "repositories": "name",
    "manifests": "repository, digest",
    "tags": "repository, tag",
    "layers": "repository, manifest_digest, position",
}
TIMESTAMPS = ("pushed_at", "updated_at")


def _write_blob(layout: Path, data: bytes) -> dict[str, Any]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    target = layout / "blobs" / "sha256" / digest.split(":", 1)[1]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return {"digest": digest, "size": len(data)}


def build_model_layout(path: Path, tag: str = "v1") -> str:
    """An OCI layout holding one CNCF ModelPack artifact; returns the manifest digest."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    config = json.dumps(
        {
            "descriptor": {
                "family": "tiny",
                "name": "tiny-classifier",
                "version": "1.4.0",
                "authors": ["Interop"],
                "licenses": ["Apache-2.0"],
                "createdAt": "2025-01-02T03:04:05Z",
            },
            "modelfs": {"type": "layers", "diffIds": []},
            "config": {"architecture": "cnn", "format": "safetensors", "paramSize": "3m"},
        }
    ).encode()
    weights = bytes(range(256)) * 64
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": MODELPACK_ARTIFACT,
        "config": {"mediaType": MODELPACK_CONFIG, **_write_blob(path, config)},
        "layers": [
            {
                "mediaType": MODELPACK_WEIGHT,
                **_write_blob(path, weights),
                "annotations": {"org.cncf.model.filepath": "model.safetensors"},
            }
        ],
    }
    data = json.dumps(manifest, indent=2).encode()
    descriptor = {"mediaType": OCI_MANIFEST, **_write_blob(path, data)}
    descriptor["annotations"] = {"org.opencontainers.image.ref.name": tag}
    (path / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [descriptor]}))
    digest: str = descriptor["digest"]
    return digest


def start_indexed_modelyard(
    root: Path, workdir: Path, database_url: str, schema: str
) -> ServerProcess:
    """`modelyard serve` over `root`, indexing into `schema` of the test PostgreSQL."""
    return helpers.start_modelyard(root, workdir, database={"url": database_url, "schema": schema})


def populate(skopeo: str, server: ServerProcess, tmp_path: Path) -> dict[str, str]:
    """The same pushes to any registry: an OCI image under two tags, the same image
    converted to Docker schema 2, a model artifact, and an image pushed then deleted."""
    image = build_oci_layout(tmp_path / "src-image", tag="v1", layers=3, seed=31)
    doomed = build_oci_layout(tmp_path / "src-doomed", tag="v1", layers=1, seed=32)
    model = tmp_path / "src-model"
    if not model.exists():
        build_model_layout(model)
    repo = f"docker://{server.netloc}/team/app"
    work = tmp_path / f"digests-{server.kind}"
    pushed = {
        "oci": skopeo_copy(skopeo, image.ref, f"{repo}:v1", workdir=work),
        "latest": skopeo_copy(skopeo, image.ref, f"{repo}:latest", workdir=work),
        "schema2": skopeo_copy(
            skopeo, image.ref, f"{repo}:v1-docker", "--format", "v2s2", workdir=work
        ),
        "doomed": skopeo_copy(skopeo, doomed.ref, f"{repo}:doomed", workdir=work),
        "model": skopeo_copy(
            skopeo, f"oci:{model}:v1", f"docker://{server.netloc}/ml/tiny:v1", workdir=work
        ),
    }
    run([skopeo, "delete", "--tls-verify=false", f"{repo}:doomed"])
    assert sorted(skopeo_tags(skopeo, repo)) == ["latest", "v1", "v1-docker"]
    return pushed


async def index_rows(url: str, schema: str) -> dict[str, list[dict[str, Any]]]:
    connection = await asyncpg.connect(url, server_settings={"search_path": schema})
    try:
        found = {}
        for table, order in ORDER.items():
            rows = await connection.fetch(f"SELECT * FROM {table} ORDER BY {order}")
            found[table] = [
                {k: str(v) if k == "search" else v for k, v in row.items() if k not in TIMESTAMPS}
                for row in rows
            ]
        return found
    finally:
        await connection.close()


def test_registry2_folder_reindexes_like_live_indexing(
    skopeo: str, database_url: str, tmp_path: Path
) -> None:
    live_schema = anyio.run(new_schema, database_url)
    rebuilt_schema = anyio.run(new_schema, database_url)
    servers: list[ServerProcess] = []
    try:
        # registry:2 writes root R; nothing indexes it
        registry2_root = tmp_path / "registry2-root"
        registry2 = helpers.start_docker_registry(registry2_root, tmp_path / "servers")
        servers.append(registry2)
        from_registry2 = populate(skopeo, registry2, tmp_path)
        registry2.stop()
        registry2.check_log()

        # Modelyard receives the same pushes and indexes them as they come
        modelyard = start_indexed_modelyard(
            tmp_path / "modelyard-root", tmp_path / "servers", database_url, live_schema
        )
        servers.append(modelyard)
        from_modelyard = populate(skopeo, modelyard, tmp_path)
        modelyard.stop()
        modelyard.check_log()
        assert from_modelyard == from_registry2

        # `modelyard reindex` over R into a fresh schema
        config = tmp_path / "reindex.yml"
        config.write_text(
            json.dumps(
                {
                    "storage": filesystem_storage(registry2_root),
                    "database": {"url": database_url, "schema": rebuilt_schema},
                    "log": {"level": "warning"},
                }
            )
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD_", "REGISTRY_"))}
        result = run([MODELYARD, "reindex", "--config", config], env=env)
        assert result.stdout.startswith(
            "reindexed 2 repositories, 3 manifests, 4 tags, 0 errors in "
        ), result.stdout
        assert "team/app: 2 manifests, 3 tags, 0 errors" in result.stderr

        live = anyio.run(index_rows, database_url, live_schema)
        rebuilt = anyio.run(index_rows, database_url, rebuilt_schema)
    finally:
        for server in servers:
            server.stop()
        anyio.run(drop_schema, database_url, live_schema)
        anyio.run(drop_schema, database_url, rebuilt_schema)

    manifests = {row["digest"]: row for row in rebuilt["manifests"]}
    assert from_registry2["latest"] == from_registry2["oci"]
    assert set(manifests) == {from_registry2[k] for k in ("oci", "schema2", "model")}
    model = manifests[from_registry2["model"]]
    assert (model["family"], model["artifact_type"]) == ("modelpack", MODELPACK_ARTIFACT)
    assert (model["name"], model["version"], model["parameter_count"]) == (
        "tiny-classifier",
        "1.4.0",
        3_000_000,
    )
    assert manifests[from_registry2["schema2"]]["media_type"] == helpers.DOCKER_MANIFEST
    assert manifests[from_registry2["oci"]]["media_type"] == OCI_MANIFEST
    assert from_registry2["doomed"] not in manifests
    assert [(t["repository"], t["tag"]) for t in rebuilt["tags"]] == [
        ("ml/tiny", "v1"),
        ("team/app", "latest"),
        ("team/app", "v1"),
        ("team/app", "v1-docker"),
    ]
    assert rebuilt["layers"]
    # and every column of every row (timestamps aside) equals what live indexing wrote:
    # family, digests, media types, sizes, layers, tags, the parsed model fields
    for table in ORDER:
        assert rebuilt[table] == live[table], table

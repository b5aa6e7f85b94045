"""Pushes, snapshots and storage helpers shared by the reindex tests."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from registry.config import Config, FilesystemConfig
from registry.digest import Digest
from registry.index.db import Database
from storage.layout import RegistryStore
from tests.registry.helpers import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    descriptor,
    encode,
    push_blob,
    push_image,
    push_manifest,
)

ROOT = Path(__file__).resolve().parents[3]
ORMB_CONFIG = "application/vnd.caicloud.model.config.v1alpha1+json"
MODELPACK_ARTIFACT = "application/vnd.cncf.model.manifest.v1+json"
MODELPACK_CONFIG = "application/vnd.cncf.model.config.v1+json"
MODELPACK_WEIGHT = "application/vnd.cncf.model.weight.v1.tar"

#: tables and the columns that are timestamps, left out when rows are compared
TIMESTAMPS = {
    "repositories": ("updated_at",),
    "manifests": ("pushed_at",),
    "tags": ("updated_at",),
    "layers": (),
}
ORDER = {
    "repositories": "name",
    "manifests": "repository, digest",
    "tags": "repository, tag",
    "layers": "repository, manifest_digest, position",
}


def database(app: Starlette) -> Database:
    found: Database = app.state.index.database
    return found


def store(app: Starlette) -> RegistryStore:
    found: RegistryStore = app.state.store
    return found


def storage_config(config: Config, root: Path) -> Config:
    """`config` over the folder the indexed app stores into."""
    return dataclasses.replace(
        config,
        storage=dataclasses.replace(config.storage, filesystem=FilesystemConfig(root)),
    )


async def snapshot(db: Database, timestamps: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Every row of the index tables, in a stable order; timestamps only when asked."""
    found = {}
    for table, order in ORDER.items():
        rows = await db.pool.fetch(f"SELECT * FROM {table} ORDER BY {order}")
        skip = () if timestamps else TIMESTAMPS[table]
        found[table] = [
            {k: (str(v) if k == "search" else v) for k, v in row.items() if k not in skip}
            for row in rows
        ]
    return found


async def wipe(db: Database) -> None:
    await db.pool.execute("TRUNCATE layers, tags, manifests, repositories")


def ormb_config(description: str = "CNN Model") -> bytes:
    return json.dumps(
        {
            "author": "Ce Gao",
            "description": description,
            "format": "SavedModel",
            "framework": "TensorFlow",
            "metrics": {"training": [{"name": "acc", "value": "0.928"}]},
            "hyperParameters": [{"name": "epochs", "value": "10"}],
            "created": "2020-06-18T10:20:30Z",
        }
    ).encode()


async def push_ormb(
    client: httpx.AsyncClient, name: str, tag: str, description: str = "CNN Model"
) -> str:
    config = ormb_config(description)
    layer = f"model tarball {description}".encode()
    await push_blob(client, name, config)
    await push_blob(client, name, layer)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config, ORMB_CONFIG),
        "layers": [descriptor(layer, "application/tar+gzip")],
    }
    return await push_manifest(client, name, tag, manifest)


async def push_modelpack(client: httpx.AsyncClient, name: str, tag: str) -> str:
    config = json.dumps(
        {
            "descriptor": {
                "family": "llama3",
                "name": "llama3-8b-instruct",
                "version": "3.1.0",
                "authors": ["Meta"],
                "licenses": ["llama3.1"],
                "createdAt": "2024-07-23T00:00:00Z",
            },
            "modelfs": {"type": "layers", "diffIds": []},
            "config": {
                "architecture": "transformer",
                "format": "safetensors",
                "paramSize": "8b",
                "precision": "bf16",
            },
        }
    ).encode()
    weights = b"weights" * 100
    await push_blob(client, name, config)
    await push_blob(client, name, weights)
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": MODELPACK_ARTIFACT,
        "config": descriptor(config, MODELPACK_CONFIG),
        "layers": [
            descriptor(
                weights,
                MODELPACK_WEIGHT,
                annotations={"org.cncf.model.filepath": "model.safetensors"},
            )
        ],
        "annotations": {"org.opencontainers.image.created": "2024-07-23T00:00:00Z"},
    }
    return await push_manifest(client, name, tag, manifest)


async def push_everything(client: httpx.AsyncClient) -> dict[str, str]:
    """A bit of each: model formats, images, an index, a referrer, an untagged manifest,
    a malformed config, a nested repository name. Returns digests by label."""
    pushed = {}
    pushed["ormb"] = await push_ormb(client, "team/cnn", "v1.2.0")
    await push_manifest(  # a second tag on the same manifest
        client,
        "team/cnn",
        "latest",
        (await client.get(f"/v2/team/cnn/manifests/{pushed['ormb']}")).content,
    )
    pushed["ormb-old"] = await push_ormb(client, "team/cnn", "v1.1.0", "older")
    pushed["modelpack"] = await push_modelpack(client, "llm/llama", "8b-instruct")
    image = await push_image(client, "library/alpine", "3.20", layers=[b"one", b"two"])
    docker = await push_image(
        client,
        "library/alpine",
        "docker",
        config=b'{"architecture":"arm64","os":"linux"}',
        media_type=DOCKER_MANIFEST,
        config_type=DOCKER_CONFIG,
        layer_type=DOCKER_LAYER,
    )
    pushed["image"], pushed["docker"] = image.digest, docker.digest
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            image.descriptor(platform={"architecture": "amd64", "os": "linux"}),
            docker.descriptor(platform={"architecture": "arm64", "os": "linux"}),
        ],
        "annotations": {"org.opencontainers.image.ref.name": "multi"},
    }
    pushed["index"] = await push_manifest(client, "library/alpine", "multi", index, OCI_INDEX)
    untagged = await push_image(client, "library/alpine", config=b'{"os":"linux","x":1}')
    pushed["untagged"] = untagged.digest
    empty = b"{}"
    await push_blob(client, "team/cnn", empty)
    signature = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/vnd.example.signature.v1",
        "config": descriptor(empty, "application/vnd.oci.empty.v1+json"),
        "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": pushed["ormb"], "size": 1},
        "annotations": {"org.example.signer": "ci"},
    }
    data = encode(signature)
    pushed["signature"] = await push_manifest(client, "team/cnn", str(Digest.of(data)), signature)
    broken = b"{not json"
    await push_blob(client, "team/broken", broken)
    pushed["broken"] = await push_manifest(
        client,
        "team/broken",
        "v1",
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor(broken, ORMB_CONFIG),
            "layers": [],
        },
    )
    nested = await push_image(client, "org/team/project/model", "v1", config=b'{"nested":true}')
    pushed["nested"] = nested.digest
    return pushed

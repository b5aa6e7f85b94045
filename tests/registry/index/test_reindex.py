"""`modelyard reindex` rebuilds the model index from storage.

Models are pushed through the API (live indexing), then the index is wiped, damaged or left
stale by changes made to storage behind the server's back, and a reindex must bring back
exactly the rows live indexing wrote (timestamps aside).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette

from registry.config import Config, FilesystemConfig
from registry.digest import Digest
from registry.index.db import Database
from registry.index.reindex import ReindexProgress, ReindexSummary, reindex
from storage import paths
from storage.errors import BackendError, ManifestUnknown
from storage.filesystem import FilesystemDriver
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

pytestmark = pytest.mark.anyio

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


# --------------------------------------------------------------------------- helpers


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


@pytest.fixture
def reindex_config(index_config: Config, tmp_path: Path) -> Config:
    """The index configuration over the storage root of `indexed_app`."""
    return storage_config(index_config, tmp_path / "root")


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


# --------------------------------------------------------------------------- rebuilding


async def test_rebuilt_index_equals_live_index(
    indexed_client: httpx.AsyncClient, indexed_app: Starlette, reindex_config: Config
) -> None:
    pushed = await push_everything(indexed_client)
    db = database(indexed_app)
    live = await snapshot(db)
    assert len(live["manifests"]) == len(pushed)
    assert {row["family"] for row in live["manifests"]} >= {"ormb", "modelpack"}

    # over a live index nothing changes, not even pushed_at
    before = await snapshot(db, timestamps=True)
    again = await reindex(reindex_config)
    after = await snapshot(db, timestamps=True)
    assert after["manifests"] == before["manifests"]
    assert after["tags"] == before["tags"]
    assert after["layers"] == before["layers"]
    assert again.errors == 0

    await wipe(db)
    assert (await snapshot(db))["manifests"] == []
    events: list[ReindexProgress] = []
    summary = await reindex(reindex_config, progress=events.append)
    assert await snapshot(db) == live
    assert summary.repositories == 5
    assert summary.manifests == len(pushed)
    assert summary.tags == len(live["tags"]) == 9
    assert summary.errors == 0
    assert summary.removed == 0
    assert summary.failed == ()
    assert summary.seconds > 0
    assert [(e.position, e.total, e.result.name) for e in events] == [
        (1, 5, "library/alpine"),
        (2, 5, "llm/llama"),
        (3, 5, "org/team/project/model"),
        (4, 5, "team/broken"),
        (5, 5, "team/cnn"),
    ]
    # pushed_at of a rebuilt row is when storage linked the revision, not the reindex
    rebuilt = {row["digest"]: row["pushed_at"] for row in await snapshot_pushed_at(db)}
    original = {row["digest"]: row["pushed_at"] for row in before["manifests"]}
    for digest, pushed_at in rebuilt.items():
        assert abs((pushed_at - original[digest]).total_seconds()) < 5


async def snapshot_pushed_at(db: Database) -> list[dict[str, Any]]:
    return [dict(r) for r in await db.pool.fetch("SELECT digest, pushed_at FROM manifests")]


async def test_referrers_answer_from_a_rebuilt_index(
    indexed_client: httpx.AsyncClient, indexed_app: Starlette, reindex_config: Config
) -> None:
    pushed = await push_everything(indexed_client)
    await wipe(database(indexed_app))
    await reindex(reindex_config, repositories=["team/cnn"])
    listed = await indexed_client.get(
        f"/v2/team/cnn/referrers/{pushed['ormb']}",
        params={"artifactType": "application/vnd.example.signature.v1"},
    )
    assert listed.headers["oci-filters-applied"] == "artifactType"
    assert [m["digest"] for m in listed.json()["manifests"]] == [pushed["signature"]]


async def test_reindex_is_idempotent(
    indexed_client: httpx.AsyncClient, indexed_app: Starlette, reindex_config: Config
) -> None:
    await push_everything(indexed_client)
    db = database(indexed_app)
    await wipe(db)
    first_summary = await reindex(reindex_config)
    first = await snapshot(db, timestamps=True)
    second_summary = await reindex(reindex_config)
    second = await snapshot(db, timestamps=True)
    # every row identical, timestamps of manifests and tags included; only the
    # repositories' updated_at moves
    for table in ("manifests", "tags", "layers"):
        assert second[table] == first[table], table
    assert [{**r, "updated_at": None} for r in second["repositories"]] == [
        {**r, "updated_at": None} for r in first["repositories"]
    ]
    assert dataclasses.replace(second_summary, seconds=0) == dataclasses.replace(
        first_summary, seconds=0
    )


async def test_repository_filter_touches_only_those(
    indexed_client: httpx.AsyncClient, indexed_app: Starlette, reindex_config: Config
) -> None:
    await push_everything(indexed_client)
    db = database(indexed_app)
    live = await snapshot(db)
    await wipe(db)
    summary = await reindex(reindex_config, repositories=["llm/llama", "team/cnn"])
    assert summary.repositories == 2
    rebuilt = await snapshot(db)
    for table, column in (("manifests", "repository"), ("tags", "repository")):
        wanted = [r for r in live[table] if r[column] in ("llm/llama", "team/cnn")]
        assert rebuilt[table] == wanted
    assert [r["name"] for r in rebuilt["repositories"]] == ["llm/llama", "team/cnn"]


# --------------------------------------------------------------------------- storage changed


async def test_rows_of_deleted_manifests_tags_and_repositories_disappear(
    indexed_client: httpx.AsyncClient, indexed_app: Starlette, reindex_config: Config
) -> None:
    pushed = await push_everything(indexed_client)
    db = database(indexed_app)
    registry = store(indexed_app)
    # changes made behind the server's back (another tool, registry:2 on the same bucket)
    await registry.tags.untag("team/cnn", "latest")
    for tag in await registry.tags.pointing_at("library/alpine", Digest.parse(pushed["index"])):
        await registry.tags.untag("library/alpine", tag)
    await registry.manifests.delete("library/alpine", Digest.parse(pushed["index"]))
    await registry.driver.delete(paths.repository("llm/llama"))
    stale = await snapshot(db)
    assert any(r["repository"] == "llm/llama" for r in stale["manifests"])

    events: list[ReindexProgress] = []
    summary = await reindex(reindex_config, progress=events.append)
    rows = await snapshot(db)
    assert summary.removed == 1
    assert summary.repositories == 4
    assert next(e.result for e in events if e.result.name == "llm/llama").removed
    assert "llm/llama" not in {r["name"] for r in rows["repositories"]}
    assert "llm/llama" not in {r["repository"] for r in rows["manifests"]}
    assert "llm/llama" not in {r["repository"] for r in rows["layers"]}
    assert "llm/llama" not in {r["repository"] for r in rows["tags"]}
    assert pushed["index"] not in {r["digest"] for r in rows["manifests"]}
    assert pushed["index"] not in {r["manifest_digest"] for r in rows["layers"]}
    assert ("library/alpine", "multi") not in {(r["repository"], r["tag"]) for r in rows["tags"]}
    assert ("team/cnn", "latest") not in {(r["repository"], r["tag"]) for r in rows["tags"]}
    assert ("team/cnn", "v1.2.0") in {(r["repository"], r["tag"]) for r in rows["tags"]}
    assert len(rows["manifests"]) == len(pushed) - 2

    # a repository named on the command line that storage never had: nothing to do
    absent = await reindex(reindex_config, repositories=["no/such/repo"])
    assert (absent.repositories, absent.removed, absent.errors) == (0, 0, 0)


async def test_retagged_and_storage_only_manifests_are_picked_up(
    indexed_client: httpx.AsyncClient, indexed_app: Starlette, reindex_config: Config
) -> None:
    pushed = await push_everything(indexed_client)
    db = database(indexed_app)
    registry = store(indexed_app)
    # a manifest written to storage without the index, and a tag moved to it
    config = b'{"written":"behind the index"}'
    await push_blob(indexed_client, "team/cnn", config)
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config, "application/vnd.oci.image.config.v1+json"),
        "layers": [],
    }
    data = json.dumps(body).encode()
    digest = Digest.of(data)
    await registry.manifests.put("team/cnn", data, digest)
    await registry.tags.tag("team/cnn", "latest", digest)
    await reindex(reindex_config)
    tags = {
        r["tag"]: r["digest"]
        for r in await db.pool.fetch("SELECT tag, digest FROM tags WHERE repository = 'team/cnn'")
    }
    assert tags == {"latest": str(digest), "v1.1.0": pushed["ormb-old"], "v1.2.0": pushed["ormb"]}
    row = await db.pool.fetchrow(
        "SELECT family, total_size FROM manifests WHERE digest = $1", str(digest)
    )
    assert row is not None
    assert row["total_size"] == len(data) + len(config)


async def test_needs_reindex_is_cleared(
    indexed_client: httpx.AsyncClient, indexed_app: Starlette, reindex_config: Config
) -> None:
    await push_everything(indexed_client)
    db = database(indexed_app)
    # an index failure during a push: storage has the manifest, the index has not
    await db.pool.execute("ALTER TABLE layers RENAME TO layers_away")
    late = await push_ormb(indexed_client, "team/cnn", "v2", "pushed while the index failed")
    await db.pool.execute("ALTER TABLE layers_away RENAME TO layers")
    await indexed_app.state.index.mark_for_reindex("llm/llama", "something went wrong")
    flagged = {
        r["name"]: r["last_error"]
        for r in await db.pool.fetch(
            "SELECT name, last_error FROM repositories WHERE needs_reindex"
        )
    }
    assert set(flagged) == {"team/cnn", "llm/llama"}
    assert late not in {r["digest"] for r in (await snapshot(db))["manifests"]}

    await reindex(reindex_config)
    states = await db.pool.fetch("SELECT name, needs_reindex, last_error FROM repositories")
    assert all(not r["needs_reindex"] for r in states)
    assert all(r["last_error"] is None for r in states)
    assert late in {r["digest"] for r in (await snapshot(db))["manifests"]}
    # and the referrers API trusts the index of the repository again
    assert await indexed_app.state.index.referrers("team/cnn", Digest.parse(late), None) == []


async def test_unreadable_manifests_are_logged_and_counted(
    indexed_client: httpx.AsyncClient,
    indexed_app: Starlette,
    reindex_config: Config,
    caplog: pytest.LogCaptureFixture,
) -> None:
    pushed = await push_everything(indexed_client)
    db = database(indexed_app)
    registry = store(indexed_app)
    not_json = b"this is not a manifest"
    schema1 = json.dumps({"schemaVersion": 1, "name": "team/cnn", "tag": "old"}).encode()
    for data in (not_json, schema1):
        await registry.manifests.put("team/cnn", data, Digest.of(data))
    await registry.tags.tag("team/cnn", "old", Digest.of(schema1))
    # a revision link whose blob is gone
    lost = Digest.of(b"lost manifest")
    await registry.driver.put_content(paths.revision_link("team/cnn", lost), str(lost).encode())
    await wipe(db)

    summary = await reindex(reindex_config)
    assert summary.errors == 3
    assert summary.failed == ()
    assert summary.manifests == len(pushed)
    rows = await snapshot(db)
    assert ("team/cnn", "old") not in {(r["repository"], r["tag"]) for r in rows["tags"]}
    [state] = [r for r in rows["repositories"] if r["name"] == "team/cnn"]
    assert state["needs_reindex"] is False
    assert "3 manifest(s) not indexed" in state["last_error"]
    assert str(Digest.of(schema1)) in state["last_error"]
    assert "schemaVersion" in state["last_error"]
    assert str(lost) in caplog.text


class FailingDriver:
    """A driver whose listings of paths containing `pattern` fail like a broken backend."""

    def __init__(self, inner: FilesystemDriver, pattern: str) -> None:
        self.inner = inner
        self.pattern = pattern

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def list(self, path: str) -> list[str]:
        if self.pattern in path:
            raise BackendError(path, "storage backend unavailable")
        return await self.inner.list(path)


async def test_storage_failure_fails_one_repository_not_the_run(
    indexed_client: httpx.AsyncClient,
    indexed_app: Starlette,
    reindex_config: Config,
    tmp_path: Path,
) -> None:
    await push_everything(indexed_client)
    db = database(indexed_app)
    before = await snapshot(db)
    driver = FailingDriver(FilesystemDriver(tmp_path / "root"), "/llm/llama/_manifests/revisions")
    summary = await reindex(reindex_config, store=RegistryStore(driver))
    assert summary.failed == ("llm/llama",)
    assert summary.repositories == 5
    assert summary.errors == 1
    after = await snapshot(db)
    # the failed repository keeps its rows and is marked; the others are reindexed
    assert after["manifests"] == before["manifests"]
    [state] = [r for r in after["repositories"] if r["name"] == "llm/llama"]
    assert state["needs_reindex"] is True
    assert "storage backend unavailable" in state["last_error"]
    assert not any(r["needs_reindex"] for r in after["repositories"] if r["name"] != "llm/llama")


# --------------------------------------------------------------------------- while serving


async def test_reindex_while_pushing_and_deleting(
    indexed_client: httpx.AsyncClient, indexed_app: Starlette, reindex_config: Config
) -> None:
    """Pushes and deletes race with reindex runs; whatever the interleaving, the index ends
    up equal to what a reindex of the final storage writes."""
    db = database(indexed_app)
    name = "team/busy"
    digests = [
        (await push_image(indexed_client, name, f"old{i}", config=f'{{"n":{i}}}'.encode())).digest
        for i in range(10)
    ]
    done = anyio.Event()
    runs: list[ReindexSummary] = []

    async def traffic() -> None:
        for i in range(30):
            await push_image(indexed_client, name, f"new{i}", config=f'{{"m":{i}}}'.encode())
            if i % 3 == 0:
                victim = digests.pop()
                response = await indexed_client.delete(f"/v2/{name}/manifests/{victim}")
                assert response.status_code == 202
            if i % 5 == 0:
                response = await indexed_client.delete(f"/v2/{name}/manifests/new{i}")
                assert response.status_code == 202
        done.set()

    async def reindexing() -> None:
        while not done.is_set():
            runs.append(await reindex(reindex_config))

    async with anyio.create_task_group() as group:
        group.start_soon(traffic)
        group.start_soon(reindexing)
    assert len(runs) >= 1
    assert all(not run.failed for run in runs)
    settled = await snapshot(db)
    await reindex(reindex_config)
    assert await snapshot(db) == settled
    manifests = [r for r in settled["manifests"] if r["repository"] == name]
    tags = [r for r in settled["tags"] if r["repository"] == name]
    # the ten old ones deleted by digest; six new tags deleted, their manifests kept
    assert len(manifests) == 30 == len(await store(indexed_app).manifests.digests(name))
    assert len(tags) == 24 == len(await store(indexed_app).tags.names(name))


class GatedDriver:
    """A driver whose first read of a path containing `pattern` waits for `release`."""

    def __init__(self, inner: FilesystemDriver, pattern: str) -> None:
        self.inner = inner
        self.pattern = pattern
        self.reached = anyio.Event()
        self.release = anyio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def _gate(self, path: str) -> None:
        if self.pattern in path and not self.reached.is_set():
            self.reached.set()
            await self.release.wait()

    async def list(self, path: str) -> list[str]:
        await self._gate(path)
        return await self.inner.list(path)

    async def get_content(self, path: str) -> bytes:
        await self._gate(path)
        return await self.inner.get_content(path)


@pytest.mark.parametrize(
    "gate",
    [
        pytest.param("/blobs/", id="while-reading-manifests"),
        pytest.param("/_manifests/tags", id="inside-the-transaction"),
    ],
)
async def test_changes_during_a_reindex_are_not_lost(
    indexed_client: httpx.AsyncClient,
    indexed_app: Starlette,
    reindex_config: Config,
    tmp_path: Path,
    gate: str,
) -> None:
    """A push and a delete land while a reindex is paused, first while it reads manifests
    (before its transaction), then inside its transaction (after it listed storage again):
    the pushed manifest stays indexed, the deleted one does not come back."""
    name = "team/cnn"
    doomed = await push_ormb(indexed_client, name, "doomed", "doomed")
    kept = await push_ormb(indexed_client, name, "kept", "kept")
    db = database(indexed_app)
    registry = store(indexed_app)
    driver = GatedDriver(FilesystemDriver(tmp_path / "root"), gate)
    summaries: list[ReindexSummary] = []
    pushed: list[str] = []

    async def run_reindex() -> None:
        summaries.append(await reindex(reindex_config, store=RegistryStore(driver)))

    async def push() -> None:
        pushed.append(await push_ormb(indexed_client, name, "new", "pushed during reindex"))

    async def delete() -> None:
        response = await indexed_client.delete(f"/v2/{name}/manifests/{doomed}")
        assert response.status_code == 202

    async def storage_changed() -> bool:
        try:
            await registry.tags.resolve(name, "new")
        except ManifestUnknown:
            return False
        return not await registry.manifests.exists(name, Digest.parse(doomed))

    async with anyio.create_task_group() as group:
        group.start_soon(run_reindex)
        await driver.reached.wait()
        group.start_soon(push)
        group.start_soon(delete)
        # storage changes at once; inside the transaction their index writes must wait
        for _ in range(1000):
            if await storage_changed():
                break
            await anyio.sleep(0.01)
        await anyio.sleep(0.2)
        driver.release.set()

    assert summaries[0].failed == ()
    rows = await snapshot(db)
    digests = {r["digest"] for r in rows["manifests"] if r["repository"] == name}
    assert digests == {kept, pushed[0]}
    tags = {r["tag"]: r["digest"] for r in rows["tags"] if r["repository"] == name}
    assert tags == {"kept": kept, "new": pushed[0]}
    await reindex(reindex_config)
    assert await snapshot(db) == rows


# --------------------------------------------------------------------------- the command


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MODELYARD_", "REGISTRY_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "registry", "reindex", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


async def test_command_line_end_to_end(
    indexed_client: httpx.AsyncClient,
    indexed_app: Starlette,
    index_config: Config,
    tmp_path: Path,
) -> None:
    pushed = await push_everything(indexed_client)
    db = database(indexed_app)
    live = await snapshot(db)
    await wipe(db)
    config_file = tmp_path / "modelyard.yml"
    config_file.write_text(
        json.dumps(
            {
                "storage": {"filesystem": {"rootdirectory": str(tmp_path / "root")}},
                "database": {
                    "url": index_config.database.url,
                    "schema": index_config.database.schema,
                },
                "log": {"level": "warning"},
            }
        )
    )
    result = await anyio.to_thread.run_sync(
        lambda: run_cli("--config", str(config_file), cwd=tmp_path)
    )
    assert result.returncode == 0, result.stderr
    assert await snapshot(db) == live
    summary = re.fullmatch(
        r"reindexed (\d+) repositories, (\d+) manifests, (\d+) tags, (\d+) errors in [\d.]+ s\n",
        result.stdout,
    )
    assert summary is not None, result.stdout
    assert summary.groups() == ("5", str(len(pushed)), "9", "0")
    progress = result.stderr.splitlines()
    assert len(progress) == 5, result.stderr
    assert progress[0].startswith("[====")
    assert "1/5 library/alpine: 4 manifests, 3 tags, 0 errors" in progress[0]
    assert progress[-1] == "[====================] 5/5 team/cnn: 3 manifests, 3 tags, 0 errors"

    await wipe(db)
    only = await anyio.to_thread.run_sync(
        lambda: run_cli(
            "--config",
            str(config_file),
            "--repository",
            "team/cnn",
            "-r",
            "llm/llama",
            cwd=tmp_path,
        )
    )
    assert only.returncode == 0, only.stderr
    assert only.stdout.startswith("reindexed 2 repositories, 4 manifests, 4 tags, 0 errors")
    assert {r["name"] for r in (await snapshot(db))["repositories"]} == {"llm/llama", "team/cnn"}

    bad = await anyio.to_thread.run_sync(
        lambda: run_cli("--config", str(config_file), "--repository", "Bad Name", cwd=tmp_path)
    )
    assert bad.returncode == 2
    assert "invalid repository name" in bad.stderr

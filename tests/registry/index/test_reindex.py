"""`modelyard reindex` rebuilds the model index from storage.

Models are pushed through the API (live indexing), then the index is wiped, damaged or left
stale by changes made to storage behind the server's back, and a reindex must bring back
exactly the rows live indexing wrote (timestamps aside).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from registry.config import Config
from registry.digest import Digest
from registry.index.db import Database
from registry.index.reindex import ReindexProgress, reindex
from storage import paths
from storage.errors import BackendError
from storage.filesystem import FilesystemDriver
from storage.layout import RegistryStore
from tests.registry.helpers import (
    OCI_MANIFEST,
    descriptor,
    push_blob,
)
from tests.registry.index.reindex_helpers import (
    database,
    push_everything,
    push_ormb,
    snapshot,
    store,
    wipe,
)

pytestmark = pytest.mark.anyio


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

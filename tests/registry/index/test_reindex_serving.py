"""A reindex while the server takes pushes and deletes loses none of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette

from registry.config import Config
from registry.digest import Digest
from registry.index.reindex import ReindexSummary, reindex
from storage.errors import ManifestUnknown
from storage.filesystem import FilesystemDriver
from storage.layout import RegistryStore
from tests.registry.helpers import (
    push_image,
)
from tests.registry.index.reindex_helpers import (
    database,
    push_ormb,
    snapshot,
    store,
)

pytestmark = pytest.mark.anyio


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

"""Usage statistics: counted in memory on the request path, written to PostgreSQL in batches."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from registry.app import create_app
from registry.config import Config, DatabaseConfig
from registry.index import events, usage
from registry.index.usage import ERROR, PULL, PUSH, UsageRecorder
from storage.filesystem import FilesystemDriver
from tests.registry.helpers import assert_error
from tests.registry.index.model_fixtures import ORMB_CONFIG, ormb_config, push_artifact
from tests.registry.index.openapi_check import assert_schema

pytestmark = pytest.mark.anyio


@pytest.fixture
async def usage_app(
    index_config: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Starlette]:
    """An indexed app whose background flush never fires during a test: tests flush."""
    monkeypatch.setattr(usage, "FLUSH_INTERVAL", 3600.0)
    app = create_app(index_config, FilesystemDriver(tmp_path / "root"))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(usage_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=usage_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as opened:
        yield opened


def recorder(app: Starlette) -> UsageRecorder:
    found: UsageRecorder = app.state.usage
    return found


class CountingPool:
    """Delegates to a real pool, counting the statements; or fails them all."""

    def __init__(self, pool: Any, fail: bool = False) -> None:
        self.pool = pool
        self.fail = fail
        self.statements: list[str] = []

    def _run(self, query: str) -> None:
        self.statements.append(query)
        if self.fail:
            raise OSError("connection refused")

    async def execute(self, query: str, *args: Any) -> str:
        self._run(query)
        result: str = await self.pool.execute(query, *args)
        return result

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[CountingConnection]:
        async with self.pool.acquire() as connection:
            yield CountingConnection(self, connection)


class CountingConnection:
    """A pooled connection whose statements its CountingPool counts."""

    def __init__(self, pool: CountingPool, connection: Any) -> None:
        self.pool = pool
        self.connection = connection

    def transaction(self) -> Any:
        return self.connection.transaction()

    async def execute(self, query: str, *args: Any) -> str:
        self.pool._run(query)
        result: str = await self.connection.execute(query, *args)
        return result

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        self.pool._run(query)
        result: list[Any] = await self.connection.fetch(query, *args)
        return result


def swap_pool(monkeypatch: pytest.MonkeyPatch, found: UsageRecorder, fail: bool = False) -> Any:
    counting = CountingPool(found.database.pool, fail)
    monkeypatch.setattr(found, "database", SimpleNamespace(pool=counting))
    return counting


async def push(client: httpx.AsyncClient, name: str, tag: str) -> str:
    return await push_artifact(
        client,
        name,
        tag,
        ormb_config(tag, {"accuracy": "0.9"}),
        ORMB_CONFIG,
        [(f"weights {name} {tag}".encode(), "application/tar+gzip", {})],
    )


async def stats(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/repositories/{name}/usage")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert_schema(body, "RepositoryUsage")
    return body


def by_digest(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {version["digest"]: version for version in body["versions"]}


async def test_pulls_pushes_and_errors_are_counted(
    client: httpx.AsyncClient, usage_app: Starlette
) -> None:
    one = await push(client, "team/cnn", "1.0.0")
    two = await push(client, "team/cnn", "2.0.0")
    await push(client, "other/model", "1.0.0")
    for _ in range(3):
        assert (await client.get("/v2/team/cnn/manifests/1.0.0")).status_code == 200
    assert (await client.get(f"/v2/team/cnn/manifests/{one}")).status_code == 200
    assert (await client.head("/v2/team/cnn/manifests/2.0.0")).status_code == 200
    assert (await client.get("/v2/team/cnn/manifests/missing")).status_code == 404
    assert (await client.get("/v2/team/cnn/blobs/sha256:" + "0" * 64)).status_code == 404
    assert (await client.get("/v2/_catalog?n=-1")).status_code == 400  # not a repository route
    assert (await client.get("/api/v1/repositories/team/cnn/versions")).status_code == 200
    assert await recorder(usage_app).flush() > 0
    assert recorder(usage_app).pending == {}

    body = await stats(client, "team/cnn")
    assert body["repository"] == "team/cnn"
    assert body["totals"] == {"pulls": 4, "pushes": 2, "errors": 2}
    versions = by_digest(body)
    assert set(versions) == {one, two}
    assert versions[one]["tags"] == ["1.0.0"]
    assert versions[one]["pulls"] == 4
    assert versions[one]["pushes"] == 1
    assert versions[one]["last_pull_at"] is not None
    assert versions[two] == {
        "digest": two,
        "tags": ["2.0.0"],
        "pulls": 0,
        "pushes": 1,
        "last_pull_at": None,
    }
    assert body["versions"][0]["digest"] == one  # most pulled first
    other = await stats(client, "other/model")
    assert other["totals"] == {"pulls": 0, "pushes": 1, "errors": 0}


async def test_flushes_add_up(client: httpx.AsyncClient, usage_app: Starlette) -> None:
    digest = await push(client, "team/cnn", "1.0.0")
    await client.get("/v2/team/cnn/manifests/1.0.0")
    await recorder(usage_app).flush()
    await client.get("/v2/team/cnn/manifests/1.0.0")
    await push(client, "team/cnn", "1.0.0")
    await recorder(usage_app).flush()
    version = by_digest(await stats(client, "team/cnn"))[digest]
    assert (version["pulls"], version["pushes"]) == (2, 2)


async def test_many_requests_are_one_statement(
    client: httpx.AsyncClient, usage_app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = await push(client, "team/cnn", "1.0.0")
    found = recorder(usage_app)
    await found.flush()
    counting = swap_pool(monkeypatch, found)
    for _ in range(40):
        assert (await client.get("/v2/team/cnn/manifests/1.0.0")).status_code == 200
    for _ in range(5):
        await client.get("/v2/team/cnn/manifests/nope")
    assert counting.statements == []  # nothing written on the request path
    assert found.pending == {("team/cnn", digest, PULL): 40, ("team/cnn", "", ERROR): 5}
    assert await found.flush() == 2
    # one statement for the counts, one for the 40 pull events, in one transaction
    assert counting.statements == [usage.FLUSH, events.WRITE]
    assert await found.flush() == 0  # nothing pending: no statement
    assert len(counting.statements) == 2
    body = await stats(client, "team/cnn")
    assert body["totals"] == {"pulls": 40, "pushes": 1, "errors": 5}


async def test_failed_flush_keeps_the_counts(
    client: httpx.AsyncClient, usage_app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    digest = await push(client, "team/cnn", "1.0.0")
    found = recorder(usage_app)
    real = found.database
    failing = swap_pool(monkeypatch, found, fail=True)
    await client.get("/v2/team/cnn/manifests/1.0.0")
    assert await found.flush() == 0
    assert len(failing.statements) == 1
    assert found.pending == {("team/cnn", digest, PULL): 1, ("team/cnn", digest, PUSH): 1}
    await client.get("/v2/team/cnn/manifests/1.0.0")
    assert await found.flush() == 0
    monkeypatch.setattr(found, "database", real)
    assert await found.flush() == 2
    version = by_digest(await stats(client, "team/cnn"))[digest]
    assert (version["pulls"], version["pushes"]) == (2, 1)


async def test_kept_counts_are_bounded(
    usage_app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    found = UsageRecorder(recorder(usage_app).database, max_pending=2, max_kept=3)
    swap_pool(monkeypatch, found, fail=True)
    for index in range(5):
        found.record(f"repo{index}", "", ERROR)
    found.record("repo0", "", ERROR)
    assert len(found.pending) == 3
    assert found.pending[("repo0", "", ERROR)] == 2
    assert found.dropped == 2
    await found.flush()
    assert len(found.pending) == 3


async def test_background_task_flushes_on_interval_and_when_full(
    usage_app: Starlette,
) -> None:
    database = recorder(usage_app).database
    timed = UsageRecorder(database, flush_interval=0.05)
    full = UsageRecorder(database, flush_interval=3600, max_pending=3)
    timed.start()
    full.start()
    try:
        timed.record("a/timed", "", ERROR)
        for index in range(3):
            full.record(f"a/full{index}", "", ERROR)
        for _ in range(200):
            if not timed.pending and not full.pending:
                break
            await asyncio.sleep(0.02)
        assert timed.pending == {}
        assert full.pending == {}
    finally:
        await timed.close()
        await full.close()
    count = await database.pool.fetchval("SELECT sum(count) FROM usage WHERE kind = 'error'")
    assert count == 4


async def test_shutdown_flushes(index_config: Config, tmp_path: Path) -> None:
    app = create_app(index_config, FilesystemDriver(tmp_path / "root"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as client:
            digest = await push(client, "team/cnn", "1.0.0")
            await client.get("/v2/team/cnn/manifests/1.0.0")
    assert index_config.database.url
    connection = await asyncpg.connect(
        index_config.database.url,
        server_settings={"search_path": index_config.database.schema or "public"},
    )
    try:
        rows = await connection.fetch("SELECT kind, count FROM usage WHERE digest = $1", digest)
    finally:
        await connection.close()
    assert {row["kind"]: row["count"] for row in rows} == {PULL: 1, PUSH: 1}


async def test_unknown_and_invalid_repositories(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/repositories/no/such/usage"), 404, "NAME_UNKNOWN")
    assert_error(await client.get("/api/v1/repositories/Bad/usage"), 400, "NAME_INVALID")
    response = await client.get("/api/v1/repositories/team/cnn/usage", params={"x": "1"})
    assert_error(response, 400, "QUERY_INVALID")


async def test_errors_alone_make_a_repository_known(
    client: httpx.AsyncClient, usage_app: Starlette
) -> None:
    await client.get("/v2/ghost/repo/manifests/latest")
    await recorder(usage_app).flush()
    body = await stats(client, "ghost/repo")
    assert body == {
        "repository": "ghost/repo",
        "totals": {"pulls": 0, "pushes": 0, "errors": 1},
        "versions": [],
    }


async def test_no_index_is_503_and_nothing_is_counted(index_config: Config, tmp_path: Path) -> None:
    disabled = dataclasses.replace(index_config, database=DatabaseConfig(enabled=False))
    for run_lifespan in (True, False):
        app = create_app(disabled, FilesystemDriver(tmp_path / f"root{run_lifespan}"))
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://r.test")
        async with client:
            if run_lifespan:
                async with app.router.lifespan_context(app):
                    await _disabled(client, app)
            else:
                await _disabled(client, app)


async def _disabled(client: httpx.AsyncClient, app: Starlette) -> None:
    assert app.state.usage is None
    await push(client, "team/cnn", "1.0.0")
    assert (await client.get("/v2/team/cnn/manifests/1.0.0")).status_code == 200
    assert (await client.get("/v2/team/cnn/manifests/nope")).status_code == 404
    error = assert_error(
        await client.get("/api/v1/repositories/team/cnn/usage"), 503, "INDEX_UNAVAILABLE"
    )
    assert "disabled" in error["message"]

"""An app whose lifespan has opened the model index on a fresh PostgreSQL schema."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from registry.app import create_app
from registry.config import Config, DatabaseConfig, load
from storage.filesystem import FilesystemDriver
from tests.registry.index.reindex_helpers import storage_config
from tests.support.postgres import drop_schema, new_schema


@pytest.fixture
async def index_config(anyio_backend: str, database_url: str) -> AsyncIterator[Config]:
    schema = await new_schema(database_url)
    base = load(environ={})
    yield dataclasses.replace(base, database=DatabaseConfig(url=database_url, schema=schema))
    await drop_schema(database_url, schema)


@pytest.fixture
async def indexed_app(index_config: Config, tmp_path: Path) -> AsyncIterator[Starlette]:
    app = create_app(index_config, FilesystemDriver(tmp_path / "root"))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def indexed_client(indexed_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=indexed_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
        yield client


@pytest.fixture
def reindex_config(index_config: Config, tmp_path: Path) -> Config:
    """The index configuration over the storage root of `indexed_app`."""
    return storage_config(index_config, tmp_path / "root")

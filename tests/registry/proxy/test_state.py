"""Cache state in PostgreSQL: tag freshness against the TTL, origin and batched access data."""

from __future__ import annotations

import pytest

from registry.config import UpstreamConfig
from registry.index.db import Database
from registry.proxy.mapping import Route
from registry.proxy.state import CacheState

pytestmark = pytest.mark.anyio

ROUTE = Route(UpstreamConfig(name="central", url="http://central"), "library/app", "app")
DIGEST = "sha256:" + "c" * 64


async def test_a_checked_tag_is_fresh_within_the_ttl_and_at_its_digest(database: Database) -> None:
    state = CacheState(database, ttl=300)
    assert not await state.is_fresh("library/app", "v1", DIGEST)
    await state.checked(ROUTE, "v1", DIGEST)
    assert await state.is_fresh("library/app", "v1", DIGEST)
    assert not await state.is_fresh("library/app", "v1", "sha256:" + "d" * 64)
    assert await CacheState(database, ttl=0).is_fresh("library/app", "v1", DIGEST) is False


async def test_accesses_are_written_in_one_batch(database: Database) -> None:
    state = CacheState(database, ttl=300)
    await state.cached(ROUTE, DIGEST, "blob", 123)
    for _ in range(5):
        state.accessed("library/app", DIGEST)
    state.accessed("library/app", "sha256:" + "e" * 64)  # not cached: nothing to update
    await state.flush()
    row = await database.pool.fetchrow(
        "SELECT kind, upstream, remote, size, hits, last_access_at >= cached_at AS later"
        " FROM proxy_objects WHERE repository = $1 AND digest = $2",
        "library/app",
        DIGEST,
    )
    assert dict(row) == {
        "kind": "blob",
        "upstream": "central",
        "remote": "app",
        "size": 123,
        "hits": 5,
        "later": True,
    }


async def test_without_a_database_freshness_is_kept_in_process(anyio_backend: str) -> None:
    state = CacheState(None, ttl=300)
    await state.checked(ROUTE, "v1", DIGEST)
    assert await state.is_fresh("library/app", "v1", DIGEST)
    assert not await CacheState(None, ttl=0).is_fresh("library/app", "v1", DIGEST)

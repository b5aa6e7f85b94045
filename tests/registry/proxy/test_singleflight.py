"""Cluster leases on a real PostgreSQL: one holder per digest across instances, released with
a notice, taken over once a dead holder's lease expires."""

from __future__ import annotations

import asyncio

import pytest

from registry.config import Config
from registry.index.db import Database
from registry.proxy.singleflight import ClusterLeases, LocalLeases

pytestmark = pytest.mark.anyio

KEY = "sha256:" + "a" * 64


async def test_one_instance_holds_a_digest_until_it_releases_it(database: Database) -> None:
    first, second = ClusterLeases(database, 15), ClusterLeases(database, 15)
    lease = await first.take(KEY)
    assert lease is not None
    assert await second.take(KEY) is None
    assert await first.take(KEY) is None, "one fetch per digest, on the holder's instance too"
    assert await second.take("sha256:" + "b" * 64) is not None
    await lease.release()
    again = await second.take(KEY)
    assert again is not None
    await again.release()


async def test_a_waiter_on_another_instance_is_woken_by_the_release(
    database: Database, db_config: Config
) -> None:
    holder = ClusterLeases(database, 3600)
    other_database = await Database.open(db_config)
    waiter = ClusterLeases(other_database, 3600)
    await waiter.start()
    try:
        lease = await holder.take(KEY)
        assert lease is not None
        waiting = asyncio.ensure_future(waiter.wait(KEY))
        await asyncio.sleep(0.1)
        await lease.release()
        await waiting
        taken = await waiter.take(KEY)
        assert taken is not None
        await taken.release()
    finally:
        await waiter.close()
        await other_database.close()


async def test_the_lease_of_a_holder_that_stopped_renewing_is_taken_over(
    database: Database,
) -> None:
    dead = ClusterLeases(database, 1)
    lease = await dead.take(KEY)
    assert lease is not None
    lease._renewer.cancel()  # type: ignore[attr-defined]  # the holder's process died
    survivor = ClusterLeases(database, 1)
    taken = None
    while taken is None:
        await survivor.wait(KEY)
        taken = await survivor.take(KEY)
    await taken.release()


async def test_a_live_holder_renews_its_lease(database: Database) -> None:
    holder = ClusterLeases(database, 1)
    lease = await holder.take(KEY)
    assert lease is not None
    query = "SELECT expires_at FROM proxy_leases WHERE digest = $1"
    first = await database.pool.fetchval(query, KEY)
    renewed = first
    while renewed == first:
        await asyncio.sleep(0.05)
        renewed = await database.pool.fetchval(query, KEY)
    assert await ClusterLeases(database, 1).take(KEY) is None
    await lease.release()
    assert await database.pool.fetchval(query, KEY) is None


async def test_without_a_database_leases_are_per_process(anyio_backend: str) -> None:
    leases = LocalLeases()
    lease = await leases.take(KEY)
    assert lease is not None
    assert await leases.take(KEY) is None
    waiting = asyncio.ensure_future(leases.wait(KEY))
    await asyncio.sleep(0)
    await lease.release()
    await waiting
    assert await leases.take(KEY) is not None


async def test_an_unreachable_database_falls_back_to_leases_of_the_process(
    db_config: Config,
) -> None:
    closed = await Database.open(db_config)
    leases = ClusterLeases(closed, 15)
    await closed.close()
    lease = await leases.take(KEY)
    assert lease is not None, "a pull never fails for want of the database"
    assert await leases.take(KEY) is None
    await lease.release()
    assert await leases.take(KEY) is not None


async def test_the_holder_of_a_lease_is_known_with_its_url(database: Database) -> None:
    holder = ClusterLeases(database, 15, "http://10.0.0.5:5000")
    other = ClusterLeases(database, 15)
    assert await other.holder_of(KEY) is None
    lease = await holder.take(KEY)
    assert lease is not None
    known = await other.holder_of(KEY)
    assert known is not None
    assert known.holder == holder.holder
    assert known.url == "http://10.0.0.5:5000"
    assert not known.expired
    await lease.release()
    assert await other.holder_of(KEY) is None
    assert await LocalLeases().holder_of(KEY) is None

"""PostgreSQL queries of accounts and roles."""

from __future__ import annotations

import asyncpg
import pytest
from starlette.applications import Starlette

from auth import store


@pytest.fixture
def pool(auth_app: Starlette) -> asyncpg.Pool:
    found: asyncpg.Pool = auth_app.state.index.database.pool
    return found


async def test_strongest_role_wins_across_direct_and_group_membership(pool: asyncpg.Pool) -> None:
    await store.create_user(pool, "alice", "$2b$04$hash", admin=False)
    for namespace in ("a", "b"):
        await store.create_namespace(pool, namespace, public=False)
    await store.create_group(pool, "g1")
    await store.create_group(pool, "g2")
    await store.add_group_member(pool, "g1", "alice")
    await store.add_group_member(pool, "g2", "alice")
    await store.set_member(pool, "a", "user", "alice", "reader")
    await store.set_member(pool, "a", "group", "g1", "maintainer")
    await store.set_member(pool, "b", "group", "g2", "developer")
    await store.set_member(pool, "b", "user", "alice", "reader")
    assert await store.roles_of(pool, "user", "alice") == {"a": "maintainer", "b": "developer"}
    await store.set_member(pool, "a", "group", "g1", "reader")
    assert (await store.roles_of(pool, "user", "alice"))["a"] == "reader"


async def test_accounts_conflicts_and_missing_entries(pool: asyncpg.Pool) -> None:
    await store.create_robot(pool, "ci", "$2b$04$hash", "", "root")
    robot = await store.account(pool, "robot$ci")
    assert robot == store.Account("robot$ci", "robot", "$2b$04$hash", False)
    assert await store.account(pool, "ci") is None
    with pytest.raises(store.Conflict):
        await store.create_robot(pool, "ci", "x", "", "root")
    with pytest.raises(store.NotFound):
        await store.delete_user(pool, "nobody")
    with pytest.raises(store.NotFound):
        await store.set_member(pool, "no-such-namespace", "user", "root", "reader")
    assert not await store.ensure_admin(pool, "root", "other-hash")
    assert (await store.account(pool, "root")).secret_hash != "other-hash"  # type: ignore[union-attr]

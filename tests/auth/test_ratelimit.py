"""Failed logins: a sliding window per user and per address, shared through PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from auth.ratelimit import LoginLimiter, RateLimited
from registry.app import create_app
from registry.config import DatabaseConfig, RateLimitConfig
from storage.filesystem import FilesystemDriver
from tests.registry.helpers import assert_error
from tests.support.auth import ADMIN, BASE_URL, PASSWORD, Setup, auth_config, basic

LIMIT = {"ratelimit": RateLimitConfig(failures=3, window=60)}


def client_from(app: Starlette, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


@pytest.fixture
def pool(auth_app: Starlette) -> asyncpg.Pool:
    found: asyncpg.Pool = auth_app.state.index.database.pool
    return found


async def test_window_counts_per_key(pool: asyncpg.Pool) -> None:
    limiter = LoginLimiter(pool, failures=2, window=60)
    await limiter.check("alice", "10.0.0.1")
    await limiter.failed("alice", "10.0.0.1")
    await limiter.failed("alice", "10.0.0.2")
    with pytest.raises(RateLimited) as raised:
        await limiter.check("alice", "10.0.0.3")
    assert 1 <= raised.value.retry_after <= 60
    await limiter.check("bob", "10.0.0.3")
    await limiter.failed("carol", "10.0.0.9")
    await limiter.failed("dave", "10.0.0.9")
    with pytest.raises(RateLimited):
        await limiter.check("erin", "10.0.0.9")


async def test_old_failures_leave_the_window(pool: asyncpg.Pool) -> None:
    limiter = LoginLimiter(pool, failures=1, window=60)
    await limiter.failed("alice", "10.0.0.1")
    await pool.execute("UPDATE auth_failures SET at = now() - interval '61 seconds'")
    await limiter.check("alice", "10.0.0.1")
    # pruning runs at most once a minute per instance; a fresh instance prunes at once
    await LoginLimiter(pool, failures=1, window=60).failed("bob", "10.0.0.2")
    assert await pool.fetchval("SELECT count(*) FROM auth_failures") == 2


@pytest.mark.parametrize("auth_settings", [LIMIT])
async def test_too_many_failures_answer_429_on_every_instance(
    auth_app: Starlette, auth_setup: Setup, auth_database: DatabaseConfig, tmp_path: Path
) -> None:
    await auth_setup(users=["alice"])
    attacker = client_from(auth_app, "10.1.1.1")
    for _ in range(3):
        response = await attacker.get("/v2/", headers=basic("alice", "guess-guess"))
        assert_error(response, 401, "UNAUTHORIZED")
    limited = await attacker.get("/v2/", headers=basic("alice", PASSWORD))
    assert_error(limited, 429, "TOOMANYREQUESTS")
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    token = await attacker.get("/token", headers=basic("alice", PASSWORD))
    assert_error(token, 429, "TOOMANYREQUESTS")
    form = await attacker.post(
        "/token", data={"grant_type": "password", "username": "root", "password": "x" * 9}
    )
    assert_error(form, 429, "TOOMANYREQUESTS")
    # the user is locked from anywhere, the address for anyone, on any instance
    elsewhere = client_from(auth_app, "10.2.2.2")
    assert_error(
        await elsewhere.get("/v2/", headers=basic("alice", PASSWORD)), 429, "TOOMANYREQUESTS"
    )
    assert (await elsewhere.get("/v2/", headers=basic(*ADMIN))).status_code == 200
    other = create_app(auth_config(auth_database, **LIMIT), FilesystemDriver(tmp_path / "r2"))
    async with other.router.lifespan_context(other):
        second = client_from(other, "10.1.1.1")
        response = await second.get("/v2/", headers=basic(*ADMIN))
        assert_error(response, 429, "TOOMANYREQUESTS")
        await second.aclose()
    await attacker.aclose()
    await elsewhere.aclose()

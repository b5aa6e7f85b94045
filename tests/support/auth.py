"""Fixtures of the auth tests (a plugin of tests/conftest.py): a registry with auth on over a
fresh PostgreSQL schema.

`auth_app` bootstraps the administrator `root` (password `root-password`); `auth_admin` and
`auth_anonymous` are clients of it, `auth_as_user` builds clients sending basic credentials,
`auth_setup` creates users, namespaces and memberships through the management API.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from registry.app import create_app
from registry.config import AdminConfig, AuthConfig, Config, DatabaseConfig, load
from storage.filesystem import FilesystemDriver
from tests.support.postgres import drop_schema, new_schema

BASE_URL = "http://registry.test"
ADMIN = ("root", "root-password")
PASSWORD = "password-123"


def basic(username: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def auth_config(database: DatabaseConfig, **auth: object) -> Config:
    defaults: dict[str, object] = {"enabled": True, "bcryptcost": 4, "admin": AdminConfig(*ADMIN)}
    settings = dataclasses.replace(AuthConfig(), **{**defaults, **auth})
    return dataclasses.replace(load(environ={}), database=database, auth=settings)


@pytest.fixture
async def auth_database(anyio_backend: str, database_url: str) -> AsyncIterator[DatabaseConfig]:
    schema = await new_schema(database_url)
    yield DatabaseConfig(url=database_url, schema=schema)
    await drop_schema(database_url, schema)


@pytest.fixture
def auth_settings() -> dict[str, object]:
    """Overrides of the `auth:` section for one test module."""
    return {}


@pytest.fixture
async def auth_app(
    auth_database: DatabaseConfig, tmp_path: Path, auth_settings: dict[str, object]
) -> AsyncIterator[Starlette]:
    app = create_app(
        auth_config(auth_database, **auth_settings), FilesystemDriver(tmp_path / "root")
    )
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def auth_anonymous(auth_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=auth_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def auth_admin(auth_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=auth_app)
    async with httpx.AsyncClient(
        transport=transport, base_url=BASE_URL, headers=basic(*ADMIN)
    ) as client:
        yield client


AsUser = Callable[[str, str], httpx.AsyncClient]


@pytest.fixture
async def auth_as_user(auth_app: Starlette) -> AsyncIterator[AsUser]:
    opened: list[httpx.AsyncClient] = []

    def make(username: str, password: str = PASSWORD) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=auth_app),
            base_url=BASE_URL,
            headers=basic(username, password),
        )
        opened.append(client)
        return client

    yield make
    for client in opened:
        await client.aclose()


Setup = Callable[..., Awaitable[None]]


@pytest.fixture
def auth_setup(auth_admin: httpx.AsyncClient) -> Setup:
    """`await setup(users=[...], namespaces={"ns": public}, members=[(ns, kind, name, role)])`."""

    async def run(
        users: Sequence[str] = (),
        namespaces: dict[str, bool] | None = None,
        members: Sequence[tuple[str, str, str, str]] = (),
    ) -> None:
        for user in users:
            response = await auth_admin.post(
                "/api/v1/users", json={"username": user, "password": PASSWORD}
            )
            assert response.status_code == 201, response.text
        for name, public in (namespaces or {}).items():
            response = await auth_admin.post(
                "/api/v1/namespaces", json={"name": name, "public": public}
            )
            assert response.status_code == 201, response.text
        for namespace, kind, name, role in members:
            response = await auth_admin.put(
                f"/api/v1/namespaces/{namespace}/members/{kind}/{name}", json={"role": role}
            )
            assert response.status_code == 200, response.text

    return run

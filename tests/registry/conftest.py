"""Fixtures of the registry API tests: the app over every local storage driver.

`client` talks to `create_app(config, driver)` through httpx's ASGI transport. The driver is
parametrised over the in-memory, filesystem and S3 drivers, so every API test runs on each.
`make_client` builds further clients, e.g. over a changed configuration or a faulty driver.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from registry.app import create_app
from registry.config import Config, load
from storage.driver import StorageDriver
from storage.filesystem import FilesystemDriver
from storage.inmemory import InMemoryDriver
from storage.s3 import S3Driver
from tests.support.s3server import S3Server, s3_config

BASE_URL = "http://registry.test"

MakeClient = Callable[..., httpx.AsyncClient]


@pytest.fixture(params=["inmemory", "filesystem", "s3"])
def driver_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def driver(driver_name: str, tmp_path: Path, request: pytest.FixtureRequest) -> StorageDriver:
    if driver_name == "inmemory":
        return InMemoryDriver()
    if driver_name == "s3":
        server: S3Server = request.getfixturevalue("s3_server")
        return S3Driver(s3_config(server, server.new_bucket()))
    # the root does not exist yet: the server must create folders on demand
    return FilesystemDriver(tmp_path / "storage-root")


@pytest.fixture
def config() -> Config:
    """The default configuration, untouched by the environment of the test run."""
    return load(environ={})


@pytest.fixture
def app(config: Config, driver: StorageDriver) -> Starlette:
    return create_app(config, driver)


def client_for(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)


@pytest.fixture
async def client(anyio_backend: str, app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as opened:
        yield opened


@pytest.fixture
async def make_client(
    anyio_backend: str, config: Config, driver: StorageDriver
) -> AsyncIterator[MakeClient]:
    """`make_client(config=..., driver=...)`: a client of a new app; defaults to the fixtures."""
    opened: list[httpx.AsyncClient] = []

    def make(config: Config = config, driver: StorageDriver = driver) -> httpx.AsyncClient:
        made = client_for(create_app(config, driver))
        opened.append(made)
        return made

    try:
        yield make
    finally:
        for made in opened:
            await made.aclose()

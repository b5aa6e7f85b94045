"""Fixtures of the storage tests: every storage driver, behind one `driver` fixture.

To run the whole storage suite over a new backend, add a `DriverFactory` to
`DRIVER_FACTORIES`. `create` builds a driver over fresh, empty storage; `reopen` builds a
second, independent driver over the same storage, as another process sharing it would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from storage.driver import StorageDriver
from storage.filesystem import FilesystemDriver
from storage.inmemory import InMemoryDriver
from storage.layout import RegistryStore
from storage.s3 import S3Driver
from tests.support.s3server import S3Server, s3_config


@dataclass(frozen=True)
class DriverFactory:
    name: str
    #: a driver over fresh, empty storage (may use other fixtures through the request)
    create: Callable[[pytest.FixtureRequest, Path], StorageDriver]
    #: a second driver over the storage of the first, as another process would open it
    reopen: Callable[[StorageDriver], StorageDriver]
    #: `local_path` returns a real file path (else None)
    has_local_path: bool = False
    #: `redirect_url` returns a URL (else None)
    redirects: bool = False


def _inmemory(request: pytest.FixtureRequest, tmp_path: Path) -> StorageDriver:
    return InMemoryDriver()


def _inmemory_reopen(driver: StorageDriver) -> StorageDriver:
    assert isinstance(driver, InMemoryDriver)
    other = InMemoryDriver()
    other.files = driver.files
    return other


def _filesystem(request: pytest.FixtureRequest, tmp_path: Path) -> StorageDriver:
    # the root does not exist yet: the driver must create folders on demand
    return FilesystemDriver(tmp_path / "storage-root")


def _filesystem_reopen(driver: StorageDriver) -> StorageDriver:
    assert isinstance(driver, FilesystemDriver)
    return FilesystemDriver(driver.root)


def _s3(request: pytest.FixtureRequest, tmp_path: Path) -> StorageDriver:
    server: S3Server = request.getfixturevalue("s3_server")
    return S3Driver(s3_config(server, server.new_bucket()))


def _s3_reopen(driver: StorageDriver) -> StorageDriver:
    assert isinstance(driver, S3Driver)
    return S3Driver(driver.config)


DRIVER_FACTORIES: list[DriverFactory] = [
    DriverFactory("inmemory", _inmemory, _inmemory_reopen),
    DriverFactory("filesystem", _filesystem, _filesystem_reopen, has_local_path=True),
    DriverFactory("s3", _s3, _s3_reopen),
]


@pytest.fixture(params=DRIVER_FACTORIES, ids=lambda factory: factory.name)
def driver_factory(request: pytest.FixtureRequest) -> DriverFactory:
    factory: DriverFactory = request.param
    return factory


@pytest.fixture
async def driver(
    anyio_backend: str,
    driver_factory: DriverFactory,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> AsyncIterator[StorageDriver]:
    created = driver_factory.create(request, tmp_path)
    try:
        yield created
    finally:
        await created.close()


@pytest.fixture
def has_local_path(driver_factory: DriverFactory) -> bool:
    return driver_factory.has_local_path


@pytest.fixture
def redirects(driver_factory: DriverFactory) -> bool:
    return driver_factory.redirects


@pytest.fixture
async def peer_driver(
    anyio_backend: str, driver_factory: DriverFactory, driver: StorageDriver
) -> AsyncIterator[StorageDriver]:
    """Another driver over the same storage as `driver` (a second process, say)."""
    other = driver_factory.reopen(driver)
    try:
        yield other
    finally:
        await other.close()


@pytest.fixture
def store(driver: StorageDriver) -> RegistryStore:
    return RegistryStore(driver)


@pytest.fixture
def peer_store(peer_driver: StorageDriver) -> RegistryStore:
    return RegistryStore(peer_driver)


@pytest.fixture
def fs_driver(tmp_path: Path) -> FilesystemDriver:
    return FilesystemDriver(tmp_path / "fs-root")

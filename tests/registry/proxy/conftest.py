"""Fixtures of the pull-through tests: a migrated database on a fresh PostgreSQL schema, a real
registry:2 upstream behind a counting proxy, and apps (instances) sharing one storage folder."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette

from registry.app import create_app
from registry.config import (
    Config,
    DatabaseConfig,
    PrefixConfig,
    ProxyConfig,
    UpstreamConfig,
    load,
)
from registry.index.db import Database
from storage.filesystem import FilesystemDriver
from storage.layout import RegistryStore
from tests.interop.helpers import ServerProcess, start_docker_registry
from tests.registry.helpers import OCI_MANIFEST, digest_of, encode, image_manifest
from tests.support.countingproxy import CountingProxy
from tests.support.postgres import drop_schema, new_schema


@pytest.fixture
async def db_config(anyio_backend: str, database_url: str) -> AsyncIterator[Config]:
    """The default configuration on a fresh schema of the test PostgreSQL."""
    schema = await new_schema(database_url)
    base = load(environ={})
    yield dataclasses.replace(base, database=DatabaseConfig(url=database_url, schema=schema))
    await drop_schema(database_url, schema)


@pytest.fixture
async def database(db_config: Config) -> AsyncIterator[Database]:
    opened = await Database.open(db_config)
    yield opened
    await opened.close()


# --------------------------------------------------------------------------- upstream and app


@dataclasses.dataclass
class Upstream:
    """A real registry:2 process behind a counting proxy (what Modelyard talks to)."""

    registry: ServerProcess
    counting: CountingProxy

    @property
    def url(self) -> str:
        return self.counting.url

    def push_blob(self, repository: str, data: bytes) -> str:
        digest = digest_of(data)
        base = self.registry.url
        started = httpx.post(f"{base}/v2/{repository}/blobs/uploads/")
        assert started.status_code == 202, started.text
        location = started.headers["location"]
        location = location if location.startswith("http") else base + location
        separator = "&" if "?" in location else "?"
        done = httpx.put(f"{location}{separator}digest={digest}", content=data, timeout=60)
        assert done.status_code == 201, done.text
        return digest

    def push_image(
        self, repository: str, tag: str, layers: list[bytes], config: bytes = b"{}"
    ) -> tuple[str, bytes]:
        """Blobs and an OCI manifest tagged `tag`; returns the manifest digest and bytes."""
        for blob in (config, *layers):
            self.push_blob(repository, blob)
        manifest = encode(image_manifest(config, layers))
        response = httpx.put(
            f"{self.registry.url}/v2/{repository}/manifests/{tag}",
            content=manifest,
            headers={"Content-Type": OCI_MANIFEST},
        )
        assert response.status_code == 201, response.text
        return digest_of(manifest), manifest


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    registry = start_docker_registry(tmp_path / "upstream", tmp_path / "upstream-work")
    counting = CountingProxy(registry.url)
    try:
        yield Upstream(registry, counting)
    finally:
        counting.stop()
        registry.stop()


def proxy_config(
    base: Config, upstream_url: str, *, ttl: int = 300, allowpush: bool = False
) -> Config:
    central = UpstreamConfig(
        name="central",
        url=upstream_url,
        allowpush=allowpush,
        prefixes=(PrefixConfig("library/", "library/"), PrefixConfig("cache/", "")),
    )
    proxy = ProxyConfig(manifestttl=ttl, leaseseconds=5, upstreams=(central,))
    return dataclasses.replace(base, proxy=proxy)


@dataclasses.dataclass
class Instance:
    app: Starlette
    client: httpx.AsyncClient

    @property
    def store(self) -> RegistryStore:
        found: RegistryStore = self.app.state.store
        return found


@pytest.fixture
async def instances(db_config: Config, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await start(config)`: an app (lifespan run) over the shared folder `tmp_path/root`
    (or over `driver`); all are closed before the database schema is dropped."""
    stack = contextlib.AsyncExitStack()

    async def start(config: Config, driver: FilesystemDriver | None = None) -> Instance:
        app = create_app(config, driver or FilesystemDriver(tmp_path / "root"))
        await stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://registry.test", timeout=60
        )
        await stack.enter_async_context(client)
        return Instance(app, client)

    async with stack:
        yield start


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample in a Prometheus text exposition (0 when absent)."""
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0

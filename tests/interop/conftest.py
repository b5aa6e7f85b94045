"""Fixtures for the interop suite: real server processes and a generated OCI image layout.

`modelyard` is a fresh Modelyard server on its own temporary root. `start_modelyard(root)` and
`start_docker_registry(root)` start servers over a chosen root (two may share one, in turn),
and every server a test started is stopped after it and its log checked for crashes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.interop import helpers
from tests.interop.helpers import OciImage, ServerProcess
from tests.interop.proxy_helpers import ProxyLab, proxy_lab

ServerFactory = Callable[..., ServerProcess]


@pytest.fixture
def _servers() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()
    for server in started:
        server.check_log()


@pytest.fixture
def start_modelyard(tmp_path: Path, _servers: list[ServerProcess]) -> ServerFactory:
    """Start `modelyard serve` over a given root directory; stopped after the test."""

    def start(root: Path, storage: dict[str, Any] | None = None) -> ServerProcess:
        server = helpers.start_modelyard(root, tmp_path / "servers", storage)
        _servers.append(server)
        return server

    return start


@pytest.fixture
def start_docker_registry(tmp_path: Path, _servers: list[ServerProcess]) -> ServerFactory:
    """Start registry:2 (`docker-registry serve`) over a given root; stopped after the test."""

    def start(root: Path, storage: dict[str, Any] | None = None) -> ServerProcess:
        server = helpers.start_docker_registry(root, tmp_path / "servers", storage)
        _servers.append(server)
        return server

    return start


@pytest.fixture
def modelyard(tmp_path: Path, start_modelyard: ServerFactory) -> ServerProcess:
    """A Modelyard server process on a free loopback port with its own root directory."""
    return start_modelyard(tmp_path / "modelyard-root")


@pytest.fixture
def oci_image(tmp_path: Path) -> OciImage:
    """A three-layer OCI image layout under tmp_path, readable as `oci:DIR:v1`."""
    return helpers.build_oci_layout(tmp_path / "image-layout", tag="v1", layers=3)


@pytest.fixture
def skopeo() -> str:
    return helpers.require_tool("skopeo")


@pytest.fixture
def podman() -> str:
    return helpers.require_tool("podman")


@pytest.fixture
def lab(tmp_path: Path, database_url: str) -> Iterator[ProxyLab]:
    """Upstreams, counting proxies and Modelyard instances of one pull-through test."""
    with proxy_lab(tmp_path, database_url) as lab:
        yield lab

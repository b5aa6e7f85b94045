"""Concurrent blob downloads from a real granian server: the first takes the buffered way,
the others go by zero-copy `pathsend`; every client gets the exact bytes."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.interop import helpers
from tests.interop.helpers import ServerProcess

pytestmark = pytest.mark.interop

SIZE = 48 << 20
CLIENTS = 4


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = helpers.start_modelyard(
        tmp_path / "root", tmp_path / "servers", sections={"http": {"buffered_downloads": 1}}
    )
    try:
        yield process
    finally:
        process.stop()
        process.check_log()


def _download(url: str) -> tuple[str, int]:
    hasher = hashlib.sha256()
    with httpx.stream("GET", url, timeout=60.0) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            hasher.update(chunk)
        return "sha256:" + hasher.hexdigest(), int(response.headers["content-length"])


def test_concurrent_downloads_get_every_byte(server: ServerProcess) -> None:
    data = os.urandom(SIZE)
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    pushed = httpx.post(
        f"{server.url}/v2/team/model/blobs/uploads/?digest={digest}", content=data, timeout=60.0
    )
    assert pushed.status_code == 201, pushed.text
    url = f"{server.url}/v2/team/model/blobs/{digest}"
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(_download, [url] * CLIENTS))
    assert results == [(digest, SIZE)] * CLIENTS
    tail = httpx.get(url, headers={"Range": f"bytes={SIZE - 100}-"})
    assert tail.status_code == 206
    assert tail.content == data[-100:]

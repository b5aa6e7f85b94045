"""The upstream client against a real HTTP server: anonymous, basic, static token and the
Docker token flow (tokens reused per scope), and how answers map to errors."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import pytest

from registry.config import UpstreamConfig
from registry.proxy.auth import scope_of
from registry.proxy.upstream import UpstreamClient, UpstreamNotFound, UpstreamUnavailable
from tests.registry.proxy.authserver import (
    PASSWORD,
    STATIC_TOKEN,
    USERNAME,
    AuthUpstream,
    auth_upstream,
)
from tests.support.s3server import free_port

pytestmark = pytest.mark.anyio

BLOB = "/v2/library/app/blobs/sha256:" + "0" * 64
SCOPE = scope_of("library/app")


@pytest.fixture(params=["token", "basic", "static", "anonymous"])
def upstream(request: pytest.FixtureRequest) -> Iterator[AuthUpstream]:
    with auth_upstream(request.param) as server:
        server.put(BLOB, b"blob bytes")
        yield server


def _config(upstream: AuthUpstream, **changes: object) -> UpstreamConfig:
    base = UpstreamConfig(name="central", url=upstream.url, username=USERNAME, password=PASSWORD)
    if upstream.mode == "static":
        base = dataclasses.replace(base, username="", password="", token=STATIC_TOKEN)
    return dataclasses.replace(base, **changes)


@pytest.fixture
async def client(anyio_backend: str, upstream: AuthUpstream) -> AsyncIterator[UpstreamClient]:
    made = UpstreamClient(_config(upstream))
    yield made
    await made.close()


async def test_every_auth_mode_gets_the_blob(client: UpstreamClient) -> None:
    response, body = await client.fetch("GET", BLOB, SCOPE)
    assert body == b"blob bytes"
    assert response.headers["docker-content-digest"].startswith("sha256:")


@pytest.mark.parametrize("upstream", ["token"], indirect=True)
async def test_a_token_is_fetched_once_per_scope_and_reused(
    client: UpstreamClient, upstream: AuthUpstream
) -> None:
    for _ in range(3):
        await client.fetch("GET", BLOB, SCOPE)
    assert upstream.requests["token"] == 1
    assert upstream.token_scopes == [SCOPE]
    # the first GET was challenged, the two after it carried the cached token
    assert upstream.requests[f"GET {BLOB}"] == 4


@pytest.mark.parametrize("upstream", ["token"], indirect=True)
async def test_a_token_the_upstream_no_longer_accepts_is_replaced(
    client: UpstreamClient, upstream: AuthUpstream
) -> None:
    await client.fetch("GET", BLOB, SCOPE)
    upstream.issued.clear()  # the upstream forgets it, as after its expiry
    await client.fetch("GET", BLOB, SCOPE)
    assert upstream.requests["token"] == 2


@pytest.mark.parametrize("upstream", ["token", "basic"], indirect=True)
async def test_wrong_credentials_make_the_upstream_unavailable(upstream: AuthUpstream) -> None:
    client = UpstreamClient(_config(upstream, password="wrong"))
    try:
        with pytest.raises(UpstreamUnavailable):
            await client.fetch("GET", BLOB, SCOPE)
    finally:
        await client.close()


@pytest.mark.parametrize("upstream", ["anonymous"], indirect=True)
async def test_unknown_objects_are_not_found(client: UpstreamClient) -> None:
    with pytest.raises(UpstreamNotFound):
        await client.fetch("GET", "/v2/library/app/blobs/sha256:" + "1" * 64, SCOPE)


@pytest.mark.parametrize("upstream", ["anonymous"], indirect=True)
@pytest.mark.parametrize("status", [429, 500, 502, 503])
async def test_throttling_and_server_errors_make_the_upstream_unavailable(
    client: UpstreamClient, upstream: AuthUpstream, status: int
) -> None:
    upstream.status = status
    with pytest.raises(UpstreamUnavailable):
        await client.fetch("HEAD", BLOB, SCOPE)


async def test_a_refused_connection_makes_the_upstream_unavailable(anyio_backend: str) -> None:
    client = UpstreamClient(UpstreamConfig(name="gone", url=f"http://127.0.0.1:{free_port()}"))
    try:
        with pytest.raises(UpstreamUnavailable, match="gone"):
            await client.fetch("GET", BLOB, SCOPE)
    finally:
        await client.close()


@pytest.mark.parametrize("upstream", ["anonymous"], indirect=True)
async def test_a_body_over_the_limit_is_refused(client: UpstreamClient) -> None:
    with pytest.raises(UpstreamUnavailable, match="larger than"):
        await client.fetch("GET", BLOB, SCOPE, limit=4)

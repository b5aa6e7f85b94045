"""Peer streaming: the advertised URL, and a peer that cannot give the blob's bytes."""

from __future__ import annotations

import socket
from dataclasses import replace

import pytest

from registry.config import Config, HttpConfig, ProxyConfig
from registry.digest import Digest
from registry.proxy.peers import ClientRequest, Peers, advertised_url
from tests.registry.proxy.conftest import Upstream

DIGEST = Digest.parse("sha256:" + "a" * 64)


def _config(addr: str, advertise: str = "") -> Config:
    return replace(Config(), http=HttpConfig(addr=addr), proxy=ProxyConfig(advertise=advertise))


@pytest.mark.parametrize(
    ("addr", "advertise", "expected"),
    [
        ("127.0.0.1:5001", "", "http://127.0.0.1:5001"),
        ("10.0.0.5:5000", "", "http://10.0.0.5:5000"),
        ("::1:5002", "", "http://[::1]:5002"),
        (":5000", "", None),
        ("0.0.0.0:5000", "", None),
        (":::5000", "", None),
        ("localhost:5000", "", None),
        ("0.0.0.0:5000", "https://node1.example:8443/", "https://node1.example:8443"),
    ],
)
def test_the_advertised_url_is_configured_or_a_concrete_listen_ip(
    addr: str, advertise: str, expected: str | None
) -> None:
    assert advertised_url(_config(addr, advertise)) == expected


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.anyio
async def test_an_unreachable_peer_gives_no_stream() -> None:
    peers = Peers("http://127.0.0.1:1")
    try:
        base = f"http://127.0.0.1:{_free_port()}"
        assert await peers.open(base, "library/a", DIGEST, ClientRequest(), None) is None
    finally:
        await peers.close()


@pytest.mark.anyio
async def test_a_peer_answer_gives_its_span_and_an_error_gives_no_stream(
    upstream: Upstream,
) -> None:
    data = bytes(range(256)) * 64
    digest = Digest.parse(upstream.push_blob("library/a", data))
    peers = Peers(None)
    try:
        whole = await peers.open(upstream.registry.url, "library/a", digest, ClientRequest(), None)
        assert whole is not None
        assert (whole.start, whole.end, whole.size) == (0, len(data) - 1, len(data))
        assert await whole.response.aread() == data
        await whole.response.aclose()
        part = await peers.open(
            upstream.registry.url, "library/a", digest, ClientRequest(), "bytes=10-19"
        )
        assert part is not None
        assert (part.start, part.end, part.size) == (10, 19, len(data))
        assert await part.response.aread() == data[10:20]
        await part.response.aclose()
        assert await peers.open(upstream.url, "library/b", digest, ClientRequest(), None) is None
        assert upstream.counting.count("GET", f"/v2/library/b/blobs/{digest}") == 1
    finally:
        await peers.close()

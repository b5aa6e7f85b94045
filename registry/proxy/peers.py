"""Streaming a blob from the instance that is fetching it (the lease holder).

A client whose instance finds the blob's lease held by another instance streams what has
arrived so far from the holder's flight, `GET <holder>/v2/<name>/blobs/<digest>`, instead of
waiting for the blob in storage. The request carries `X-Modelyard-Peer`, so the holder (or an
instance that no longer holds the flight) answers it locally and never forwards it again. The
client's Authorization and Range headers go along. An error before the body starts leaves the
caller to fall back to the local wait (`open` returns None).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import httpx

from registry.config import Config
from registry.digest import Digest

PEER_HEADER = "X-Modelyard-Peer"
CONNECT_SECONDS = 2.0
READ_SECONDS = 60.0
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


def advertised_url(config: Config) -> str | None:
    """`proxy.advertise`, else `http://<listen address>` when that is a concrete IP, else
    None (peer streaming from this instance is off)."""
    if config.proxy.advertise:
        return config.proxy.advertise.rstrip("/")
    host, port = config.listen()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if address.is_unspecified:
        return None
    if address.version == 6:
        return f"http://[{address}]:{port}"
    return f"http://{address}:{port}"


@dataclass(frozen=True, slots=True)
class ClientRequest:
    """What of a client's request matters to a blob miss: whether it comes from a peer, and
    the headers forwarded to one."""

    peer: bool = False
    authorization: str | None = None


@dataclass(frozen=True, slots=True)
class PeerStream:
    """A peer's answer whose body has not been read yet: bytes `start`..`end` (inclusive;
    `end` None when the peer did not say) of the blob, `size` when known."""

    response: httpx.Response
    start: int
    end: int | None
    size: int | None


def _span(response: httpx.Response) -> tuple[int, int | None, int | None] | None:
    length = response.headers.get("content-length")
    if response.status_code == 206:
        found = _CONTENT_RANGE.fullmatch(response.headers.get("content-range", ""))
        if found is None:
            return None
        total = found.group(3)
        return int(found.group(1)), int(found.group(2)), None if total == "*" else int(total)
    if length is None or not length.isdigit():
        return 0, None, None
    return 0, int(length) - 1, int(length)


class Peers:
    """The HTTP client to the other instances (one pool for all of them)."""

    def __init__(self, url: str | None) -> None:
        #: this instance's advertised URL; None: it does not stream to or from peers
        self.url = url
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(READ_SECONDS, connect=CONNECT_SECONDS),
            follow_redirects=False,
        )

    async def open(
        self,
        base: str,
        name: str,
        digest: Digest,
        client: ClientRequest,
        range_header: str | None,
    ) -> PeerStream | None:
        """The peer's answer, body unread; None when it cannot be reached or does not answer
        with the blob's bytes."""
        headers = {PEER_HEADER: "1"}
        if client.authorization is not None:
            headers["Authorization"] = client.authorization
        if range_header is not None:
            headers["Range"] = range_header
        request = self._client.build_request(
            "GET", f"{base}/v2/{name}/blobs/{digest}", headers=headers
        )
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError:
            return None
        span = _span(response) if response.status_code in (200, 206) else None
        if span is None:
            await response.aclose()
            return None
        return PeerStream(response, *span)

    async def close(self) -> None:
        await self._client.aclose()

"""Blob pull-through: a local miss in a proxied repository is fetched from upstream once.

The fetch (one per digest across the cluster, see singleflight.py) runs as a task of its
own, so a client that goes away does not stop it for the others. It tees the upstream bytes
into a storage upload and into the flight's spool (flight.py), hashing as it goes; the upload
becomes the blob, linked into the repository, only when the digest matches. Clients of this
instance stream from the spool while it grows, Range requests included; waiters on other
instances stream from the holder's flight (peers.py) while it grows, or, when the holder
cannot be reached, are woken when the lease is released and serve the committed blob from
storage. A peer stream that breaks because its holder went away resumes, at the byte already
sent, from the flight that takes over or from storage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
from anyio import to_thread
from starlette.responses import Response, StreamingResponse

from registry.background import cancel_all
from registry.digest import Digest, Hasher
from registry.errors import BLOB_UNKNOWN, UNKNOWN, RegistryError
from registry.handlers.ranges import parse_range
from registry.proxy.auth import scope_of
from registry.proxy.errors import UPSTREAM_INVALID, UPSTREAM_UNAVAILABLE
from registry.proxy.flight import BlobFlight
from registry.proxy.mapping import Route
from registry.proxy.metrics import BLOB, COALESCED, HIT, MISS, ProxyMetrics
from registry.proxy.peers import ClientRequest, Peers, PeerStream
from registry.proxy.singleflight import Holder, Lease, Leases
from registry.proxy.state import CacheState
from registry.proxy.upstream import UpstreamClient, UpstreamNotFound, UpstreamUnavailable
from storage import paths
from storage.driver import FileWriter
from storage.errors import BlobUnknown
from storage.layout import RegistryStore

log = logging.getLogger("modelyard.proxy")

CACHE_HEADER = "X-Modelyard-Cache"
OCTET_STREAM = "application/octet-stream"
#: bytes hashed and written to storage at once
BATCH_SIZE = 4 << 20


class _Mismatch(Exception):
    """The upstream's bytes do not match the digest (or the announced length)."""


@dataclass(frozen=True, slots=True)
class BlobAnswer:
    """What the proxy did: `response` to send, or None when storage now holds the blob."""

    outcome: str
    response: Response | None = None


def _length(response: httpx.Response) -> int | None:
    raw = response.headers.get("content-length")
    return int(raw) if raw is not None and raw.isdigit() else None


class _Upload:
    """The storage upload a fetch is copied into. The copying task opens it, so the first
    bytes reach the clients without waiting for the storage (an S3 round trip or two)."""

    def __init__(self, store: RegistryStore, repository: str) -> None:
        self._store = store
        self._repository = repository
        self.id: str | None = None
        self.writer: FileWriter | None = None

    async def copy(self, flight: BlobFlight, hasher: Hasher) -> None:
        """Open the upload, then copy the spool into it, hashing each batch (in a thread,
        it releases the GIL) while writing it."""
        self.id = await self._store.uploads.start(self._repository)
        self.writer = await self._store.driver.writer(paths.upload_data(self._repository, self.id))
        async for batch in flight.spooled(BATCH_SIZE):
            await asyncio.gather(to_thread.run_sync(hasher.update, batch), self.writer.write(batch))

    async def commit(self) -> str:
        """Make the copied bytes durable; returns the upload id."""
        if self.writer is None or self.id is None:
            raise RuntimeError("the upload was never opened")
        await self.writer.commit()
        return self.id

    async def discard(self) -> None:
        if self.writer is not None:
            with contextlib.suppress(Exception):
                await self.writer.cancel()
        if self.id is not None:
            with contextlib.suppress(Exception):
                await self._store.uploads.cancel(self._repository, self.id)

    async def close(self) -> None:
        if self.writer is not None:
            await self.writer.close()


class ProxyBlobs:
    def __init__(
        self,
        store: RegistryStore,
        clients: dict[str, UpstreamClient],
        leases: Leases,
        state: CacheState,
        metrics: ProxyMetrics,
        peers: Peers,
    ) -> None:
        self.store = store
        self.peers = peers
        self.clients = clients
        self.leases = leases
        self.state = state
        self.metrics = metrics
        self.flights: dict[str, BlobFlight] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._joining = asyncio.Lock()

    def hit(self, route: Route, digest: Digest) -> str:
        """Count a read the repository answered from storage; returns the outcome."""
        self.metrics.count(HIT, route.upstream.name, BLOB)
        self.state.accessed(route.local, str(digest))
        return HIT

    async def miss(
        self,
        route: Route,
        digest: Digest,
        method: str,
        range_header: str | None,
        client: ClientRequest | None = None,
    ) -> BlobAnswer:
        """Answer a GET or HEAD of a blob the proxied repository does not hold yet."""
        if method == "HEAD":
            return await self._head(route, digest)
        client = client or ClientRequest()
        forward = self.peers.url is not None and not client.peer
        flight, outcome = await self._join(route, digest, forward)
        if isinstance(flight, Holder):
            answer = await self._from_peer(route, digest, flight, client, range_header)
            if answer is not None:
                self.metrics.count(COALESCED, route.upstream.name, BLOB)
                return answer
            flight, outcome = await self._join_local(route, digest)
            if outcome == HIT:
                outcome = COALESCED
        if outcome == MISS or not client.peer:  # a peer's join is counted by the peer
            self.metrics.count(outcome, route.upstream.name, BLOB)
        if flight is None:
            self.state.accessed(route.local, str(digest))
            return BlobAnswer(outcome)
        return await self._answer(flight, outcome, range_header)

    async def prefetch(self, route: Route, digest: Digest) -> None:
        """Bring a blob into the cache without a client (e.g. a config, for the index)."""
        flight, outcome = await self._join_local(route, digest)
        if outcome == MISS:
            self.metrics.count(MISS, route.upstream.name, BLOB)
        if flight is not None:
            await flight.done.wait()

    async def _join(
        self, route: Route, digest: Digest, forward: bool
    ) -> tuple[BlobFlight | Holder | None, str]:
        """The flight to stream from (joined or started here), or None once storage has the
        blob; and the outcome: miss, coalesced or hit. With `forward`, a lease held by a
        reachable peer ends the wait: its Holder comes back instead of a flight."""
        key = str(digest)
        waited = False
        while True:
            if await self._in_storage(route, digest):
                return None, COALESCED if waited else HIT
            async with self._joining:
                flight = self.flights.get(key)
                if flight is not None:
                    return flight, COALESCED
                lease = await self.leases.take(key)
                if lease is not None and not await self._exists(digest):
                    return self._start(route, digest, lease), MISS
            waited = True
            if lease is not None:
                await lease.release()  # published since the look above: read it from storage
                continue
            if forward:
                holder = await self.leases.holder_of(key)
                if holder is not None and self._reachable(holder):
                    return holder, COALESCED
            await self.leases.wait(key)

    async def _join_local(self, route: Route, digest: Digest) -> tuple[BlobFlight | None, str]:
        """`_join` without streaming from a peer."""
        flight, outcome = await self._join(route, digest, False)
        assert not isinstance(flight, Holder), "a holder comes back only with forward"
        return flight, outcome

    def _reachable(self, holder: Holder) -> bool:
        """A live holder that is another instance with an address."""
        return bool(holder.url) and holder.url != self.peers.url and not holder.expired

    async def _exists(self, digest: Digest) -> bool:
        try:
            await self.store.blobs.size(digest)
        except BlobUnknown:
            return False
        return True

    async def _in_storage(self, route: Route, digest: Digest) -> bool:
        """True when the repository holds the blob. A blob cached for another repository is
        linked here once the upstream confirms this repository has it."""
        blobs = self.store.blobs
        if await blobs.is_linked(route.local, digest):
            return True
        try:
            size = await blobs.size(digest)
        except BlobUnknown:
            return False
        client = self.clients[route.upstream.name]
        path = f"/v2/{route.remote}/blobs/{digest}"
        try:
            async with client.stream("HEAD", path, scope_of(route.remote)):
                pass
        except UpstreamNotFound:
            raise RegistryError(BLOB_UNKNOWN, {"digest": str(digest)}) from None
        except UpstreamUnavailable as exc:
            raise RegistryError(UPSTREAM_UNAVAILABLE, {"reason": exc.reason}) from None
        await blobs.link(route.local, digest)
        await self.state.cached(route, str(digest), BLOB, size)
        return True

    def _start(self, route: Route, digest: Digest, lease: Lease) -> BlobFlight:
        flight = BlobFlight(digest, route.upstream.name)
        self.flights[str(digest)] = flight
        task = asyncio.get_running_loop().create_task(self._run(flight, route, lease))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return flight

    async def _answer(
        self, flight: BlobFlight, outcome: str, range_header: str | None
    ) -> BlobAnswer:
        await flight.started.wait()
        if flight.error is not None:
            raise flight.error
        digest = flight.digest
        headers = {
            "Docker-Content-Digest": str(digest),
            "Accept-Ranges": "bytes",
            "ETag": f'"{digest}"',
            CACHE_HEADER: outcome,
        }
        size = flight.size
        if size is None:
            if range_header is not None:
                await flight.done.wait()
                if flight.error is not None:
                    raise flight.error
                return BlobAnswer(outcome)
            return BlobAnswer(
                outcome, StreamingResponse(flight.read(0), headers=headers, media_type=OCTET_STREAM)
            )
        span = parse_range(range_header, size)
        if span is None:
            headers["Content-Length"] = str(size)
            body = flight.read(0, size - 1)
            return BlobAnswer(
                outcome, StreamingResponse(body, headers=headers, media_type=OCTET_STREAM)
            )
        start, end = span
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)
        body = flight.read(start, end)
        return BlobAnswer(
            outcome, StreamingResponse(body, 206, headers=headers, media_type=OCTET_STREAM)
        )

    async def _from_peer(
        self,
        route: Route,
        digest: Digest,
        holder: Holder,
        client: ClientRequest,
        range_header: str | None,
    ) -> BlobAnswer | None:
        """The holder's answer relayed to the client; None when the holder cannot give it."""
        assert holder.url is not None
        stream = await self.peers.open(holder.url, route.local, digest, client, range_header)
        if stream is None:
            return None
        headers = {
            "Docker-Content-Digest": str(digest),
            "Accept-Ranges": "bytes",
            "ETag": f'"{digest}"',
            CACHE_HEADER: COALESCED,
        }
        status = stream.response.status_code
        if status == 206 and stream.end is not None:
            total = "*" if stream.size is None else str(stream.size)
            headers["Content-Range"] = f"bytes {stream.start}-{stream.end}/{total}"
        if stream.end is not None:
            headers["Content-Length"] = str(stream.end - stream.start + 1)
        body = self._relay(route, digest, stream, holder.holder)
        return BlobAnswer(
            COALESCED, StreamingResponse(body, status, headers=headers, media_type=OCTET_STREAM)
        )

    async def _relay(
        self, route: Route, digest: Digest, stream: PeerStream, holder: str
    ) -> AsyncIterator[bytes]:
        """The peer's body; when the holder goes away mid-body, the rest from the flight that
        takes over or from storage. A holder that ended its fetch without publishing the blob
        (e.g. a digest mismatch) cut the stream on purpose: the client is cut too."""
        position = stream.start
        try:
            async for chunk in stream.response.aiter_raw():
                position += len(chunk)
                yield chunk
        except httpx.HTTPError as exc:
            log.warning("blob %s: stream from peer broke at %d: %s", digest, position, exc)
        else:
            if stream.end is None or position > stream.end:
                return
            raise RegistryError(UNKNOWN, {"digest": str(digest), "reason": "short peer answer"})
        finally:
            await stream.response.aclose()
        if not await self._holder_gone(digest, holder):
            raise RegistryError(UNKNOWN, {"digest": str(digest), "reason": "the fetch failed"})
        async for chunk in self._resume(route, digest, position, stream.end):
            yield chunk

    async def _holder_gone(self, digest: Digest, holder: str) -> bool:
        """After a broken peer stream: wait until the holder's lease ends; True when the blob
        is published or the holder went away (lease expired or taken over), False when it
        released the lease without publishing the blob."""
        key = str(digest)
        while True:
            if await self._exists(digest):
                return True
            current = await self.leases.holder_of(key)
            if current is None:
                return await self._exists(digest)
            if current.holder != holder or current.expired:
                return True
            await self.leases.wait(key)

    async def _resume(
        self, route: Route, digest: Digest, start: int, end: int | None
    ) -> AsyncIterator[bytes]:
        """Bytes `start`..`end` (inclusive; None: to the end) from the single-flight."""
        flight, _ = await self._join_local(route, digest)
        if isinstance(flight, BlobFlight):
            await flight.started.wait()
            if flight.error is not None:
                raise flight.error
            async for chunk in flight.read(start, end):
                yield chunk
            return
        remaining = None if end is None else end - start + 1
        async for chunk in self.store.blobs.reader(digest, start):
            if remaining is not None and len(chunk) >= remaining:
                yield chunk[:remaining]
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk

    async def _head(self, route: Route, digest: Digest) -> BlobAnswer:
        """A HEAD miss asks the upstream (a HEAD too) and caches nothing."""
        client = self.clients[route.upstream.name]
        path = f"/v2/{route.remote}/blobs/{digest}"
        try:
            async with client.stream("HEAD", path, scope_of(route.remote)) as response:
                size = _length(response)
        except UpstreamNotFound:
            raise RegistryError(BLOB_UNKNOWN, {"digest": str(digest)}) from None
        except UpstreamUnavailable as exc:
            raise RegistryError(UPSTREAM_UNAVAILABLE, {"reason": exc.reason}) from None
        headers = {
            "Docker-Content-Digest": str(digest),
            "Accept-Ranges": "bytes",
            "ETag": f'"{digest}"',
            CACHE_HEADER: MISS,
        }
        if size is not None:
            headers["Content-Length"] = str(size)
        self.metrics.count(MISS, route.upstream.name, BLOB)
        return BlobAnswer(MISS, Response(status_code=200, headers=headers, media_type=OCTET_STREAM))

    async def _run(self, flight: BlobFlight, route: Route, lease: Lease) -> None:
        """Fetch, publish, release. Readers learn the outcome only once the upload is
        cleaned up, so a client that saw a failure finds no leftovers."""
        digest = flight.digest
        upload_id: str | None = None
        error: RegistryError | None = None
        try:
            upload_id = await self._fetch(flight, route)
            await self._publish(route, digest, upload_id)
            upload_id = None
            self.flights.pop(str(digest), None)
            flight.verify()
            await self.state.cached(route, str(digest), BLOB, flight.received)
        except UpstreamNotFound:
            error = RegistryError(BLOB_UNKNOWN, {"digest": str(digest)})
        except UpstreamUnavailable as exc:
            log.warning("blob %s not fetched: %s", digest, exc)
            error = RegistryError(UPSTREAM_UNAVAILABLE, {"reason": exc.reason})
        except _Mismatch as exc:
            log.warning("blob %s from upstream %s discarded: %s", digest, route.upstream.name, exc)
            error = RegistryError(UPSTREAM_INVALID, {"digest": str(digest), "reason": str(exc)})
        except Exception:
            log.exception("blob %s: fetch from upstream %s failed", digest, route.upstream.name)
            if flight.matched:
                flight.verify()
            error = RegistryError(UNKNOWN, {"digest": str(digest)})
        finally:
            if upload_id is not None:
                with contextlib.suppress(Exception):
                    await self.store.uploads.cancel(route.local, upload_id)
            self.flights.pop(str(digest), None)
            if error is not None:
                flight.fail(error)
            await lease.release()
            flight.finish()

    async def _fetch(self, flight: BlobFlight, route: Route) -> str:
        """The upstream GET teed into a new upload of the repository; returns its id."""
        client = self.clients[route.upstream.name]
        path = f"/v2/{route.remote}/blobs/{flight.digest}"
        async with client.stream("GET", path, scope_of(route.remote)) as response:
            flight.begin(_length(response))
            return await self._tee(flight, response, _Upload(self.store, route.local))

    async def _tee(self, flight: BlobFlight, response: httpx.Response, upload: _Upload) -> str:
        """Upstream bytes into the spool as they come; a second task copies the spool into
        `upload` in batches, hashing them, so a slow store never slows the upstream or the
        readers. The upload is committed only when the digest matches, and removed on any
        failure. Readers get their last byte once the blob is published (`flight.verify()`
        in `_run`): a client that has the whole blob finds it in the cache."""
        hasher = Hasher(flight.digest.algorithm)
        counter = self.metrics.upstream_bytes.labels(flight.upstream, BLOB)
        copy = asyncio.get_running_loop().create_task(upload.copy(flight, hasher))
        try:
            try:
                async for chunk in response.aiter_raw():
                    if copy.done():
                        break  # storage failed: its error ends the fetch below
                    flight.append(chunk)
                    counter.inc(len(chunk))
                    if flight.size is not None and flight.received > flight.size:
                        raise _Mismatch(f"more bytes than the announced {flight.size}")
            except httpx.HTTPError as exc:
                raise UpstreamUnavailable(
                    flight.upstream, f"blob body: {type(exc).__name__}: {exc}"
                ) from None
            flight.end()
            await copy
            if flight.size is not None and flight.received != flight.size:
                raise _Mismatch(f"{flight.received} bytes, not the announced {flight.size}")
            if hasher.digest() != flight.digest:
                raise _Mismatch(f"the bytes hash to {hasher.digest()}")
            flight.matched = True
            upload_id = await upload.commit()
        except BaseException:
            copy.cancel()
            with contextlib.suppress(BaseException):
                await copy
            await upload.discard()
            raise
        finally:
            await upload.close()
        return upload_id

    async def _publish(self, route: Route, digest: Digest, upload_id: str) -> None:
        """The verified upload becomes the blob (unless it exists) and is linked here."""
        try:
            await self.store.blobs.size(digest)
        except BlobUnknown:
            await self.store.driver.move(
                paths.upload_data(route.local, upload_id), paths.blob_data(digest)
            )
        await self.store.blobs.link(route.local, digest)
        await self.store.uploads.cancel(route.local, upload_id)

    async def close(self) -> None:
        await cancel_all(self._tasks)

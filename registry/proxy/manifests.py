"""Manifest pull-through: by digest cached forever, by tag revalidated after the TTL.

A tag is revalidated with a HEAD upstream (its Docker-Content-Digest) once the TTL since its
last check has passed, and fetched again only if it moved. When the upstream is down, times
out or answers 429/5xx, the cached copy is served (stale-if-error) and the event logged.
Manifests are stored exactly like pushed ones (revision link, tag links), so any registry:2
serves the cache, and handed to `on_cached` (the model index).

Single-flight is cluster-wide, as for blobs: a lookup that has to ask the upstream (a miss,
or a tag past its TTL) first takes the lease of its reference, and the requests of other
instances wait for it, then read what it stored. An upstream that counts manifest GETs
(Docker Hub's pull limit) sees one per reference, however many instances miss at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from registry.background import cancel_all
from registry.digest import Digest, InvalidDigest
from registry.errors import MANIFEST_UNKNOWN, RegistryError
from registry.manifest import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    Manifest,
    ManifestInvalid,
    parse,
)
from registry.proxy.auth import scope_of
from registry.proxy.errors import UPSTREAM_INVALID, UPSTREAM_UNAVAILABLE
from registry.proxy.mapping import Route
from registry.proxy.metrics import COALESCED, HIT, MANIFEST, MISS, STALE, ProxyMetrics
from registry.proxy.singleflight import Leases
from registry.proxy.state import CacheState
from registry.proxy.upstream import UpstreamClient, UpstreamNotFound, UpstreamUnavailable
from storage.errors import ManifestUnknown
from storage.layout import RegistryStore

log = logging.getLogger("modelyard.proxy")

ACCEPT = ", ".join((OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST))

OnCached = Callable[[Route, Digest, bytes, Manifest, str | None], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ManifestAnswer:
    digest: Digest
    data: bytes
    outcome: str


def _header_digest(value: str | None) -> Digest | None:
    if not value:
        return None
    try:
        return Digest.parse(value)
    except InvalidDigest:
        return None


class ProxyManifests:
    def __init__(
        self,
        store: RegistryStore,
        clients: dict[str, UpstreamClient],
        leases: Leases,
        state: CacheState,
        metrics: ProxyMetrics,
        on_cached: OnCached,
        limit: int,
    ) -> None:
        self.store = store
        self.clients = clients
        self.leases = leases
        self.state = state
        self.metrics = metrics
        self.on_cached = on_cached
        self.limit = limit
        self._pending: dict[tuple[str, str], asyncio.Task[ManifestAnswer]] = {}

    async def get(self, route: Route, reference: Digest | str) -> ManifestAnswer:
        """The manifest, from cache or upstream. The lookup runs as a task of its own that
        every request of this instance for the same reference shares while it runs (a miss
        is `coalesced` for all but the first); a client going away does not cancel it."""
        key = (route.local, str(reference))
        task = self._pending.get(key)
        joined = task is not None
        if task is None:
            task = asyncio.get_running_loop().create_task(self._lookup(route, reference))
            self._pending[key] = task
            task.add_done_callback(lambda done: self._settled(key, done))
        shared = await asyncio.shield(task)
        outcome = COALESCED if joined and shared.outcome == MISS else shared.outcome
        answer = dataclasses.replace(shared, outcome=outcome)
        self.metrics.count(answer.outcome, route.upstream.name, MANIFEST)
        if answer.outcome != MISS:
            self.state.accessed(route.local, str(answer.digest))
        return answer

    def _settled(self, key: tuple[str, str], task: asyncio.Task[ManifestAnswer]) -> None:
        if self._pending.get(key) is task:
            del self._pending[key]
        if not task.cancelled():
            task.exception()  # seen, whether or not a request still waits for it

    async def _lookup(self, route: Route, reference: Digest | str) -> ManifestAnswer:
        """From the cache while it is fresh; else under the reference's lease. A lookup that
        waited for another instance's lease and then found the cache fresh is `coalesced`."""
        key = f"manifest:{route.upstream.name}:{route.local}:{reference}"
        waited = False
        while True:
            answer, _ = await self._fresh(route, reference)
            if answer is not None:
                return dataclasses.replace(answer, outcome=COALESCED) if waited else answer
            lease = await self.leases.take(key)
            if lease is None:
                waited = True
                await self.leases.wait(key)
                continue
            try:
                answer, local = await self._fresh(route, reference)  # stored as it was freed
                if answer is not None:
                    return dataclasses.replace(answer, outcome=COALESCED)
                if isinstance(reference, Digest):
                    return await self._by_digest(route, reference)
                return await self._by_tag(route, reference, local)
            finally:
                await lease.release()

    async def _fresh(
        self, route: Route, reference: Digest | str
    ) -> tuple[ManifestAnswer | None, Digest | None]:
        """The cached manifest when no upstream request is needed: stored (by digest), or
        tagged and checked upstream within the TTL (by tag); and the digest the tag points
        at here, if it does (None for a digest)."""
        if isinstance(reference, Digest):
            if await self.store.manifests.exists(route.local, reference):
                return await self._cached(route, reference, HIT), None
            return None, None
        local = await self._local_tag(route, reference)
        if local is not None and await self.state.is_fresh(route.local, reference, str(local)):
            return await self._cached(route, local, HIT), local
        return None, local

    async def close(self) -> None:
        await cancel_all(self._pending.values())

    async def _cached(self, route: Route, digest: Digest, outcome: str) -> ManifestAnswer:
        return ManifestAnswer(digest, await self.store.manifests.get(route.local, digest), outcome)

    async def _by_digest(self, route: Route, digest: Digest) -> ManifestAnswer:
        try:
            data, manifest = await self._fetch(route, digest, digest)
        except UpstreamNotFound:
            raise RegistryError(MANIFEST_UNKNOWN, {"digest": str(digest)}) from None
        except UpstreamUnavailable as exc:
            raise RegistryError(UPSTREAM_UNAVAILABLE, {"reason": exc.reason}) from None
        await self._keep(route, digest, data, manifest, None)
        return ManifestAnswer(digest, data, MISS)

    async def _local_tag(self, route: Route, tag: str) -> Digest | None:
        try:
            digest = await self.store.tags.resolve(route.local, tag)
        except ManifestUnknown:
            return None
        return digest if await self.store.manifests.exists(route.local, digest) else None

    async def _by_tag(self, route: Route, tag: str, local: Digest | None) -> ManifestAnswer:
        """Revalidate or fetch `tag`, whose cached copy (if any) is manifest `local`."""
        try:
            remote = await self._head(route, tag)
            if local is not None and remote == local:
                await self.state.checked(route, tag, str(local))
                return await self._cached(route, local, HIT)
            data, manifest = await self._fetch(route, remote or tag, remote)
        except UpstreamNotFound as exc:
            if local is None:
                raise RegistryError(MANIFEST_UNKNOWN, {"tag": tag}) from None
            log.info("tag %s:%s kept from cache: %s", route.local, tag, exc)
            return await self._cached(route, local, HIT)
        except UpstreamUnavailable as exc:
            if local is None:
                raise RegistryError(UPSTREAM_UNAVAILABLE, {"reason": exc.reason}) from None
            log.warning("serving cached %s:%s (stale): %s", route.local, tag, exc)
            return await self._cached(route, local, STALE)
        digest = remote or Digest.of(data)
        await self._keep(route, digest, data, manifest, tag)
        await self.state.checked(route, tag, str(digest))
        return ManifestAnswer(digest, data, MISS)

    async def _head(self, route: Route, tag: str) -> Digest | None:
        """The digest the upstream tag points at, None if the upstream does not say."""
        client = self.clients[route.upstream.name]
        path = f"/v2/{route.remote}/manifests/{tag}"
        async with client.stream(
            "HEAD", path, scope_of(route.remote), {"Accept": ACCEPT}
        ) as response:
            return _header_digest(response.headers.get("docker-content-digest"))

    async def _fetch(
        self, route: Route, reference: Digest | str, expected: Digest | None
    ) -> tuple[bytes, Manifest]:
        """The manifest bytes, verified against `expected` (and the upstream's header)."""
        client = self.clients[route.upstream.name]
        path = f"/v2/{route.remote}/manifests/{reference}"
        response, data = await client.fetch(
            "GET", path, scope_of(route.remote), {"Accept": ACCEPT}, limit=self.limit
        )
        self.metrics.upstream_bytes.labels(route.upstream.name, MANIFEST).inc(len(data))
        expected = expected or _header_digest(response.headers.get("docker-content-digest"))
        if expected is not None and Digest.of(data, expected.algorithm) != expected:
            log.warning(
                "manifest %s from upstream %s discarded: digest mismatch", path, client.name
            )
            raise RegistryError(UPSTREAM_INVALID, {"reference": str(reference)})
        try:
            return data, parse(data, response.headers.get("content-type"))
        except ManifestInvalid as exc:
            raise RegistryError(
                UPSTREAM_INVALID, {"reference": str(reference), "reason": str(exc)}
            ) from None

    async def _keep(
        self, route: Route, digest: Digest, data: bytes, manifest: Manifest, tag: str | None
    ) -> None:
        """Store the manifest as a push would, record it, and hand it to the index."""
        await self.store.manifests.put(route.local, data, digest)
        if tag is not None:
            await self.store.tags.tag(route.local, tag, digest)
        await self.state.cached(route, str(digest), MANIFEST, len(data))
        await self.on_cached(route, digest, data, manifest, tag)

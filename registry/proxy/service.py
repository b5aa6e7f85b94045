"""The pull-through service of one application: routes, upstream clients, leases, state.

Created in the application lifespan when `proxy.upstreams` is not empty, and reached by the
handlers through `params.proxy(request)`.
"""

from __future__ import annotations

import asyncio
import contextlib

from registry.background import cancel_all
from registry.config import Config
from registry.digest import Digest
from registry.errors import UNSUPPORTED, RegistryError
from registry.index.db import Database
from registry.index.indexer import CONFIG_LIMIT, ModelIndex
from registry.manifest import Manifest
from registry.proxy.blobs import ProxyBlobs
from registry.proxy.listing import ProxyListing
from registry.proxy.manifests import ProxyManifests
from registry.proxy.mapping import ProxyMap, Route
from registry.proxy.metrics import ProxyMetrics
from registry.proxy.peers import Peers, advertised_url
from registry.proxy.singleflight import ClusterLeases, Leases, LocalLeases
from registry.proxy.state import CacheState
from registry.proxy.upstream import UpstreamClient
from storage.layout import RegistryStore


class ProxyService:
    def __init__(
        self,
        config: Config,
        store: RegistryStore,
        metrics: ProxyMetrics,
        database: Database | None,
        index: ModelIndex | None,
    ) -> None:
        self.mapping = ProxyMap(config.proxy)
        self.clients = {
            upstream.name: UpstreamClient(upstream) for upstream in config.proxy.upstreams
        }
        self.index = index
        self.peers = Peers(advertised_url(config) if database else None)
        self._cluster = (
            ClusterLeases(database, config.proxy.leaseseconds, self.peers.url) if database else None
        )
        leases: Leases = self._cluster or LocalLeases()
        self.state = CacheState(database, config.proxy.manifestttl)
        self.blobs = ProxyBlobs(store, self.clients, leases, self.state, metrics, self.peers)
        self.manifests = ProxyManifests(
            store,
            self.clients,
            leases,
            self.state,
            metrics,
            self._cached,
            config.limits.manifest_max_bytes,
        )
        self.listing = ProxyListing(store, self.clients, self.mapping)
        self.leases = leases
        self._tasks: set[asyncio.Task[None]] = set()

    def route(self, name: str) -> Route | None:
        return self.mapping.route(name)

    def check_writable(self, name: str) -> None:
        """Pushes and deletes under a proxied prefix need `allowpush`."""
        route = self.mapping.route(name)
        if route is not None and not route.upstream.allowpush:
            raise RegistryError(
                UNSUPPORTED,
                {"name": name, "reason": f"proxied from upstream {route.upstream.name}"},
                message="repository is a read-only pull-through cache",
            )

    async def _cached(
        self, route: Route, digest: Digest, data: bytes, manifest: Manifest, tag: str | None
    ) -> None:
        """Index a manifest just cached, in the background: its config blob is fetched
        first (once, single-flight), as the extractors read it."""
        if self.index is None:
            return
        task = asyncio.get_running_loop().create_task(
            self._index(self.index, route, digest, data, manifest, tag)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _index(
        self,
        index: ModelIndex,
        route: Route,
        digest: Digest,
        data: bytes,
        manifest: Manifest,
        tag: str | None,
    ) -> None:
        config = manifest.config
        if config is not None and config.size <= CONFIG_LIMIT:
            with contextlib.suppress(RegistryError):
                await self.blobs.prefetch(route, config.digest)
        await index.safely(
            route.local, index.manifest_pushed(route.local, digest, data, manifest, tag)
        )

    async def start(self) -> None:
        if self._cluster is not None:
            await self._cluster.start()
        self.state.start()

    async def close(self) -> None:
        await cancel_all(self._tasks)
        await self.manifests.close()
        await self.blobs.close()
        await self.peers.close()
        await self.leases.close()
        await self.state.close()
        for client in self.clients.values():
            await client.close()

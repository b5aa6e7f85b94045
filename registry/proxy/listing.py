"""Catalog, tags list and referrers of proxied repositories: from the upstream when it is
reachable (merged with what is cached or pushed locally), from the cache otherwise."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from registry.digest import Digest
from registry.proxy.auth import CATALOG_SCOPE, scope_of
from registry.proxy.mapping import ProxyMap, Route
from registry.proxy.upstream import UpstreamClient, UpstreamError, UpstreamNotFound
from storage.errors import RepositoryUnknown
from storage.layout import RegistryStore

log = logging.getLogger("modelyard.proxy")

#: pages of an upstream list followed at most
MAX_PAGES = 100
LIST_LIMIT = 16 << 20
_NEXT = re.compile(r"<([^>]+)>\s*;\s*rel=\"?next\"?")


def _strings(body: Any, key: str) -> list[str]:
    values = body.get(key) if isinstance(body, dict) else None
    if not isinstance(values, list):
        return []
    return [value for value in values if isinstance(value, str)]


class ProxyListing:
    def __init__(
        self, store: RegistryStore, clients: dict[str, UpstreamClient], mapping: ProxyMap
    ) -> None:
        self.store = store
        self.clients = clients
        self.mapping = mapping

    async def _pages(
        self, client: UpstreamClient, path: str, scope: str, read: Callable[[Any], list[str]]
    ) -> list[str]:
        """Every entry of a paginated upstream list, following its `Link` headers."""
        found: list[str] = []
        next_path: str | None = path
        for _ in range(MAX_PAGES):
            if next_path is None:
                break
            response, body = await client.fetch("GET", next_path, scope, limit=LIST_LIMIT)
            try:
                found.extend(read(json.loads(body)))
            except ValueError:
                break
            match = _NEXT.search(response.headers.get("link", ""))
            next_path = match.group(1) if match else None
        return found

    async def tags(self, route: Route) -> list[str]:
        """Upstream tags and local ones, sorted; RepositoryUnknown when neither has any."""
        client = self.clients[route.upstream.name]
        remote: list[str] | None
        try:
            remote = await self._pages(
                client,
                f"/v2/{route.remote}/tags/list",
                scope_of(route.remote),
                lambda body: _strings(body, "tags"),
            )
        except UpstreamNotFound:
            remote = None
        except UpstreamError as exc:
            log.warning("tags of %s from cache: %s", route.local, exc)
            return await self.store.tags.names(route.local)
        try:
            local = await self.store.tags.names(route.local)
        except RepositoryUnknown:
            if remote is None:
                raise
            local = []
        return sorted(set(local) | set(remote or []))

    async def catalog(self, local: list[str]) -> list[str]:
        """The local repositories and those of every reachable upstream, sorted."""
        names = set(local)
        for client in self.clients.values():
            upstream = client.config
            try:
                remote = await self._pages(
                    client,
                    "/v2/_catalog",
                    CATALOG_SCOPE,
                    lambda body: _strings(body, "repositories"),
                )
            except UpstreamError as exc:
                log.info("catalog of upstream %s unavailable: %s", upstream.name, exc)
                continue
            names.update(self.mapping.local_names(upstream, remote))
        return sorted(names)

    async def referrers(
        self, route: Route, subject: Digest, artifact_type: str | None
    ) -> tuple[dict[str, Any], bool] | None:
        """The upstream's referrers index and whether it applied the artifactType filter;
        None when the upstream cannot answer (then the local referrers are served)."""
        client = self.clients[route.upstream.name]
        path = f"/v2/{route.remote}/referrers/{subject}"
        if artifact_type:
            path += "?" + urlencode({"artifactType": artifact_type})
        try:
            response, body = await client.fetch("GET", path, scope_of(route.remote))
            index = json.loads(body)
        except (UpstreamError, ValueError) as exc:
            log.info("referrers of %s@%s from cache: %s", route.local, subject, exc)
            return None
        if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
            return None
        return index, "oci-filters-applied" in response.headers

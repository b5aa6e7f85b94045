"""Prometheus counters of the pull-through cache, in the application's registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

HIT = "hit"
MISS = "miss"
COALESCED = "coalesced"
STALE = "stale"
BLOB = "blob"
MANIFEST = "manifest"


class ProxyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.hits = Counter(
            "modelyard_proxy_hits_total",
            "Proxied reads served from the cache.",
            ["upstream", "kind"],
            registry=registry,
        )
        self.misses = Counter(
            "modelyard_proxy_misses_total",
            "Proxied reads fetched from upstream.",
            ["upstream", "kind"],
            registry=registry,
        )
        self.upstream_bytes = Counter(
            "modelyard_proxy_upstream_bytes_total",
            "Blob and manifest bytes received from upstream.",
            ["upstream", "kind"],
            registry=registry,
        )
        self.coalesced = Counter(
            "modelyard_proxy_coalesced_total",
            "Reads that joined a fetch already under way (this or another instance).",
            ["upstream", "kind"],
            registry=registry,
        )
        self.stale = Counter(
            "modelyard_proxy_stale_total",
            "Cached manifests served because the upstream could not revalidate them.",
            ["upstream", "kind"],
            registry=registry,
        )

    def count(self, outcome: str, upstream: str, kind: str) -> None:
        counter = {
            HIT: self.hits,
            MISS: self.misses,
            COALESCED: self.coalesced,
            STALE: self.stale,
        }[outcome]
        counter.labels(upstream, kind).inc()

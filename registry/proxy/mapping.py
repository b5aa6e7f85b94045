"""Which upstream serves a local repository name: the longest matching local prefix wins."""

from __future__ import annotations

from dataclasses import dataclass

from registry.config import PrefixConfig, ProxyConfig, UpstreamConfig


@dataclass(frozen=True, slots=True)
class Route:
    """A proxied repository: its local name, the upstream and the name there."""

    upstream: UpstreamConfig
    local: str
    remote: str


class ProxyMap:
    def __init__(self, config: ProxyConfig) -> None:
        pairs = [
            (prefix, upstream) for upstream in config.upstreams for prefix in upstream.prefixes
        ]
        self._prefixes: list[tuple[PrefixConfig, UpstreamConfig]] = sorted(
            pairs, key=lambda pair: len(pair[0].local), reverse=True
        )

    def route(self, name: str) -> Route | None:
        """The upstream route of a local repository, None for an ordinary local one."""
        for prefix, upstream in self._prefixes:
            if name.startswith(prefix.local) and len(name) > len(prefix.local):
                return Route(upstream, name, prefix.remote + name[len(prefix.local) :])
        return None

    def local_names(self, upstream: UpstreamConfig, remote_names: list[str]) -> list[str]:
        """The local names under which `upstream`'s repositories are served."""
        found: set[str] = set()
        for prefix in upstream.prefixes:
            for remote in remote_names:
                if not remote.startswith(prefix.remote):
                    continue
                local = prefix.local + remote[len(prefix.remote) :]
                chosen = self.route(local)
                if chosen is not None and chosen.upstream.name == upstream.name:
                    found.add(local)
        return sorted(found)

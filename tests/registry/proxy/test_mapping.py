"""Local repository names to upstream names: the longest matching local prefix wins."""

from __future__ import annotations

from registry.config import PrefixConfig, ProxyConfig, UpstreamConfig
from registry.proxy.mapping import ProxyMap

CENTRAL = UpstreamConfig(
    name="central",
    url="http://central",
    prefixes=(
        PrefixConfig("library/", "library/"),
        PrefixConfig("cache/", ""),
    ),
)
MODELS = UpstreamConfig(
    name="models", url="http://models", prefixes=(PrefixConfig("library/models/", "ml/"),)
)
MAPPING = ProxyMap(ProxyConfig(upstreams=(CENTRAL, MODELS)))


def test_a_prefix_maps_to_the_remote_prefix() -> None:
    route = MAPPING.route("library/alpine")
    assert route is not None
    assert (route.upstream.name, route.local, route.remote) == (
        "central",
        "library/alpine",
        "library/alpine",
    )


def test_an_empty_remote_prefix_drops_the_local_one() -> None:
    route = MAPPING.route("cache/team/alpine")
    assert route is not None
    assert route.remote == "team/alpine"


def test_the_longest_local_prefix_wins() -> None:
    route = MAPPING.route("library/models/llama")
    assert route is not None
    assert (route.upstream.name, route.remote) == ("models", "ml/llama")


def test_other_names_are_local() -> None:
    assert MAPPING.route("team/alpine") is None
    assert MAPPING.route("libraryx/alpine") is None
    assert MAPPING.route("library") is None


def test_upstream_names_are_listed_under_their_local_names() -> None:
    remote = ["library/alpine", "library/models/x", "team/app", "ml/llama"]
    assert MAPPING.local_names(CENTRAL, remote) == [
        "cache/library/alpine",
        "cache/library/models/x",
        "cache/ml/llama",
        "cache/team/app",
        "library/alpine",
    ]
    assert MAPPING.local_names(MODELS, remote) == ["library/models/llama"]

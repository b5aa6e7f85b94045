"""`WWW-Authenticate` challenges as registries send them."""

from __future__ import annotations

from registry.proxy.auth import Challenge, parse_challenge


def test_a_harbor_bearer_challenge_gives_realm_service_and_scope() -> None:
    header = (
        'Bearer realm="https://harbor.local/service/token",service="harbor-registry",'
        'scope="repository:library/alpine:pull"'
    )
    assert parse_challenge(header) == Challenge(
        "bearer",
        {
            "realm": "https://harbor.local/service/token",
            "service": "harbor-registry",
            "scope": "repository:library/alpine:pull",
        },
    )


def test_scheme_is_case_insensitive_and_unquoted_values_are_read() -> None:
    assert parse_challenge("BASIC realm=registry") == Challenge("basic", {"realm": "registry"})


def test_a_scope_with_commas_inside_quotes_stays_whole() -> None:
    challenge = parse_challenge('Bearer realm="r",scope="repository:a:pull,push"')
    assert challenge is not None
    assert challenge.params["scope"] == "repository:a:pull,push"


def test_no_header_is_no_challenge() -> None:
    assert parse_challenge(None) is None
    assert parse_challenge("") is None

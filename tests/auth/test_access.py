"""The requirement table: every route of the registry is classified, none by default."""

from __future__ import annotations

import pytest
from starlette.routing import Match, Route

from auth.access import ADMIN, LOGIN, OPEN, REPOSITORY, REQUIREMENTS, requirement
from auth.middleware import AuthMiddleware
from registry.routes import ROUTES


def test_every_route_and_method_has_an_explicit_requirement() -> None:
    for route in ROUTES:
        assert isinstance(route, Route)
        methods = set(route.methods or ()) - {"HEAD"}
        declared = REQUIREMENTS.get(route.path, {})
        missing = methods - set(declared)
        assert not missing, f"add {route.path} {sorted(missing)} to auth/access.py REQUIREMENTS"


@pytest.mark.parametrize(
    ("path", "method", "kind", "actions"),
    [
        ("/v2/{name:path}/manifests/{reference}", "HEAD", REPOSITORY, {"pull"}),
        ("/v2/{name:path}/manifests/{reference}", "PUT", REPOSITORY, {"pull", "push"}),
        ("/v2/{name:path}/manifests/{reference}", "DELETE", REPOSITORY, {"delete"}),
        ("/v2/{name:path}/blobs/uploads/{upload_id}", "PATCH", REPOSITORY, {"pull", "push"}),
        ("/v2/{name:path}/referrers/{digest}", "GET", REPOSITORY, {"pull"}),
        ("/token", "POST", OPEN, set()),
        ("/api/v1/users", "POST", LOGIN, set()),
        ("/api/v1/cache", "GET", ADMIN, set()),
        ("/api/v1/cache/objects", "GET", ADMIN, set()),
        ("/api/v1/webhooks/{id}", "PATCH", ADMIN, set()),
        ("/api/v1/some-future-route", "GET", LOGIN, set()),
    ],
)
def test_requirements(path: str, method: str, kind: str, actions: set[str]) -> None:
    found = requirement(path, method)
    assert found.kind == kind
    assert found.actions == actions


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/"),
        ("GET", "/v2/_catalog"),
        ("HEAD", "/v2/team/model/manifests/v1"),
        ("DELETE", "/v2/team/model/manifests/v1"),
        ("GET", "/v2/a/blobs/b/blobs/sha256:" + "0" * 64),
        ("POST", "/v2/a/blobs/uploads/blobs/uploads/"),
        ("PATCH", "/v2/a/manifests/b/blobs/uploads/some-id"),
        ("GET", "/v2/a/tags/list/tags/list"),
        ("GET", "/api/v1/repositories/a/versions/latest"),
        ("PUT", "/api/v1/namespaces/ns/members/user/alice"),
        ("GET", "/token"),
        ("POST", "/v2/team/model/manifests/v1"),
        ("GET", "/nowhere"),
    ],
)
def test_the_middleware_matches_the_route_the_router_picks(method: str, path: str) -> None:
    scope = {"type": "http", "method": method, "path": path, "root_path": ""}
    router_pick = None
    for route in ROUTES:
        match, child = route.matches(scope)
        if match == Match.FULL:
            router_pick = (route.path, child["path_params"])  # type: ignore[attr-defined]
            break
    assert AuthMiddleware(None, ROUTES, enabled=True)._match(scope) == router_pick  # type: ignore[arg-type]

"""The requirement table: every route of the registry is classified, none by default."""

from __future__ import annotations

import pytest
from starlette.routing import Route

from auth.access import LOGIN, OPEN, REPOSITORY, REQUIREMENTS, requirement
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
        ("/api/v1/some-future-route", "GET", LOGIN, set()),
    ],
)
def test_requirements(path: str, method: str, kind: str, actions: set[str]) -> None:
    found = requirement(path, method)
    assert found.kind == kind
    assert found.actions == actions

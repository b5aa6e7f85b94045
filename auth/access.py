"""What each route requires: the access check the middleware applies before routing.

Repository routes name the actions they need on the repository in their path; other routes
are open (health, metrics, the token endpoint, the OpenAPI document), open to anyone with
results filtered by what the caller may see (catalog, model list), or need a logged-in caller
(the version check and the account API, whose handlers check roles themselves), or need a
system administrator (webhooks). A route
missing from the table needs a logged-in caller; tests/auth/test_access.py insists that every
route of registry/routes.py is listed.
"""

from __future__ import annotations

from dataclasses import dataclass

from auth.rbac import DELETE, PULL, PUSH

OPEN = "open"
ANYONE = "anyone"
LOGIN = "login"
ADMIN = "admin"
CATALOG = "catalog"
REPOSITORY = "repository"


@dataclass(frozen=True)
class Requirement:
    kind: str
    actions: frozenset[str] = frozenset()


def _repo(*actions: str) -> Requirement:
    return Requirement(REPOSITORY, frozenset(actions))


LOGGED_IN = Requirement(LOGIN)
SYSTEM_ADMIN = Requirement(ADMIN)
PULL_ONLY = _repo(PULL)
PULL_PUSH = _repo(PULL, PUSH)
DELETE_ONLY = _repo(DELETE)
UPLOAD = {"POST": PULL_PUSH, "GET": PULL_PUSH, "PATCH": PULL_PUSH, "PUT": PULL_PUSH}

#: route path -> method -> requirement; HEAD follows GET
REQUIREMENTS: dict[str, dict[str, Requirement]] = {
    "/v2/": {"GET": LOGGED_IN},
    "/v2/_catalog": {"GET": Requirement(CATALOG)},
    "/v2/{name:path}/blobs/uploads/": UPLOAD,
    "/v2/{name:path}/blobs/uploads": UPLOAD,
    "/v2/{name:path}/blobs/uploads/{upload_id}": {**UPLOAD, "DELETE": PULL_PUSH},
    "/v2/{name:path}/blobs/{digest}": {"GET": PULL_ONLY, "DELETE": DELETE_ONLY},
    "/v2/{name:path}/manifests/{reference}": {
        "GET": PULL_ONLY,
        "PUT": PULL_PUSH,
        "DELETE": DELETE_ONLY,
    },
    "/v2/{name:path}/tags/list": {"GET": PULL_ONLY},
    "/v2/{name:path}/referrers/{digest}": {"GET": PULL_ONLY},
    "/healthz": {"GET": Requirement(OPEN)},
    "/readyz": {"GET": Requirement(OPEN)},
    "/metrics": {"GET": Requirement(OPEN)},
    "/token": {"GET": Requirement(OPEN), "POST": Requirement(OPEN)},
    "/api/v1/openapi.json": {"GET": Requirement(OPEN)},
    "/api/v1/models": {"GET": Requirement(ANYONE)},
    "/api/v1/repositories/{name:path}/versions": {"GET": PULL_ONLY},
    "/api/v1/repositories/{name:path}/versions/latest": {"GET": PULL_ONLY},
    "/api/v1/repositories/{name:path}/usage": {"GET": PULL_ONLY},
    "/api/v1/repositories/{name:path}/manifests/{digest}": {"GET": PULL_ONLY},
    # the account API: logged in; the handlers check system or namespace admin rights
    "/api/v1/users": {"GET": LOGGED_IN, "POST": LOGGED_IN},
    "/api/v1/users/{username}": {"DELETE": LOGGED_IN},
    "/api/v1/groups": {"GET": LOGGED_IN, "POST": LOGGED_IN},
    "/api/v1/groups/{group}": {"DELETE": LOGGED_IN},
    "/api/v1/groups/{group}/members/{username}": {"PUT": LOGGED_IN, "DELETE": LOGGED_IN},
    "/api/v1/robots": {"GET": LOGGED_IN, "POST": LOGGED_IN},
    "/api/v1/robots/{robot}": {"DELETE": LOGGED_IN},
    "/api/v1/namespaces": {"GET": LOGGED_IN, "POST": LOGGED_IN},
    "/api/v1/namespaces/{namespace}": {
        "GET": LOGGED_IN,
        "PATCH": LOGGED_IN,
        "DELETE": LOGGED_IN,
    },
    "/api/v1/namespaces/{namespace}/members": {"GET": LOGGED_IN},
    "/api/v1/namespaces/{namespace}/members/{kind}/{principal}": {
        "PUT": LOGGED_IN,
        "DELETE": LOGGED_IN,
    },
    # webhooks see every repository's events: system administrators only
    # the cache lists every proxied repository: system administrators only
    "/api/v1/cache": {"GET": SYSTEM_ADMIN},
    "/api/v1/cache/objects": {"GET": SYSTEM_ADMIN},
    "/api/v1/webhooks": {"GET": SYSTEM_ADMIN, "POST": SYSTEM_ADMIN},
    "/api/v1/webhooks/{id}": {"GET": SYSTEM_ADMIN, "PATCH": SYSTEM_ADMIN, "DELETE": SYSTEM_ADMIN},
    "/api/v1/webhooks/{id}/deliveries": {"GET": SYSTEM_ADMIN},
}


def requirement(route_path: str, method: str) -> Requirement:
    method = "GET" if method == "HEAD" else method
    return REQUIREMENTS.get(route_path, {}).get(method, Requirement(LOGIN))

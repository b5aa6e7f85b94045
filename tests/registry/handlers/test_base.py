"""`/v2/`, routing failures and repository-name validation, on every endpoint."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from tests.registry.helpers import API_VERSION, asgi_request, assert_error, digest_of, push_image

pytestmark = pytest.mark.anyio

DIGEST = digest_of(b"anything")
UPLOAD_ID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"


async def test_version_check(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/")
    assert response.status_code == 200
    assert response.headers["docker-distribution-api-version"] == API_VERSION
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}


async def test_version_check_head(client: httpx.AsyncClient) -> None:
    response = await client.head("/v2/")
    assert response.status_code == 200
    assert response.headers["docker-distribution-api-version"] == API_VERSION


async def test_v2_without_slash_redirects_to_version_check(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2", follow_redirects=True)
    assert response.status_code == 200
    assert response.json() == {}


async def test_api_version_header_on_every_kind_of_response(client: httpx.AsyncClient) -> None:
    image = await push_image(client, "repo", "v1")
    responses = [
        await client.get("/v2/_catalog"),
        await client.get("/v2/repo/tags/list"),
        await client.get("/v2/repo/manifests/v1"),
        await client.head(f"/v2/repo/blobs/{image.manifest['config']['digest']}"),
        await client.post("/v2/repo/blobs/uploads/"),
        await client.get(f"/v2/repo/referrers/{image.digest}"),
        await client.get("/v2/repo/manifests/missing"),
        await client.get("/v2/Upper/tags/list"),
        await client.get("/nowhere"),
        await client.delete("/v2/"),
        await client.get("/healthz"),
        await client.get("/metrics"),
    ]
    for response in responses:
        assert response.headers["docker-distribution-api-version"] == API_VERSION, response.url


async def test_request_id_on_every_response(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/")
    assert len(response.headers["x-request-id"]) == 16
    echoed = await client.get("/v2/", headers={"X-Request-Id": "trace-123"})
    assert echoed.headers["x-request-id"] == "trace-123"


@pytest.mark.parametrize(
    "path", ["/nowhere", "/v2/repo/nothing/here", "/v2/repo/blobs", "/api/v2/", "/v1/"]
)
async def test_unknown_endpoint_is_oci_error(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    error = assert_error(response, 404, "NOT_FOUND")
    assert error["detail"] == {"path": path}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/v2/"),
        ("POST", "/v2/"),
        ("PUT", "/v2/_catalog"),
        ("POST", f"/v2/repo/blobs/{DIGEST}"),
        ("PUT", f"/v2/repo/blobs/{DIGEST}"),
        ("PATCH", "/v2/repo/manifests/latest"),
        ("POST", "/v2/repo/manifests/latest"),
        ("DELETE", "/v2/repo/tags/list"),
        ("PUT", "/v2/repo/blobs/uploads/"),
        ("POST", f"/v2/repo/blobs/uploads/{UPLOAD_ID}"),
        ("DELETE", f"/v2/repo/referrers/{DIGEST}"),
        ("POST", "/healthz"),
    ],
)
async def test_wrong_method_is_oci_unsupported(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await client.request(method, path)
    assert_error(response, 405, "UNSUPPORTED")
    assert method not in response.headers["allow"].split(", ")
    assert response.headers["allow"]


BAD_NAMES = [
    "Upper",
    "repo/Upper",
    "-leading",
    "trailing-",
    "double//slash",
    "dot./x",
    "a" * 256,
    "a/" * 127 + "bb",
    "under___score",
    "sp%20ace",
]


def _endpoints(name: str) -> list[tuple[str, str]]:
    return [
        ("GET", f"/v2/{name}/tags/list"),
        ("GET", f"/v2/{name}/manifests/latest"),
        ("HEAD", f"/v2/{name}/manifests/latest"),
        ("PUT", f"/v2/{name}/manifests/latest"),
        ("DELETE", f"/v2/{name}/manifests/latest"),
        ("GET", f"/v2/{name}/blobs/{DIGEST}"),
        ("HEAD", f"/v2/{name}/blobs/{DIGEST}"),
        ("DELETE", f"/v2/{name}/blobs/{DIGEST}"),
        ("POST", f"/v2/{name}/blobs/uploads/"),
        ("GET", f"/v2/{name}/blobs/uploads/{UPLOAD_ID}"),
        ("PATCH", f"/v2/{name}/blobs/uploads/{UPLOAD_ID}"),
        ("PUT", f"/v2/{name}/blobs/uploads/{UPLOAD_ID}?digest={DIGEST}"),
        ("DELETE", f"/v2/{name}/blobs/uploads/{UPLOAD_ID}"),
        ("GET", f"/v2/{name}/referrers/{DIGEST}"),
    ]


@pytest.mark.parametrize("name", BAD_NAMES)
async def test_bad_repository_name_on_every_endpoint(client: httpx.AsyncClient, name: str) -> None:
    for method, path in _endpoints(name):
        response = await client.request(method, path)
        assert response.status_code == 400, (method, path, response.text)
        if method != "HEAD":
            assert_error(response, 400, "NAME_INVALID")


async def test_name_of_255_characters_is_valid(client: httpx.AsyncClient) -> None:
    name = "a" * 127 + "/" + "b" * 127
    assert len(name) == 255
    await push_image(client, name, "v1")
    response = await client.get(f"/v2/{name}/tags/list")
    assert response.json() == {"name": name, "tags": ["v1"]}


@pytest.mark.parametrize(
    "path",
    [
        "/v2/a/../b/tags/list",
        "/v2/a/./b/tags/list",
        "/v2/../etc/tags/list",
        "/v2/a/../../../etc/blobs/uploads/",
        f"/v2/a/../b/blobs/{DIGEST}",
        "/v2/a/../b/manifests/latest",
    ],
)
async def test_dot_segments_in_raw_path_are_name_invalid(app: Starlette, path: str) -> None:
    method = "POST" if path.endswith("/uploads/") else "GET"
    response = await asgi_request(app, method, path)
    assert response.status == 400
    assert response.headers["docker-distribution-api-version"] == API_VERSION
    assert response.json()["errors"][0]["code"] == "NAME_INVALID"


async def test_percent_encoded_dot_segments_are_name_invalid(client: httpx.AsyncClient) -> None:
    url = httpx.URL("http://registry.test/v2/a/%2E%2E/b/tags/list")
    assert url.path == "/v2/a/../b/tags/list"
    response = await client.get(url)
    assert_error(response, 400, "NAME_INVALID")
    upload = await client.post(httpx.URL("http://registry.test/v2/%2E%2E/x/blobs/uploads/"))
    assert_error(upload, 400, "NAME_INVALID")


ODD_PATHS = [
    "/",
    "/v2//",
    "/v2/a%00b/tags/list",
    "/v2/a/manifests/x%00",
    "/v2/a/manifests/",
    "/v2/a/manifests/sha256:",
    "/v2/a/manifests/:",
    "/v2/a/blobs/",
    "/v2/a/blobs/sha256:",
    "/v2/a/blobs/uploads/x/y",
    f"/v2/a/blobs/uploads/{UPLOAD_ID}%00",
    "/v2/a/referrers/",
    "/v2/a%2Fb/tags/list",
    "/v2/a/tags/list?n=99999999999999999999999",
    "/v2/_catalog?n=1e3&last=%00",
    "/v2/" + "a/" * 200 + "tags/list",
    "/v2/_catalog/tags/list",
    "/v2/%ff/tags/list",
]


@pytest.mark.parametrize("path", ODD_PATHS)
async def test_odd_requests_never_fail_with_500(client: httpx.AsyncClient, path: str) -> None:
    await push_image(client, "a", "v1")
    for method in ("GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"):
        response = await client.request(method, path, content=b"{}")
        assert response.status_code < 500, (method, path, response.text)
        assert response.headers["docker-distribution-api-version"] == API_VERSION
        if response.status_code >= 400 and method != "HEAD":
            assert response.json()["errors"][0]["code"]

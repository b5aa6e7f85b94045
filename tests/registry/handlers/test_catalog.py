"""`GET /v2/_catalog`: every repository, lexically sorted, paginated like the tags list."""

from __future__ import annotations

import httpx
import pytest

from tests.registry.helpers import assert_error, push_blob, push_image

pytestmark = pytest.mark.anyio

REPOSITORIES = ["zeta", "alpha", "org/model", "org/model/v2", "org", "org-x", "a/b/c/d"]


async def push_all(client: httpx.AsyncClient, names: list[str]) -> None:
    for name in names:
        await push_image(client, name, "latest")


async def test_empty_catalog(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/_catalog")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"repositories": []}


async def test_catalog_sorted_with_nested_repositories(client: httpx.AsyncClient) -> None:
    await push_all(client, REPOSITORIES)
    response = await client.get("/v2/_catalog")
    assert response.json() == {"repositories": sorted(REPOSITORIES)}
    assert "link" not in response.headers


async def test_catalog_leaves_out_parents_and_blob_only_repositories(
    client: httpx.AsyncClient,
) -> None:
    await push_all(client, ["org/team/model"])
    await push_blob(client, "only/blobs", b"data")
    started = await client.post("/v2/only/uploads/blobs/uploads/")
    assert started.status_code == 202
    response = await client.get("/v2/_catalog")
    assert response.json() == {"repositories": ["org/team/model"]}


async def test_untagged_repository_is_listed(client: httpx.AsyncClient) -> None:
    await push_image(client, "untagged")
    assert (await client.get("/v2/_catalog")).json() == {"repositories": ["untagged"]}


async def test_catalog_pagination(client: httpx.AsyncClient) -> None:
    await push_all(client, ["c", "a/x", "b", "a"])
    first = await client.get("/v2/_catalog?n=2")
    assert first.json() == {"repositories": ["a", "a/x"]}
    assert first.headers["link"] == '</v2/_catalog?n=2&last=a%2Fx>; rel="next"'
    second = await client.get("/v2/_catalog", params={"n": 2, "last": "a/x"})
    assert second.json() == {"repositories": ["b", "c"]}
    assert "link" not in second.headers


async def test_following_link_headers_visits_every_repository(client: httpx.AsyncClient) -> None:
    await push_all(client, REPOSITORIES)
    seen: list[str] = []
    url: str | None = "/v2/_catalog?n=3"
    pages = 0
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        seen.extend(response.json()["repositories"])
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
        pages += 1
    assert seen == sorted(REPOSITORIES)
    assert pages == 3


async def test_catalog_last_without_n(client: httpx.AsyncClient) -> None:
    await push_all(client, ["a", "b", "c"])
    assert (await client.get("/v2/_catalog?last=a")).json() == {"repositories": ["b", "c"]}


@pytest.mark.parametrize("n", ["-1", "abc", "-0.5"])
async def test_catalog_bad_n(client: httpx.AsyncClient, n: str) -> None:
    response = await client.get("/v2/_catalog", params={"n": n})
    assert_error(response, 400, "PAGINATION_NUMBER_INVALID")


async def test_catalog_after_delete_by_tag_keeps_repository(client: httpx.AsyncClient) -> None:
    await push_all(client, ["a", "b"])
    assert (await client.delete("/v2/a/manifests/latest")).status_code == 202
    assert (await client.get("/v2/_catalog")).json() == {"repositories": ["a", "b"]}

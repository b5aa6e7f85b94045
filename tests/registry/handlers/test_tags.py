"""`GET /v2/<name>/tags/list`: lexical order, `n` and `last`, `Link`."""

from __future__ import annotations

import httpx
import pytest

from tests.registry.helpers import assert_error, push_blob, push_image, push_manifest

pytestmark = pytest.mark.anyio

TAGS = ["b", "a", "v1.10", "v1.2", "Latest", "latest", "_x", "0.1", "c"]
SORTED = sorted(TAGS)


async def tag_all(client: httpx.AsyncClient, name: str, tags: list[str]) -> None:
    image = await push_image(client, name)
    for tag in tags:
        await push_manifest(client, name, tag, image.data)


async def test_tags_sorted_lexically(client: httpx.AsyncClient) -> None:
    await tag_all(client, "repo", TAGS)
    response = await client.get("/v2/repo/tags/list")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"name": "repo", "tags": SORTED}
    assert SORTED[:3] == ["0.1", "Latest", "_x"]
    assert "link" not in response.headers


async def test_nested_repository(client: httpx.AsyncClient) -> None:
    await tag_all(client, "org/team/model", ["v2", "v1"])
    await tag_all(client, "org/team", ["parent"])
    response = await client.get("/v2/org/team/model/tags/list")
    assert response.json() == {"name": "org/team/model", "tags": ["v1", "v2"]}
    response = await client.get("/v2/org/team/tags/list")
    assert response.json() == {"name": "org/team", "tags": ["parent"]}


async def test_pagination(client: httpx.AsyncClient) -> None:
    await tag_all(client, "repo", ["d", "a", "c", "b", "e"])
    first = await client.get("/v2/repo/tags/list", params={"n": 2})
    assert first.json() == {"name": "repo", "tags": ["a", "b"]}
    assert first.headers["link"] == '</v2/repo/tags/list?n=2&last=b>; rel="next"'
    second = await client.get("/v2/repo/tags/list?n=2&last=b")
    assert second.json()["tags"] == ["c", "d"]
    assert second.headers["link"] == '</v2/repo/tags/list?n=2&last=d>; rel="next"'
    third = await client.get("/v2/repo/tags/list?n=2&last=d")
    assert third.json()["tags"] == ["e"]
    assert "link" not in third.headers


async def test_following_link_headers_visits_every_tag(client: httpx.AsyncClient) -> None:
    await tag_all(client, "org/repo", TAGS)
    seen: list[str] = []
    url: str | None = "/v2/org/repo/tags/list?n=4"
    while url:
        response = await client.get(url)
        assert response.status_code == 200
        seen.extend(response.json()["tags"])
        link = response.headers.get("link")
        url = link[1 : link.index(">")] if link else None
    assert seen == SORTED


async def test_page_exactly_at_the_end_has_no_link(client: httpx.AsyncClient) -> None:
    await tag_all(client, "repo", ["a", "b"])
    response = await client.get("/v2/repo/tags/list?n=2")
    assert response.json()["tags"] == ["a", "b"]
    assert "link" not in response.headers


async def test_n_larger_than_count(client: httpx.AsyncClient) -> None:
    await tag_all(client, "repo", ["a", "b"])
    response = await client.get("/v2/repo/tags/list?n=100")
    assert response.json()["tags"] == ["a", "b"]
    assert "link" not in response.headers


async def test_n_zero(client: httpx.AsyncClient) -> None:
    await tag_all(client, "repo", ["a", "b"])
    response = await client.get("/v2/repo/tags/list?n=0")
    assert response.status_code == 200
    assert response.json()["tags"] == []


async def test_last_alone(client: httpx.AsyncClient) -> None:
    await tag_all(client, "repo", ["a", "b", "c"])
    response = await client.get("/v2/repo/tags/list?last=a")
    assert response.json()["tags"] == ["b", "c"]
    # `last` need not be an existing tag
    response = await client.get("/v2/repo/tags/list?last=bb&n=5")
    assert response.json()["tags"] == ["c"]
    response = await client.get("/v2/repo/tags/list?last=z")
    assert response.json()["tags"] == []


async def test_empty_n_is_no_limit(client: httpx.AsyncClient) -> None:
    await tag_all(client, "repo", ["a", "b"])
    response = await client.get("/v2/repo/tags/list?n=")
    assert response.json()["tags"] == ["a", "b"]


@pytest.mark.parametrize("n", ["-1", "abc", "1.5", "0x10"])
async def test_bad_n(client: httpx.AsyncClient, n: str) -> None:
    await tag_all(client, "repo", ["a"])
    response = await client.get("/v2/repo/tags/list", params={"n": n})
    error = assert_error(response, 400, "PAGINATION_NUMBER_INVALID")
    assert error["detail"] == {"n": n}


async def test_unknown_repository(client: httpx.AsyncClient) -> None:
    response = await client.get("/v2/unknown/tags/list")
    error = assert_error(response, 404, "NAME_UNKNOWN")
    assert error["detail"] == {"subject": "unknown"}


async def test_parent_of_a_repository_is_unknown(client: httpx.AsyncClient) -> None:
    await tag_all(client, "org/model", ["v1"])
    assert_error(await client.get("/v2/org/tags/list"), 404, "NAME_UNKNOWN")


async def test_repository_with_blobs_only_is_unknown(client: httpx.AsyncClient) -> None:
    await push_blob(client, "blobs-only", b"data")
    assert_error(await client.get("/v2/blobs-only/tags/list"), 404, "NAME_UNKNOWN")


async def test_repository_with_untagged_manifest_has_no_tags(client: httpx.AsyncClient) -> None:
    image = await push_image(client, "repo")
    assert image.digest.startswith("sha256:")
    response = await client.get("/v2/repo/tags/list")
    assert response.status_code == 200
    assert response.json() == {"name": "repo", "tags": []}


async def test_deleted_tag_is_not_listed(client: httpx.AsyncClient) -> None:
    await tag_all(client, "repo", ["a", "b", "c"])
    assert (await client.delete("/v2/repo/manifests/b")).status_code == 202
    assert (await client.get("/v2/repo/tags/list")).json()["tags"] == ["a", "c"]

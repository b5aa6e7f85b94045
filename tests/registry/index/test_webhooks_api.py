"""The webhook API: create, list, get, edit, delete, delivery history; validation; no secret is
ever shown again after creation; every answer as the OpenAPI document says."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from registry.index.indexer import ModelIndex
from tests.registry.helpers import assert_error
from tests.registry.index.model_fixtures import ORMB_CONFIG, push_artifact
from tests.registry.index.openapi_check import assert_schema

pytestmark = pytest.mark.anyio

HOOK = {"namespace": "team-a/", "url": "https://hooks.example/registry", "events": ["push"]}


async def create(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    body = {key: value for key, value in {**HOOK, **changes}.items() if value is not None}
    response = await client.post("/api/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/api/v1/webhooks/{created['id']}"
    return created


async def test_create_returns_the_secret_once(indexed_client: httpx.AsyncClient) -> None:
    created = await create(indexed_client)
    assert_schema(created, "CreatedWebhook")
    assert len(created["secret"]) == 64
    assert created["namespace"] == "team-a/"
    assert created["events"] == ["push"]
    assert created["enabled"] is True
    fetched = (await indexed_client.get(f"/api/v1/webhooks/{created['id']}")).json()
    assert_schema(fetched, "Webhook")
    assert "secret" not in fetched
    assert fetched == {key: value for key, value in created.items() if key != "secret"}
    listed = (await indexed_client.get("/api/v1/webhooks")).json()
    assert_schema(listed, "WebhookPage")
    assert listed["items"] == [fetched]
    assert created["secret"] not in str(listed)


async def test_given_secret_and_defaults(indexed_client: httpx.AsyncClient) -> None:
    created = await create(indexed_client, secret="x" * 16, events=None)
    assert created["secret"] == "x" * 16
    assert created["events"] == ["push", "pull", "delete", "tag"]


async def test_events_are_deduplicated_in_a_fixed_order(
    indexed_client: httpx.AsyncClient,
) -> None:
    created = await create(indexed_client, events=["tag", "push", "tag"])
    assert created["events"] == ["push", "tag"]


async def test_list_pages_newest_first(indexed_client: httpx.AsyncClient) -> None:
    ids = [(await create(indexed_client, namespace=f"ns{n}/"))["id"] for n in range(5)]
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await indexed_client.get("/api/v1/webhooks", params=params)).json()
        assert_schema(page, "WebhookPage")
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))


async def test_delete(indexed_client: httpx.AsyncClient) -> None:
    created = await create(indexed_client)
    url = f"/api/v1/webhooks/{created['id']}"
    response = await indexed_client.delete(url)
    assert response.status_code == 204
    assert response.content == b""
    assert_error(await indexed_client.get(url), 404, "WEBHOOK_UNKNOWN")
    assert_error(await indexed_client.delete(url), 404, "WEBHOOK_UNKNOWN")
    assert_error(await indexed_client.get(url + "/deliveries"), 404, "WEBHOOK_UNKNOWN")


async def test_edit_sets_only_the_given_fields(indexed_client: httpx.AsyncClient) -> None:
    created = await create(indexed_client)
    url = f"/api/v1/webhooks/{created['id']}"
    changes = {"namespace": " team-b/llm-* ", "events": ["tag", "push"], "enabled": False}
    response = await indexed_client.patch(url, json=changes)
    assert response.status_code == 200, response.text
    edited = response.json()
    assert_schema(edited, "Webhook")
    assert "secret" not in edited
    assert edited == {
        **{key: value for key, value in created.items() if key != "secret"},
        "namespace": "team-b/llm-*",
        "events": ["push", "tag"],
        "enabled": False,
    }
    assert (await indexed_client.get(url)).json() == edited
    response = await indexed_client.patch(url, json={"url": "http://receiver.example:8080/x"})
    assert response.json() == {**edited, "url": "http://receiver.example:8080/x"}


async def test_an_edited_namespace_and_switch_choose_new_events(
    indexed_client: httpx.AsyncClient,
) -> None:
    created = await create(indexed_client, namespace="team-a/", url="http://127.0.0.1:9/")
    url = f"/api/v1/webhooks/{created['id']}"

    async def deliveries() -> list[str]:
        items = (await indexed_client.get(url + "/deliveries")).json()["items"]
        return [item["repository"] for item in items]

    await push_artifact(indexed_client, "team-b/cnn", "v1", b"{}", ORMB_CONFIG, [])
    assert await deliveries() == []
    await indexed_client.patch(url, json={"namespace": "team-b/"})
    await push_artifact(indexed_client, "team-b/cnn", "v2", b"{}", ORMB_CONFIG, [])
    await push_artifact(indexed_client, "team-a/cnn", "v2", b"{}", ORMB_CONFIG, [])
    assert await deliveries() == ["team-b/cnn"]
    await indexed_client.patch(url, json={"enabled": False})
    await push_artifact(indexed_client, "team-b/cnn", "v3", b"{}", ORMB_CONFIG, [])
    assert await deliveries() == ["team-b/cnn"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ([], "body"),
        ({"namespace": ""}, "namespace"),
        ({"url": "ftp://h.example/"}, "url"),
        ({"url": None}, "url"),
        ({"events": []}, "events"),
        ({"secret": "short"}, "secret"),
        ({"enabled": None}, "enabled"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_invalid_edits_are_400_and_change_nothing(
    indexed_client: httpx.AsyncClient, body: Any, field: str
) -> None:
    created = await create(indexed_client)
    url = f"/api/v1/webhooks/{created['id']}"
    error = assert_error(await indexed_client.patch(url, json=body), 400, "WEBHOOK_INVALID")
    assert error["detail"]["field"] == field
    fetched = (await indexed_client.get(url)).json()
    assert fetched == {key: value for key, value in created.items() if key != "secret"}


@pytest.mark.parametrize("ident", [str(uuid.uuid4()), "not-a-uuid", "1", "%00"])
async def test_unknown_ids_are_404(indexed_client: httpx.AsyncClient, ident: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        response = await indexed_client.request(
            method, f"/api/v1/webhooks/{ident}", json={"enabled": False}
        )
        assert_error(response, 404, "WEBHOOK_UNKNOWN")
    response = await indexed_client.get(f"/api/v1/webhooks/{ident}/deliveries")
    assert_error(response, 404, "WEBHOOK_UNKNOWN")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://h.example/"}, "namespace"),
        ({"namespace": "", "url": "https://h.example/"}, "namespace"),
        ({"namespace": "a\nb", "url": "https://h.example/"}, "namespace"),
        ({"namespace": "*"}, "url"),
        ({"namespace": "*", "url": "ftp://h.example/"}, "url"),
        ({"namespace": "*", "url": "/relative"}, "url"),
        ({"namespace": "*", "url": "http://h.example:99999/"}, "url"),
        ({"namespace": "*", "url": "http://"}, "url"),
        ({"namespace": "*", "url": 5}, "url"),
        ({"namespace": "*", "url": "https://h.example/", "events": []}, "events"),
        ({"namespace": "*", "url": "https://h.example/", "events": ["mount"]}, "events"),
        ({"namespace": "*", "url": "https://h.example/", "events": "push"}, "events"),
        ({"namespace": "*", "url": "https://h.example/", "secret": "short"}, "secret"),
        ({"namespace": "*", "url": "https://h.example/", "enabled": "yes"}, "enabled"),
        ({"namespace": "*", "url": "https://h.example/", "colour": "red"}, "colour"),
        (["namespace"], "body"),
        ("text", "body"),
    ],
)
async def test_invalid_definitions_are_400(
    indexed_client: httpx.AsyncClient, body: Any, field: str
) -> None:
    response = await indexed_client.post("/api/v1/webhooks", json=body)
    error = assert_error(response, 400, "WEBHOOK_INVALID")
    assert error["detail"]["field"] == field
    assert (await indexed_client.get("/api/v1/webhooks")).json()["items"] == []


async def test_bodies_that_are_not_json_or_too_large(indexed_client: httpx.AsyncClient) -> None:
    response = await indexed_client.post("/api/v1/webhooks", content=b"{not json")
    assert_error(response, 400, "WEBHOOK_INVALID")
    response = await indexed_client.post("/api/v1/webhooks", content=b"[" * 100_000)
    assert_error(response, 413, "WEBHOOK_INVALID")
    response = await indexed_client.post("/api/v1/webhooks", content=b"[" * 10_000)
    assert_error(response, 400, "WEBHOOK_INVALID")


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "x"},
        {"cursor": "nonsense"},
        {"cursor": "WzEsMl0"},
        {"colour": "red"},
    ],
)
async def test_bad_list_parameters_are_400(
    indexed_client: httpx.AsyncClient, query: dict[str, str]
) -> None:
    await create(indexed_client)
    response = await indexed_client.get("/api/v1/webhooks", params=query)
    assert_error(response, 400, "QUERY_INVALID")


async def test_delivery_history_pages_and_filters(
    indexed_app: Starlette, indexed_client: httpx.AsyncClient
) -> None:
    created = await create(indexed_client, namespace="*", url="http://127.0.0.1:9/")
    for number in range(5):
        await push_artifact(indexed_client, "team/cnn", f"v{number}", b"{}", ORMB_CONFIG, [])
    url = f"/api/v1/webhooks/{created['id']}/deliveries"
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = (await indexed_client.get(url, params=params)).json()
        assert_schema(page, "DeliveryPage")
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5
    assert seen == sorted(seen, reverse=True)
    index: ModelIndex = indexed_app.state.index
    await index.database.pool.execute(
        "UPDATE deliveries SET status = 'dead' WHERE id = $1", seen[0]
    )
    dead = (await indexed_client.get(url, params={"status": "dead"})).json()["items"]
    assert [item["id"] for item in dead] == [seen[0]]
    assert dead[0]["action"] == "push"
    assert dead[0]["repository"] == "team/cnn"
    assert dead[0]["next_attempt_at"] is None
    for query in ({"status": "lost"}, {"cursor": "WyJkZWxpdmVyeSIsIC0xXQ"}, {"n": "1"}):
        assert_error(await indexed_client.get(url, params=query), 400, "QUERY_INVALID")


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/webhooks"),
        ("POST", "/api/v1/webhooks"),
        ("GET", f"/api/v1/webhooks/{uuid.uuid4()}"),
        ("PATCH", f"/api/v1/webhooks/{uuid.uuid4()}"),
        ("DELETE", f"/api/v1/webhooks/{uuid.uuid4()}"),
        ("GET", f"/api/v1/webhooks/{uuid.uuid4()}/deliveries"),
    ],
)
async def test_no_index_is_503(client: httpx.AsyncClient, method: str, url: str) -> None:
    response = await client.request(method, url, json=HOOK)
    assert_error(response, 503, "INDEX_UNAVAILABLE")

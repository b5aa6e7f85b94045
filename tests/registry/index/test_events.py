"""The event outbox: one event per push, pull, delete and tag, written in the transaction of
the index change it describes, in the distribution notification shape, with one delivery per
matching webhook."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from registry.app import create_app
from registry.config import Config, EventsConfig
from registry.index.indexer import ModelIndex
from registry.index.usage import UsageRecorder
from storage.filesystem import FilesystemDriver
from tests.registry.index.model_fixtures import ORMB_CONFIG, ormb_config, push_artifact

pytestmark = pytest.mark.anyio

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def pool(app: Starlette) -> Any:
    index: ModelIndex = app.state.index
    return index.database.pool


async def events(app: Starlette) -> list[dict[str, Any]]:
    rows = await pool(app).fetch("SELECT payload FROM events ORDER BY created_at, action")
    return [row["payload"] for row in rows]


async def push_model(client: httpx.AsyncClient, tag: str, version: str = "1") -> str:
    return await push_artifact(
        client,
        "team/cnn",
        tag,
        ormb_config(version, {"accuracy": "0.9"}),
        ORMB_CONFIG,
        [(f"model {version}".encode(), "application/tar+gzip", {})],
    )


async def test_push_by_tag_writes_push_and_tag_events_in_distribution_shape(
    indexed_app: Starlette, indexed_client: httpx.AsyncClient
) -> None:
    digest = await push_model(indexed_client, "v1")
    found = await events(indexed_app)
    assert [event["action"] for event in found] == ["push", "tag"]
    push = found[0]
    uuid.UUID(push["id"])
    assert push["timestamp"].endswith("Z")
    manifest = await indexed_client.get(f"/v2/team/cnn/manifests/{digest}")
    assert push["target"] == {
        "mediaType": OCI_MANIFEST,
        "digest": digest,
        "size": len(manifest.content),
        "length": len(manifest.content),
        "repository": "team/cnn",
        "url": f"http://registry.test/v2/team/cnn/manifests/{digest}",
        "tag": "v1",
    }
    assert push["request"]["method"] == "PUT"
    assert push["request"]["host"] == "registry.test"
    assert push["request"]["useragent"].startswith("python-httpx")
    assert len(push["request"]["id"]) == 16
    assert set(push["source"]) == {"addr", "instanceID"}
    assert found[1]["target"] == push["target"]
    assert found[1]["id"] != push["id"]


async def test_request_id_of_the_event_is_the_one_answered(
    indexed_app: Starlette, indexed_client: httpx.AsyncClient
) -> None:
    await push_model(indexed_client, "v1")
    manifest = await indexed_client.get("/v2/team/cnn/manifests/v1")
    response = await indexed_client.put(
        "/v2/team/cnn/manifests/v2",
        content=manifest.content,
        headers={"Content-Type": OCI_MANIFEST, "X-Request-Id": "req-42"},
    )
    assert response.status_code == 201
    found = await events(indexed_app)
    assert [(e["action"], e["request"]["id"]) for e in found[-2:]] == [
        ("push", "req-42"),
        ("tag", "req-42"),
    ]


async def test_pushing_a_tag_again_to_the_same_digest_is_no_tag_event(
    indexed_app: Starlette, indexed_client: httpx.AsyncClient
) -> None:
    await push_model(indexed_client, "v1")
    await push_model(indexed_client, "v1")
    await push_model(indexed_client, "v1", version="2")
    actions = [event["action"] for event in await events(indexed_app)]
    assert actions == ["push", "tag", "push", "push", "tag"]


async def test_push_by_digest_is_a_push_without_tag(
    indexed_app: Starlette, indexed_client: httpx.AsyncClient
) -> None:
    digest = await push_model(indexed_client, "")
    [event] = await events(indexed_app)
    assert event["action"] == "push"
    assert event["target"]["digest"] == digest
    assert "tag" not in event["target"]


async def test_deletes_of_a_tag_and_of_a_manifest_are_delete_events(
    indexed_app: Starlette, indexed_client: httpx.AsyncClient
) -> None:
    digest = await push_model(indexed_client, "v1")
    await push_model(indexed_client, "v2")
    assert (await indexed_client.delete("/v2/team/cnn/manifests/v2")).status_code == 202
    assert (await indexed_client.delete(f"/v2/team/cnn/manifests/{digest}")).status_code == 202
    deletes = [event for event in await events(indexed_app) if event["action"] == "delete"]
    assert [event["target"] for event in deletes] == [
        {
            "repository": "team/cnn",
            "digest": digest,
            "size": 0,
            "length": 0,
            "url": f"http://registry.test/v2/team/cnn/manifests/{digest}",
            "tag": "v2",
        },
        {
            "repository": "team/cnn",
            "mediaType": OCI_MANIFEST,
            "digest": digest,
            "size": deletes[1]["target"]["size"],
            "length": deletes[1]["target"]["size"],
            "url": f"http://registry.test/v2/team/cnn/manifests/{digest}",
        },
    ]
    assert deletes[1]["target"]["size"] > 0
    assert all(event["request"]["method"] == "DELETE" for event in deletes)


async def test_pulls_are_written_with_the_usage_flush(
    indexed_app: Starlette, indexed_client: httpx.AsyncClient
) -> None:
    digest = await push_model(indexed_client, "v1")
    assert (await indexed_client.get("/v2/team/cnn/manifests/v1")).status_code == 200
    assert (await indexed_client.get(f"/v2/team/cnn/manifests/{digest}")).status_code == 200
    assert (await indexed_client.head("/v2/team/cnn/manifests/v1")).status_code == 200
    usage: UsageRecorder = indexed_app.state.usage
    assert usage.pending_events == 2
    await usage.flush()
    assert usage.pending_events == 0
    pulls = [event for event in await events(indexed_app) if event["action"] == "pull"]
    assert [(e["target"].get("tag"), e["request"]["method"]) for e in pulls] == [
        ("v1", "GET"),
        (None, "GET"),
    ]
    assert all(event["target"]["digest"] == digest for event in pulls)
    counted = await pool(indexed_app).fetchval(
        "SELECT count FROM usage WHERE kind = 'pull' AND digest = $1", digest
    )
    assert counted == 2


async def test_a_failing_index_write_leaves_no_event(
    indexed_app: Starlette, indexed_client: httpx.AsyncClient
) -> None:
    await pool(indexed_app).execute(
        "ALTER TABLE layers ADD CONSTRAINT refuse CHECK (false) NOT VALID"
    )
    digest = await push_model(indexed_client, "v1")
    assert await events(indexed_app) == []
    assert await pool(indexed_app).fetchval("SELECT count(*) FROM manifests") == 0
    state = await pool(indexed_app).fetchrow("SELECT needs_reindex FROM repositories")
    assert state["needs_reindex"] is True
    # storage has the manifest all the same: an index failure never fails a push
    assert (await indexed_client.head(f"/v2/team/cnn/manifests/{digest}")).status_code == 200


async def test_a_failing_event_write_leaves_no_index_row(
    indexed_app: Starlette, indexed_client: httpx.AsyncClient
) -> None:
    await pool(indexed_app).execute(
        "ALTER TABLE events ADD CONSTRAINT refuse CHECK (false) NOT VALID"
    )
    await push_model(indexed_client, "v1")
    assert await pool(indexed_app).fetchval("SELECT count(*) FROM manifests") == 0
    assert await pool(indexed_app).fetchval("SELECT count(*) FROM tags") == 0


async def test_a_failing_pull_flush_keeps_counts_and_events(
    indexed_app: Starlette, indexed_client: httpx.AsyncClient
) -> None:
    await push_model(indexed_client, "v1")
    await pool(indexed_app).execute(
        "ALTER TABLE events ADD CONSTRAINT refuse CHECK (false) NOT VALID"
    )
    await indexed_client.get("/v2/team/cnn/manifests/v1")
    usage: UsageRecorder = indexed_app.state.usage
    await usage.flush()
    assert usage.pending_events == 1
    assert sum(usage.pending.values()) >= 1
    assert await pool(indexed_app).fetchval("SELECT count(*) FROM usage WHERE kind = 'pull'") == 0
    await pool(indexed_app).execute("ALTER TABLE events DROP CONSTRAINT refuse")
    await usage.flush()
    assert usage.pending_events == 0
    assert await pool(indexed_app).fetchval("SELECT count(*) FROM events WHERE action = 'pull'")


async def test_events_disabled_writes_none(index_config: Config, tmp_path: Path) -> None:
    config = dataclasses.replace(index_config, events=EventsConfig(enabled=False))
    app = create_app(config, FilesystemDriver(tmp_path / "root"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://r.test") as client:
            await push_model(client, "v1")
            await client.get("/v2/team/cnn/manifests/v1")
            await client.delete("/v2/team/cnn/manifests/v1")
        await app.state.usage.flush()
        assert await pool(app).fetchval("SELECT count(*) FROM events") == 0
        assert await pool(app).fetchval("SELECT count(*) FROM manifests") == 1


async def create_webhook(client: httpx.AsyncClient, namespace: str, **more: Any) -> str:
    body = {"namespace": namespace, "url": "http://127.0.0.1:9/hook", "enabled": True, **more}
    response = await client.post("/api/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    webhook_id: str = response.json()["id"]
    return webhook_id


@pytest.mark.parametrize(
    ("namespace", "matches"),
    [
        ("*", {"team/cnn", "team-a/x/y", "other"}),
        ("team-a/", {"team-a/x/y"}),
        ("team", {"team/cnn"}),
        ("team*", {"team/cnn", "team-a/x/y"}),
        ("*/y", {"team-a/x/y"}),
        ("other", {"other"}),
        ("oth", set()),
        ("team_a/", set()),
    ],
)
async def test_deliveries_follow_the_namespace_of_each_webhook(
    indexed_app: Starlette, indexed_client: httpx.AsyncClient, namespace: str, matches: set[str]
) -> None:
    await create_webhook(indexed_client, namespace, events=["push"])
    for name in ("team/cnn", "team-a/x/y", "other"):
        await push_artifact(indexed_client, name, "v1", b"{}", ORMB_CONFIG, [])
    rows = await pool(indexed_app).fetch(
        "SELECT e.repository, e.action FROM deliveries d JOIN events e ON e.id = d.event_id"
    )
    assert {row["repository"] for row in rows} == matches
    assert {row["action"] for row in rows} <= {"push"}


async def test_deliveries_follow_actions_and_the_enabled_flag(
    indexed_app: Starlette, indexed_client: httpx.AsyncClient
) -> None:
    tags = await create_webhook(indexed_client, "*", events=["tag", "delete"])
    await create_webhook(indexed_client, "*", enabled=False)
    everything = await create_webhook(indexed_client, "team/")
    await push_model(indexed_client, "v1")
    await indexed_client.delete("/v2/team/cnn/manifests/v1")
    rows = await pool(indexed_app).fetch(
        "SELECT d.webhook_id::text AS webhook, e.action FROM deliveries d"
        " JOIN events e ON e.id = d.event_id ORDER BY e.created_at"
    )
    by_webhook: dict[str, list[str]] = {}
    for row in rows:
        by_webhook.setdefault(row["webhook"], []).append(row["action"])
    assert by_webhook == {tags: ["tag", "delete"], everything: ["push", "tag", "delete"]}

"""Webhook deliveries to a real HTTP receiver: signed, retried with backoff, dead after the
last attempt, taken over when a lease expires, claimed once across workers, and listed by the
delivery history API."""

from __future__ import annotations

import dataclasses
import random
import time
from typing import Any

import anyio
import httpx
import pytest
from starlette.applications import Starlette

from registry.index.delivery import DeliveryWorker, backoff, sign
from registry.index.indexer import ModelIndex
from tests.registry.index.conftest import FAST_EVENTS
from tests.registry.index.model_fixtures import ORMB_CONFIG, push_artifact
from tests.registry.index.openapi_check import assert_schema
from tests.support.receiver import Receiver, verify

pytestmark = pytest.mark.anyio

SECRET = "s3cret-s3cret-s3cret"
DEADLINE = 30.0


def pool(app: Starlette) -> Any:
    index: ModelIndex = app.state.index
    return index.database.pool


async def create_webhook(
    client: httpx.AsyncClient, receiver: Receiver, namespace: str = "*", **more: Any
) -> str:
    body = {"namespace": namespace, "url": receiver.url, "secret": SECRET, **more}
    response = await client.post("/api/v1/webhooks", json=body)
    assert response.status_code == 201, response.text
    webhook_id: str = response.json()["id"]
    return webhook_id


async def push(client: httpx.AsyncClient, name: str = "team/cnn", tag: str = "v1") -> str:
    return await push_artifact(
        client, name, tag, f'{{"description": "{tag}"}}'.encode(), ORMB_CONFIG, []
    )


async def wait_until(check: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE}s: {what}")
        await anyio.sleep(0.05)


async def statuses(app: Starlette) -> list[tuple[str, int]]:
    rows = await pool(app).fetch("SELECT status, attempts FROM deliveries ORDER BY id")
    return [(row["status"], row["attempts"]) for row in rows]


async def settled(app: Starlette) -> bool:
    rows = await statuses(app)
    return bool(rows) and all(status != "pending" for status, _ in rows)


async def test_delivery_is_signed_and_verifiable_by_the_receiver(
    events_app: Starlette, events_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await create_webhook(events_client, receiver, events=["push"])
    digest = await push(events_client)
    await wait_until(lambda: settled(events_app), "delivered")
    assert await statuses(events_app) == [("delivered", 1)]
    [received] = receiver.received
    assert verify(SECRET, received)
    assert not verify("another-secret-value", received)
    assert received.headers["content-type"] == "application/vnd.docker.distribution.events.v2+json"
    [event] = received.events
    assert event["action"] == "push"
    assert event["target"]["digest"] == digest
    assert received.event_id == event["id"]
    assert received.headers["x-modelyard-delivery-id"].isdigit()
    timestamp = received.headers["x-modelyard-timestamp"]
    assert received.headers["x-modelyard-signature"] == sign(SECRET, timestamp, received.body)
    # a replay with the body changed does not verify
    received.body = received.body.replace(b"push", b"pull")
    assert not verify(SECRET, received)


async def test_receiver_errors_are_retried_with_backoff_until_success(
    events_app: Starlette, events_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503]
    webhook = await create_webhook(events_client, receiver, events=["push"])
    await push(events_client)
    await wait_until(lambda: settled(events_app), "delivered after retries")
    assert await statuses(events_app) == [("delivered", 3)]
    assert len(receiver.received) == 3
    text = (await events_client.get("/metrics")).text
    assert 'modelyard_webhook_deliveries_total{outcome="delivered"} 1.0' in text
    assert 'modelyard_webhook_deliveries_total{outcome="retry"} 2.0' in text
    assert len(set(receiver.by_event())) == 1
    assert all(verify(SECRET, item) for item in receiver.received)
    history = (await events_client.get(f"/api/v1/webhooks/{webhook}/deliveries")).json()
    assert_schema(history, "DeliveryPage")
    [item] = history["items"]
    assert item["status"] == "delivered"
    assert item["attempts"] == 3
    assert item["last_status_code"] == 204
    assert item["last_error"] is None
    assert item["delivered_at"] is not None
    assert item["next_attempt_at"] is None


async def test_delivery_is_dead_after_max_attempts(
    events_app: Starlette, events_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.statuses = [500] * 10
    webhook = await create_webhook(events_client, receiver, events=["push"])
    await push(events_client)
    await wait_until(lambda: settled(events_app), "dead")
    assert await statuses(events_app) == [("dead", FAST_EVENTS.max_attempts)]
    assert len(receiver.received) == FAST_EVENTS.max_attempts
    text = (await events_client.get("/metrics")).text
    assert 'modelyard_webhook_deliveries_total{outcome="retry"} 2.0' in text
    assert 'modelyard_webhook_deliveries_total{outcome="dead"} 1.0' in text
    page = (
        await events_client.get(f"/api/v1/webhooks/{webhook}/deliveries", params={"status": "dead"})
    ).json()
    [item] = page["items"]
    assert item["last_status_code"] == 500
    assert item["last_error"] == "HTTP 500"
    # no further attempt follows
    await anyio.sleep(FAST_EVENTS.poll_interval * 3)
    assert len(receiver.received) == FAST_EVENTS.max_attempts


async def test_an_unreachable_receiver_records_the_error(
    events_app: Starlette, events_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    response = await events_client.post(
        "/api/v1/webhooks", json={"namespace": "*", "url": "http://127.0.0.1:9/nothing"}
    )
    webhook = response.json()["id"]
    await push(events_client)
    await wait_until(lambda: settled(events_app), "dead")
    items = (await events_client.get(f"/api/v1/webhooks/{webhook}/deliveries")).json()["items"]
    assert {item["status"] for item in items} == {"dead"}
    assert all(item["last_status_code"] is None for item in items)
    assert all("ConnectError" in item["last_error"] for item in items)


@pytest.mark.parametrize("events_config", [dataclasses.replace(FAST_EVENTS, max_attempts=100)])
async def test_a_pending_delivery_goes_to_the_edited_url_with_the_new_secret(
    events_app: Starlette, events_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    response = await events_client.post(
        "/api/v1/webhooks",
        json={"namespace": "*", "url": "http://127.0.0.1:9/gone", "secret": SECRET},
    )
    webhook = response.json()["id"]
    await push(events_client, tag="v1")
    await wait_until(
        lambda: pool(events_app).fetchval("SELECT attempts > 0 FROM deliveries"), "a failed try"
    )
    new_secret = "another-secret-value"
    changes = {"url": receiver.url, "secret": new_secret}
    edited = await events_client.patch(f"/api/v1/webhooks/{webhook}", json=changes)
    assert edited.status_code == 200, edited.text
    await wait_until(lambda: settled(events_app), "delivered")
    assert [status for status, _ in await statuses(events_app)] == ["delivered"] * 2
    assert len(receiver.received) == 2  # the push and its tag
    assert all(verify(new_secret, item) for item in receiver.received)


async def test_an_expired_lease_is_taken_over(
    events_app: Starlette, events_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    """A delivery claimed by an instance that died (its lease never released) is sent once
    the lease expires, as the next attempt."""
    digest = await push(events_client)
    webhook = await create_webhook(events_client, receiver, events=["push"])
    # stand in for a dead instance: the delivery claimed, its lease running a second more
    await pool(events_app).execute(
        "INSERT INTO deliveries (event_id, webhook_id, attempts, leased_by, lease_until)"
        " SELECT id, $1::uuid, 1, 'gone', now() + interval '1 second' FROM events"
        " WHERE action = 'push'",
        webhook,
    )
    await wait_until(lambda: settled(events_app), "delivered by the survivor")
    rows = await pool(events_app).fetch("SELECT status, attempts, leased_by FROM deliveries")
    assert [(row["status"], row["attempts"]) for row in rows] == [("delivered", 2)]
    assert rows[0]["leased_by"] != "gone"
    [received] = receiver.received
    assert [event["target"]["digest"] for event in received.events] == [digest]


async def test_a_lease_expired_on_the_last_attempt_is_dead(
    events_app: Starlette, events_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await push(events_client)
    webhook = await create_webhook(events_client, receiver, events=["push"])
    await pool(events_app).execute(
        "INSERT INTO deliveries (event_id, webhook_id, attempts, leased_by, lease_until)"
        " SELECT id, $1::uuid, $2, 'gone', now() FROM events WHERE action = 'push'",
        webhook,
        FAST_EVENTS.max_attempts,
    )
    await wait_until(lambda: settled(events_app), "dead")
    assert await statuses(events_app) == [("dead", FAST_EVENTS.max_attempts)]
    assert receiver.received == []


async def test_two_workers_claim_each_delivery_once(
    events_app: Starlette, events_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await create_webhook(events_client, receiver, events=["push"])
    index: ModelIndex = events_app.state.index
    # two more workers race the app's own for the same rows
    for number in range(12):
        await push(events_client, tag=f"v{number}")
    config = FAST_EVENTS
    first = DeliveryWorker(index.database, config, "first")
    second = DeliveryWorker(index.database, config, "second")
    try:
        async with anyio.create_task_group() as group:
            for worker in (first, second, first, second):
                group.start_soon(worker.run_once)
    finally:
        await first.close()
        await second.close()
    await wait_until(lambda: settled(events_app), "all delivered")
    counts = receiver.by_event()
    assert len(counts) == 12
    assert set(counts.values()) == {1}
    assert {attempts for _, attempts in await statuses(events_app)} == {1}


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    for attempt in range(1, 12):
        delay = min(60.0, 2.0 * 2 ** (attempt - 1))
        for _ in range(20):
            value = backoff(attempt, 2.0, 60.0, rng)
            assert delay / 2 <= value <= delay
    assert backoff(10_000, 1.0, 5.0, rng) <= 5.0


async def test_old_events_are_pruned_unless_a_delivery_is_pending(
    events_app: Starlette, events_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    await create_webhook(events_client, receiver, events=["push"])
    for tag in ("old", "pending", "new"):
        await push(events_client, tag=tag)
    await wait_until(lambda: settled(events_app), "delivered")
    await pool(events_app).execute(
        "UPDATE events SET created_at = now() - interval '8 days'"
        " WHERE payload -> 'target' ->> 'tag' IN ('old', 'pending')"
    )
    await pool(events_app).execute(
        "UPDATE deliveries d SET status = 'pending', next_attempt_at = now() + interval '1 day'"
        " FROM events e WHERE e.id = d.event_id AND e.payload -> 'target' ->> 'tag' = 'pending'"
    )
    index: ModelIndex = events_app.state.index
    worker = DeliveryWorker(index.database, FAST_EVENTS, "pruner")
    try:
        # old: push and tag; pending: its tag event (the webhook takes pushes only)
        assert await worker.prune() == 3
        assert await worker.prune() == 0
    finally:
        await worker.close()
    rows = await pool(events_app).fetch(
        "SELECT action, payload -> 'target' ->> 'tag' AS tag FROM events ORDER BY tag, action"
    )
    assert [(row["action"], row["tag"]) for row in rows] == [
        ("push", "new"),
        ("tag", "new"),
        ("push", "pending"),
    ]
    assert await pool(events_app).fetchval("SELECT count(*) FROM deliveries") == 2


async def test_a_stopping_worker_releases_its_leases(
    events_app: Starlette, events_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.hang_first = {("push", "team/cnn")}
    await create_webhook(events_client, receiver, events=["push"])
    await push(events_client)
    await anyio.to_thread.run_sync(receiver.hanging.wait, DEADLINE)
    index: ModelIndex = events_app.state.index
    [before] = await pool(events_app).fetch("SELECT lease_until, leased_by FROM deliveries")
    assert before["lease_until"] is not None
    # another worker takes over at once when the app's own stops mid-delivery
    worker = DeliveryWorker(index.database, FAST_EVENTS, "other")
    app_worker = events_app.state.delivery
    await app_worker.close()
    [after] = await pool(events_app).fetch("SELECT status, lease_until, last_error FROM deliveries")
    assert after["status"] == "pending"
    assert after["lease_until"] is None
    assert "interrupted" in after["last_error"]
    try:
        assert await worker.run_once() == 1
    finally:
        await worker.close()
    assert await statuses(events_app) == [("delivered", 2)]


async def test_a_receiver_that_hangs_times_out_and_is_retried(
    events_app: Starlette, events_client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.hang_first = {("push", "team/cnn")}
    webhook = await create_webhook(events_client, receiver, events=["push"])
    await push(events_client)
    await wait_until(lambda: settled(events_app), "delivered on the second attempt")
    assert await statuses(events_app) == [("delivered", 2)]
    assert len(receiver.received) == 2
    [item] = (await events_client.get(f"/api/v1/webhooks/{webhook}/deliveries")).json()["items"]
    assert item["last_status_code"] == 204

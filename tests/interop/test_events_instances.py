"""Two `modelyard serve` processes on one PostgreSQL and one storage folder: events of pushes
through either are indexed once and delivered to a real HTTP receiver exactly once per
attempt; an instance SIGKILLed while its delivery hangs loses nothing, the other instance
delivers the event after the lease expires."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
import pytest

from tests.interop import helpers
from tests.interop.helpers import OCI_MANIFEST, ServerProcess
from tests.support.postgres import drop_schema, new_schema
from tests.support.receiver import Receiver, running_receiver, verify

pytestmark = pytest.mark.interop

ORMB_CONFIG = "application/vnd.caicloud.model.config.v1alpha1+json"
SECRET = "interop-secret-0123456789"
LEASE = 3.0
EVENTS = {
    "poll_interval": 0.2,
    "max_attempts": 5,
    "backoff_base": 0.2,
    "backoff_max": 1.0,
    "delivery_timeout": 2.0,
    "lease_seconds": LEASE,
}
DEADLINE = 60.0


def query(url: str, schema: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def fetch() -> list[dict[str, Any]]:
        connection = await asyncpg.connect(url, server_settings={"search_path": schema})
        try:
            return [dict(row) for row in await connection.fetch(sql, *args)]
        finally:
            await connection.close()

    return asyncio.run(fetch())


def push(server: ServerProcess, name: str, tag: str, text: str) -> str:
    """Config, one layer and the manifest over plain HTTP; the manifest digest."""
    config = json.dumps({"description": text, "format": "SavedModel"}).encode()
    layer = f"weights of {text}".encode()
    descriptors = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for blob in (config, layer):
            digest = "sha256:" + hashlib.sha256(blob).hexdigest()
            response = client.post(
                f"/v2/{name}/blobs/uploads/", params={"digest": digest}, content=blob
            )
            assert response.status_code == 201, response.text
            descriptors.append({"digest": digest, "size": len(blob)})
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": ORMB_CONFIG, **descriptors[0]},
            "layers": [{"mediaType": "application/tar+gzip", **descriptors[1]}],
        }
        response = client.put(
            f"/v2/{name}/manifests/{tag}",
            content=json.dumps(manifest).encode(),
            headers={"Content-Type": OCI_MANIFEST},
        )
        assert response.status_code == 201, response.text
        return response.headers["docker-content-digest"]


def wait(condition: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {DEADLINE}s: {what}")
        time.sleep(0.1)


def kill_instance(servers: list[ServerProcess], pid: int) -> ServerProcess:
    """SIGKILL the server whose process (or worker process) is `pid`, worker first."""
    for server in servers:
        if pid == server.pid or psutil.Process(pid).ppid() == server.pid:
            os.kill(pid, signal.SIGKILL)
            if pid != server.pid:
                server.process.send_signal(signal.SIGKILL)
            server.process.wait(timeout=10)
            return server
    raise AssertionError(f"pid {pid} is no server of this test")


class Cluster:
    def __init__(self, url: str, schema: str, servers: list[ServerProcess]) -> None:
        self.url = url
        self.schema = schema
        self.servers = servers

    def query(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return query(self.url, self.schema, sql, *args)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as found:
        yield found


@pytest.fixture
def cluster(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    schema = asyncio.run(new_schema(database_url))
    servers: list[ServerProcess] = []
    try:
        for _ in range(2):
            servers.append(
                helpers.start_modelyard(
                    tmp_path / "shared-root",
                    tmp_path / "servers",
                    database={"url": database_url, "schema": schema},
                    sections={"events": EVENTS},
                )
            )
        yield Cluster(database_url, schema, servers)
    finally:
        for server in servers:
            server.stop()
        asyncio.run(drop_schema(database_url, schema))
    for server in servers:
        server.check_log()


def create_webhook(server: ServerProcess, receiver: Receiver, events: list[str]) -> str:
    body = {"namespace": "*", "url": receiver.url, "secret": SECRET, "events": events}
    response = httpx.post(f"{server.url}/api/v1/webhooks", json=body, timeout=10)
    assert response.status_code == 201, response.text
    webhook_id: str = response.json()["id"]
    return webhook_id


def all_settled(cluster: Cluster) -> bool:
    rows = cluster.query("SELECT status FROM deliveries")
    return bool(rows) and all(row["status"] == "delivered" for row in rows)


def test_pushes_through_two_instances_are_indexed_and_delivered_once(
    cluster: Cluster, receiver: Receiver
) -> None:
    first, second = cluster.servers
    create_webhook(first, receiver, ["push", "tag", "delete"])
    pushed: dict[tuple[str, str], str] = {}
    for number in range(8):
        server = cluster.servers[number % 2]
        name = f"team/model{number % 3}"
        pushed[(name, f"v{number}")] = push(server, name, f"v{number}", f"model {number}")
    # the same manifest under the same tag through both instances: one index row
    for server in (first, second):
        pushed[("team/same", "v1")] = push(server, "team/same", "v1", "same bytes")
    manifests = {(name, digest) for (name, _), digest in pushed.items()}
    # untagging keeps the manifest
    response = httpx.delete(f"{second.url}/v2/team/model0/manifests/v0", timeout=10)
    assert response.status_code == 202
    del pushed[("team/model0", "v0")]

    rows = cluster.query("SELECT repository, digest FROM manifests")
    assert sorted((row["repository"], row["digest"]) for row in rows) == sorted(manifests)
    tags = cluster.query("SELECT repository, tag, digest FROM tags")
    assert {(row["repository"], row["tag"]): row["digest"] for row in tags} == pushed

    events = cluster.query("SELECT id::text AS id, action FROM events")
    # 10 pushes, 9 tags set (the repeated one not moved), 1 tag delete
    assert [row["action"] for row in events].count("push") == 10
    assert [row["action"] for row in events].count("tag") == 9
    assert [row["action"] for row in events].count("delete") == 1
    wait(lambda: all_settled(cluster), "every delivery delivered")
    wait(lambda: len(receiver.received) >= len(events), "every event received")
    counts = receiver.by_event()
    assert counts == {row["id"]: 1 for row in events}
    deliveries = cluster.query("SELECT attempts, leased_by FROM deliveries")
    assert {row["attempts"] for row in deliveries} == {1}
    assert all(verify(SECRET, item) for item in receiver.received)
    pids = {int(row["leased_by"].split(":")[1]) for row in deliveries}
    instance_pids = {
        process.pid
        for server in cluster.servers
        for process in [psutil.Process(server.pid), *psutil.Process(server.pid).children()]
    }
    assert pids <= instance_pids


def test_an_instance_killed_mid_delivery_loses_no_event(
    cluster: Cluster, receiver: Receiver
) -> None:
    first, _ = cluster.servers
    create_webhook(first, receiver, ["push"])
    receiver.hang_first = {("push", "kill/me")}
    push(first, "kill/me", "v1", "doomed delivery")
    assert receiver.hanging.wait(DEADLINE), "the first attempt never reached the receiver"
    [claimed] = cluster.query("SELECT event_id::text AS event, attempts, leased_by FROM deliveries")
    assert claimed["attempts"] == 1
    holder_pid = int(claimed["leased_by"].split(":")[1])
    killed = kill_instance(cluster.servers, holder_pid)
    survivor = next(server for server in cluster.servers if server is not killed)

    wait(lambda: len(receiver.attempts(claimed["event"])) == 2, "the retry by the survivor")
    wait(lambda: all_settled(cluster), "delivered")
    [row] = cluster.query("SELECT status, attempts, leased_by FROM deliveries")
    assert (row["status"], row["attempts"]) == ("delivered", 2)
    assert row["leased_by"] != claimed["leased_by"]
    first_try, retry = receiver.attempts(claimed["event"])
    assert first_try.body == retry.body
    assert verify(SECRET, retry)
    # the survivor still serves, and delivers new events once
    push(survivor, "kill/me", "v2", "after the kill")
    wait(lambda: all_settled(cluster), "the next push delivered")
    assert sorted(receiver.by_event().values()) == [1, 2]

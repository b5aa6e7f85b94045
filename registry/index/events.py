"""Registry events and the outbox they are written to.

An event has the shape of the CNCF distribution notification (`notifications/event.go`):
id, timestamp, action, target {mediaType, digest, size, length, repository, url, tag},
request {id, addr, host, method, useragent}, actor, source {addr, instanceID}. Receivers
get them in the distribution envelope `{"events": [...]}`.

`write_events` inserts events and, in the same statement, one delivery per matching enabled
webhook, then NOTIFYs the delivery workers. Callers run it inside the transaction of the
index change the events describe, so an event exists exactly when its change does.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PUSH = "push"
PULL = "pull"
DELETE = "delete"
TAG = "tag"
ACTIONS = (PUSH, PULL, DELETE, TAG)

#: the media type of the distribution event envelope
ENVELOPE_MEDIA_TYPE = "application/vnd.docker.distribution.events.v2+json"
#: the channel delivery workers LISTEN on
CHANNEL = "modelyard_deliveries"


@dataclass(frozen=True, slots=True)
class Origin:
    """The HTTP request that caused an event."""

    id: str
    method: str
    useragent: str
    addr: str = ""
    host: str = ""
    #: scheme and host the client used, e.g. `http://registry.example:5000`
    base_url: str = ""

    def record(self) -> dict[str, str]:
        return {
            "id": self.id,
            "addr": self.addr,
            "host": self.host,
            "method": self.method,
            "useragent": self.useragent,
        }


@dataclass(frozen=True, slots=True)
class Source:
    """The instance that generates events: host name and a per-process id."""

    addr: str
    instance_id: str

    @classmethod
    def current(cls) -> Source:
        host = socket.gethostname()
        return cls(host, f"{host}:{os.getpid()}:{uuid.uuid4().hex[:12]}")


@dataclass(frozen=True, slots=True)
class Target:
    repository: str
    digest: str = ""
    media_type: str = ""
    size: int = 0
    tag: str = ""


@dataclass(frozen=True, slots=True)
class Event:
    id: uuid.UUID
    timestamp: datetime
    action: str
    target: Target
    origin: Origin | None
    source: Source

    def payload(self) -> dict[str, Any]:
        """The event as distribution writes it (empty fields left out, as `omitempty`)."""
        target: dict[str, Any] = {"repository": self.target.repository}
        if self.target.media_type:
            target["mediaType"] = self.target.media_type
        if self.target.digest:
            target["digest"] = self.target.digest
            target["size"] = self.target.size
            target["length"] = self.target.size
            if self.origin is not None and self.origin.base_url:
                target["url"] = (
                    f"{self.origin.base_url}/v2/{self.target.repository}"
                    f"/manifests/{self.target.digest}"
                )
        if self.target.tag:
            target["tag"] = self.target.tag
        payload: dict[str, Any] = {
            "id": str(self.id),
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "action": self.action,
            "target": target,
            "source": {"addr": self.source.addr, "instanceID": self.source.instance_id},
        }
        if self.origin is not None:
            payload["request"] = self.origin.record()
        return payload


def new_event(action: str, target: Target, origin: Origin | None, source: Source) -> Event:
    return Event(uuid.uuid4(), datetime.now(UTC), action, target, origin, source)


def envelope(payloads: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"events": list(payloads)}


WRITE = """
WITH written AS (
    INSERT INTO events (id, action, repository, payload, created_at)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::timestamptz[])
    RETURNING id, action, repository
)
INSERT INTO deliveries (event_id, webhook_id)
SELECT e.id, w.id FROM written e JOIN webhooks w
    ON w.enabled AND e.action = ANY (w.actions)
    AND EXISTS (SELECT 1 FROM unnest(w.patterns) AS p(pattern)
                WHERE e.repository LIKE p.pattern ESCAPE '\\')
RETURNING 1
"""


async def write_events(connection: Any, events: Sequence[Event]) -> int:
    """Insert `events` and their deliveries on `connection` (inside the caller's
    transaction); wakes the delivery workers on commit. The number of deliveries created."""
    if not events:
        return 0
    rows = await connection.fetch(
        WRITE,
        [event.id for event in events],
        [event.action for event in events],
        [event.target.repository for event in events],
        [event.payload() for event in events],
        [event.timestamp for event in events],
    )
    if rows:
        await connection.execute(f"NOTIFY {CHANNEL}")
    return len(rows)

"""Usage statistics: pulls, pushes and errors per repository and per manifest.

The hot path only bumps a counter in memory (`UsageRecorder.record`). A background task
writes the pending counts to PostgreSQL in one statement every `FLUSH_INTERVAL` seconds, or
sooner when `MAX_PENDING` distinct keys are waiting; once more on shutdown. Counts add up
across instances (`count = count + EXCLUDED.count`), so any number of processes may share the
table. A failed flush is logged and its counts kept for the next try, up to `MAX_KEPT` keys.

Pull events (see registry/index/events.py) ride on the same flush, in its transaction:
a pull is on the hot path, so it is not worth a transaction of its own. The price is that
pull events reach the outbox up to `FLUSH_INTERVAL` seconds late, and those pending when a
process is killed are lost with its counts; push, tag and delete events are written with
their index change and are never lost that way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from registry.background import Background
from registry.index.db import Database
from registry.index.events import Event, write_events

log = logging.getLogger("modelyard.index")

PULL = "pull"
PUSH = "push"
ERROR = "error"
KINDS = (PULL, PUSH, ERROR)

FLUSH_INTERVAL = 2.0
MAX_PENDING = 1000
MAX_KEPT = 100_000

Key = tuple[str, str, str]  # (repository, digest or "", kind)

FLUSH = """
INSERT INTO usage AS u (repository, digest, kind, count, first_at, last_at)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[],
                     $5::timestamptz[], $6::timestamptz[])
ON CONFLICT (repository, digest, kind) DO UPDATE SET
    count = u.count + EXCLUDED.count,
    first_at = least(u.first_at, EXCLUDED.first_at),
    last_at = greatest(u.last_at, EXCLUDED.last_at)
"""


@dataclass
class Pending:
    count: int
    first_at: datetime
    last_at: datetime

    def merge(self, other: Pending) -> None:
        self.count += other.count
        self.first_at = min(self.first_at, other.first_at)
        self.last_at = max(self.last_at, other.last_at)


class UsageRecorder:
    def __init__(
        self,
        database: Database,
        flush_interval: float | None = None,
        max_pending: int = MAX_PENDING,
        max_kept: int = MAX_KEPT,
    ) -> None:
        self.database = database
        self.flush_interval = FLUSH_INTERVAL if flush_interval is None else flush_interval
        self.max_pending = max_pending
        self.max_kept = max(max_kept, max_pending)
        self.dropped = 0
        self._pending: dict[Key, Pending] = {}
        self._events: list[Event] = []
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._background = Background(self.run)

    @property
    def pending(self) -> dict[Key, int]:
        """Counts not yet written, by key."""
        return {key: entry.count for key, entry in self._pending.items()}

    def record(self, repository: str, digest: str, kind: str) -> None:
        """Count one event; never blocks and never raises."""
        key = (repository, digest, kind)
        now = datetime.now(UTC)
        entry = self._pending.get(key)
        if entry is not None:
            entry.count += 1
            entry.last_at = now
            return
        if len(self._pending) >= self.max_kept:
            self.dropped += 1
            return
        self._pending[key] = Pending(1, now, now)
        if len(self._pending) >= self.max_pending:
            self._wake.set()

    def record_event(self, event: Event) -> None:
        """Queue a (pull) event for the next flush; never blocks and never raises."""
        if len(self._events) >= self.max_kept:
            self.dropped += 1
            return
        self._events.append(event)
        if len(self._events) >= self.max_pending:
            self._wake.set()

    @property
    def pending_events(self) -> int:
        return len(self._events)

    async def flush(self) -> int:
        """Write the pending counts in one statement, and the pending events, in one
        transaction; the number of keys written (0 when there was nothing to write or the
        write failed, its counts and events then kept)."""
        async with self._lock:
            batch, self._pending = self._pending, {}
            events, self._events = self._events, []
            if not batch and not events:
                return 0
            keys = list(batch)
            entries = [batch[key] for key in keys]
            try:
                async with self.database.pool.acquire() as connection, connection.transaction():
                    if keys:
                        await connection.execute(
                            FLUSH,
                            [key[0] for key in keys],
                            [key[1] for key in keys],
                            [key[2] for key in keys],
                            [entry.count for entry in entries],
                            [entry.first_at for entry in entries],
                            [entry.last_at for entry in entries],
                        )
                    await write_events(connection, events)
            except Exception as exc:
                self._keep(batch)
                self._events = (events + self._events)[: self.max_kept]
                log.warning(
                    "usage flush failed, %d keys kept: %s: %s",
                    len(self._pending),
                    type(exc).__name__,
                    exc,
                )
                return 0
            return len(keys)

    def _keep(self, batch: dict[Key, Pending]) -> None:
        """Put a failed batch back under what was recorded meanwhile (bounded)."""
        for key, entry in batch.items():
            current = self._pending.get(key)
            if current is not None:
                current.merge(entry)
            elif len(self._pending) < self.max_kept:
                self._pending[key] = entry
            else:
                self.dropped += entry.count

    async def run(self) -> None:
        """Flush every `flush_interval` seconds, or when `max_pending` keys wait."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.flush_interval)
            self._wake.clear()
            # a flush under way when the task is cancelled (close) finishes: its batch is
            # out of `_pending` and would be lost; close waits for it on the lock
            await asyncio.shield(self.flush())

    def start(self) -> None:
        self._background.start()

    async def close(self) -> None:
        """Stop the background task and write what is left."""
        await self._background.stop()
        await self.flush()


USAGE_TOTALS = """
SELECT kind, sum(count)::bigint AS count FROM usage WHERE repository = $1::text GROUP BY kind
"""

USAGE_VERSIONS = """
WITH counts AS (
    SELECT digest,
           sum(count) FILTER (WHERE kind = 'pull')::bigint AS pulls,
           sum(count) FILTER (WHERE kind = 'push')::bigint AS pushes,
           max(last_at) FILTER (WHERE kind = 'pull') AS last_pull_at
    FROM usage WHERE repository = $1::text AND digest <> '' GROUP BY digest
), digests AS (
    SELECT digest FROM counts
    UNION SELECT digest FROM manifests WHERE repository = $1::text
)
SELECT d.digest,
       coalesce(c.pulls, 0) AS pulls,
       coalesce(c.pushes, 0) AS pushes,
       c.last_pull_at,
       coalesce((SELECT array_agg(t.tag ORDER BY t.tag) FROM tags t
                 WHERE t.repository = $1::text AND t.digest = d.digest), '{}') AS tags
FROM digests d LEFT JOIN counts c USING (digest)
ORDER BY coalesce(c.pulls, 0) DESC, d.digest
"""


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


async def repository_usage(pool: Any, name: str) -> dict[str, Any] | None:
    """Counts of a repository and of each of its manifests; None when neither the index nor
    the usage table knows the repository."""
    async with pool.acquire() as connection:
        totals = {row["kind"]: row["count"] for row in await connection.fetch(USAGE_TOTALS, name)}
        rows = await connection.fetch(USAGE_VERSIONS, name)
        if not totals and not rows:
            known = await connection.fetchval(
                "SELECT true FROM repositories WHERE name = $1::text", name
            )
            if not known:
                return None
    return {
        "repository": name,
        "totals": {
            "pulls": totals.get(PULL, 0),
            "pushes": totals.get(PUSH, 0),
            "errors": totals.get(ERROR, 0),
        },
        "versions": [
            {
                "digest": row["digest"],
                "tags": list(row["tags"]),
                "pulls": row["pulls"],
                "pushes": row["pushes"],
                "last_pull_at": _iso(row["last_pull_at"]),
            }
            for row in rows
        ],
    }

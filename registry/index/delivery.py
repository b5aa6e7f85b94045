"""The delivery worker: sends each outbox delivery to its webhook, at least once.

Every instance runs one. A worker claims due deliveries with `SELECT ... FOR UPDATE SKIP
LOCKED`, so two instances never claim the same row at once; the claim is a lease (until
`lease_until`) that counts the attempt. A delivery whose instance died mid-attempt becomes
claimable again when its lease expires. Answers 2xx mark the delivery delivered; anything
else (other status, timeout, connection error) schedules a retry after an exponential
backoff with jitter, and after `max_attempts` marks it dead. Results are written only while
the worker still holds the lease it claimed (same holder, same attempt). A worker that stops
releases the leases of its interrupted attempts, so others need not wait for them.

The worker LISTENs on `events.CHANNEL` (NOTIFY is sent when deliveries are created) and
also polls every `poll_interval` seconds, or sooner when a retry falls due. Every
`PRUNE_INTERVAL` seconds it deletes events older than `retention_days` (and with them their
delivery history), keeping any whose delivery is still pending.

Each POST carries the distribution envelope `{"events": [event]}` and the headers
`X-Modelyard-Event-Id`, `X-Modelyard-Delivery-Id`, `X-Modelyard-Timestamp` (Unix seconds of
this attempt) and `X-Modelyard-Signature: sha256=<hex>`, the HMAC-SHA256 with the webhook's
secret of `<timestamp>.<body>`: receivers check it, drop repeated event ids, and refuse
timestamps too far from their clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import httpx

from registry.background import Background
from registry.config import EventsConfig
from registry.index.db import Database
from registry.index.events import CHANNEL, ENVELOPE_MEDIA_TYPE, envelope
from registry.metrics import Metrics

log = logging.getLogger("modelyard.events")

SIGNATURE_HEADER = "X-Modelyard-Signature"
EVENT_HEADER = "X-Modelyard-Event-Id"
DELIVERY_HEADER = "X-Modelyard-Delivery-Id"
TIMESTAMP_HEADER = "X-Modelyard-Timestamp"
ERROR_LIMIT = 500

CLAIM = """
WITH due AS (
    SELECT id FROM deliveries
    WHERE status = 'pending' AND next_attempt_at <= now() AND attempts < $1
      AND (lease_until IS NULL OR lease_until < now())
    ORDER BY next_attempt_at, id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE deliveries d
SET attempts = d.attempts + 1, lease_until = now() + $3 * interval '1 second',
    leased_by = $4, updated_at = now()
FROM due, events e, webhooks w
WHERE d.id = due.id AND e.id = d.event_id AND w.id = d.webhook_id
RETURNING d.id, d.attempts, d.event_id, e.payload, w.url, w.secret
"""

#: deliveries whose last attempt's holder died after using the last attempt
EXPIRE = """
UPDATE deliveries SET status = 'dead', lease_until = NULL, updated_at = now(),
    last_error = coalesce(last_error, 'lease expired on the last attempt')
WHERE status = 'pending' AND attempts >= $1 AND lease_until < now()
"""

DELIVERED = """
UPDATE deliveries SET status = 'delivered', delivered_at = now(), last_status_code = $4,
    last_error = NULL, lease_until = NULL, updated_at = now()
WHERE id = $1 AND attempts = $2 AND leased_by = $3 AND status = 'pending'
"""

FAILED = """
UPDATE deliveries SET
    status = CASE WHEN attempts >= $4 THEN 'dead' ELSE 'pending' END,
    next_attempt_at = now() + $5 * interval '1 second',
    last_status_code = $6, last_error = $7, lease_until = NULL, updated_at = now()
WHERE id = $1 AND attempts = $2 AND leased_by = $3 AND status = 'pending'
"""

#: leases of a worker that stops: its interrupted attempts may be retried at once
RELEASE = """
UPDATE deliveries SET lease_until = NULL, updated_at = now(),
    last_error = 'interrupted: the sending instance stopped'
WHERE leased_by = $1 AND status = 'pending' AND lease_until > now()
"""

#: old events (their deliveries go with them), a bounded batch, none with a pending delivery
PRUNE = """
DELETE FROM events WHERE id IN (
    SELECT e.id FROM events e
    WHERE e.created_at < now() - $1 * interval '1 day'
      AND NOT EXISTS (SELECT 1 FROM deliveries d
                      WHERE d.event_id = e.id AND d.status = 'pending')
    LIMIT $2)
"""
PRUNE_BATCH = 10_000
#: seconds between prunes of one instance
PRUNE_INTERVAL = 600.0

NEXT_DUE = """
SELECT min(greatest(next_attempt_at, coalesce(lease_until, next_attempt_at)))
FROM deliveries WHERE status = 'pending'
"""


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Modelyard-Signature` value of a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(attempt: int, base: float, maximum: float, rng: random.Random) -> float:
    """Seconds before the retry that follows attempt `attempt` (1-based): the exponential
    delay capped at `maximum`, half of it fixed and half random ("equal jitter")."""
    delay = min(maximum, base * 2.0 ** min(attempt - 1, 62))
    return delay / 2 + rng.uniform(0, delay / 2)


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    attempt: int
    event_id: str
    payload: dict[str, Any]
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    status_code: int | None
    error: str | None


class DeliveryWorker:
    def __init__(
        self,
        database: Database,
        config: EventsConfig,
        holder: str,
        metrics: Metrics | None = None,
    ) -> None:
        self.database = database
        self.config = config
        #: written to `leased_by` of the rows this worker claims
        self.holder = holder
        self.metrics = metrics
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(config.delivery_timeout), follow_redirects=False
        )
        self._rng = random.Random()
        self._wake = asyncio.Event()
        self._background = Background(self.run)
        self._listener: asyncpg.Connection | None = None
        self._pruned_at = -PRUNE_INTERVAL

    def wake(self, *_: object) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Claim one batch of due deliveries and send them; the number sent."""
        async with self.database.pool.acquire() as connection:
            await connection.execute(EXPIRE, self.config.max_attempts)
            rows = await connection.fetch(
                CLAIM,
                self.config.max_attempts,
                self.config.batch_size,
                self.config.lease_seconds,
                self.holder,
            )
        claimed = [
            Claimed(
                row["id"],
                row["attempts"],
                str(row["event_id"]),
                row["payload"],
                row["url"],
                row["secret"],
            )
            for row in rows
        ]
        await asyncio.gather(*(self._deliver(delivery) for delivery in claimed))
        return len(claimed)

    async def _post(self, delivery: Claimed) -> Outcome:
        body = json.dumps(envelope([delivery.payload])).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": ENVELOPE_MEDIA_TYPE,
            "User-Agent": "modelyard-webhook",
            EVENT_HEADER: delivery.event_id,
            DELIVERY_HEADER: str(delivery.id),
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(delivery.secret, timestamp, body),
        }
        try:
            # httpx times each phase; the lease needs a bound on the whole attempt
            async with (
                asyncio.timeout(self.config.delivery_timeout),
                self._client.stream(
                    "POST", delivery.url, content=body, headers=headers
                ) as response,
            ):
                code = response.status_code
        except TimeoutError:
            return Outcome(False, None, f"timed out after {self.config.delivery_timeout} s")
        except Exception as exc:  # transport errors, a URL httpx refuses
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT])
        if 200 <= code < 300:
            return Outcome(True, code, None)
        return Outcome(False, code, f"HTTP {code}")

    def _count(self, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.deliveries.labels(outcome).inc()

    async def _deliver(self, delivery: Claimed) -> None:
        outcome = await self._post(delivery)
        if outcome.ok:
            self._count("delivered")
        else:
            self._count("dead" if delivery.attempt >= self.config.max_attempts else "retry")
        try:
            if outcome.ok:
                await self.database.pool.execute(
                    DELIVERED, delivery.id, delivery.attempt, self.holder, outcome.status_code
                )
                return
            delay = backoff(
                delivery.attempt, self.config.backoff_base, self.config.backoff_max, self._rng
            )
            await self.database.pool.execute(
                FAILED,
                delivery.id,
                delivery.attempt,
                self.holder,
                self.config.max_attempts,
                delay,
                outcome.status_code,
                outcome.error,
            )
            log.info(
                "delivery %d of event %s, attempt %d failed: %s",
                delivery.id,
                delivery.event_id,
                delivery.attempt,
                outcome.error,
            )
        except Exception:
            # the lease expires and another attempt follows: at least once still holds
            log.exception("cannot record the result of delivery %d", delivery.id)

    async def prune(self) -> int:
        """Delete events older than `retention_days` (in batches); the number deleted."""
        deleted = 0
        while True:
            status = await self.database.pool.execute(
                PRUNE, self.config.retention_days, PRUNE_BATCH
            )
            count = int(status.split()[-1])
            deleted += count
            if count < PRUNE_BATCH:
                return deleted

    async def _maybe_prune(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_INTERVAL:
            return
        self._pruned_at = now
        try:
            deleted = await self.prune()
        except Exception as exc:
            log.warning("pruning old events failed: %s: %s", type(exc).__name__, exc)
            return
        if deleted:
            log.info("pruned %d events older than %s days", deleted, self.config.retention_days)

    async def _listen(self) -> None:
        """(Re)open the LISTEN connection when it is missing or closed."""
        if self._listener is not None and not self._listener.is_closed():
            return
        try:
            connection = await self.database.connect()
            await connection.add_listener(CHANNEL, self.wake)
        except Exception as exc:
            log.warning("cannot LISTEN for deliveries (polling): %s: %s", type(exc).__name__, exc)
            return
        self._listener = connection

    async def _pause(self) -> None:
        """Wait for a NOTIFY, the poll interval, or the next retry falling due."""
        timeout = self.config.poll_interval
        with contextlib.suppress(Exception):
            due: datetime | None = await self.database.pool.fetchval(NEXT_DUE)
            if due is not None:
                wait = due.timestamp() - time.time()
                timeout = max(0.01, min(timeout, wait))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    async def run(self) -> None:
        while True:
            await self._listen()
            await self._maybe_prune()
            self._wake.clear()
            try:
                sent = await self.run_once()
            except Exception as exc:
                log.warning("delivery round failed: %s: %s", type(exc).__name__, exc)
                sent = 0
            if sent < self.config.batch_size:
                await self._pause()

    def start(self) -> None:
        self._background.start()

    async def close(self) -> None:
        if await self._background.stop():
            try:
                await self.database.pool.execute(RELEASE, self.holder)
            except Exception as exc:
                log.warning("cannot release leases (they expire): %s: %s", type(exc).__name__, exc)
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close()
        await self._client.aclose()

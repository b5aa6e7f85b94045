"""Cluster-wide single-flight: a lease per digest, so one instance fetches it from upstream.

With the database, a lease is a row of `proxy_leases` with an expiry in PostgreSQL time. The
holder renews it every third of `proxy.leaseseconds` while it fetches and deletes it when
done, then sends a NOTIFY. A holder that dies stops renewing: its lease expires and the next
waiter takes it over. A holder that is merely slow keeps it. Waiters on every instance wake up
on the NOTIFY (one LISTEN connection per instance) or after a short poll.

Without the database, leases are in-process only: instances sharing a bucket then do not
coordinate (documented in config.example.yml).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
import weakref
from dataclasses import dataclass
from typing import Any, Protocol

from registry.index.db import Database

log = logging.getLogger("modelyard.proxy")

CHANNEL = "modelyard_proxy"
#: longest a waiter sleeps before it looks at storage and the lease again
POLL_SECONDS = 1.0

TAKE = """
INSERT INTO proxy_leases AS l (digest, holder, expires_at, holder_url)
VALUES ($1::text, $2::text, now() + make_interval(secs => $3::float8), $4::text)
ON CONFLICT (digest) DO UPDATE SET
    holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at, taken_at = now(),
    holder_url = EXCLUDED.holder_url
WHERE l.expires_at < now()
RETURNING holder
"""
RENEW = """
UPDATE proxy_leases SET expires_at = now() + make_interval(secs => $3::float8)
WHERE digest = $1::text AND holder = $2::text
RETURNING holder
"""
HOLDER = """
SELECT holder, holder_url, expires_at < now() AS expired FROM proxy_leases WHERE digest = $1::text
"""
RELEASE = """
WITH gone AS (DELETE FROM proxy_leases WHERE digest = $1::text AND holder = $2::text)
SELECT pg_notify($3::text, $1::text)
"""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a lease: its id, the URL the other instances reach it at, and whether the
    lease has expired (the holder stopped renewing it)."""

    holder: str
    url: str | None
    expired: bool


class Lease(Protocol):
    async def release(self) -> None: ...


class Leases(Protocol):
    async def take(self, key: str) -> Lease | None:
        """The lease of `key` if nobody holds it, else None."""
        ...

    async def holder_of(self, key: str) -> Holder | None:
        """Who holds the lease of `key` (None: nobody, or not known)."""
        ...

    async def wait(self, key: str) -> None:
        """Until the lease of `key` may have been released (or a poll interval passed)."""
        ...

    async def close(self) -> None: ...


class _Waiters:
    """Events that wake the local waiters of a key; an event lives as long as its waiters."""

    def __init__(self) -> None:
        self._events: weakref.WeakValueDictionary[str, asyncio.Event] = (
            weakref.WeakValueDictionary()
        )

    def wake(self, key: str) -> None:
        event = self._events.pop(key, None)
        if event is not None:
            event.set()

    async def wait(self, key: str, seconds: float) -> None:
        event = self._events.get(key)
        if event is None:
            event = self._events[key] = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


class _LocalLease:
    def __init__(self, leases: LocalLeases, key: str) -> None:
        self._leases = leases
        self._key = key

    async def release(self) -> None:
        self._leases.held.discard(self._key)
        self._leases.waiters.wake(self._key)


class LocalLeases:
    """Leases of this process only (no database)."""

    def __init__(self) -> None:
        self.held: set[str] = set()
        self.waiters = _Waiters()

    async def take(self, key: str) -> Lease | None:
        if key in self.held:
            return None
        self.held.add(key)
        return _LocalLease(self, key)

    async def holder_of(self, key: str) -> Holder | None:
        return None

    async def wait(self, key: str) -> None:
        await self.waiters.wait(key, POLL_SECONDS)

    async def close(self) -> None:
        return None


class _ClusterLease:
    def __init__(self, leases: ClusterLeases, key: str) -> None:
        self._leases = leases
        self._key = key
        self._renewer = asyncio.get_running_loop().create_task(self._renew())

    async def _renew(self) -> None:
        interval = self._leases.seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                kept = await self._leases.database.pool.fetchval(
                    RENEW, self._key, self._leases.holder, float(self._leases.seconds)
                )
            except Exception as exc:
                log.warning(
                    "lease renewal of %s failed: %s: %s", self._key, type(exc).__name__, exc
                )
                continue
            if kept is None:
                log.warning("lease of %s was lost to another instance", self._key)
                return

    async def release(self) -> None:
        self._renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._renewer
        try:
            await self._leases.database.pool.execute(
                RELEASE, self._key, self._leases.holder, CHANNEL
            )
        except Exception as exc:
            log.warning("lease release of %s failed: %s: %s", self._key, type(exc).__name__, exc)
        self._leases.waiters.wake(self._key)


class ClusterLeases:
    """Leases in PostgreSQL, shared by every instance on the database."""

    def __init__(self, database: Database, seconds: int, url: str | None = None) -> None:
        self.database = database
        self.seconds = seconds
        #: recorded in the leases taken here: where the other instances stream from
        self.url = url
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.waiters = _Waiters()
        self._local = LocalLeases()
        self._listener: Any = None

    async def start(self) -> None:
        """Listen for release notices; waiters poll anyway, so a failure here is not fatal."""
        try:
            connection = await self.database.pool.acquire()
            await connection.add_listener(CHANNEL, self._notified)
        except Exception as exc:
            log.warning("proxy lease notices unavailable, polling: %s: %s", type(exc).__name__, exc)
            return
        self._listener = connection

    def _notified(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        self.waiters.wake(payload)

    async def take(self, key: str) -> Lease | None:
        """The cluster lease; a lease of this process only while the database is
        unreachable (a pull never fails for want of the database)."""
        try:
            holder = await self.database.pool.fetchval(
                TAKE, key, self.holder, float(self.seconds), self.url
            )
        except Exception as exc:
            log.warning("lease of %s taken in process only: %s: %s", key, type(exc).__name__, exc)
            return await self._local.take(key)
        if holder is None:
            return None
        return _ClusterLease(self, key)

    async def holder_of(self, key: str) -> Holder | None:
        try:
            row = await self.database.pool.fetchrow(HOLDER, key)
        except Exception as exc:
            log.warning("lease holder of %s unknown: %s: %s", key, type(exc).__name__, exc)
            return None
        if row is None:
            return None
        return Holder(row["holder"], row["holder_url"], row["expired"])

    async def wait(self, key: str) -> None:
        if key in self._local.held:
            await self._local.wait(key)
            return
        await self.waiters.wait(key, min(POLL_SECONDS, self.seconds / 3))

    async def close(self) -> None:
        connection, self._listener = self._listener, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.remove_listener(CHANNEL, self._notified)
            await self.database.pool.release(connection)

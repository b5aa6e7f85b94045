"""Failed-login rate limit: a sliding window per user and per client address, in PostgreSQL.

Every failed login adds one row per key (`user:<name>`, `ip:<address>`); a login is refused
before its password is checked while either key has `failures` rows within the window. The
rows live in PostgreSQL, not in process, so the limit holds across every instance behind a
load balancer (an attacker spreading guesses over N instances gets no N-fold budget). Only
password checks pay the queries: token requests never log in, and a verified password is
reused in process for a few seconds. The server's clock (`now()`) is the only clock.
"""

from __future__ import annotations

import math
import time
from typing import Any

PRUNE_EVERY = 60.0


class RateLimited(Exception):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; retry after {retry_after}s")
        self.retry_after = retry_after


def keys_of(username: str, address: str) -> list[str]:
    keys = [f"ip:{address}"] if address else []
    if username:
        keys.append(f"user:{username}")
    return keys


class LoginLimiter:
    def __init__(self, pool: Any, failures: int, window: int) -> None:
        self.pool = pool
        self.failures = failures
        self.window = window
        self._pruned = 0.0

    async def check(self, username: str, address: str) -> None:
        """Raise RateLimited while the user or the address is over the limit."""
        rows = await self.pool.fetch(
            "SELECT key, count(*) AS n,"
            " EXTRACT(EPOCH FROM (min(at) + make_interval(secs => $2::int) - now())) AS wait"
            " FROM auth_failures WHERE key = ANY($1::text[])"
            " AND at > now() - make_interval(secs => $2::int) GROUP BY key",
            keys_of(username, address),
            self.window,
        )
        waits = [float(row["wait"]) for row in rows if row["n"] >= self.failures]
        if waits:
            raise RateLimited(max(1, math.ceil(max(waits))))

    async def failed(self, username: str, address: str) -> None:
        await self.pool.execute(
            "INSERT INTO auth_failures (key) SELECT unnest($1::text[])",
            keys_of(username, address),
        )
        if time.monotonic() - self._pruned > PRUNE_EVERY:
            self._pruned = time.monotonic()
            await self.pool.execute(
                "DELETE FROM auth_failures WHERE at < now() - make_interval(secs => $1::int)",
                self.window,
            )

"""What the pull-through cache holds, read from its state in PostgreSQL (for the JSON API).

`summary` totals each upstream's cached blobs and manifests: objects are counted per
repository (a blob cached for two repositories is two objects), bytes once per digest (as
storage keeps them). `objects` lists cached objects with their origin and access data, most
recently used first (`recent`) or least recently used first (`idle`, the order in which an
eviction would take them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from registry.index.filters import InvalidQuery
from registry.index.paging import Page, decode_cursor, page_of

KINDS = ("blob", "manifest")
ORDERS = ("recent", "idle")

SUMMARY = """
WITH totals AS (
    SELECT upstream, kind, count(*) AS objects, sum(hits)::bigint AS hits,
           max(last_access_at) AS last_access_at
    FROM proxy_objects GROUP BY upstream, kind
), stored AS (
    SELECT upstream, kind, sum(size)::bigint AS bytes
    FROM (SELECT DISTINCT ON (upstream, kind, digest) upstream, kind, digest, size
          FROM proxy_objects) AS distinct_digests
    GROUP BY upstream, kind
)
SELECT t.upstream, t.kind, t.objects, t.hits, t.last_access_at, s.bytes
FROM totals t JOIN stored s USING (upstream, kind)
"""

_COLUMNS = "repository, digest, kind, upstream, remote, size, cached_at, last_access_at, hits"


@dataclass(frozen=True)
class ObjectQuery:
    upstream: str | None = None
    repository: str | None = None
    kind: str | None = None
    order: str = "recent"


def parse_object_query(given: dict[str, str]) -> ObjectQuery:
    """The filters of an objects listing (`upstream`, `repository`, `kind`, `order`)."""
    kind = given.get("kind")
    if kind is not None and kind not in KINDS:
        raise InvalidQuery("kind", kind, "one of " + ", ".join(KINDS))
    order = given.get("order", "recent")
    if order not in ORDERS:
        raise InvalidQuery("order", order, "one of " + ", ".join(ORDERS))
    return ObjectQuery(given.get("upstream"), given.get("repository"), kind, order)


def _empty(upstream: dict[str, Any]) -> dict[str, Any]:
    zero = {"objects": 0, "bytes": 0, "hits": 0}
    return {**upstream, "blobs": dict(zero), "manifests": dict(zero), "last_access_at": None}


async def summary(pool: Any, upstreams: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each configured upstream (`name`, ...) with its totals; also upstreams no longer
    configured that still have cached objects."""
    found = {upstream["name"]: _empty(upstream) for upstream in upstreams}
    for row in await pool.fetch(SUMMARY):
        gone = {"name": row["upstream"], "url": None, "prefixes": []}
        entry = found.setdefault(row["upstream"], _empty(gone))
        entry[row["kind"] + "s"] = {
            "objects": row["objects"],
            "bytes": row["bytes"],
            "hits": row["hits"],
        }
        seen = entry["last_access_at"]
        last = row["last_access_at"].isoformat()
        entry["last_access_at"] = last if seen is None else max(seen, last)
    return list(found.values())


def _object(row: Any) -> dict[str, Any]:
    return {
        "repository": row["repository"],
        "digest": row["digest"],
        "kind": row["kind"],
        "upstream": row["upstream"],
        "remote": row["remote"],
        "size": row["size"],
        "cached_at": row["cached_at"].isoformat(),
        "last_access_at": row["last_access_at"].isoformat(),
        "hits": row["hits"],
    }


def _after(query: ObjectQuery, cursor: str, start: int) -> tuple[str, list[Any]]:
    """The keyset condition that resumes after the cursor's row, and its arguments."""
    last, repository, digest = decode_cursor(cursor, 3)
    try:
        values = [datetime.fromisoformat(last), str(repository), str(digest)]
    except (TypeError, ValueError):
        raise InvalidQuery("cursor", cursor, "not a cursor of this API") from None
    compare = ">" if query.order == "idle" else "<"
    placeholders = f"(${start}::timestamptz, ${start + 1}::text, ${start + 2}::text)"
    return f"(last_access_at, repository, digest) {compare} {placeholders}", values


async def objects(pool: Any, query: ObjectQuery, limit: int, cursor: str | None) -> Page:
    """One page of cached objects in the query's order, one page per keyset cursor."""
    conditions: list[str] = []
    args: list[Any] = [limit + 1]
    for column in ("upstream", "repository", "kind"):
        value = getattr(query, column)
        if value is not None:
            args.append(value)
            conditions.append(f"{column} = ${len(args)}::text")
    if cursor is not None:
        condition, values = _after(query, cursor, len(args) + 1)
        conditions.append(condition)
        args += values
    direction = "ASC" if query.order == "idle" else "DESC"
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM proxy_objects WHERE {' AND '.join(conditions) or 'true'}"
        f" ORDER BY last_access_at {direction}, repository {direction}, digest {direction}"
        " LIMIT $1::int",
        *args,
    )
    return page_of(
        rows,
        limit,
        _object,
        lambda row: [row["last_access_at"].isoformat(), row["repository"], row["digest"]],
    )

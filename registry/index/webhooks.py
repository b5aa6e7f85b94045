"""Webhooks and their delivery history in PostgreSQL; input checks, no HTTP here.

A webhook receives the events of some actions (push, pull, delete, tag) on the repositories
its `namespace` selects:

- `*`: every repository;
- a prefix ending in `/`, e.g. `team-a/`: every repository under it;
- a pattern with `*`, e.g. `team-*/llm-*`: `*` stands for any characters, `/` included;
- a repository name, e.g. `team-a/resnet`: that repository and those under it.

The secret signs each delivery (see registry/index/delivery.py); it is returned once, by the
create call, and never again.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from registry.index.events import ACTIONS
from registry.index.filters import InvalidQuery
from registry.index.paging import Page, decode_cursor, page_of
from registry.index.queries import like_pattern

MAX_URL = 2048
MAX_NAMESPACE = 255
MIN_SECRET = 16
MAX_SECRET = 256
FIELDS = frozenset({"namespace", "url", "secret", "events", "enabled"})
STATUSES = ("pending", "delivered", "dead")


class InvalidWebhook(ValueError):
    """A webhook definition that cannot be accepted; `field` names the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class NewWebhook:
    namespace: str
    patterns: list[str]
    url: str
    secret: str
    actions: list[str]
    enabled: bool


def patterns_of(namespace: str) -> list[str]:
    """The LIKE patterns (escape `\\`) of the repositories a namespace selects."""
    if namespace == "*":
        return ["%"]
    if "*" in namespace:
        return [like_pattern(namespace)]
    if namespace.endswith("/"):
        return [like_pattern(namespace, glob=False) + "%"]
    exact = like_pattern(namespace, glob=False)
    return [exact, exact + "/%"]


def _text(body: dict[str, Any], field: str, limit: int) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidWebhook(field, "a non-empty string is required")
    if len(value) > limit:
        raise InvalidWebhook(field, f"longer than {limit} characters")
    if "\x00" in value or not value.isprintable():
        raise InvalidWebhook(field, "contains control characters")
    return value


def _url(body: dict[str, Any]) -> str:
    url = _text(body, "url", MAX_URL)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise InvalidWebhook("url", "not a URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidWebhook("url", "an absolute http:// or https:// URL is required")
    if port == 0 or " " in url:
        raise InvalidWebhook("url", "not a URL")
    return url


def _actions(body: dict[str, Any]) -> list[str]:
    value = body.get("events", list(ACTIONS))
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(item, str) and item in ACTIONS for item in value)
    ):
        raise InvalidWebhook("events", "a non-empty list of " + ", ".join(ACTIONS))
    return sorted(set(value), key=ACTIONS.index)


def parse_webhook(body: Any) -> NewWebhook:
    """The webhook a create request describes; the secret is generated when not given."""
    body = _object(body)
    namespace = _text(body, "namespace", MAX_NAMESPACE).strip()
    secret = _secret(body) if "secret" in body else secrets.token_hex(32)
    return NewWebhook(
        namespace, patterns_of(namespace), _url(body), secret, _actions(body), _enabled(body)
    )


def _secret(body: dict[str, Any]) -> str:
    secret = _text(body, "secret", MAX_SECRET)
    if len(secret) < MIN_SECRET:
        raise InvalidWebhook("secret", f"at least {MIN_SECRET} characters")
    return secret


def _enabled(body: dict[str, Any]) -> bool:
    enabled = body.get("enabled", True)
    if not isinstance(enabled, bool):
        raise InvalidWebhook("enabled", "true or false")
    return enabled


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidWebhook("body", "a JSON object is required")
    unknown = sorted(set(body) - FIELDS)
    if unknown:
        raise InvalidWebhook(unknown[0], "unknown field")
    return body


def parse_changes(body: Any) -> dict[str, Any]:
    """The columns an edit request sets (any of the create fields, at least one)."""
    body = _object(body)
    if not body:
        raise InvalidWebhook("body", "at least one field to change is required")
    changes: dict[str, Any] = {}
    if "namespace" in body:
        namespace = _text(body, "namespace", MAX_NAMESPACE).strip()
        changes["namespace"] = namespace
        changes["patterns"] = patterns_of(namespace)
    if "url" in body:
        changes["url"] = _url(body)
    if "secret" in body:
        changes["secret"] = _secret(body)
    if "events" in body:
        changes["actions"] = _actions(body)
    if "enabled" in body:
        changes["enabled"] = _enabled(body)
    return changes


def parse_id(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


_COLUMNS = "id, namespace, url, actions, enabled, created_at"


def _webhook(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "namespace": row["namespace"],
        "url": row["url"],
        "events": list(row["actions"]),
        "enabled": row["enabled"],
        "created_at": _iso(row["created_at"]),
    }


async def create(pool: Any, webhook: NewWebhook) -> dict[str, Any]:
    """Store a webhook; its item, with the secret (the only time it is shown)."""
    row = await pool.fetchrow(
        "INSERT INTO webhooks (id, namespace, patterns, url, secret, actions, enabled)"
        f" VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_COLUMNS}",
        uuid.uuid4(),
        webhook.namespace,
        webhook.patterns,
        webhook.url,
        webhook.secret,
        webhook.actions,
        webhook.enabled,
    )
    return {**_webhook(row), "secret": webhook.secret}


async def get(pool: Any, webhook_id: uuid.UUID) -> dict[str, Any] | None:
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM webhooks WHERE id = $1", webhook_id)
    return _webhook(row) if row is not None else None


async def update(
    pool: Any, webhook_id: uuid.UUID, changes: dict[str, Any]
) -> dict[str, Any] | None:
    """Apply `parse_changes` output; the webhook as it is now, None if there is none.
    Pending deliveries go to the new URL with the new secret."""
    assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(changes, start=2))
    row = await pool.fetchrow(
        f"UPDATE webhooks SET {assignments} WHERE id = $1 RETURNING {_COLUMNS}",
        webhook_id,
        *changes.values(),
    )
    return _webhook(row) if row is not None else None


async def delete(pool: Any, webhook_id: uuid.UUID) -> bool:
    """Remove a webhook and its delivery history; whether it existed."""
    found = await pool.fetchval("DELETE FROM webhooks WHERE id = $1 RETURNING true", webhook_id)
    return bool(found)


async def list_webhooks(pool: Any, limit: int, cursor: str | None) -> Page:
    """Webhooks, newest first, one page per keyset cursor."""
    args: list[Any] = [limit + 1]
    where = "true"
    if cursor is not None:
        created, ident = decode_cursor(cursor, 2)
        try:
            args += [datetime.fromisoformat(created), uuid.UUID(ident)]
        except (TypeError, ValueError):
            raise InvalidQuery("cursor", cursor, "not a cursor of this API") from None
        where = "(created_at, id) < ($2::timestamptz, $3::uuid)"
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM webhooks WHERE {where}"
        " ORDER BY created_at DESC, id DESC LIMIT $1::int",
        *args,
    )
    return page_of(
        rows, limit, _webhook, lambda row: [row["created_at"].isoformat(), str(row["id"])]
    )


def _delivery(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_id": str(row["event_id"]),
        "action": row["action"],
        "repository": row["repository"],
        "status": row["status"],
        "attempts": row["attempts"],
        "last_status_code": row["last_status_code"],
        "last_error": row["last_error"],
        "next_attempt_at": _iso(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "delivered_at": _iso(row["delivered_at"]),
    }


async def list_deliveries(
    pool: Any, webhook_id: uuid.UUID, limit: int, cursor: str | None, status: str | None
) -> Page:
    """Deliveries of one webhook, newest first, one page per keyset cursor."""
    args: list[Any] = [webhook_id, limit + 1, status]
    where = "d.webhook_id = $1 AND ($3::text IS NULL OR d.status = $3::text)"
    if cursor is not None:
        kind, last = decode_cursor(cursor, 2)
        if (
            kind != "delivery"
            or not isinstance(last, int)
            or isinstance(last, bool)
            or not 0 <= last < 2**63
        ):
            raise InvalidQuery("cursor", cursor, "not a cursor of this API")
        args.append(last)
        where += " AND d.id < $4::bigint"
    rows = await pool.fetch(
        "SELECT d.id, d.event_id, e.action, e.repository, d.status, d.attempts,"
        " d.last_status_code, d.last_error, d.next_attempt_at, d.created_at, d.updated_at,"
        " d.delivered_at FROM deliveries d JOIN events e ON e.id = d.event_id"
        f" WHERE {where} ORDER BY d.id DESC LIMIT $2::int",
        *args,
    )
    return page_of(rows, limit, _delivery, lambda row: ["delivery", row["id"]])

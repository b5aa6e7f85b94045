"""Webhook management under `/api/v1/webhooks` (JSON): create, list, get, edit, delete, and the
delivery history of one webhook. Stored in the PostgreSQL index; 503 when it is off."""

from __future__ import annotations

import json
import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from registry.errors import ErrorCode, RegistryError
from registry.handlers.models import index_pool
from registry.handlers.query import invalid_query, single_parameters
from registry.index import paging, webhooks
from registry.index.filters import InvalidQuery

WEBHOOK_INVALID = ErrorCode("WEBHOOK_INVALID", 400, "invalid webhook definition")
WEBHOOK_UNKNOWN = ErrorCode("WEBHOOK_UNKNOWN", 404, "webhook unknown to registry")
MAX_BODY = 64 << 10

_LIST = frozenset({"limit", "cursor"})
_DELIVERIES = frozenset({"limit", "cursor", "status"})


def _query(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    """The single-valued query parameters of an endpoint that accepts only `allowed`."""
    found = single_parameters(request, allowed)
    try:
        if "limit" in found:
            paging.page_limit(found["limit"])
        if found.get("status", "pending") not in webhooks.STATUSES:
            raise InvalidQuery("status", found["status"], "one of " + ", ".join(webhooks.STATUSES))
    except InvalidQuery as exc:
        raise invalid_query(exc) from None
    return found


def _webhook_id(request: Request) -> uuid.UUID:
    text: str = request.path_params["id"]
    found = webhooks.parse_id(text)
    if found is None:
        raise RegistryError(WEBHOOK_UNKNOWN, {"id": text})
    return found


async def _body(request: Request) -> object:
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            raise RegistryError(
                WEBHOOK_INVALID, {"limit": MAX_BODY}, message="request body too large", status=413
            )
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise RegistryError(WEBHOOK_INVALID, {"reason": "the body is not JSON"}) from None


def _invalid_webhook(exc: webhooks.InvalidWebhook) -> RegistryError:
    return RegistryError(
        WEBHOOK_INVALID,
        {"field": exc.field, "reason": exc.reason},
        message=f"invalid webhook field {exc.field!r}: {exc.reason}",
    )


async def create_webhook(request: Request) -> Response:
    """`POST /api/v1/webhooks`: 201 with the webhook and its secret (shown only here)."""
    _query(request, frozenset())
    try:
        new = webhooks.parse_webhook(await _body(request))
    except webhooks.InvalidWebhook as exc:
        raise _invalid_webhook(exc) from None
    async with index_pool(request) as pool:
        created = await webhooks.create(pool, new)
    return JSONResponse(
        created, status_code=201, headers={"Location": f"/api/v1/webhooks/{created['id']}"}
    )


async def list_webhooks(request: Request) -> Response:
    """`GET /api/v1/webhooks`: newest first, one page per cursor; secrets left out."""
    given = _query(request, _LIST)
    async with index_pool(request) as pool:
        try:
            page = await webhooks.list_webhooks(
                pool, paging.page_limit(given.get("limit")), given.get("cursor") or None
            )
        except InvalidQuery as exc:
            raise invalid_query(exc) from None
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})


async def get_webhook(request: Request) -> Response:
    """`GET /api/v1/webhooks/{id}`: the webhook, without its secret."""
    _query(request, frozenset())
    webhook_id = _webhook_id(request)
    async with index_pool(request) as pool:
        found = await webhooks.get(pool, webhook_id)
    if found is None:
        raise RegistryError(WEBHOOK_UNKNOWN, {"id": str(webhook_id)})
    return JSONResponse(found)


async def update_webhook(request: Request) -> Response:
    """`PATCH /api/v1/webhooks/{id}`: change some fields; 200 with the webhook (no secret)."""
    _query(request, frozenset())
    webhook_id = _webhook_id(request)
    try:
        changes = webhooks.parse_changes(await _body(request))
    except webhooks.InvalidWebhook as exc:
        raise _invalid_webhook(exc) from None
    async with index_pool(request) as pool:
        updated = await webhooks.update(pool, webhook_id, changes)
    if updated is None:
        raise RegistryError(WEBHOOK_UNKNOWN, {"id": str(webhook_id)})
    return JSONResponse(updated)


async def delete_webhook(request: Request) -> Response:
    """`DELETE /api/v1/webhooks/{id}`: removes it and its delivery history; 204."""
    _query(request, frozenset())
    webhook_id = _webhook_id(request)
    async with index_pool(request) as pool:
        found = await webhooks.delete(pool, webhook_id)
    if not found:
        raise RegistryError(WEBHOOK_UNKNOWN, {"id": str(webhook_id)})
    return Response(status_code=204)


async def list_deliveries(request: Request) -> Response:
    """`GET /api/v1/webhooks/{id}/deliveries`: newest first, one page per cursor."""
    given = _query(request, _DELIVERIES)
    webhook_id = _webhook_id(request)
    async with index_pool(request) as pool:
        if await webhooks.get(pool, webhook_id) is None:
            raise RegistryError(WEBHOOK_UNKNOWN, {"id": str(webhook_id)})
        try:
            page = await webhooks.list_deliveries(
                pool,
                webhook_id,
                paging.page_limit(given.get("limit")),
                given.get("cursor") or None,
                given.get("status"),
            )
        except InvalidQuery as exc:
            raise invalid_query(exc) from None
    return JSONResponse({"items": page.items, "next_cursor": page.next_cursor})

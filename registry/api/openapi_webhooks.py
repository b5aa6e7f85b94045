"""The webhook API's part of the OpenAPI document (see registry/api/openapi.py)."""

from __future__ import annotations

from registry.api.schema import (
    COUNT,
    DATE_TIME,
    PAGE_PARAMETERS,
    JsonSchema,
    closed_object,
    error,
    json_body,
    nullable,
    page,
    query,
    ref,
)
from registry.index import webhooks
from registry.index.events import ACTIONS

UNAVAILABLE = error("The index (which holds the webhooks) is disabled or unreachable.")
INVALID = error("A query or path parameter is invalid (code QUERY_INVALID).")

WEBHOOK: dict[str, JsonSchema] = {
    "id": {"type": "string", "format": "uuid"},
    "namespace": {
        "type": "string",
        "description": "The repositories whose events are sent: `*` (all), a prefix ending in "
        "`/` (`team-a/`), a glob with `*` (`team-*/llm-*`), or a repository name (it and the "
        "repositories under it).",
    },
    "url": {"type": "string", "description": "Receiver; each event is POSTed here."},
    "events": {
        "type": "array",
        "items": {"type": "string", "enum": list(ACTIONS)},
        "description": "Actions sent: `push` (manifest PUT), `pull` (manifest GET), `delete` "
        "(manifest or tag), `tag` (a tag created or moved).",
    },
    "enabled": {"type": "boolean"},
    "created_at": DATE_TIME,
}

WEBHOOK_INPUT: dict[str, JsonSchema] = {
    "namespace": {**WEBHOOK["namespace"], "minLength": 1, "maxLength": webhooks.MAX_NAMESPACE},
    "url": {
        "type": "string",
        "minLength": 1,
        "maxLength": webhooks.MAX_URL,
        "description": "An absolute http:// or https:// URL.",
    },
    "secret": {
        "type": "string",
        "minLength": webhooks.MIN_SECRET,
        "maxLength": webhooks.MAX_SECRET,
        "description": "Signing key; generated when left out.",
    },
    "events": {**WEBHOOK["events"], "minItems": 1, "description": "Default: all."},
    "enabled": {"type": "boolean", "default": True},
}

SCHEMAS: dict[str, JsonSchema] = {
    "Webhook": closed_object(WEBHOOK, "A webhook; its secret is never shown after creation."),
    "CreatedWebhook": closed_object(
        {
            **WEBHOOK,
            "secret": {
                "type": "string",
                "description": "Key of the HMAC-SHA256 `X-Modelyard-Signature` of each "
                "delivery; shown in this answer only.",
            },
        }
    ),
    "WebhookInput": {
        "type": "object",
        "properties": WEBHOOK_INPUT,
        "required": ["namespace", "url"],
        "additionalProperties": False,
    },
    "WebhookChanges": {
        "type": "object",
        "properties": {
            **WEBHOOK_INPUT,
            "secret": {**WEBHOOK_INPUT["secret"], "description": "A new signing key."},
            "events": {**WEBHOOK["events"], "minItems": 1},
            "enabled": {"type": "boolean"},
        },
        "minProperties": 1,
        "additionalProperties": False,
    },
    "WebhookPage": page("Webhook"),
    "Delivery": closed_object(
        {
            "id": {"type": "integer", "minimum": 1},
            "event_id": {"type": "string", "format": "uuid"},
            "action": {"type": "string", "enum": list(ACTIONS)},
            "repository": {"type": "string"},
            "status": {
                "type": "string",
                "enum": list(webhooks.STATUSES),
                "description": "`pending` (waiting or being sent), `delivered` (a 2xx answer), "
                "`dead` (every attempt failed).",
            },
            "attempts": COUNT,
            "last_status_code": nullable("integer"),
            "last_error": nullable("string"),
            "next_attempt_at": nullable(
                "string", format="date-time", description="When pending: the next attempt."
            ),
            "created_at": DATE_TIME,
            "updated_at": DATE_TIME,
            "delivered_at": nullable("string", format="date-time"),
        },
        "One event sent (or to be sent) to one webhook.",
    ),
    "DeliveryPage": page("Delivery"),
}

WEBHOOK_ID: JsonSchema = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "Webhook id (a UUID).",
    "schema": {"type": "string"},
}

PATHS: dict[str, JsonSchema] = {
    "/api/v1/webhooks": {
        "get": {
            "operationId": "listWebhooks",
            "summary": "List webhooks",
            "description": "Newest first, one page at a time; secrets are never listed.",
            "parameters": PAGE_PARAMETERS,
            "responses": {
                "200": json_body(ref("WebhookPage"), "A page of webhooks."),
                "400": INVALID,
                "503": UNAVAILABLE,
            },
        },
        "post": {
            "operationId": "createWebhook",
            "summary": "Create a webhook",
            "description": "Events of the chosen actions on repositories of the namespace are "
            'POSTed to `url` in the distribution envelope `{"events": [...]}` '
            "(`application/vnd.docker.distribution.events.v2+json`), at least once, retried "
            "with backoff. Headers: `X-Modelyard-Event-Id` (deduplicate on it), "
            "`X-Modelyard-Delivery-Id`, `X-Modelyard-Timestamp` (Unix seconds) and "
            "`X-Modelyard-Signature: sha256=<hex>`, the HMAC-SHA256 of "
            "`<timestamp>.<body>` keyed with the secret.",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("WebhookInput")}},
            },
            "responses": {
                "201": json_body(
                    ref("CreatedWebhook"), "Created; the only answer with the secret."
                ),
                "400": error("The definition is invalid (WEBHOOK_INVALID) or a query parameter."),
                "413": error("The body is larger than 64 KiB."),
                "503": UNAVAILABLE,
            },
        },
    },
    "/api/v1/webhooks/{id}": {
        "get": {
            "operationId": "getWebhook",
            "summary": "One webhook",
            "parameters": [WEBHOOK_ID],
            "responses": {
                "200": json_body(ref("Webhook"), "The webhook (without its secret)."),
                "400": INVALID,
                "404": error("No such webhook (WEBHOOK_UNKNOWN)."),
                "503": UNAVAILABLE,
            },
        },
        "patch": {
            "operationId": "updateWebhook",
            "summary": "Edit a webhook",
            "description": "Sets the fields given, at least one. A new `url` or `secret` "
            "applies to deliveries still pending too; `enabled: false` stops new events "
            "(pending deliveries are still tried).",
            "parameters": [WEBHOOK_ID],
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": ref("WebhookChanges")}},
            },
            "responses": {
                "200": json_body(ref("Webhook"), "The webhook as it is now (without its secret)."),
                "400": error("The changes are invalid (WEBHOOK_INVALID) or a query parameter."),
                "404": error("No such webhook (WEBHOOK_UNKNOWN)."),
                "413": error("The body is larger than 64 KiB."),
                "503": UNAVAILABLE,
            },
        },
        "delete": {
            "operationId": "deleteWebhook",
            "summary": "Delete a webhook",
            "description": "Stops its deliveries and drops its delivery history.",
            "parameters": [WEBHOOK_ID],
            "responses": {
                "204": {"description": "Deleted."},
                "400": INVALID,
                "404": error("No such webhook (WEBHOOK_UNKNOWN)."),
                "503": UNAVAILABLE,
            },
        },
    },
    "/api/v1/webhooks/{id}/deliveries": {
        "get": {
            "operationId": "listDeliveries",
            "summary": "Delivery history of a webhook",
            "description": "Newest first, one page at a time.",
            "parameters": [
                WEBHOOK_ID,
                *PAGE_PARAMETERS,
                query(
                    "status",
                    "Only deliveries in this state.",
                    {"type": "string", "enum": list(webhooks.STATUSES)},
                ),
            ],
            "responses": {
                "200": json_body(ref("DeliveryPage"), "A page of deliveries."),
                "400": INVALID,
                "404": error("No such webhook (WEBHOOK_UNKNOWN)."),
                "503": UNAVAILABLE,
            },
        }
    },
}

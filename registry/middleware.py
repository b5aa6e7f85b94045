"""The request boundary: request ids, common headers, access log, metrics, and errors.

Every exception a handler raises ends here: client errors become OCI error bodies,
anything else is logged with the request id and answered as a clean 500.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.errors import UNKNOWN, RegistryError, as_registry_error, error_response
from registry.index.usage import ERROR
from registry.metrics import Metrics
from registry.reference import is_valid_name

log = logging.getLogger("modelyard")
access_log = logging.getLogger("modelyard.access")

API_VERSION = (b"docker-distribution-api-version", b"registry/2.0")
REPOSITORY_ROUTE = "/v2/{name:path}/"


class RequestMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, access: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or os.urandom(8).hex()
        scope.setdefault("state", {})["request_id"] = request_id
        state: dict[str, Any] = {"status": 0, "bytes_in": 0, "bytes_out": 0, "started": False}
        started = time.perf_counter()

        async def counting_receive() -> Message:
            message = await receive()
            state["bytes_in"] += len(message.get("body", b""))
            return message

        async def tagging_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                headers = list(message.get("headers", []))
                headers.append(API_VERSION)
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
                state["length"] = _header_of(headers, b"content-length")
            elif kind == "http.response.body":
                state["bytes_out"] += len(message.get("body", b""))
            elif kind == "http.response.pathsend":
                state["bytes_out"] += int(state.get("length") or 0)
            await send(message)

        try:
            await self.app(scope, counting_receive, tagging_send)
        except ClientDisconnect:
            log.info("client disconnected", extra={"request_id": request_id})
            state["status"] = state["status"] or 499
        except Exception as exc:
            error = as_registry_error(exc)
            if error is None:
                log.exception("unhandled error, request_id=%s", request_id)
                error = RegistryError(UNKNOWN, {"request_id": request_id})
            if not state["started"]:
                await error_response(error)(scope, counting_receive, tagging_send)
            else:
                state["status"] = state["status"] or error.status
        self._record(scope, request_id, state, time.perf_counter() - started)

    def _record(self, scope: Scope, request_id: str, state: dict[str, Any], seconds: float) -> None:
        route = scope.get("route")
        label = getattr(route, "path", "unmatched")
        status = str(state["status"])
        self.metrics.requests.labels(label, scope["method"], status).inc()
        self.metrics.request_seconds.labels(label).observe(seconds)
        self.metrics.bytes_in.inc(state["bytes_in"])
        self.metrics.bytes_out.inc(state["bytes_out"])
        if state["status"] >= 400 and label.startswith(REPOSITORY_ROUTE):
            _count_error(scope)
        if self.access:
            access_log.info(
                json.dumps(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": state["status"],
                        "bytes_in": state["bytes_in"],
                        "bytes_out": state["bytes_out"],
                        "ms": round(seconds * 1000, 2),
                        "client": (scope.get("client") or ("", 0))[0],
                    }
                )
            )


def _count_error(scope: Scope) -> None:
    """An error answer on a `/v2/<name>/...` route counts against that repository."""
    app = scope.get("app")
    usage = getattr(getattr(app, "state", None), "usage", None)
    name = scope.get("path_params", {}).get("name")
    if usage is not None and isinstance(name, str) and is_valid_name(name):
        usage.record(name, "", ERROR)


def _header_of(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    value = _header_of(scope.get("headers", []), name)
    if value is None or len(value) > 128 or not value.isprintable():
        return None
    return value

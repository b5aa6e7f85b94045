"""Operations endpoints: `/healthz`, `/readyz`, `/metrics`."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from registry.handlers import params
from storage.errors import StorageError

log = logging.getLogger("modelyard")


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    try:
        await params.store(request).driver.list("/")
    except (StorageError, OSError) as exc:
        log.warning("storage not ready: %s", exc)
        return JSONResponse({"status": "unavailable", "storage": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok"})


async def metrics(request: Request) -> Response:
    return Response(
        generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST
    )

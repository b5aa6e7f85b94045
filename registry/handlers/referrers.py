"""`GET /v2/<name>/referrers/<digest>`: an OCI image index of the subject's referrers."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from registry.digest import Digest
from registry.handlers import params
from registry.manifest import OCI_INDEX, Descriptor
from registry.referrers import Referrers

log = logging.getLogger("modelyard")


async def _from_index(
    request: Request, name: str, subject: Digest, artifact_type: str | None
) -> list[Descriptor] | None:
    """Referrers from the index when it is complete for the repository, else None."""
    index = params.index(request)
    if index is None:
        return None
    try:
        return await index.referrers(name, subject, artifact_type)
    except Exception:
        log.exception("referrers index unavailable for %s; reading storage", name)
        return None


async def list_referrers(request: Request) -> Response:
    name = params.repository(request)
    subject = params.digest(request.path_params["digest"])
    artifact_type = request.query_params.get("artifactType") or None
    proxied = params.proxied(request, name)
    if proxied is not None:
        upstream = await proxied[0].listing.referrers(proxied[1], subject, artifact_type)
        if upstream is not None:
            index, filtered = upstream
            applied = {"OCI-Filters-Applied": "artifactType"} if filtered else {}
            return JSONResponse(index, headers=applied, media_type=OCI_INDEX)
    found = await _from_index(request, name, subject, artifact_type)
    if found is None:
        referrers: Referrers = request.app.state.referrers
        found = await referrers.of(name, subject, artifact_type)
    headers = {"OCI-Filters-Applied": "artifactType"} if artifact_type else {}
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [descriptor.to_json() for descriptor in found],
    }
    return JSONResponse(body, headers=headers, media_type=OCI_INDEX)

"""`GET /v2/<name>/referrers/<digest>`: an OCI image index of the subject's referrers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from registry.handlers import params
from registry.manifest import OCI_INDEX
from registry.referrers import Referrers


async def list_referrers(request: Request) -> Response:
    name = params.repository(request)
    subject = params.digest(request.path_params["digest"])
    artifact_type = request.query_params.get("artifactType") or None
    referrers: Referrers = request.app.state.referrers
    found = await referrers.of(name, subject, artifact_type)
    headers = {"OCI-Filters-Applied": "artifactType"} if artifact_type else {}
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [descriptor.to_json() for descriptor in found],
    }
    return JSONResponse(body, headers=headers, media_type=OCI_INDEX)

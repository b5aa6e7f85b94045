"""`GET /v2/<name>/tags/list`, lexically sorted, paginated with `n` and `last`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from registry.handlers import params


async def list_tags(request: Request) -> Response:
    name = params.repository(request)
    limit, last = params.page(request)
    proxied = params.proxied(request, name)
    if proxied is not None:
        names = await proxied[0].listing.tags(proxied[1])
    else:
        names = await params.store(request).tags.names(name)
    chosen, headers = params.paginate(names, limit, last, f"/v2/{name}/tags/list")
    return JSONResponse({"name": name, "tags": chosen}, headers=headers)

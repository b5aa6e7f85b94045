"""`GET /v2/_catalog`: repository names, paginated like the tags list."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.request import visibility
from registry.handlers import params
from storage.repositories import repository_names


async def catalog(request: Request) -> Response:
    limit, last = params.page(request)
    names = await repository_names(params.store(request).driver)
    proxy = params.proxy(request)
    if proxy is not None:
        names = await proxy.listing.catalog(names)
    visible = await visibility(request)
    if visible is not None:
        names = [name for name in names if visible(name)]
    chosen, headers = params.paginate(names, limit, last, "/v2/_catalog")
    return JSONResponse({"repositories": chosen}, headers=headers)

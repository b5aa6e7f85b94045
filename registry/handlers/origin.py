"""What events record of the request that caused them."""

from __future__ import annotations

from starlette.requests import Request

from registry.handlers import params
from registry.index.events import PULL, Origin, Target, new_event


def origin(request: Request) -> Origin:
    """The request's id (as the access log has it), method, user agent, client and host."""
    client = request.client
    return Origin(
        id=str(getattr(request.state, "request_id", "")),
        method=request.method,
        useragent=request.headers.get("user-agent", ""),
        addr=f"{client.host}:{client.port}" if client else "",
        host=request.headers.get("host", ""),
        base_url=str(request.base_url).rstrip("/"),
    )


def record_pull(request: Request, target: Target) -> None:
    """Queue a pull event for the usage counters' next flush (when events are enabled)."""
    index = params.index(request)
    usage = params.usage(request)
    if index is None or usage is None or index.source is None:
        return
    usage.record_event(new_event(PULL, target, origin(request), index.source))

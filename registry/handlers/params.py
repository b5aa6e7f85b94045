"""Parsing of path and query parameters shared by the handlers."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request

from registry.digest import Digest, InvalidDigest
from registry.errors import (
    DIGEST_INVALID,
    MANIFEST_INVALID,
    NAME_INVALID,
    PAGINATION_NUMBER_INVALID,
    RegistryError,
)
from registry.index.indexer import ModelIndex
from registry.index.usage import UsageRecorder
from registry.proxy.mapping import Route
from registry.proxy.service import ProxyService
from registry.reference import is_valid_name, is_valid_tag
from storage.layout import RegistryStore

MAX_PAGE = 10_000


def store(request: Request) -> RegistryStore:
    found: RegistryStore = request.app.state.store
    return found


def index(request: Request) -> ModelIndex | None:
    """The model index, when the database is enabled and open."""
    found: ModelIndex | None = request.app.state.index
    return found


def usage(request: Request) -> UsageRecorder | None:
    """The usage counters, when the database is enabled and open."""
    found: UsageRecorder | None = request.app.state.usage
    return found


def proxy(request: Request) -> ProxyService | None:
    """The pull-through service, when upstreams are configured."""
    found: ProxyService | None = request.app.state.proxy
    return found


def proxied(request: Request, name: str) -> tuple[ProxyService, Route] | None:
    """The pull-through service and the upstream route of a proxied repository."""
    service = proxy(request)
    route = service.route(name) if service is not None else None
    return None if service is None or route is None else (service, route)


def writable(request: Request, name: str) -> str:
    """`name`, after checking that pushes and deletes are allowed there (405 under a
    read-only proxied prefix)."""
    service = proxy(request)
    if service is not None:
        service.check_writable(name)
    return name


def repository(request: Request) -> str:
    name: str = request.path_params["name"]
    if not is_valid_name(name):
        raise RegistryError(NAME_INVALID, {"name": name})
    return name


def digest(value: str) -> Digest:
    try:
        return Digest.parse(value)
    except InvalidDigest as exc:
        raise RegistryError(DIGEST_INVALID, {"digest": value, "reason": str(exc)}) from None


def reference(value: str) -> Digest | str:
    """A manifest reference: a digest when it has a colon, else a tag."""
    if ":" in value:
        return digest(value)
    if not is_valid_tag(value):
        raise RegistryError(MANIFEST_INVALID, {"tag": value, "reason": "invalid tag"})
    return value


def page(request: Request) -> tuple[int | None, str | None]:
    """`n` and `last` of a paginated list."""
    raw = request.query_params.get("n")
    limit = None
    if raw is not None and raw != "":
        try:
            limit = int(raw)
        except ValueError:
            limit = -1
        if limit < 0:
            raise RegistryError(PAGINATION_NUMBER_INVALID, {"n": raw})
        limit = min(limit, MAX_PAGE)
    return limit, request.query_params.get("last") or None


def paginate(
    items: list[str], limit: int | None, last: str | None, url: str
) -> tuple[list[str], dict[str, str]]:
    """The page after `last` of sorted `items`, and a `Link` header when more follow."""
    if last is not None:
        items = [item for item in items if item > last]
    if limit is None or len(items) <= limit:
        return items, {}
    chosen = items[:limit]
    if not chosen:
        return chosen, {}
    link = f'<{url}?n={limit}&last={quote(chosen[-1], safe="")}>; rel="next"'
    return chosen, {"Link": link}

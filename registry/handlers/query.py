"""Query parameters of the JSON API: unknown, repeated or malformed ones are 400 QUERY_INVALID."""

from __future__ import annotations

from starlette.requests import Request

from registry.errors import ErrorCode, RegistryError
from registry.index.filters import InvalidQuery, group_parameters

QUERY_INVALID = ErrorCode("QUERY_INVALID", 400, "invalid query parameter")


def invalid_query(exc: InvalidQuery) -> RegistryError:
    return RegistryError(
        QUERY_INVALID,
        exc.detail(),
        message=f"invalid query parameter {exc.parameter!r}: {exc.reason}",
    )


def single_parameters(request: Request, allowed: frozenset[str]) -> dict[str, str]:
    """The single-valued query parameters of an endpoint that accepts only `allowed`."""
    try:
        grouped = group_parameters(request.query_params.multi_items(), allowed, frozenset())
    except InvalidQuery as exc:
        raise invalid_query(exc) from None
    return {key: values[0] for key, values in grouped.items()}

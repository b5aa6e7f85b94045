"""`/token`: the Docker token endpoint (GET with basic credentials, OAuth2 POST form).

GET `?service=&scope=&account=&offline_token=` answers with `token`/`access_token`,
`expires_in`, `issued_at`, and a `refresh_token` when `offline_token=true`. POST takes a form:
`grant_type=password` (`username`, `password`) or `grant_type=refresh_token`
(`refresh_token`), with `service`, `scope` (space separated) and `client_id`; a password grant
returns a refresh token. Anonymous callers get tokens for what anonymous callers may do
(public namespaces). Granted is only the part of each scope the caller holds.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth.identity import Identity
from auth.middleware import identify, password_login
from auth.request import service_of
from auth.scope import InvalidScope, parse_scopes
from auth.service import AuthService
from auth.tokens import InvalidToken
from registry.errors import UNAUTHORIZED, UNSUPPORTED, ErrorCode, RegistryError

TOKEN_REQUEST_INVALID = ErrorCode("TOKEN_REQUEST_INVALID", 400, "invalid token request")
MAX_FORM_BYTES = 64 << 10


def _service(request: Request) -> AuthService:
    service = service_of(request)
    if service is None:
        raise RegistryError(
            UNSUPPORTED,
            {"reason": "authentication is off (auth.enabled is false)"},
            message="this registry issues no tokens",
            status=404,
        )
    return service


def _invalid(reason: str) -> RegistryError:
    return RegistryError(TOKEN_REQUEST_INVALID, {"reason": reason})


def _check_service(service: AuthService, given: str | None) -> None:
    if given and given != service.config.service:
        raise _invalid(f"unknown service {given!r}")


def _answer(service: AuthService, identity: Identity, scopes: list[str], refresh: bool) -> Response:
    try:
        requested = parse_scopes(scopes)
    except InvalidScope as exc:
        raise _invalid(str(exc)) from None
    issued = service.tokens.issue(identity.name, service.grant(identity, requested))
    body: dict[str, Any] = {
        "token": issued.token,
        "access_token": issued.token,
        "expires_in": issued.expires_in,
        "issued_at": issued.issued_at,
    }
    if refresh and not identity.anonymous:
        body["refresh_token"] = service.tokens.issue_refresh(identity.name)
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


async def get_token(request: Request) -> Response:
    service = _service(request)
    _check_service(service, request.query_params.get("service"))
    identity = await identify(service, request.scope)
    offline = request.query_params.get("offline_token", "").lower() == "true"
    return _answer(service, identity, request.query_params.getlist("scope"), offline)


async def _form(request: Request) -> dict[str, str]:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise _invalid("form too large")
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise _invalid("not a form") from None
    return dict(pairs)


async def post_token(request: Request) -> Response:
    service = _service(request)
    form = await _form(request)
    _check_service(service, form.get("service"))
    scopes = [form.get("scope", "")]
    grant = form.get("grant_type", "")
    if grant == "password":
        username, password = form.get("username", ""), form.get("password", "")
        if not username:
            raise _invalid("username is required")
        identity = await password_login(service, request.scope, username, password)
        return _answer(service, identity, scopes, refresh=True)
    if grant == "refresh_token":
        try:
            subject = service.tokens.verify_refresh(form.get("refresh_token", ""))
        except InvalidToken:
            raise RegistryError(UNAUTHORIZED, {"reason": "invalid refresh token"}) from None
        holder = await service.identify_subject(subject)
        if holder is None:
            raise RegistryError(UNAUTHORIZED, {"reason": "the account no longer exists"})
        return _answer(service, holder, scopes, refresh=False)
    raise _invalid("grant_type must be password or refresh_token")

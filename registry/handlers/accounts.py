"""The account management API under `/api/v1/`: users, groups, robots, namespaces, members.

System administrators may do everything. A namespace admin may read and change their
namespace (public flag, members) and create robots that are members of it. Robot secrets are
returned once, by the POST that creates the robot, and stored only as a bcrypt hash. With
auth off every endpoint answers 404 AUTH_DISABLED.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

from anyio import to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from auth import store
from auth.passwords import WeakPassword, hash_password, new_secret
from auth.rbac import ROLES, Permissions
from auth.request import identity_of, service_of
from auth.service import AuthService
from registry.errors import DENIED, ErrorCode, RegistryError
from registry.reference import is_valid_name

AUTH_DISABLED = ErrorCode("AUTH_DISABLED", 404, "authentication is off on this registry")
ACCOUNT_INVALID = ErrorCode("ACCOUNT_INVALID", 400, "invalid account request")
ACCOUNT_EXISTS = ErrorCode("ACCOUNT_EXISTS", 409, "the entry exists already")
ACCOUNT_UNKNOWN = ErrorCode("ACCOUNT_UNKNOWN", 404, "no such entry")
MAX_BODY_BYTES = 64 << 10

_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
_ROBOT_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


class _Context:
    def __init__(self, service: AuthService, caller: str, permissions: Permissions) -> None:
        self.service = service
        self.caller = caller
        self.permissions = permissions

    def system_admin(self) -> None:
        if not self.permissions.everything:
            raise RegistryError(DENIED, {"reason": "only system administrators may do this"})

    def namespace_admin(self, namespace: str) -> None:
        if not self.permissions.is_admin_of(namespace):
            raise RegistryError(DENIED, {"reason": f"not an admin of namespace {namespace!r}"})

    async def changed(self, what: str, change: Awaitable[None]) -> Response:
        """Await a change of an entry that may not exist (404 naming `what`), then drop the
        cached roles it may affect and answer 204."""
        try:
            await change
        except store.NotFound:
            raise _unknown(what) from None
        self.service.forget()
        return Response(status_code=204)


async def _context(request: Request) -> _Context:
    service, identity = service_of(request), identity_of(request)
    if service is None or identity is None:
        raise RegistryError(AUTH_DISABLED, {"reason": "auth.enabled is false"})
    return _Context(service, identity.name, await service.permissions_of(identity))


def _invalid(reason: str) -> RegistryError:
    return RegistryError(ACCOUNT_INVALID, {"reason": reason})


def _exists(what: str) -> RegistryError:
    return RegistryError(ACCOUNT_EXISTS, {"reason": f"{what} exists already"})


def _unknown(what: str) -> RegistryError:
    return RegistryError(ACCOUNT_UNKNOWN, {"reason": f"no such {what}"})


async def _body(request: Request) -> dict[str, Any]:
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY_BYTES:
            raise _invalid("body too large")
    try:
        body = json.loads(data or b"{}")
        # lone surrogates (`"\ud800"`) parse but cannot be stored or hashed
        json.dumps(body, ensure_ascii=False).encode()
    except ValueError:  # also UnicodeDecodeError and UnicodeEncodeError
        raise _invalid("body is not UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise _invalid("body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str, pattern: re.Pattern[str] | None = None) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value or "\x00" in value:
        raise _invalid(f"{key} is required and must be a non-empty string")
    if pattern is not None and not pattern.match(value):
        raise _invalid(f"{key} {value!r} is not a valid name")
    return value


def _flag(body: dict[str, Any], key: str, default: bool | None = None) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        raise _invalid(f"{key} must be true or false")
    return value


def _role(body: dict[str, Any]) -> str:
    role = body.get("role")
    if role not in ROLES:
        raise _invalid(f"role must be one of {', '.join(ROLES)}")
    return str(role)


def _path(request: Request, key: str, pattern: re.Pattern[str] = _ACCOUNT_NAME) -> str:
    value: str = request.path_params[key]
    if not pattern.match(value):
        raise _unknown(key)
    return value


def _namespace(request: Request) -> str:
    name: str = request.path_params["namespace"]
    if "/" in name or not is_valid_name(name):
        raise _unknown("namespace")
    return name


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def _items(rows: list[dict[str, Any]]) -> Response:
    return JSONResponse({"items": [_jsonable(row) for row in rows]})


async def _hash(context: _Context, secret: str) -> str:
    try:
        return await to_thread.run_sync(hash_password, secret, context.service.config.bcryptcost)
    except WeakPassword as exc:
        raise _invalid(str(exc)) from None


# --------------------------------------------------------------------------- users


async def list_users(request: Request) -> Response:
    context = await _context(request)
    context.system_admin()
    return _items(await store.list_users(context.service.pool))


async def create_user(request: Request) -> Response:
    context = await _context(request)
    context.system_admin()
    body = await _body(request)
    username = _text(body, "username", _ACCOUNT_NAME)
    if username.startswith(store.ROBOT_PREFIX):
        raise _invalid("user names may not start with robot$")
    admin = _flag(body, "admin", False)
    hashed = await _hash(context, _text(body, "password"))
    try:
        await store.create_user(context.service.pool, username, hashed, admin)
    except store.Conflict:
        raise _exists(f"user {username!r}") from None
    return JSONResponse({"username": username, "admin": admin, "groups": []}, status_code=201)


async def delete_user(request: Request) -> Response:
    context = await _context(request)
    context.system_admin()
    return await context.changed(
        "user", store.delete_user(context.service.pool, _path(request, "username"))
    )


# --------------------------------------------------------------------------- groups


async def list_groups(request: Request) -> Response:
    context = await _context(request)
    context.system_admin()
    return _items(await store.list_groups(context.service.pool))


async def create_group(request: Request) -> Response:
    context = await _context(request)
    context.system_admin()
    name = _text(await _body(request), "name", _ACCOUNT_NAME)
    try:
        await store.create_group(context.service.pool, name)
    except store.Conflict:
        raise _exists(f"group {name!r}") from None
    return JSONResponse({"name": name, "members": []}, status_code=201)


async def delete_group(request: Request) -> Response:
    context = await _context(request)
    context.system_admin()
    return await context.changed(
        "group", store.delete_group(context.service.pool, _path(request, "group"))
    )


async def add_group_member(request: Request) -> Response:
    context = await _context(request)
    context.system_admin()
    group, username = _path(request, "group"), _path(request, "username")
    return await context.changed(
        "group or user", store.add_group_member(context.service.pool, group, username)
    )


async def remove_group_member(request: Request) -> Response:
    context = await _context(request)
    context.system_admin()
    group, username = _path(request, "group"), _path(request, "username")
    return await context.changed(
        "group member", store.remove_group_member(context.service.pool, group, username)
    )


# --------------------------------------------------------------------------- robots


async def list_robots(request: Request) -> Response:
    context = await _context(request)
    context.system_admin()
    rows = await store.list_robots(context.service.pool)
    return _items([{**row, "login": store.ROBOT_PREFIX + row["name"]} for row in rows])


async def create_robot(request: Request) -> Response:
    """A robot, optionally made a member of a namespace at once (namespace admins may)."""
    context = await _context(request)
    body = await _body(request)
    name = _text(body, "name", _ROBOT_NAME)
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > 1024 or "\x00" in description:
        raise _invalid("description must be a string of at most 1024 characters")
    namespace = body.get("namespace")
    role = None
    if namespace is None:
        context.system_admin()
    else:
        if not isinstance(namespace, str) or "/" in namespace or not is_valid_name(namespace):
            raise _invalid("namespace must be a namespace name")
        context.namespace_admin(namespace)
        role = _role(body)
        if await store.namespace(context.service.pool, namespace) is None:
            raise _unknown("namespace")
    secret = new_secret()
    pool = context.service.pool
    try:
        await store.create_robot(
            pool, name, await _hash(context, secret), description, context.caller
        )
    except store.Conflict:
        raise _exists(f"robot {name!r}") from None
    if namespace is not None and role is not None:
        await store.set_member(pool, namespace, "robot", name, role)
    login = store.ROBOT_PREFIX + name
    return JSONResponse({"name": name, "login": login, "secret": secret}, status_code=201)


async def delete_robot(request: Request) -> Response:
    context = await _context(request)
    context.system_admin()
    return await context.changed(
        "robot", store.delete_robot(context.service.pool, _path(request, "robot", _ROBOT_NAME))
    )


# --------------------------------------------------------------------------- namespaces


async def list_namespaces(request: Request) -> Response:
    context = await _context(request)
    rows = await store.list_namespaces(context.service.pool)
    return _items([row for row in rows if context.permissions.is_admin_of(row["name"])])


async def create_namespace(request: Request) -> Response:
    context = await _context(request)
    context.system_admin()
    body = await _body(request)
    name = _text(body, "name")
    if "/" in name or not is_valid_name(name):
        raise _invalid(f"{name!r} is not a namespace name (one repository path component)")
    public = _flag(body, "public", False)
    try:
        await store.create_namespace(context.service.pool, name, public)
    except store.Conflict:
        raise _exists(f"namespace {name!r}") from None
    context.service.forget()
    found = await store.namespace(context.service.pool, name)
    return JSONResponse(_jsonable(found or {}), status_code=201)


async def get_namespace(request: Request) -> Response:
    context = await _context(request)
    name = _namespace(request)
    context.namespace_admin(name)
    found = await store.namespace(context.service.pool, name)
    if found is None:
        raise _unknown("namespace")
    return JSONResponse(_jsonable(found))


async def update_namespace(request: Request) -> Response:
    context = await _context(request)
    name = _namespace(request)
    context.namespace_admin(name)
    public = _flag(await _body(request), "public")
    try:
        await store.set_public(context.service.pool, name, public)
    except store.NotFound:
        raise _unknown("namespace") from None
    context.service.forget()
    found = await store.namespace(context.service.pool, name)
    return JSONResponse(_jsonable(found or {}))


async def delete_namespace(request: Request) -> Response:
    context = await _context(request)
    context.system_admin()
    return await context.changed(
        "namespace", store.delete_namespace(context.service.pool, _namespace(request))
    )


# --------------------------------------------------------------------------- members


def _member_path(request: Request) -> tuple[str, str]:
    kind: str = request.path_params["kind"]
    if kind not in store.PRINCIPAL_KINDS:
        raise _unknown("member kind")
    pattern = _ROBOT_NAME if kind == "robot" else _ACCOUNT_NAME
    return kind, _path(request, "principal", pattern)


async def list_members(request: Request) -> Response:
    context = await _context(request)
    name = _namespace(request)
    context.namespace_admin(name)
    if await store.namespace(context.service.pool, name) is None:
        raise _unknown("namespace")
    return _items(await store.list_members(context.service.pool, name))


async def set_member(request: Request) -> Response:
    context = await _context(request)
    name = _namespace(request)
    context.namespace_admin(name)
    kind, principal = _member_path(request)
    role = _role(await _body(request))
    pool = context.service.pool
    if not await store.principal_exists(pool, kind, principal):
        raise _unknown(kind)
    try:
        await store.set_member(pool, name, kind, principal, role)
    except store.NotFound:
        raise _unknown("namespace") from None
    context.service.forget()
    return JSONResponse({"kind": kind, "principal": principal, "role": role})


async def remove_member(request: Request) -> Response:
    context = await _context(request)
    name = _namespace(request)
    context.namespace_admin(name)
    kind, principal = _member_path(request)
    return await context.changed(
        "member", store.remove_member(context.service.pool, name, kind, principal)
    )

"""PostgreSQL queries of users, groups, robots, namespaces, memberships and the signing key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from auth.rbac import rank

Pool = Any
ROBOT_PREFIX = "robot$"
PRINCIPAL_KINDS = ("user", "group", "robot")
_KEY_LOCK = 0x4D59_4B45  # "MYKE"


class Conflict(Exception):
    """The entry exists already."""


class NotFound(Exception):
    """No such entry."""


@dataclass(frozen=True)
class Account:
    """A user or robot as stored: what a login is checked against."""

    name: str
    kind: str
    secret_hash: str
    admin: bool


async def _insert(pool: Pool, sql: str, *args: Any) -> None:
    try:
        await pool.execute(sql, *args)
    except asyncpg.UniqueViolationError:
        raise Conflict() from None
    except asyncpg.ForeignKeyViolationError:
        raise NotFound() from None


async def _delete(pool: Pool, sql: str, *args: Any) -> None:
    if (await pool.execute(sql, *args)).endswith(" 0"):
        raise NotFound()


async def _delete_principal(pool: Pool, kind: str, sql: str, name: str) -> None:
    """Delete a user, robot or group (`sql`) and its namespace memberships, together."""
    async with pool.acquire() as connection, connection.transaction():
        await _delete(connection, sql, name)
        await connection.execute(
            "DELETE FROM auth_members WHERE kind = $1::text AND principal = $2::text", kind, name
        )


# --------------------------------------------------------------------------- accounts


async def account(pool: Pool, login: str) -> Account | None:
    """The user, or the robot for a `robot$<name>` login."""
    if login.startswith(ROBOT_PREFIX):
        row = await pool.fetchrow(
            "SELECT secret_hash FROM auth_robots WHERE name = $1::text", login[len(ROBOT_PREFIX) :]
        )
        return Account(login, "robot", row["secret_hash"], False) if row else None
    row = await pool.fetchrow(
        "SELECT password_hash, admin FROM auth_users WHERE username = $1::text", login
    )
    return Account(login, "user", row["password_hash"], row["admin"]) if row else None


async def create_user(pool: Pool, username: str, password_hash: str, admin: bool) -> None:
    await _insert(
        pool,
        "INSERT INTO auth_users (username, password_hash, admin) VALUES ($1, $2, $3)",
        username,
        password_hash,
        admin,
    )


async def ensure_admin(pool: Pool, username: str, password_hash: str) -> bool:
    """Create the bootstrap administrator unless a user of that name exists; True if created."""
    status: str = await pool.execute(
        "INSERT INTO auth_users (username, password_hash, admin) VALUES ($1, $2, true)"
        " ON CONFLICT (username) DO NOTHING",
        username,
        password_hash,
    )
    return status.endswith(" 1")


async def list_users(pool: Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT u.username, u.admin, u.created_at,"
        " ARRAY(SELECT g.group_name FROM auth_group_members g WHERE g.username = u.username"
        " ORDER BY g.group_name) AS groups FROM auth_users u ORDER BY u.username"
    )
    return [dict(row) for row in rows]


async def delete_user(pool: Pool, username: str) -> None:
    await _delete_principal(
        pool, "user", "DELETE FROM auth_users WHERE username = $1::text", username
    )


async def create_robot(pool: Pool, name: str, secret_hash: str, description: str, by: str) -> None:
    await _insert(
        pool,
        "INSERT INTO auth_robots (name, secret_hash, description, created_by)"
        " VALUES ($1, $2, $3, $4)",
        name,
        secret_hash,
        description,
        by,
    )


async def list_robots(pool: Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT name, description, created_by, created_at FROM auth_robots ORDER BY name"
    )
    return [dict(row) for row in rows]


async def delete_robot(pool: Pool, name: str) -> None:
    await _delete_principal(pool, "robot", "DELETE FROM auth_robots WHERE name = $1::text", name)


# --------------------------------------------------------------------------- groups


async def create_group(pool: Pool, name: str) -> None:
    await _insert(pool, "INSERT INTO auth_groups (name) VALUES ($1)", name)


async def list_groups(pool: Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT g.name, g.created_at, ARRAY(SELECT m.username FROM auth_group_members m"
        " WHERE m.group_name = g.name ORDER BY m.username) AS members"
        " FROM auth_groups g ORDER BY g.name"
    )
    return [dict(row) for row in rows]


async def delete_group(pool: Pool, name: str) -> None:
    await _delete_principal(pool, "group", "DELETE FROM auth_groups WHERE name = $1::text", name)


async def add_group_member(pool: Pool, group: str, username: str) -> None:
    await _insert(
        pool,
        "INSERT INTO auth_group_members (group_name, username) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING",
        group,
        username,
    )


async def remove_group_member(pool: Pool, group: str, username: str) -> None:
    await _delete(
        pool,
        "DELETE FROM auth_group_members WHERE group_name = $1::text AND username = $2::text",
        group,
        username,
    )


# --------------------------------------------------------------------------- namespaces


async def create_namespace(pool: Pool, name: str, public: bool) -> None:
    await _insert(pool, "INSERT INTO auth_namespaces (name, public) VALUES ($1, $2)", name, public)


async def set_public(pool: Pool, name: str, public: bool) -> None:
    await _delete(
        pool, "UPDATE auth_namespaces SET public = $2 WHERE name = $1::text", name, public
    )


async def list_namespaces(pool: Pool) -> list[dict[str, Any]]:
    rows = await pool.fetch("SELECT name, public, created_at FROM auth_namespaces ORDER BY name")
    return [dict(row) for row in rows]


async def namespace(pool: Pool, name: str) -> dict[str, Any] | None:
    row = await pool.fetchrow(
        "SELECT name, public, created_at FROM auth_namespaces WHERE name = $1::text", name
    )
    return dict(row) if row else None


async def delete_namespace(pool: Pool, name: str) -> None:
    await _delete(pool, "DELETE FROM auth_namespaces WHERE name = $1::text", name)


async def public_namespaces(pool: Pool) -> frozenset[str]:
    rows = await pool.fetch("SELECT name FROM auth_namespaces WHERE public")
    return frozenset(row["name"] for row in rows)


async def set_member(pool: Pool, namespace: str, kind: str, principal: str, role: str) -> None:
    await _insert(
        pool,
        "INSERT INTO auth_members (namespace, kind, principal, role) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (namespace, kind, principal) DO UPDATE SET role = EXCLUDED.role",
        namespace,
        kind,
        principal,
        role,
    )


async def list_members(pool: Pool, namespace: str) -> list[dict[str, Any]]:
    rows = await pool.fetch(
        "SELECT kind, principal, role FROM auth_members WHERE namespace = $1::text"
        " ORDER BY kind, principal",
        namespace,
    )
    return [dict(row) for row in rows]


async def remove_member(pool: Pool, namespace: str, kind: str, principal: str) -> None:
    await _delete(
        pool,
        "DELETE FROM auth_members WHERE namespace = $1::text AND kind = $2::text"
        " AND principal = $3::text",
        namespace,
        kind,
        principal,
    )


async def principal_exists(pool: Pool, kind: str, name: str) -> bool:
    table, column = {
        "user": ("auth_users", "username"),
        "group": ("auth_groups", "name"),
        "robot": ("auth_robots", "name"),
    }[kind]
    found = await pool.fetchval(f"SELECT 1 FROM {table} WHERE {column} = $1::text", name)
    return found is not None


async def roles_of(pool: Pool, kind: str, name: str) -> dict[str, str]:
    """The strongest role per namespace of a user (directly or through groups) or robot."""
    if kind == "user":
        rows = await pool.fetch(
            "SELECT namespace, role FROM auth_members WHERE kind = 'user' AND principal = $1::text"
            " UNION ALL SELECT m.namespace, m.role FROM auth_members m"
            " JOIN auth_group_members g ON m.kind = 'group' AND m.principal = g.group_name"
            " WHERE g.username = $1::text",
            name,
        )
    else:
        rows = await pool.fetch(
            "SELECT namespace, role FROM auth_members WHERE kind = $1::text"
            " AND principal = $2::text",
            kind,
            name,
        )
    roles: dict[str, str] = {}
    for row in rows:
        current = roles.get(row["namespace"])
        if current is None or rank(row["role"]) > rank(current):
            roles[row["namespace"]] = row["role"]
    return roles


# --------------------------------------------------------------------------- signing key


async def shared_signing_key(pool: Pool, kid: str, algorithm: str, pem: str) -> tuple[str, str]:
    """The cluster's generated key (algorithm, PEM): the oldest stored, or the one offered."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _KEY_LOCK)
        row = await connection.fetchrow(
            "SELECT algorithm, private_pem FROM auth_keys ORDER BY created_at, kid LIMIT 1"
        )
        if row is not None:
            return row["algorithm"], row["private_pem"]
        await connection.execute(
            "INSERT INTO auth_keys (kid, algorithm, private_pem) VALUES ($1, $2, $3)",
            kid,
            algorithm,
            pem,
        )
        return algorithm, pem

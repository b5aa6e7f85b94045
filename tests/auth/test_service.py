"""Several instances on one PostgreSQL: shared keys, one bootstrap, configured and external keys."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import anyio
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette

from auth.keys import generate
from registry.app import create_app
from registry.config import AdminConfig, DatabaseConfig, ExternalIssuerConfig, TokenConfig
from storage.filesystem import FilesystemDriver
from tests.auth.test_keys import certificate_pem
from tests.registry.helpers import assert_error, push_image
from tests.support.auth import ADMIN, BASE_URL, auth_config, basic, bearer
from tests.support.postgres import drop_schema, new_schema


@asynccontextmanager
async def instance(
    database: DatabaseConfig, root: Path, **auth: object
) -> AsyncIterator[httpx.AsyncClient]:
    app: Starlette = create_app(auth_config(database, **auth), FilesystemDriver(root))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


async def admin_token(client: httpx.AsyncClient, scope: str) -> str:
    response = await client.get("/token", params={"scope": scope}, headers=basic(*ADMIN))
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


async def test_instances_share_the_generated_key_and_one_admin(
    auth_database: DatabaseConfig, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    async with AsyncExitStack() as stack:
        clients: list[httpx.AsyncClient] = []

        async def start() -> None:
            clients.append(await stack.enter_async_context(instance(auth_database, root)))

        async with anyio.create_task_group() as group:
            for _ in range(3):
                group.start_soon(start)
        first, second, third = clients
        token = await admin_token(first, "repository:team/model:pull,push")
        second.headers.update(bearer(token))
        await push_image(second, "team/model", "v1")
        assert (
            await third.get("/v2/team/model/manifests/v1", headers=bearer(token))
        ).status_code == 200
        users = (await second.get("/api/v1/users", headers=basic(*ADMIN))).json()["items"]
        assert [user["username"] for user in users] == ["root"]


async def test_bootstrap_keeps_an_existing_admin_password(
    auth_database: DatabaseConfig, tmp_path: Path
) -> None:
    async with instance(auth_database, tmp_path / "root") as client:
        assert (await client.get("/v2/", headers=basic(*ADMIN))).status_code == 200
    changed = AdminConfig(ADMIN[0], "another-password")
    async with instance(auth_database, tmp_path / "root", admin=changed) as client:
        assert (await client.get("/v2/", headers=basic(*ADMIN))).status_code == 200
        wrong = await client.get("/v2/", headers=basic(ADMIN[0], "another-password"))
        assert_error(wrong, 401, "UNAUTHORIZED")


async def test_configured_private_key_verifies_across_databases(
    database_url: str, auth_database: DatabaseConfig, tmp_path: Path
) -> None:
    key = generate("RS256")
    path = tmp_path / "token.pem"
    path.write_text(key.pem())
    other = dataclasses.replace(auth_database, schema=await new_schema(database_url))
    settings = {"token": TokenConfig(privatekey=str(path))}
    try:
        async with (
            instance(auth_database, tmp_path / "a", **settings) as first,
            instance(other, tmp_path / "b", **settings) as second,
        ):
            token = await admin_token(first, "repository:team/model:pull")
            assert jwt.get_unverified_header(token) == {
                "alg": "RS256",
                "kid": key.kid,
                "typ": "JWT",
            }
            response = await second.get("/v2/team/model/tags/list", headers=bearer(token))
            assert_error(response, 404, "NAME_UNKNOWN")
    finally:
        await drop_schema(database_url, other.schema)


async def test_tokens_of_an_external_issuer(auth_database: DatabaseConfig, tmp_path: Path) -> None:
    harbor_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = tmp_path / "harbor.crt"
    certificate.write_bytes(certificate_pem(harbor_key))
    external = ExternalIssuerConfig("harbor-token-issuer", "harbor-registry", str(certificate))

    def harbor_token(access: list[dict[str, object]], **overrides: object) -> str:
        now = int(time.time())
        claims = {
            "iss": "harbor-token-issuer",
            "sub": "robot$sidecar",
            "aud": "harbor-registry",
            "exp": now + 600,
            "nbf": now - 5,
            "iat": now - 5,
            "jti": "harbor-1",
            "access": access,
            **overrides,
        }
        return jwt.encode(claims, harbor_key, algorithm="RS256", headers={"kid": "ABCD:EFGH"})

    async with instance(auth_database, tmp_path / "root", external=external) as client:
        client.headers.update(basic(*ADMIN))
        await push_image(client, "library/app", "v1")
        await push_image(client, "private/app", "v1")
        del client.headers["Authorization"]
        pull = [{"type": "repository", "name": "library/app", "actions": ["pull"]}]
        token = harbor_token(pull)
        assert (
            await client.get("/v2/library/app/manifests/v1", headers=bearer(token))
        ).status_code == 200
        denied = await client.get("/v2/private/app/manifests/v1", headers=bearer(token))
        assert_error(denied, 403, "DENIED")
        push = await client.post("/v2/library/app/blobs/uploads/", headers=bearer(token))
        assert_error(push, 403, "DENIED")
        models = await client.get("/api/v1/models", headers=bearer(token))
        assert [item["repository"] for item in models.json()["items"]] == ["library/app"]
        expired = harbor_token(pull, exp=int(time.time()) - 600)
        response = await client.get("/v2/library/app/manifests/v1", headers=bearer(expired))
        assert_error(response, 401, "UNAUTHORIZED")
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
        wrong_audience = harbor_token(pull, aud="modelyard")
        response = await client.get("/v2/library/app/manifests/v1", headers=bearer(wrong_audience))
        assert_error(response, 401, "UNAUTHORIZED")

"""The access check on every route: roles, namespaces, tokens, anonymous and public pulls."""

from __future__ import annotations

import base64
import logging
import random
import string

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message

from auth.middleware import AuthMiddleware
from registry.app import create_app
from registry.config import DatabaseConfig
from registry.errors import RegistryError
from storage.inmemory import InMemoryDriver
from tests.registry.helpers import asgi_request, assert_error, push_blob, push_image
from tests.support.auth import PASSWORD, AsUser, Setup, auth_config, basic, bearer

CHALLENGE = 'Bearer realm="http://registry.test/token",service="modelyard"'

TEAMS = {
    "users": ["rita", "dave", "mary", "bob"],
    "namespaces": {"team": False, "other": False, "open": True},
    "members": [
        ("team", "user", "rita", "reader"),
        ("team", "user", "dave", "developer"),
        ("team", "user", "mary", "maintainer"),
        ("other", "user", "bob", "developer"),
    ],
}


@pytest.fixture
async def teams(auth_setup: Setup) -> None:
    await auth_setup(**TEAMS)


async def token(client: httpx.AsyncClient, *scopes: str) -> str:
    response = await client.get(
        "/token", params=[("service", "modelyard"), *(("scope", s) for s in scopes)]
    )
    assert response.status_code == 200, response.text
    value: str = response.json()["token"]
    return value


async def test_version_check_needs_a_login(
    auth_anonymous: httpx.AsyncClient, auth_admin: httpx.AsyncClient
) -> None:
    response = await auth_anonymous.get("/v2/")
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == CHALLENGE
    assert (await auth_admin.get("/v2/")).status_code == 200
    assert (await auth_anonymous.get("/healthz")).status_code == 200


async def test_anonymous_is_challenged_with_the_scope(
    auth_admin: httpx.AsyncClient, auth_anonymous: httpx.AsyncClient
) -> None:
    image = await push_image(auth_admin, "team/model", "v1")
    response = await auth_anonymous.get(f"/v2/team/model/manifests/{image.digest}")
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == (
        CHALLENGE + ',scope="repository:team/model:pull"'
    )
    response = await auth_anonymous.post("/v2/team/model/blobs/uploads/")
    assert response.headers["www-authenticate"].endswith('scope="repository:team/model:pull,push"')


@pytest.mark.usefixtures("teams")
async def test_roles_pull_push_delete(auth_admin: httpx.AsyncClient, auth_as_user: AsUser) -> None:
    image = await push_image(auth_admin, "team/model", "v1")
    rita, dave, mary = auth_as_user("rita"), auth_as_user("dave"), auth_as_user("mary")
    manifest = f"/v2/team/model/manifests/{image.digest}"
    assert (await rita.get(manifest)).status_code == 200
    assert_error(await rita.post("/v2/team/model/blobs/uploads/"), 403, "DENIED")
    assert_error(await rita.put("/v2/team/model/manifests/v2", content=image.data), 403, "DENIED")
    await push_image(dave, "team/model", "v2", layers=[b"dave's layer"])
    assert_error(await dave.delete(manifest), 403, "DENIED")
    layer = f"/v2/team/model/blobs/{image.manifest['layers'][0]['digest']}"
    assert_error(await dave.delete(layer), 403, "DENIED")
    assert (await mary.delete(manifest)).status_code == 202


@pytest.mark.usefixtures("teams")
async def test_one_namespace_cannot_read_another(
    auth_admin: httpx.AsyncClient, auth_as_user: AsUser
) -> None:
    secret = await push_image(auth_admin, "other/secret", "v1", layers=[b"secret layer"])
    await push_image(auth_admin, "team/model", "v1")
    await push_image(auth_admin, "other/secret", None, layers=[b"sig"], subject=secret.descriptor())
    rita = auth_as_user("rita")
    layer = secret.manifest["layers"][0]["digest"]
    for path in [
        "/v2/other/secret/manifests/v1",
        f"/v2/other/secret/manifests/{secret.digest}",
        f"/v2/other/secret/blobs/{layer}",
        "/v2/other/secret/tags/list",
        f"/v2/other/secret/referrers/{secret.digest}",
    ]:
        assert_error(await rita.get(path), 403, "DENIED")
        assert (await rita.head(path)).status_code == 403
    catalog = await rita.get("/v2/_catalog")
    assert catalog.json() == {"repositories": ["team/model"]}
    full = await auth_admin.get("/v2/_catalog")
    assert full.json() == {"repositories": ["other/secret", "team/model"]}
    # a cross-repository mount from a namespace one cannot pull falls back to an upload
    dave = auth_as_user("dave")
    mount = await dave.post(
        "/v2/team/copy/blobs/uploads/", params={"mount": layer, "from": "other/secret"}
    )
    assert mount.status_code == 202
    assert_error(await dave.get(f"/v2/team/copy/blobs/{layer}"), 404, "BLOB_UNKNOWN")
    own = (await auth_admin.get("/v2/team/model/manifests/v1")).json()["layers"][0]["digest"]
    mounted = await dave.post(
        "/v2/team/copy/blobs/uploads/", params={"mount": own, "from": "team/model"}
    )
    assert mounted.status_code == 201


@pytest.mark.usefixtures("teams")
async def test_model_api_shows_only_pullable_repositories(
    auth_admin: httpx.AsyncClient, auth_as_user: AsUser, auth_anonymous: httpx.AsyncClient
) -> None:
    for name in ("team/model", "other/secret", "open/shared"):
        await push_image(auth_admin, name, "v1", layers=[name.encode()])

    async def listed(client: httpx.AsyncClient) -> set[str]:
        response = await client.get("/api/v1/models")
        assert response.status_code == 200, response.text
        return {item["repository"] for item in response.json()["items"]}

    assert await listed(auth_admin) == {"team/model", "other/secret", "open/shared"}
    assert await listed(auth_as_user("rita")) == {"team/model", "open/shared"}
    assert await listed(auth_anonymous) == {"open/shared"}
    rita = auth_as_user("rita")
    assert_error(await rita.get("/api/v1/repositories/other/secret/versions"), 403, "DENIED")
    assert (await rita.get("/api/v1/repositories/team/model/versions")).status_code == 200


@pytest.mark.usefixtures("teams")
async def test_anonymous_pull_of_a_public_namespace(
    auth_admin: httpx.AsyncClient, auth_anonymous: httpx.AsyncClient
) -> None:
    image = await push_image(auth_admin, "open/shared", "v1")
    assert (await auth_anonymous.get("/v2/open/shared/manifests/v1")).status_code == 200
    assert (await auth_anonymous.get(f"/v2/open/shared/blobs/{image.digest}")).status_code == 200
    response = await auth_anonymous.post("/v2/open/shared/blobs/uploads/")
    assert_error(response, 401, "UNAUTHORIZED")
    anonymous_token = await token(auth_anonymous, "repository:open/shared:pull,push")
    pulled = await auth_anonymous.get(
        "/v2/open/shared/manifests/v1", headers=bearer(anonymous_token)
    )
    assert pulled.status_code == 200
    pushed = await auth_anonymous.post(
        "/v2/open/shared/blobs/uploads/", headers=bearer(anonymous_token)
    )
    assert_error(pushed, 401, "UNAUTHORIZED")


@pytest.mark.usefixtures("teams")
async def test_token_grant_is_the_intersection(
    auth_admin: httpx.AsyncClient, auth_as_user: AsUser, auth_anonymous: httpx.AsyncClient
) -> None:
    await push_image(auth_admin, "team/model", "v1")
    await push_image(auth_admin, "other/secret", "v1")
    rita = auth_as_user("rita")
    granted = await token(
        rita, "repository:team/model:pull,push,delete", "repository:other/secret:pull"
    )
    headers = bearer(granted)
    assert (
        await auth_anonymous.get("/v2/team/model/manifests/v1", headers=headers)
    ).status_code == 200
    # scope escalation: push with a pull grant, another repository with a grant for one
    push = await auth_anonymous.post("/v2/team/model/blobs/uploads/", headers=headers)
    assert_error(push, 403, "DENIED")
    assert push.headers["www-authenticate"] == (
        CHALLENGE + ',scope="repository:team/model:pull,push",error="insufficient_scope"'
    )
    for path in ["/v2/other/secret/manifests/v1", "/v2/team/other/manifests/v1"]:
        assert_error(await auth_anonymous.get(path, headers=headers), 403, "DENIED")
    # a token's grant does not widen the basic credentials' roles either
    assert_error(await rita.delete("/v2/team/model/manifests/v1"), 403, "DENIED")


async def test_bad_credentials_and_garbage_authorization(
    auth_anonymous: httpx.AsyncClient,
) -> None:
    for headers in [
        basic("root", "wrong-password"),
        basic("nobody", PASSWORD),
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Basic " + "bm9jb2xvbg=="},
        {"Authorization": "Bearer not.a.token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Digest username=x"},
        {"Authorization": "Basic"},
    ]:
        response = await auth_anonymous.get("/v2/", headers=headers)
        assert_error(response, 401, "UNAUTHORIZED")
        assert response.headers["www-authenticate"].startswith("Bearer realm=")


@pytest.mark.usefixtures("teams")
async def test_denials_are_logged_without_secrets(
    auth_admin: httpx.AsyncClient,
    auth_as_user: AsUser,
    auth_anonymous: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await push_image(auth_admin, "other/secret", "v1")
    rita = auth_as_user("rita")
    await rita.get("/v2/other/secret/manifests/v1")
    granted = await token(rita, "repository:team/model:pull")
    await auth_anonymous.get("/v2/other/secret/manifests/v1", headers=bearer(granted))
    await auth_anonymous.get("/v2/", headers=basic("rita", "a-wrong-password"))
    text = caplog.text
    assert "access denied: user=rita kind=user action=pull repository=other/secret" in text
    assert "access denied: user=rita kind=token action=pull repository=other/secret" in text
    assert "login failed: user=rita" in text
    for secret in (PASSWORD, "a-wrong-password", "root-password", granted, granted[:40]):
        assert secret not in text
    assert "Authorization" not in text


@pytest.mark.parametrize("auth_settings", [{"challenge": "basic"}])
async def test_basic_challenge_as_registry2_with_htpasswd(
    auth_anonymous: httpx.AsyncClient, auth_admin: httpx.AsyncClient
) -> None:
    response = await auth_anonymous.get("/v2/")
    assert response.headers["www-authenticate"] == 'Basic realm="modelyard"'
    await push_blob(auth_admin, "team/model", b"blob")


async def test_unreachable_database_is_503_not_500(
    auth_app: Starlette, auth_anonymous: httpx.AsyncClient
) -> None:
    await auth_app.state.index.database.pool.close()
    response = await auth_anonymous.get("/v2/", headers=basic("someone", "not-cached-1"))
    assert_error(response, 503, "UNAVAILABLE")
    assert response.headers["retry-after"] == "5"


async def test_auth_on_without_its_service_fails_closed(auth_database: DatabaseConfig) -> None:
    app = create_app(auth_config(auth_database), InMemoryDriver())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry.test") as client:
        assert_error(await client.get("/v2/team/model/tags/list"), 503, "UNAVAILABLE")


@pytest.mark.parametrize(
    ("host", "realm"),
    [
        ("registry.example:5000", "http://registry.example:5000/token"),
        ("[::1]:5000", "http://[::1]:5000/token"),
        ('evil",error="x', "http://localhost/token"),
        ("", "http://localhost/token"),
    ],
)
async def test_realm_comes_from_a_well_formed_host_only(
    auth_anonymous: httpx.AsyncClient, host: str, realm: str
) -> None:
    response = await auth_anonymous.get("/v2/", headers={"Host": host})
    assert response.headers["www-authenticate"].startswith(f'Bearer realm="{realm}",')


@pytest.mark.parametrize("auth_settings", [{"realm": "https://auth.example/token"}])
async def test_configured_realm(auth_anonymous: httpx.AsyncClient) -> None:
    response = await auth_anonymous.get("/v2/")
    assert response.headers["www-authenticate"].startswith(
        'Bearer realm="https://auth.example/token",'
    )


@pytest.mark.usefixtures("teams")
async def test_token_requests_need_no_database(
    auth_app: Starlette, auth_admin: httpx.AsyncClient, auth_as_user: AsUser
) -> None:
    """The token carries the grant: with the database gone, bearer requests still pass."""
    image = await push_image(auth_admin, "team/model", "v1")
    granted = bearer(await token(auth_as_user("rita"), "repository:team/model:pull"))
    await auth_app.state.index.database.pool.close()
    for _ in range(3):
        response = await auth_admin.get(f"/v2/team/model/manifests/{image.digest}", headers=granted)
        assert response.status_code == 200
    denied = await auth_admin.get("/v2/other/x/manifests/v1", headers=granted)
    assert_error(denied, 403, "DENIED")


async def test_random_authorization_headers_never_fail_the_server(auth_app: Starlette) -> None:
    rng = random.Random(6)
    alphabet = string.printable + "é\u00ff"
    values = ["Basic ", "Bearer ", "Basic Og==", "Bearer a.b", "basic " + "A" * 5000]
    for _ in range(150):
        scheme = rng.choice(["Basic ", "Bearer ", "bearer ", "", "Negotiate "])
        body = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 80)))
        if rng.random() < 0.3:
            body = base64.b64encode(body.encode()).decode()
        values.append(scheme + body)
    for value in values:
        response = await asgi_request(
            auth_app, "GET", "/v2/team/model/tags/list", headers=[("authorization", value)]
        )
        assert response.status in (401, 403, 429), (value, response.status)
        assert response.json()["errors"][0]["code"] in ("UNAUTHORIZED", "TOOMANYREQUESTS")


async def test_system_admin_routes(auth_app: Starlette, auth_setup: Setup) -> None:
    """Webhook routes need a system administrator, not a namespace admin."""
    await auth_setup(
        users=["nina"], namespaces={"ours": False}, members=[("ours", "user", "nina", "admin")]
    )

    async def endpoint(request: Request) -> Response:
        return JSONResponse({"ok": True})

    inner = Starlette(routes=[Route("/api/v1/webhooks", endpoint, methods=["GET"])])
    guarded = AuthMiddleware(inner, inner.routes, enabled=True)

    async def call(headers: dict[str, str]) -> int:
        scope = {
            "type": "http",
            "method": "GET",
            "path": "/api/v1/webhooks",
            "root_path": "",
            "query_string": b"",
            "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 1),
            "app": auth_app,
        }
        sent: list[Message] = []

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Message) -> None:
            sent.append(message)

        try:
            await guarded(scope, receive, send)
        except RegistryError as error:
            return error.status
        return int(sent[0]["status"])

    assert await call(basic("root", "root-password")) == 200
    assert await call(basic("nina", PASSWORD)) == 403
    assert await call({}) == 401

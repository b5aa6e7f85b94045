"""`/token`: the Docker token endpoint, GET with basic credentials and the OAuth2 POST form."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import jwt
import pytest

from tests.registry.helpers import assert_error, push_image
from tests.support.auth import ADMIN, PASSWORD, Setup, basic, bearer


def payload(token: str) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(token, options={"verify_signature": False})
    return decoded


@pytest.fixture
async def alice(auth_setup: Setup) -> None:
    await auth_setup(
        users=["alice"],
        namespaces={"team": False},
        members=[("team", "user", "alice", "developer")],
    )


@pytest.mark.usefixtures("alice")
async def test_get_with_basic_credentials(auth_anonymous: httpx.AsyncClient) -> None:
    response = await auth_anonymous.get(
        "/token",
        params={
            "service": "modelyard",
            "scope": "repository:team/model:pull,push,delete",
            "account": "alice",
        },
        headers=basic("alice", PASSWORD),
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"token", "access_token", "expires_in", "issued_at"}
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300
    issued = datetime.strptime(body["issued_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(issued.timestamp() - time.time()) < 120
    claims = payload(body["token"])
    assert claims["sub"] == "alice"
    assert claims["aud"] == "modelyard"
    assert claims["iss"] == "modelyard"
    assert claims["access"] == [
        {"type": "repository", "name": "team/model", "actions": ["pull", "push"]}
    ]
    header = jwt.get_unverified_header(body["token"])
    assert header["alg"] == "ES256"
    assert header["kid"]


@pytest.mark.usefixtures("alice")
async def test_login_without_scope_and_offline_token(auth_anonymous: httpx.AsyncClient) -> None:
    response = await auth_anonymous.get(
        "/token",
        params={"service": "modelyard", "offline_token": "true", "client_id": "podman"},
        headers=basic("alice", PASSWORD),
    )
    body = response.json()
    assert payload(body["token"])["access"] == []
    refreshed = await auth_anonymous.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "service": "modelyard",
            "scope": "repository:team/model:pull",
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    assert payload(refreshed.json()["access_token"])["access"] == [
        {"type": "repository", "name": "team/model", "actions": ["pull"]}
    ]
    # an access token is no refresh token
    misused = await auth_anonymous.post(
        "/token", data={"grant_type": "refresh_token", "refresh_token": body["token"]}
    )
    assert_error(misused, 401, "UNAUTHORIZED")


@pytest.mark.usefixtures("alice")
async def test_post_password_grant(
    auth_anonymous: httpx.AsyncClient, auth_admin: httpx.AsyncClient
) -> None:
    await push_image(auth_admin, "team/model", "v1")
    response = await auth_anonymous.post(
        "/token",
        data={
            "grant_type": "password",
            "username": "alice",
            "password": PASSWORD,
            "service": "modelyard",
            "client_id": "oras",
            "access_type": "offline",
            "scope": "repository:team/model:pull repository:other/x:pull",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" in body
    assert payload(body["access_token"])["access"] == [
        {"type": "repository", "name": "team/model", "actions": ["pull"]}
    ]
    pulled = await auth_anonymous.get(
        "/v2/team/model/manifests/v1", headers=bearer(body["access_token"])
    )
    assert pulled.status_code == 200
    wrong = await auth_anonymous.post(
        "/token", data={"grant_type": "password", "username": "alice", "password": "nope-nope"}
    )
    assert_error(wrong, 401, "UNAUTHORIZED")


async def test_anonymous_token_and_admin_star(
    auth_anonymous: httpx.AsyncClient, auth_admin: httpx.AsyncClient
) -> None:
    anonymous = await auth_anonymous.get(
        "/token", params={"scope": ["repository:team/model:pull", "registry:catalog:*"]}
    )
    claims = payload(anonymous.json()["token"])
    assert claims["sub"] == ""
    assert claims["access"] == [{"type": "registry", "name": "catalog", "actions": ["*"]}]
    assert "refresh_token" not in anonymous.json()
    star = await auth_admin.get("/token", params={"scope": "repository:team/model:*"})
    assert payload(star.json()["token"])["access"] == [
        {"type": "repository", "name": "team/model", "actions": ["*", "delete", "pull", "push"]}
    ]
    assert payload(star.json()["token"])["sub"] == ADMIN[0]


@pytest.mark.parametrize(
    ("method", "request_args"),
    [
        ("GET", {"params": {"scope": "repository:team/model"}}),
        ("GET", {"params": {"scope": "repository:team/model:PULL"}}),
        ("GET", {"params": {"service": "someone-else"}}),
        ("POST", {"data": {"grant_type": "client_credentials"}}),
        ("POST", {"data": {"grant_type": "password"}}),
        ("POST", {"content": b"\xff\xfe", "headers": {"content-type": "text/plain"}}),
        ("POST", {"content": b"a=" + b"x" * 70000}),
    ],
)
async def test_invalid_token_requests_are_400(
    auth_anonymous: httpx.AsyncClient, method: str, request_args: dict[str, object]
) -> None:
    response = await auth_anonymous.request(method, "/token", **request_args)  # type: ignore[arg-type]
    assert_error(response, 400, "TOKEN_REQUEST_INVALID")


async def test_token_endpoint_with_auth_off(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/token"), 404, "UNSUPPORTED")

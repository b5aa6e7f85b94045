"""The account management API: users, groups, robots, namespaces and members."""

from __future__ import annotations

import httpx
import pytest

from tests.registry.helpers import assert_error, push_image
from tests.support.auth import PASSWORD, AsUser, Setup, basic


async def test_users_lifecycle(auth_admin: httpx.AsyncClient, auth_as_user: AsUser) -> None:
    created = await auth_admin.post(
        "/api/v1/users", json={"username": "alice", "password": PASSWORD}
    )
    assert created.status_code == 201
    assert created.json() == {"username": "alice", "admin": False, "groups": []}
    listed = (await auth_admin.get("/api/v1/users")).json()["items"]
    assert [user["username"] for user in listed] == ["alice", "root"]
    assert "password" not in str(listed)
    assert "$2b$" not in str(listed)
    again = await auth_admin.post("/api/v1/users", json={"username": "alice", "password": PASSWORD})
    assert_error(again, 409, "ACCOUNT_EXISTS")
    alice = auth_as_user("alice")
    assert (await alice.get("/v2/")).status_code == 200
    assert_error(await alice.get("/api/v1/users"), 403, "DENIED")
    assert (await auth_admin.delete("/api/v1/users/alice")).status_code == 204
    assert_error(await auth_admin.delete("/api/v1/users/alice"), 404, "ACCOUNT_UNKNOWN")
    assert_error(await alice.get("/v2/"), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "body",
    [
        {"username": "alice"},
        {"username": "alice", "password": "short"},
        {"username": "alice", "password": "x" * 80},
        {"username": "robot$x", "password": PASSWORD},
        {"username": "bad name", "password": PASSWORD},
        {"username": "alice", "password": PASSWORD, "admin": "yes"},
        {"username": 5, "password": PASSWORD},
        [],
    ],
)
async def test_invalid_user_bodies(auth_admin: httpx.AsyncClient, body: object) -> None:
    assert_error(await auth_admin.post("/api/v1/users", json=body), 400, "ACCOUNT_INVALID")


async def test_not_json_and_anonymous(
    auth_admin: httpx.AsyncClient, auth_anonymous: httpx.AsyncClient
) -> None:
    response = await auth_admin.post("/api/v1/users", content=b"{not json")
    assert_error(response, 400, "ACCOUNT_INVALID")
    assert_error(await auth_anonymous.get("/api/v1/users"), 401, "UNAUTHORIZED")
    assert_error(await auth_anonymous.get("/api/v1/namespaces"), 401, "UNAUTHORIZED")


async def test_robot_secret_is_shown_once_and_logs_in(
    auth_admin: httpx.AsyncClient, auth_as_user: AsUser, auth_setup: Setup
) -> None:
    await auth_setup(namespaces={"ci": False})
    created = await auth_admin.post(
        "/api/v1/robots",
        json={"name": "builder", "description": "CI", "namespace": "ci", "role": "developer"},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["login"] == "robot$builder"
    secret = body["secret"]
    listed = (await auth_admin.get("/api/v1/robots")).json()["items"]
    assert listed[0]["name"] == "builder"
    assert listed[0]["created_by"] == "root"
    assert secret not in str(listed)
    members = (await auth_admin.get("/api/v1/namespaces/ci/members")).json()["items"]
    assert members == [{"kind": "robot", "principal": "builder", "role": "developer"}]
    robot = auth_as_user("robot$builder", secret)
    await push_image(robot, "ci/app", "v1")
    assert_error(await robot.delete("/v2/ci/app/manifests/v1"), 403, "DENIED")
    assert_error(await robot.get("/api/v1/robots"), 403, "DENIED")
    assert (await auth_admin.delete("/api/v1/robots/builder")).status_code == 204
    assert_error(await robot.get("/v2/"), 401, "UNAUTHORIZED")
    members = (await auth_admin.get("/api/v1/namespaces/ci/members")).json()["items"]
    assert members == []


async def test_namespace_admin_manages_only_their_namespace(
    auth_admin: httpx.AsyncClient, auth_as_user: AsUser, auth_setup: Setup
) -> None:
    await auth_setup(
        users=["nina", "dev"],
        namespaces={"ours": False, "theirs": False},
        members=[("ours", "user", "nina", "admin")],
    )
    nina = auth_as_user("nina")
    listed = (await nina.get("/api/v1/namespaces")).json()["items"]
    assert [item["name"] for item in listed] == ["ours"]
    granted = await nina.put("/api/v1/namespaces/ours/members/user/dev", json={"role": "reader"})
    assert granted.json() == {"kind": "user", "principal": "dev", "role": "reader"}
    assert_error(
        await nina.put("/api/v1/namespaces/theirs/members/user/dev", json={"role": "admin"}),
        403,
        "DENIED",
    )
    assert_error(await nina.get("/api/v1/namespaces/theirs"), 403, "DENIED")
    public = await nina.patch("/api/v1/namespaces/ours", json={"public": True})
    assert public.json()["public"] is True
    assert_error(await nina.post("/api/v1/namespaces", json={"name": "mine"}), 403, "DENIED")
    assert_error(await nina.delete("/api/v1/namespaces/ours"), 403, "DENIED")
    robot = await nina.post(
        "/api/v1/robots", json={"name": "ours-ci", "namespace": "ours", "role": "maintainer"}
    )
    assert robot.status_code == 201
    denied = await nina.post(
        "/api/v1/robots", json={"name": "x-ci", "namespace": "theirs", "role": "reader"}
    )
    assert_error(denied, 403, "DENIED")
    assert_error(await nina.post("/api/v1/robots", json={"name": "global"}), 403, "DENIED")
    # changes show at once on this instance
    dev = auth_as_user("dev")
    await push_image(auth_admin, "ours/app", "v1")
    assert (await dev.get("/v2/ours/app/manifests/v1")).status_code == 200
    await nina.delete("/api/v1/namespaces/ours/members/user/dev")
    await nina.patch("/api/v1/namespaces/ours", json={"public": False})
    assert_error(await dev.get("/v2/ours/app/manifests/v1"), 403, "DENIED")


async def test_groups_give_their_members_roles(
    auth_admin: httpx.AsyncClient, auth_as_user: AsUser, auth_setup: Setup
) -> None:
    await auth_setup(users=["gina"], namespaces={"ml": False})
    assert (await auth_admin.post("/api/v1/groups", json={"name": "ml-team"})).status_code == 201
    assert (await auth_admin.put("/api/v1/groups/ml-team/members/gina")).status_code == 204
    assert_error(
        await auth_admin.put("/api/v1/groups/ml-team/members/nobody"), 404, "ACCOUNT_UNKNOWN"
    )
    member = await auth_admin.put(
        "/api/v1/namespaces/ml/members/group/ml-team", json={"role": "maintainer"}
    )
    assert member.status_code == 200
    groups = (await auth_admin.get("/api/v1/groups")).json()["items"]
    assert groups[0]["members"] == ["gina"]
    users = (await auth_admin.get("/api/v1/users")).json()["items"]
    assert next(user for user in users if user["username"] == "gina")["groups"] == ["ml-team"]
    gina = auth_as_user("gina")
    await push_image(gina, "ml/model", "v1")
    assert (await gina.delete("/v2/ml/model/manifests/v1")).status_code == 202
    assert (await auth_admin.delete("/api/v1/groups/ml-team/members/gina")).status_code == 204
    assert_error(await gina.get("/v2/ml/model/tags/list"), 403, "DENIED")
    assert (await auth_admin.delete("/api/v1/groups/ml-team")).status_code == 204
    assert (await auth_admin.get("/api/v1/namespaces/ml/members")).json()["items"] == []


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/api/v1/namespaces/ml/members/user/nobody", {"role": "reader"}),
        ("PUT", "/api/v1/namespaces/ml/members/team/x", {"role": "reader"}),
        ("PUT", "/api/v1/namespaces/nons/members/user/root", {"role": "reader"}),
        ("PUT", "/api/v1/namespaces/Bad%20Name/members/user/root", {"role": "reader"}),
        ("GET", "/api/v1/namespaces/nons", None),
        ("GET", "/api/v1/namespaces/nons/members", None),
        ("DELETE", "/api/v1/namespaces/ml/members/user/root", None),
        ("DELETE", "/api/v1/robots/none", None),
        ("DELETE", "/api/v1/groups/none", None),
        ("PATCH", "/api/v1/namespaces/nons", {"public": True}),
    ],
)
async def test_unknown_entries_are_404(
    auth_admin: httpx.AsyncClient,
    auth_setup: Setup,
    method: str,
    path: str,
    body: object,
) -> None:
    await auth_setup(namespaces={"ml": False})
    response = await auth_admin.request(method, path, json=body)
    assert_error(response, 404, "ACCOUNT_UNKNOWN")


async def test_invalid_roles_and_namespace_names(auth_admin: httpx.AsyncClient) -> None:
    for name in ["team/sub", "UPPER", "", "-x"]:
        response = await auth_admin.post("/api/v1/namespaces", json={"name": name})
        assert_error(response, 400, "ACCOUNT_INVALID")
    await auth_admin.post("/api/v1/namespaces", json={"name": "ml"})
    response = await auth_admin.put(
        "/api/v1/namespaces/ml/members/user/root", json={"role": "owner"}
    )
    assert_error(response, 400, "ACCOUNT_INVALID")


async def test_account_api_with_auth_off(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/users"), 404, "AUTH_DISABLED")
    response = await client.post("/api/v1/namespaces", json={"name": "x"}, headers=basic("a", "b"))
    assert_error(response, 404, "AUTH_DISABLED")


async def test_lone_surrogates_are_400(auth_admin: httpx.AsyncClient) -> None:
    for body in [
        b'{"username": "alice", "password": "pass\\ud800word"}',
        b'{"username": "alice", "password": "password-1", "x": "\\udfff"}',
        b'{"name": "ci", "description": "\\ud800"}',
    ]:
        for path in ("/api/v1/users", "/api/v1/robots"):
            response = await auth_admin.post(path, content=body)
            assert_error(response, 400, "ACCOUNT_INVALID")

"""Pushing and pulling with roles: the access check on every registry route."""

from __future__ import annotations

import httpx

from tests.auth.conftest import AsUser, Setup
from tests.registry.helpers import assert_error, push_image


async def test_admin_pushes_and_anonymous_is_challenged(
    admin: httpx.AsyncClient, anonymous: httpx.AsyncClient
) -> None:
    image = await push_image(admin, "team/model", "v1")
    response = await anonymous.get(f"/v2/team/model/manifests/{image.digest}")
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == (
        'Bearer realm="http://registry.test/token",service="modelyard",'
        'scope="repository:team/model:pull"'
    )


async def test_reader_pulls_but_cannot_push(
    admin: httpx.AsyncClient, as_user: AsUser, setup: Setup
) -> None:
    await setup(
        users=["rita"], namespaces={"team": False}, members=[("team", "user", "rita", "reader")]
    )
    image = await push_image(admin, "team/model", "v1")
    rita = as_user("rita")
    assert (await rita.get(f"/v2/team/model/manifests/{image.digest}")).status_code == 200
    response = await rita.post("/v2/team/model/blobs/uploads/")
    assert_error(response, 403, "DENIED")
